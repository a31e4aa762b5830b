"""Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
BZPOPMAX, BZMPOP.

Served first come first served per key when data arrives, null array on
timeout (RESP2 *-1, RESP3 _), commands pipelined behind a blocked command
wait for it, a waiter that disconnects leaves no trace.  Exact bytes as
Redis 7.0.15 sends them (the suite runs against it with
TESSERA_SERVER=redis).
"""

import time

import pytest

from conftest import encode_command

NULLARR = b"*-1\r\n"


def bulk(v):
    v = v.encode() if isinstance(v, str) else v
    return b"$%d\r\n%s\r\n" % (len(v), v)


def arr(*items):
    return b"*%d\r\n" % len(items) + b"".join(items)


@pytest.fixture
def conns(shared_server, raw):
    def make(n):
        cs = [raw(shared_server) for _ in range(n)]
        cs[0].cmd("FLUSHALL")
        return cs
    return make


def blocked(conn, wait=0.15):
    """True if nothing arrived on conn for `wait` seconds."""
    return conn.read_available(wait) == b""


def test_blpop_served_by_push_and_pipeline_waits(conns):
    a, b = conns(2)
    a.send(encode_command("BLPOP", "l1", "l2", "0") + encode_command("PING"))
    assert blocked(a)
    assert b.cmd("RPUSH", "l2", "x", "y") == b":2\r\n"
    assert a.read_reply() == arr(bulk("l2"), bulk("x"))
    assert a.read_reply() == b"+PONG\r\n"          # ran after the unblock
    assert b.cmd("LRANGE", "l2", "0", "-1") == arr(bulk("y"))


def test_blpop_returns_at_once_when_data_exists(conns):
    (a,) = conns(1)
    a.cmd("RPUSH", "l", "1", "2")
    assert a.cmd("BLPOP", "missing", "l", "0") == arr(bulk("l"), bulk("1"))
    assert a.cmd("BRPOP", "l", "0") == arr(bulk("l"), bulk("2"))
    assert a.cmd("EXISTS", "l") == b":0\r\n"       # emptied list is deleted


def test_timeouts_reply_null_array(conns):
    (a,) = conns(1)
    t0 = time.monotonic()
    assert a.cmd("BLPOP", "nothing", "0.2") == NULLARR
    assert time.monotonic() - t0 >= 0.19
    # BRPOPLPUSH and BLMOVE time out with a null *array* too (Redis 7.0)
    assert a.cmd("BRPOPLPUSH", "nothing", "dst", "0.1") == NULLARR
    assert a.cmd("BLMOVE", "nothing", "dst", "LEFT", "RIGHT", "0.1") == NULLARR
    assert a.cmd("BZPOPMIN", "nothing", "0.1") == NULLARR
    assert a.cmd("BLMPOP", "0.1", "1", "nothing", "LEFT") == NULLARR
    a.cmd("HELLO", "3")
    assert a.cmd("BLPOP", "nothing", "0.1") == b"_\r\n"


def test_fifo_per_key(conns):
    a, b, c = conns(3)
    a.send(encode_command("BLPOP", "q", "0"))
    assert blocked(a, 0.05)
    b.send(encode_command("BLPOP", "q", "0"))
    assert blocked(b, 0.05)
    assert c.cmd("RPUSH", "q", "first") == b":1\r\n"
    assert a.read_reply() == arr(bulk("q"), bulk("first"))
    assert blocked(b)                                # b still waits
    assert c.cmd("RPUSH", "q", "second") == b":1\r\n"
    assert b.read_reply() == arr(bulk("q"), bulk("second"))


def test_one_push_of_two_serves_two(conns):
    a, b, c = conns(3)
    a.send(encode_command("BLPOP", "q", "0"))
    b.send(encode_command("BRPOP", "q", "0"))
    assert blocked(a, 0.05) and blocked(b, 0.05)
    assert c.cmd("RPUSH", "q", "x", "y") == b":2\r\n"
    assert a.read_reply() == arr(bulk("q"), bulk("x"))
    assert b.read_reply() == arr(bulk("q"), bulk("y"))
    assert c.cmd("EXISTS", "q") == b":0\r\n"


