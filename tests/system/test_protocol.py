"""RESP2/RESP3 framing, HELLO, inline commands, pipelining, split input.

Replies are compared byte for byte with what Redis 7.0 sends, because
clients parse them byte for byte.
"""

import re
import socket
import time

import pytest

from conftest import encode_command


def hello_map(reply):
    """Parse the flat HELLO reply of redis-py (RESP2) into a dict."""
    it = iter(reply)
    return dict(zip(it, it))


# -- RESP2 basics ---------------------------------------------------------------


def test_resp2_reply_types(shared_server, raw):
    c = raw(shared_server)
    c.cmd("FLUSHALL")
    assert c.cmd("SET", "k", "v") == b"+OK\r\n"
    assert c.cmd("GET", "k") == b"$1\r\nv\r\n"
    assert c.cmd("GET", "nokey") == b"$-1\r\n"
    assert c.cmd("EXISTS", "k", "k") == b":2\r\n"
    assert c.cmd("MGET", "k", "nokey") == b"*2\r\n$1\r\nv\r\n$-1\r\n"
    assert c.cmd("SET", "e", "") == b"+OK\r\n"
    assert c.cmd("GET", "e") == b"$0\r\n\r\n"
    assert c.cmd("CONFIG", "GET", "maxmemory") == \
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    assert c.cmd("KEYS", "nomatch*") == b"*0\r\n"


def test_binary_safe_values(r):
    value = bytes(range(256)) * 4 + b"\r\n\x00"
    assert r.set(b"bin\x00key\r\n", value) is True
    assert r.get(b"bin\x00key\r\n") == value
    assert r.strlen(b"bin\x00key\r\n") == len(value)


# -- HELLO / RESP3 ------------------------------------------------------------


def test_hello3_returns_map(shared_server, raw):
    c = raw(shared_server)
    client_id = int(c.cmd("CLIENT", "ID")[1:-2])
    reply = c.cmd("HELLO", "3")
    m = re.fullmatch(
        rb"%7\r\n"
        rb"\$6\r\nserver\r\n\$(\d+)\r\n([^\r]+)\r\n"
        rb"\$7\r\nversion\r\n\$(\d+)\r\n(\d+\.\d+\.\d+)\r\n"
        rb"\$5\r\nproto\r\n:3\r\n"
        rb"\$2\r\nid\r\n:(\d+)\r\n"
        rb"\$4\r\nmode\r\n\$10\r\nstandalone\r\n"
        rb"\$4\r\nrole\r\n\$6\r\nmaster\r\n"
        rb"\$7\r\nmodules\r\n\*0\r\n", reply)
    assert m, reply
    assert int(m.group(1)) == len(m.group(2))
    assert int(m.group(3)) == len(m.group(4))
    assert int(m.group(5)) == client_id


@pytest.mark.redis_only
def test_hello3_identifies_redis_7_0(shared_server, raw):
    # Tessera may name itself in "server"; Redis says redis / 7.0.x.
    c = raw(shared_server)
    reply = c.cmd("HELLO", "3")
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"
                            b"$7\r\nversion\r\n$6\r\n7.0.")


def test_resp3_reply_types(shared_server, raw):
    c = raw(shared_server)
    c.cmd("HELLO", "3")
    c.cmd("FLUSHALL")
    assert c.cmd("GET", "nokey") == b"_\r\n"
    assert c.cmd("SET", "k", "v") == b"+OK\r\n"
    assert c.cmd("MGET", "k", "nokey") == b"*2\r\n$1\r\nv\r\n_\r\n"
    assert c.cmd("CONFIG", "GET", "maxmemory") == \
        b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    assert c.cmd("INCRBYFLOAT", "f", "1.5") == b"$3\r\n1.5\r\n"
    assert c.cmd("EXISTS", "k") == b":1\r\n"


