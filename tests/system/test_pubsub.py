"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs,
PUBLISH, SPUBLISH, PUBSUB; RESP2 subscriber mode and RESP3 pushes; the
"pubsub" output buffer limit class.  Exact bytes are Redis 7.0.15's.
"""

import re
import socket
import time

import pytest

from conftest import wait_for

CTX_ERR = (b"-ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
           b"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           b"context\r\n")


def bulk(s):
    return b"$%d\r\n%s\r\n" % (len(s), s)


def msg2(kind, *parts, count=None, push=False):
    """[kind, parts..., count?] as RESP2 array or RESP3 push bytes."""
    n = 1 + len(parts) + (count is not None)
    out = (b">%d\r\n" if push else b"*%d\r\n") % n + bulk(kind)
    for p in parts:
        out += b"$-1\r\n" if p is None and not push else \
            b"_\r\n" if p is None else bulk(p)
    if count is not None:
        out += b":%d\r\n" % count
    return out


def drain_until_close(conn, timeout):
    """Read and discard until EOF/reset; True if the peer closed."""
    deadline = time.monotonic() + timeout
    conn.sock.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            if not conn.sock.recv(1 << 20):
                return True
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
    return False


def client_fields(line):
    return dict(f.split(b"=", 1) for f in line.split(b" ") if b"=" in f)


@pytest.fixture
def srv(shared_server):
    return shared_server


# -- RESP2 ------------------------------------------------------------------


def test_subscribe_publish_resp2(srv, raw):
    sub, pub = raw(srv), raw(srv)
    sub.send(b"SUBSCRIBE c1 c2\r\n")
    assert sub.read_reply() == msg2(b"subscribe", b"c1", count=1)
    assert sub.read_reply() == msg2(b"subscribe", b"c2", count=2)
    # Subscribing again to the same channel does not change the count.
    assert sub.cmd("SUBSCRIBE", "c1") == msg2(b"subscribe", b"c1", count=2)
    assert pub.cmd("PUBLISH", "c1", "hello") == b":1\r\n"
    assert sub.read_reply() == msg2(b"message", b"c1", b"hello")
    assert pub.cmd("PUBLISH", "nobody", "x") == b":0\r\n"
    # Binary-safe payloads.
    assert pub.cmd("PUBLISH", "c2", b"a\r\nb\x00") == b":1\r\n"
    assert sub.read_reply() == msg2(b"message", b"c2", b"a\r\nb\x00")
    assert sub.cmd("UNSUBSCRIBE", "c1") == \
        msg2(b"unsubscribe", b"c1", count=1)
    assert pub.cmd("PUBLISH", "c1", "gone") == b":0\r\n"
    assert sub.cmd("UNSUBSCRIBE", "c2") == \
        msg2(b"unsubscribe", b"c2", count=0)
    # Out of subscriber mode: normal commands again.
    assert sub.cmd("PING") == b"+PONG\r\n"
    assert sub.cmd("ECHO", "x") == b"$1\r\nx\r\n"


def test_subscriber_mode_resp2(srv, raw):
    c = raw(srv)
    assert c.cmd("SUBSCRIBE", "ch") == msg2(b"subscribe", b"ch", count=1)
    assert c.cmd("GET", "x") == CTX_ERR % b"get"
    assert c.cmd("CLIENT", "LIST") == CTX_ERR % b"client|list"
    assert c.cmd("PUBLISH", "ch", "m") == CTX_ERR % b"publish"
    # Arity and unknown command errors come first.
    assert c.cmd("GET", "x", "y") == \
        b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.cmd("NOSUCH") == \
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    # PING answers [pong, message].
    assert c.cmd("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert c.cmd("PING", "hi") == b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    assert c.cmd("PING", "a", "b") == \
        b"-ERR wrong number of arguments for 'ping' command\r\n"
    # Other subscribe commands are allowed.
    assert c.cmd("PSUBSCRIBE", "p*") == msg2(b"psubscribe", b"p*", count=2)
    assert c.cmd("SSUBSCRIBE", "s") == msg2(b"ssubscribe", b"s", count=1)
    assert c.cmd("SUNSUBSCRIBE") == msg2(b"sunsubscribe", b"s", count=0)
    assert c.cmd("PUNSUBSCRIBE") == msg2(b"punsubscribe", b"p*", count=1)
    # Still subscribed to ch: still restricted.
    assert c.cmd("GET", "x") == CTX_ERR % b"get"
    assert c.cmd("UNSUBSCRIBE") == msg2(b"unsubscribe", b"ch", count=0)
    assert c.cmd("GET", "x") == b"$-1\r\n"
    # QUIT is allowed in subscriber mode.
    assert c.cmd("SUBSCRIBE", "ch") == msg2(b"subscribe", b"ch", count=1)
    assert c.cmd("QUIT") == b"+OK\r\n"
    assert c.is_closed()


def test_shard_count_is_separate(srv, raw):
    c = raw(srv)
    assert c.cmd("SUBSCRIBE", "c") == msg2(b"subscribe", b"c", count=1)
    assert c.cmd("SSUBSCRIBE", "s1") == msg2(b"ssubscribe", b"s1", count=1)
    assert c.cmd("SUNSUBSCRIBE", "s1") == \
        msg2(b"sunsubscribe", b"s1", count=0)
    # Still subscribed to c, so still in subscriber mode.
    assert c.cmd("GET", "x") == CTX_ERR % b"get"
    assert c.cmd("UNSUBSCRIBE") == msg2(b"unsubscribe", b"c", count=0)
    assert c.cmd("GET", "x") == b"$-1\r\n"


def test_unsubscribe_without_subscriptions(srv, raw):
    c = raw(srv)
    assert c.cmd("UNSUBSCRIBE") == msg2(b"unsubscribe", None, count=0)
    assert c.cmd("PUNSUBSCRIBE") == msg2(b"punsubscribe", None, count=0)
    assert c.cmd("SUNSUBSCRIBE") == msg2(b"sunsubscribe", None, count=0)
    # Unsubscribing from a channel never subscribed still confirms it.
    assert c.cmd("UNSUBSCRIBE", "zz") == \
        msg2(b"unsubscribe", b"zz", count=0)
    # Not left in subscriber mode.
    assert c.cmd("GET", "x") == b"$-1\r\n"
    # With a pattern only, UNSUBSCRIBE all counts the pattern.
    assert c.cmd("PSUBSCRIBE", "p") == msg2(b"psubscribe", b"p", count=1)
    assert c.cmd("UNSUBSCRIBE") == msg2(b"unsubscribe", None, count=1)
    assert c.cmd("PUNSUBSCRIBE", "nope") == \
        msg2(b"punsubscribe", b"nope", count=1)
    assert c.cmd("PUNSUBSCRIBE", "p") == msg2(b"punsubscribe", b"p", count=0)


def test_unsubscribe_all(srv, raw):
    c, pub = raw(srv), raw(srv)
    c.send(b"SUBSCRIBE a b c\r\n")
    for i in range(3):
        c.read_reply()
    c.send(b"UNSUBSCRIBE\r\n")
    got = [c.read_reply() for _ in range(3)]
    # One confirmation per channel, counts going down; order is the
    # server's hash order.
    names = sorted(re.match(rb"\*3\r\n\$11\r\nunsubscribe\r\n\$1\r\n(.)",
                            g).group(1) for g in got)
    assert names == [b"a", b"b", b"c"]
    assert [g[-4:] for g in got] == [b":2\r\n", b":1\r\n", b":0\r\n"]
    assert pub.cmd("PUBLISH", "a", "x") == b":0\r\n"
    assert c.read_available(0.1) == b""
    # PUNSUBSCRIBE without arguments answers in subscription order.
    c.send(b"PSUBSCRIBE z* a* m*\r\n")
    for i in range(3):
        c.read_reply()
    c.send(b"PUNSUBSCRIBE\r\n")
    assert [c.read_reply() for _ in range(3)] == [
        msg2(b"punsubscribe", b"z*", count=2),
        msg2(b"punsubscribe", b"a*", count=1),
        msg2(b"punsubscribe", b"m*", count=0)]


# -- patterns -------------------------------------------------------------------


def test_patterns(srv, raw):
    sub, pub = raw(srv), raw(srv)
    assert sub.cmd("PSUBSCRIBE", "news.*") == \
        msg2(b"psubscribe", b"news.*", count=1)
    # Subscribing twice to one pattern keeps one subscription.
    assert sub.cmd("PSUBSCRIBE", "news.*") == \
        msg2(b"psubscribe", b"news.*", count=1)
    assert pub.cmd("PUBLISH", "news.tech", "m1") == b":1\r\n"
    assert sub.read_reply() == \
        msg2(b"pmessage", b"news.*", b"news.tech", b"m1")
    assert pub.cmd("PUBLISH", "sports", "m2") == b":0\r\n"
    # Glob classes and case sensitivity.
    assert sub.cmd("PSUBSCRIBE", "h[ae]llo") == \
        msg2(b"psubscribe", b"h[ae]llo", count=2)
    assert pub.cmd("PUBLISH", "hallo", "x") == b":1\r\n"
    assert sub.read_reply() == msg2(b"pmessage", b"h[ae]llo", b"hallo",
                                    b"x")
    assert pub.cmd("PUBLISH", "HALLO", "x") == b":0\r\n"
    # A client subscribed by channel and by pattern gets both messages,
    # and the publisher counts both.
    assert sub.cmd("SUBSCRIBE", "news.tech") == \
        msg2(b"subscribe", b"news.tech", count=3)
    assert pub.cmd("PUBLISH", "news.tech", "m3") == b":2\r\n"
    assert sub.read_reply() == msg2(b"message", b"news.tech", b"m3")
    assert sub.read_reply() == \
        msg2(b"pmessage", b"news.*", b"news.tech", b"m3")
    assert sub.cmd("PUNSUBSCRIBE", "news.*") == \
        msg2(b"punsubscribe", b"news.*", count=2)
    assert pub.cmd("PUBLISH", "news.tech", "m4") == b":1\r\n"
    assert sub.read_reply() == msg2(b"message", b"news.tech", b"m4")


def test_publish_counts_every_subscriber(srv, raw):
    subs = [raw(srv) for _ in range(3)]
    pub = raw(srv)
    for s in subs:
        assert s.cmd("SUBSCRIBE", "fan")[-4:] == b":1\r\n"
    assert subs[0].cmd("PSUBSCRIBE", "f*")[-4:] == b":2\r\n"
    assert subs[1].cmd("PSUBSCRIBE", "f*")[-4:] == b":2\r\n"
    assert pub.cmd("PUBLISH", "fan", "hi") == b":5\r\n"
    for s in subs:
        assert s.read_reply() == msg2(b"message", b"fan", b"hi")
    for s in subs[:2]:
        assert s.read_reply() == msg2(b"pmessage", b"f*", b"fan", b"hi")
    assert subs[2].read_available(0.1) == b""


# -- RESP3 ---------------------------------------------------------------------


def test_resp3_pushes(srv, raw):
    sub, pub = raw(srv), raw(srv)
    assert sub.cmd("HELLO", "3").startswith(b"%7\r\n")
    assert sub.cmd("SUBSCRIBE", "c") == \
        msg2(b"subscribe", b"c", count=1, push=True)
    # Any command may run while subscribed in RESP3.
    assert sub.cmd("GET", "nokey") == b"_\r\n"
    assert sub.cmd("PING") == b"+PONG\r\n"
    assert pub.cmd("PUBLISH", "c", "m") == b":1\r\n"
    assert sub.read_reply() == msg2(b"message", b"c", b"m", push=True)
    assert sub.cmd("PSUBSCRIBE", "c*") == \
        msg2(b"psubscribe", b"c*", count=2, push=True)
    assert pub.cmd("PUBLISH", "c", "n") == b":2\r\n"
    assert sub.read_reply() == msg2(b"message", b"c", b"n", push=True)
    assert sub.read_reply() == \
        msg2(b"pmessage", b"c*", b"c", b"n", push=True)
    # Publishing to itself: the push comes before the reply.
    sub.send(b"PUBLISH c self\r\n")
    assert sub.read_reply() == msg2(b"message", b"c", b"self", push=True)
    assert sub.read_reply() == \
        msg2(b"pmessage", b"c*", b"c", b"self", push=True)
    assert sub.read_reply() == b":2\r\n"
    assert sub.cmd("PUNSUBSCRIBE") == \
        msg2(b"punsubscribe", b"c*", count=1, push=True)
    assert sub.cmd("UNSUBSCRIBE") == \
        msg2(b"unsubscribe", b"c", count=0, push=True)
    assert sub.cmd("UNSUBSCRIBE") == \
        msg2(b"unsubscribe", None, count=0, push=True)
    assert sub.cmd("SSUBSCRIBE", "s") == \
        msg2(b"ssubscribe", b"s", count=1, push=True)
    assert pub.cmd("SPUBLISH", "s", "x") == b":1\r\n"
    assert sub.read_reply() == msg2(b"smessage", b"s", b"x", push=True)


def test_resp2_and_resp3_subscribers_together(srv, raw):
    a, b, pub = raw(srv), raw(srv), raw(srv)
    b.cmd("HELLO", "3")
    a.cmd("SUBSCRIBE", "mix")
    b.cmd("SUBSCRIBE", "mix")
    assert pub.cmd("PUBLISH", "mix", "p") == b":2\r\n"
    assert a.read_reply() == msg2(b"message", b"mix", b"p")
    assert b.read_reply() == msg2(b"message", b"mix", b"p", push=True)


# -- shard channels -------------------------------------------------------------


def test_shard_channels(srv, raw):
    sub, pub = raw(srv), raw(srv)
    sub.send(b"SSUBSCRIBE s1 s2\r\n")
    assert sub.read_reply() == msg2(b"ssubscribe", b"s1", count=1)
    assert sub.read_reply() == msg2(b"ssubscribe", b"s2", count=2)
    assert sub.cmd("GET", "x") == CTX_ERR % b"get"
    assert pub.cmd("SPUBLISH", "s1", "hello") == b":1\r\n"
    assert sub.read_reply() == msg2(b"smessage", b"s1", b"hello")
    # Shard channels and channels are separate name spaces.
    assert pub.cmd("PUBLISH", "s1", "x") == b":0\r\n"
    assert pub.cmd("SPUBLISH", "nobody", "x") == b":0\r\n"
    assert sorted(pub.call("PUBSUB", "SHARDCHANNELS")) == [b"s1", b"s2"]
    assert pub.call("PUBSUB", "SHARDCHANNELS", "*1") == [b"s1"]
    assert pub.call("PUBSUB", "CHANNELS") == []
    assert pub.cmd("PUBSUB", "SHARDNUMSUB", "s1", "zz") == \
        b"*4\r\n$2\r\ns1\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
    assert pub.cmd("PUBSUB", "SHARDNUMSUB") == b"*0\r\n"
    assert pub.cmd("PUBSUB", "NUMSUB", "s1") == b"*2\r\n$2\r\ns1\r\n:0\r\n"
    # A pattern does not see shard messages.
    assert sub.cmd("PSUBSCRIBE", "*") == msg2(b"psubscribe", b"*", count=1)
    assert pub.cmd("SPUBLISH", "s2", "y") == b":1\r\n"
    assert sub.read_reply() == msg2(b"smessage", b"s2", b"y")
    assert sub.cmd("SUNSUBSCRIBE", "s1") == \
        msg2(b"sunsubscribe", b"s1", count=1)
    assert pub.call("PUBSUB", "SHARDCHANNELS") == [b"s2"]


# -- PUBSUB ---------------------------------------------------------------------


def test_pubsub_introspection(srv, raw):
    a, b, q = raw(srv), raw(srv), raw(srv)
    a.send(b"SUBSCRIBE news.1 news.2 other\r\n")
    for _ in range(3):
        a.read_reply()
    b.cmd("SUBSCRIBE", "news.1")
    a.cmd("PSUBSCRIBE", "n*")
    b.cmd("PSUBSCRIBE", "n*")
    b.cmd("PSUBSCRIBE", "o*")
    assert sorted(q.call("PUBSUB", "CHANNELS")) == \
        [b"news.1", b"news.2", b"other"]
    assert sorted(q.call("PUBSUB", "CHANNELS", "news.*")) == \
        [b"news.1", b"news.2"]
    assert q.cmd("PUBSUB", "CHANNELS", "x*") == b"*0\r\n"
    assert q.cmd("PUBSUB", "NUMSUB", "news.1", "news.2", "nope") == (
        b"*6\r\n$6\r\nnews.1\r\n:2\r\n$6\r\nnews.2\r\n:1\r\n"
        b"$4\r\nnope\r\n:0\r\n")
    assert q.cmd("PUBSUB", "NUMSUB") == b"*0\r\n"
    # NUMPAT counts unique patterns.
    assert q.cmd("PUBSUB", "NUMPAT") == b":2\r\n"
    assert q.cmd("PUBSUB", "CHANNELS", "a", "b") == (
        b"-ERR unknown subcommand or wrong number of arguments for "
        b"'CHANNELS'. Try PUBSUB HELP.\r\n")
    assert q.cmd("PUBSUB", "SHARDCHANNELS", "a", "b") == (
        b"-ERR unknown subcommand or wrong number of arguments for "
        b"'SHARDCHANNELS'. Try PUBSUB HELP.\r\n")
    assert q.cmd("PUBSUB", "NUMPAT", "x") == \
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    assert q.cmd("PUBSUB", "NOPE") == \
        b"-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"
    assert q.cmd("PUBSUB") == \
        b"-ERR wrong number of arguments for 'pubsub' command\r\n"
    helptext = q.call("PUBSUB", "HELP")
    assert len(helptext) == 14
    assert helptext[0] == (b"PUBSUB <subcommand> [<arg> [value] [opt] ...]."
                           b" Subcommands are:")
    assert helptext[-2:] == [b"HELP", b"    Prints this help."]
    # A closed subscriber leaves nothing behind.
    a.close()
    wait_for(lambda: q.call("PUBSUB", "NUMSUB", "news.2")[1] == 0,
             what="subscriber cleanup")
    assert q.call("PUBSUB", "NUMSUB", "news.1") == [b"news.1", 1]
    assert q.cmd("PUBSUB", "NUMPAT") == b":2\r\n"
    b.close()
    wait_for(lambda: q.cmd("PUBSUB", "NUMPAT") == b":0\r\n",
             what="pattern cleanup")
    assert q.cmd("PUBSUB", "CHANNELS") == b"*0\r\n"


def test_arity_errors(srv, raw):
    c = raw(srv)
    for cmd in ("subscribe", "psubscribe", "ssubscribe"):
        assert c.cmd(cmd.upper()) == \
            b"-ERR wrong number of arguments for '%s' command\r\n" % \
            cmd.encode()
    for cmd in ("publish", "spublish"):
        assert c.cmd(cmd.upper(), "ch") == \
            b"-ERR wrong number of arguments for '%s' command\r\n" % \
            cmd.encode()


def test_command_info(srv, raw):
    c = raw(srv)
    info = c.call("COMMAND", "INFO", "subscribe", "publish", "spublish")
    assert info[0][:7] == [b"subscribe", -2,
                           [b"pubsub", b"noscript", b"loading", b"stale"],
                           0, 0, 0, [b"@pubsub", b"@slow"]]
    assert info[1][:7] == [b"publish", 3,
                           [b"pubsub", b"loading", b"stale", b"fast"],
                           0, 0, 0, [b"@pubsub", b"@fast"]]
    assert info[2][:7] == [b"spublish", 3,
                           [b"pubsub", b"loading", b"stale", b"fast"],
                           1, 1, 1, [b"@pubsub", b"@fast"]]
    subs = {s[0] for s in c.call("COMMAND", "INFO", "pubsub")[0][9]}
    assert subs == {b"pubsub|channels", b"pubsub|numsub", b"pubsub|numpat",
                    b"pubsub|shardchannels", b"pubsub|shardnumsub",
                    b"pubsub|help"}


# -- CLIENT LIST, INFO ------------------------------------------------------------


def test_client_list_and_info(srv, raw):
    a, q = raw(srv), raw(srv)
    a.cmd("CLIENT", "SETNAME", "subber")
    a.send(b"SUBSCRIBE x y\r\n")
    a.read_reply()
    a.read_reply()
    a.cmd("PSUBSCRIBE", "p*")
    a.cmd("SSUBSCRIBE", "s")
    lines = q.call("CLIENT", "LIST").split(b"\n")
    f = [client_fields(l) for l in lines if b"name=subber" in l][0]
    assert (f[b"flags"], f[b"sub"], f[b"psub"], f[b"ssub"]) == \
        (b"P", b"2", b"1", b"1")
    me = client_fields(q.call("CLIENT", "INFO"))
    assert (me[b"flags"], me[b"sub"], me[b"psub"], me[b"ssub"]) == \
        (b"N", b"0", b"0", b"0")
    listed = q.call("CLIENT", "LIST", "TYPE", "pubsub")
    assert b"name=subber" in listed and listed.count(b"\n") == 1
    assert b"name=subber" not in q.call("CLIENT", "LIST", "TYPE", "normal")
    stats = dict(l.split(b":", 1) for l in
                 q.call("INFO", "stats").split(b"\r\n") if b":" in l)
    assert (stats[b"pubsub_channels"], stats[b"pubsub_patterns"],
            stats[b"pubsubshard_channels"]) == (b"2", b"1", b"1")
    a.cmd("UNSUBSCRIBE", "x")
    a.send(b"UNSUBSCRIBE y\r\nPUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n")
    for _ in range(3):
        a.read_reply()
    lines = q.call("CLIENT", "LIST").split(b"\n")
    f = [client_fields(l) for l in lines if b"name=subber" in l][0]
    assert (f[b"flags"], f[b"sub"], f[b"psub"], f[b"ssub"]) == \
        (b"N", b"0", b"0", b"0")
    stats = dict(l.split(b":", 1) for l in
                 q.call("INFO", "stats").split(b"\r\n") if b":" in l)
    assert (stats[b"pubsub_channels"], stats[b"pubsub_patterns"],
            stats[b"pubsubshard_channels"]) == (b"0", b"0", b"0")


# -- redis-py --------------------------------------------------------------------


def test_redis_py_pubsub(r):
    p = r.pubsub()
    p.subscribe("py")
    p.psubscribe("py*")
    assert p.get_message(timeout=2)["type"] == "subscribe"
    assert p.get_message(timeout=2)["type"] == "psubscribe"
    assert r.publish("py", "hello") == 2
    m1 = p.get_message(timeout=2)
    m2 = p.get_message(timeout=2)
    assert (m1["type"], m1["channel"], m1["data"]) == \
        ("message", b"py", b"hello")
    assert (m2["type"], m2["pattern"], m2["data"]) == \
        ("pmessage", b"py*", b"hello")
    assert r.pubsub_numsub("py") == [(b"py", 1)]
    assert r.pubsub_numpat() == 1
    p.close()
    wait_for(lambda: r.pubsub_numpat() == 0, what="cleanup")


# -- output buffer limit ---------------------------------------------------------


def test_slow_subscriber_dropped(server, raw):
    """A subscriber that does not read is dropped at the pubsub class's
    hard limit; the publisher carries on."""
    pub = raw(server)
    assert pub.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   "pubsub 256kb 0 0") == b"+OK\r\n"
    slow = raw(server)
    assert slow.cmd("SUBSCRIBE", "firehose") == \
        msg2(b"subscribe", b"firehose", count=1)
    # A normal client with the same backlog would be fine: the normal
    # class has no limit.
    payload = b"x" * 65536
    dropped = False
    for i in range(400):
        n = int(pub.cmd("PUBLISH", "firehose", payload)[1:-2])
        if n == 0 or pub.cmd("PUBSUB", "NUMSUB", "firehose").endswith(
                b":0\r\n"):
            dropped = True
            break
    assert dropped, "slow subscriber was not disconnected"
    # The publisher is unaffected.
    assert pub.cmd("PING") == b"+PONG\r\n"
    assert pub.cmd("PUBLISH", "firehose", "after") == b":0\r\n"
    # The subscriber's connection is closed (after whatever was sent).
    assert drain_until_close(slow, 20)
    info = pub.call("INFO", "clients")
    assert b"connected_clients:1\r\n" in info


def test_normal_client_not_limited_by_pubsub_class(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "client-output-buffer-limit",
                 "pubsub 1kb 0 0") == b"+OK\r\n"
    assert c.cmd("SET", "big", "y" * 100000) == b"+OK\r\n"
    assert len(c.cmd("GET", "big")) > 100000
    # A RESP3 subscriber is also in the pubsub class.
    s = raw(server)
    s.cmd("HELLO", "3")
    assert s.cmd("SUBSCRIBE", "c") == \
        msg2(b"subscribe", b"c", count=1, push=True)
    s.send(b"GET big\r\n")
    assert s.is_closed(5)