def test_blmove_chain(conns):
    a, b, c = conns(3)
    # a moves from l1 to l2 once l1 has data; b waits on l2
    a.send(encode_command("BLMOVE", "l1", "l2", "LEFT", "RIGHT", "0"))
    b.send(encode_command("BLPOP", "l2", "0"))
    assert blocked(a, 0.05) and blocked(b, 0.05)
    assert c.cmd("LPUSH", "l1", "v") == b":1\r\n"
    assert a.read_reply() == bulk("v")
    assert b.read_reply() == arr(bulk("l2"), bulk("v"))
    assert c.cmd("EXISTS", "l1", "l2") == b":0\r\n"


def test_brpoplpush_and_blmpop(conns):
    a, b = conns(2)
    a.send(encode_command("BRPOPLPUSH", "src", "dst", "0"))
    assert blocked(a)
    b.cmd("RPUSH", "src", "1", "2")
    assert a.read_reply() == bulk("2")
    assert b.cmd("LRANGE", "dst", "0", "-1") == arr(bulk("2"))
    a.send(encode_command("BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT",
                          "2"))
    assert blocked(a)
    b.cmd("RPUSH", "m2", "a", "b", "c")
    assert a.read_reply() == arr(bulk("m2"), arr(bulk("c"), bulk("b")))


def test_bzpop_and_bzmpop(conns):
    a, b = conns(2)
    a.send(encode_command("BZPOPMIN", "z1", "z2", "0"))
    assert blocked(a)
    b.cmd("ZADD", "z2", "2", "two", "1", "one")
    assert a.read_reply() == arr(bulk("z2"), bulk("one"), bulk("1"))
    assert b.cmd("BZPOPMAX", "z2", "0") == \
        arr(bulk("z2"), bulk("two"), bulk("2"))
    a.send(encode_command("BZMPOP", "0", "1", "z3", "MAX", "COUNT", "5"))
    assert blocked(a)
    b.cmd("ZADD", "z3", "1", "a", "3", "c")
    assert a.read_reply() == arr(bulk("z3"), arr(arr(bulk("c"), bulk("3")),
                                                  arr(bulk("a"), bulk("1"))))


def test_errors(conns):
    (a,) = conns(1)
    assert a.cmd("BLPOP", "k", "-1") == b"-ERR timeout is negative\r\n"
    assert a.cmd("BLPOP", "k", "abc") == \
        b"-ERR timeout is not a float or out of range\r\n"
    assert a.cmd("BLMOVE", "a", "b", "UP", "LEFT", "0") == b"-ERR syntax error\r\n"
    a.cmd("SET", "s", "v")
    assert a.cmd("BLPOP", "s", "0") == \
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    assert a.cmd("BZPOPMIN", "s", "0") == \
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"


def test_waiter_disconnect_and_info(shared_server, conns, raw):
    a, b = conns(2)
    a.send(encode_command("BLPOP", "gone", "0"))
    assert blocked(a)
    info = b.call("INFO", "clients")
    assert b"blocked_clients:1" in info
    a.close()
    time.sleep(0.1)
    assert b"blocked_clients:0" in b.call("INFO", "clients")
    assert b.cmd("RPUSH", "gone", "x") == b":1\r\n"   # nobody to serve
    assert b.cmd("LLEN", "gone") == b":1\r\n"


def test_key_created_with_other_type_keeps_waiting(conns):
    a, b = conns(2)
    a.send(encode_command("BLPOP", "k", "0"))
    assert blocked(a)
    b.cmd("SET", "k", "string")          # not a list: a keeps waiting
    assert blocked(a)
    b.cmd("DEL", "k")
    b.cmd("RPUSH", "k", "v")
    assert a.read_reply() == arr(bulk("k"), bulk("v"))