def test_hello_without_args_keeps_protocol(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("HELLO").startswith(b"*14\r\n")  # RESP2 flat array
    assert c.cmd("HELLO", "3").startswith(b"%7\r\n")
    assert c.cmd("HELLO").startswith(b"%7\r\n")  # still RESP3
    reply = c.cmd("HELLO", "2")
    assert reply.startswith(b"*14\r\n")
    assert b"$5\r\nproto\r\n:2\r\n" in reply
    assert c.cmd("GET", "nokey") == b"$-1\r\n"


def test_hello2_via_redis_py(r):
    m = hello_map(r.execute_command("HELLO", "2"))
    assert set(m) == {b"server", b"version", b"proto", b"id", b"mode",
                      b"role", b"modules"}
    assert m[b"proto"] == 2
    assert m[b"mode"] == b"standalone"
    assert m[b"role"] == b"master"
    assert m[b"modules"] == []
    assert m[b"id"] == r.client_id()


@pytest.mark.parametrize("version", ["4", "0", "1", "-1", "100"])
def test_hello_unsupported_version(shared_server, raw, version):
    c = raw(shared_server)
    assert c.cmd("HELLO", version) == b"-NOPROTO unsupported protocol version\r\n"


def test_hello_bad_arguments(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("HELLO", "x") == \
        b"-ERR Protocol version is not an integer or out of range\r\n"
    assert c.cmd("HELLO", "3", "FOO") == \
        b"-ERR Syntax error in HELLO option 'FOO'\r\n"
    assert c.cmd("HELLO", "3", "AUTH", "default") == \
        b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
    assert c.cmd("HELLO", "3", "SETNAME") == \
        b"-ERR Syntax error in HELLO option 'SETNAME'\r\n"
    # A failed HELLO leaves the protocol unchanged.
    assert c.cmd("GET", "nokey") == b"$-1\r\n"


def test_hello_setname(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("HELLO", "3", "SETNAME", "myconn").startswith(b"%7\r\n")
    assert c.cmd("CLIENT", "GETNAME") == b"$6\r\nmyconn\r\n"
    assert c.cmd("HELLO", "3", "SETNAME", "a b") == \
        b"-ERR Client names cannot contain spaces, newlines or special " \
        b"characters.\r\n"
    assert c.cmd("CLIENT", "GETNAME") == b"$6\r\nmyconn\r\n"


def test_hello_auth_and_setname(start_server, raw):
    s = start_server("--requirepass", "s3cret")
    c = raw(s)
    assert c.cmd("GET", "a") == b"-NOAUTH Authentication required.\r\n"
    assert c.cmd("HELLO", "3") == (
        b"-NOAUTH HELLO must be called with the client already "
        b"authenticated, otherwise the HELLO AUTH <user> <pass> option can "
        b"be used to authenticate the client and select the RESP protocol "
        b"version at the same time\r\n")
    assert c.cmd("HELLO", "3", "AUTH", "default", "wrong") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert c.cmd("GET", "a") == b"-NOAUTH Authentication required.\r\n"
    reply = c.cmd("HELLO", "3", "AUTH", "default", "s3cret",
                  "SETNAME", "app1")
    assert reply.startswith(b"%7\r\n")
    assert b"$5\r\nproto\r\n:3\r\n" in reply
    assert c.cmd("CLIENT", "GETNAME") == b"$4\r\napp1\r\n"
    assert c.cmd("GET", "a") == b"_\r\n"


def test_hello_auth_resp2(start_server, raw):
    s = start_server("--requirepass", "pw")
    c = raw(s)
    reply = c.cmd("HELLO", "2", "AUTH", "default", "pw")
    assert reply.startswith(b"*14\r\n")
    assert c.cmd("PING") == b"+PONG\r\n"


# -- inline commands -----------------------------------------------------


def test_inline_commands(shared_server, raw):
    c = raw(shared_server)
    c.send(b"FLUSHALL\r\nSET k v\r\nGET k\r\nPING\r\nping hello\r\n")
    assert c.read_reply() == b"+OK\r\n"
    assert c.read_reply() == b"+OK\r\n"
    assert c.read_reply() == b"$1\r\nv\r\n"
    assert c.read_reply() == b"+PONG\r\n"
    assert c.read_reply() == b"$5\r\nhello\r\n"


def test_inline_bare_newline_terminator(shared_server, raw):
    c = raw(shared_server)
    c.send(b"PING\nECHO x\n")
    assert c.read_reply() == b"+PONG\r\n"
    assert c.read_reply() == b"$1\r\nx\r\n"


def test_inline_quoted_arguments(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("FLUSHALL") == b"+OK\r\n"
    for request, reply in [
        (b'SET  "key with spaces"   "v  v"  \r\n', b"+OK\r\n"),
        (b'GET "key with spaces"\r\n', b"$4\r\nv  v\r\n"),
        # Double quotes understand C-like escapes and \xHH.
        (b'ECHO "\\x41\\x42\\n\\t\\"\\\\"\r\n', b'$6\r\nAB\n\t"\\\r\n'),
        (b'ECHO "\\a\\b\\r"\r\n', b"$3\r\n\x07\x08\r\r\n"),
        # An invalid \x escape is taken literally minus the backslash.
        (b'ECHO "\\xzz"\r\n', b"$3\r\nxzz\r\n"),
        # Single quotes only understand \'.
        (b"ECHO 'it\\'s'\r\n", b"$4\r\nit's\r\n"),
        (b"ECHO 'a\\nb'\r\n", b"$4\r\na\\nb\r\n"),
        # Outside quotes a backslash is just a byte.
        (b"ECHO a\\nb\r\n", b"$4\r\na\\nb\r\n"),
        (b'ECHO ""\r\n', b"$0\r\n\r\n"),
    ]:
        c.send(request)
        assert c.read_reply() == reply, request


def test_inline_closing_quote_must_be_followed_by_space(shared_server, raw):
    c = raw(shared_server)
    c.send(b'ECHO "a"b\r\n')
    assert c.read_until_close() == \
        b"-ERR Protocol error: unbalanced quotes in request\r\n"


def test_empty_lines_ignored(shared_server, raw):
    c = raw(shared_server)
    c.send(b"\r\n\r\n   \r\n\t\r\n\n\r\nPING\r\n")
    assert c.read_reply() == b"+PONG\r\n"
    assert c.read_available(0.2) == b""


@pytest.mark.parametrize("prefix", [b"*0\r\n", b"*-1\r\n", b"*-5\r\n",
                                    b"*0\r\n*0\r\n"])
def test_empty_multibulk_ignored(shared_server, raw, prefix):
    # Non-positive multibulk counts are skipped silently, with no reply.
    c = raw(shared_server)
    c.send(prefix + b"*1\r\n$4\r\nPING\r\n")
    assert c.read_reply() == b"+PONG\r\n"
    assert c.read_available(0.2) == b""


def test_empty_command_name(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("") == \
        b"-ERR unknown command '', with args beginning with: \r\n"


# -- pipelining and split input --------------------------------------------


def test_pipeline_10000_commands_one_send(shared_server, raw):
    c = raw(shared_server, timeout=30)
    c.cmd("FLUSHALL")
    n = 10000
    batch = b"".join(encode_command("INCR", "counter") for _ in range(n))
    batch += b"".join(encode_command("SET", "k%d" % i, "v%d" % i)
                      for i in range(n))
    batch += b"".join(encode_command("GET", "k%d" % i) for i in range(n))
    c.send(batch)
    for i in range(1, n + 1):
        assert c.read_reply() == b":%d\r\n" % i
    for i in range(n):
        assert c.read_reply() == b"+OK\r\n"
    for i in range(n):
        v = b"v%d" % i
        assert c.read_reply() == b"$%d\r\n%s\r\n" % (len(v), v)
    assert c.cmd("DBSIZE") == b":%d\r\n" % (n + 1)


def test_pipeline_mixed_inline_and_multibulk(shared_server, raw):
    c = raw(shared_server)
    c.send(b"PING\r\n" + encode_command("ECHO", "a") + b"ECHO b\r\n"
           + encode_command("ECHO", "c") + b"GET\r\n" + b"PING\r\n")
    assert c.read_reply() == b"+PONG\r\n"
    assert c.read_reply() == b"$1\r\na\r\n"
    assert c.read_reply() == b"$1\r\nb\r\n"
    assert c.read_reply() == b"$1\r\nc\r\n"
    assert c.read_reply() == \
        b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.read_reply() == b"+PONG\r\n"


def test_pipeline_via_redis_py(r):
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("p%d" % i, i)
        p.get("p%d" % i)
    res = p.execute()
    assert res[0::2] == [True] * 1000
    assert res[1::2] == [str(i).encode() for i in range(1000)]


def _send_byte_by_byte(c, data):
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 7 == 0:
            time.sleep(0.001)  # let the server see a partial buffer


def test_multibulk_sent_byte_by_byte(shared_server, raw):
    c = raw(shared_server)
    _send_byte_by_byte(c, encode_command("SET", "split", "x" * 50)
                       + encode_command("GET", "split"))
    assert c.read_reply() == b"+OK\r\n"
    assert c.read_reply() == b"$50\r\n" + b"x" * 50 + b"\r\n"


def test_inline_sent_byte_by_byte(shared_server, raw):
    c = raw(shared_server)
    _send_byte_by_byte(c, b'ECHO "hello world"\r\nPING\r\n')
    assert c.read_reply() == b"$11\r\nhello world\r\n"
    assert c.read_reply() == b"+PONG\r\n"


def test_no_reply_before_command_complete(shared_server, raw):
    c = raw(shared_server)
    c.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
    assert c.read_available(0.3) == b""
    c.send(b"lo\r")
    assert c.read_available(0.2) == b""
    c.send(b"\n")
    assert c.read_reply() == b"$5\r\nhello\r\n"


def test_large_value_split_across_many_reads(shared_server, raw):
    c = raw(shared_server, timeout=30)
    value = b"0123456789abcdef" * 65536  # 1 MiB, above PROTO_MBULK_BIG_ARG
    data = encode_command("SET", "big", value) + encode_command("STRLEN", "big")
    for i in range(0, len(data), 100000):
        c.send(data[i:i + 100000])
    assert c.read_reply() == b"+OK\r\n"
    assert c.read_reply() == b":%d\r\n" % len(value)
    c.send(encode_command("GET", "big"))
    assert c.read_reply() == b"$%d\r\n%s\r\n" % (len(value), value)
