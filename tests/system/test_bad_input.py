"""Malformed and hostile input: exact error texts, disconnects, limits.

A protocol error is answered with Redis's exact "-ERR Protocol error: ..."
line and the connection is then closed, while other clients are untouched.
Limits on what an unauthenticated or misbehaving client can make the
server buffer are checked through INFO's used_memory.
"""

import socket
import time

import pytest

from conftest import lpush_or_skip, make_list

from conftest import encode_command


def used_memory(server, password=None):
    return server.info("memory", password=password)["used_memory"]


def send_until_closed(conn, chunk, limit, deadline=20.0):
    """Stream `chunk` repeatedly until the server hangs up.

    Returns how many bytes were accepted by the kernel before the send
    failed (or `limit` if it never failed, which callers assert against).
    """
    sent = 0
    end = time.monotonic() + deadline
    conn.sock.settimeout(2.0)
    try:
        while sent < limit and time.monotonic() < end:
            conn.sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        return sent
    return sent


def assert_protocol_error(server, raw, payload, message, password=None):
    """`payload` gets `-ERR Protocol error: <message>` and a close."""
    bystander = raw(server)
    if password:
        assert bystander.cmd("AUTH", password) == b"+OK\r\n"
    assert bystander.cmd("PING") == b"+PONG\r\n"
    c = raw(server)
    c.send(payload)
    assert c.read_until_close() == b"-ERR Protocol error: %s\r\n" % message
    assert bystander.cmd("ECHO", "still here") == b"$10\r\nstill here\r\n"


# -- protocol errors --------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    b"*abc\r\n",
    b"*+1\r\n",
    b"*1 \r\n",
    b"*1x\r\n$4\r\nPING\r\n",
    b"*2147483648\r\n",          # > INT_MAX
    b"*3000000000\r\n",
    b"*99999999999999999999999\r\n",
])
def test_invalid_multibulk_length(shared_server, raw, payload):
    assert_protocol_error(shared_server, raw, payload,
                          b"invalid multibulk length")


def test_huge_but_valid_multibulk_length_waits(shared_server, raw):
    # INT_MAX itself is accepted; the server just waits for the arguments
    # (and must not preallocate for them).
    before = used_memory(shared_server)
    c = raw(shared_server)
    c.send(b"*2147483647\r\n")
    assert c.read_available(0.3) == b""
    assert used_memory(shared_server) - before < 256 * 1024


@pytest.mark.parametrize("payload,got", [
    (b"*1\r\n+foo\r\n", b"+"),
    (b"*2\r\n$4\r\nECHO\r\n:1\r\n", b":"),
    (b"*1\r\nPING\r\n", b"P"),
])
def test_expected_dollar(shared_server, raw, payload, got):
    assert_protocol_error(shared_server, raw, payload,
                          b"expected '$', got '%s'" % got)


@pytest.mark.parametrize("payload", [
    b"*1\r\n$-3\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\n$+4\r\nPING\r\n",
    b"*1\r\n$00000004\r\nPING\r\n",   # no leading zeros
    b"*1\r\n$4294967296\r\n",         # 4 GiB > proto-max-bulk-len
    b"*1\r\n$536870913\r\n",          # 512 MiB + 1
    b"*1\r\n$" + b"1" * 20000 + b"\r\n",
])
def test_invalid_bulk_length(shared_server, raw, payload):
    assert_protocol_error(shared_server, raw, payload,
                          b"invalid bulk length")


def test_4gb_bulk_does_not_allocate(server, raw):
    before = used_memory(server)
    c = raw(server)
    c.send(b"*1\r\n$4294967296\r\n")
    assert c.read_until_close() == \
        b"-ERR Protocol error: invalid bulk length\r\n"
    assert used_memory(server) - before < 64 * 1024
    assert server.info("memory")["used_memory_peak"] - before < 256 * 1024


@pytest.mark.parametrize("payload", [
    b'SET "a b\r\n',
    b"SET a 'b\r\n",
    b'ECHO "abc"def\r\n',
    b"ECHO 'abc'def\r\n",
])
def test_unbalanced_quotes(shared_server, raw, payload):
    assert_protocol_error(shared_server, raw, payload,
                          b"unbalanced quotes in request")


def test_too_big_inline_request(shared_server, raw):
    assert_protocol_error(shared_server, raw, b"a" * (64 * 1024 + 100),
                          b"too big inline request")


def test_inline_just_under_limit_is_fine(shared_server, raw):
    c = raw(shared_server)
    arg = b"x" * 60000
    c.send(b"ECHO " + arg + b"\r\n")
    assert c.read_reply() == b"$60000\r\n" + arg + b"\r\n"


def test_too_big_mbulk_count_string(shared_server, raw):
    assert_protocol_error(shared_server, raw, b"*" + b"1" * 70000,
                          b"too big mbulk count string")


def test_too_big_bulk_count_string(shared_server, raw):
    assert_protocol_error(shared_server, raw, b"*1\r\n$" + b"1" * 70000,
                          b"too big bulk count string")


def test_error_after_valid_commands_in_same_packet(shared_server, raw):
    # Commands before the bad frame are answered, then the error, then EOF.
    c = raw(shared_server)
    c.send(b"PING\r\n" + encode_command("ECHO", "x") + b"*1\r\n$-3\r\nPING\r\n")
    assert c.read_until_close() == (
        b"+PONG\r\n$1\r\nx\r\n-ERR Protocol error: invalid bulk length\r\n")


# -- unauthenticated limits ---------------------------------------------------


@pytest.fixture
def authsrv(start_server):
    return start_server("--requirepass", "pw")


def test_unauthenticated_multibulk_length(authsrv, raw):
    ok = raw(authsrv)
    assert ok.cmd("AUTH", "pw") == b"+OK\r\n"
    assert_protocol_error(authsrv, raw, b"*11\r\n",
                          b"unauthenticated multibulk length", "pw")
    # Ten arguments is still fine (and gets NOAUTH).
    c = raw(authsrv)
    assert c.cmd(*["MGET"] + ["a"] * 9) == \
        b"-NOAUTH Authentication required.\r\n"


def test_unauthenticated_bulk_length(authsrv, raw):
    assert_protocol_error(authsrv, raw, b"*1\r\n$16385\r\n",
                          b"unauthenticated bulk length", "pw")
    c = raw(authsrv)
    assert c.cmd("ECHO", "x" * 16384) == b"-NOAUTH Authentication required.\r\n"


def test_limits_lifted_after_auth(authsrv, raw):
    c = raw(authsrv)
    assert c.cmd("AUTH", "pw") == b"+OK\r\n"
    assert c.cmd(*["MSET"] + ["k", "v"] * 10) == b"+OK\r\n"
    assert c.cmd("SET", "big", "x" * 100000) == b"+OK\r\n"
    assert c.cmd("STRLEN", "big") == b":100000\r\n"


def test_unauthenticated_1mb_bulk_rejected(authsrv, raw):
    before = used_memory(authsrv, "pw")
    c = raw(authsrv)
    c.send(b"*2\r\n$4\r\nECHO\r\n$1048576\r\n")
    assert c.read_until_close() == \
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    assert used_memory(authsrv, "pw") - before < 64 * 1024
    assert authsrv.info("memory", password="pw")["used_memory_peak"] \
        - before < 512 * 1024


def test_unauthenticated_garbage_flood_is_bounded(authsrv, raw):
    before = used_memory(authsrv, "pw")
    c = raw(authsrv)
    sent = send_until_closed(c, b"x" * 65536, 100 * 1024 * 1024)
    assert sent < 100 * 1024 * 1024, "server kept reading 100 MB of garbage"
    after = authsrv.info("memory", password="pw")
    assert after["used_memory"] - before < 64 * 1024
    assert after["used_memory_peak"] - before < 1024 * 1024
    ok = raw(authsrv)
    assert ok.cmd("AUTH", "pw") == b"+OK\r\n"


# -- configurable limits ----------------------------------------------------


def test_proto_max_bulk_len(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "proto-max-bulk-len", "1mb") == b"+OK\r\n"
    assert c.cmd("CONFIG", "GET", "proto-max-bulk-len") == \
        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n"
    value = b"v" * 1048576
    assert c.cmd("SET", "k", value) == b"+OK\r\n"
    assert c.cmd("STRLEN", "k") == b":1048576\r\n"
    assert_protocol_error(server, raw, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
                          b"$1048577\r\n", b"invalid bulk length")


def test_proto_max_bulk_len_minimum(r):
    with pytest.raises(Exception) as e:
        r.config_set("proto-max-bulk-len", "1000")
    assert str(e.value) == (
        "CONFIG SET failed (possibly related to argument "
        "'proto-max-bulk-len') - argument must be between 1048576 and "
        "9223372036854775807 inclusive")


def test_client_query_buffer_limit(server, raw):
    admin = raw(server)
    assert admin.cmd("CONFIG", "SET", "client-query-buffer-limit", "1mb") \
        == b"+OK\r\n"
    assert admin.cmd("CONFIG", "GET", "client-query-buffer-limit") == \
        b"*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n1048576\r\n"
    bystander = raw(server)
    assert bystander.cmd("PING") == b"+PONG\r\n"
    c = raw(server)
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n")
    sent = send_until_closed(c, b"x" * 65536, 8 * 1024 * 1024)
    assert sent < 8 * 1024 * 1024, "10 MB bulk kept being read"
    # No reply is sent: the client is just dropped.
    assert c.read_until_close() == b""
    assert bystander.cmd("ECHO", "ok") == b"$2\r\nok\r\n"
    assert admin.cmd("EXISTS", "k") == b":0\r\n"


def test_client_query_buffer_limit_minimum(r):
    with pytest.raises(Exception) as e:
        r.config_set("client-query-buffer-limit", "1000")
    assert str(e.value) == (
        "CONFIG SET failed (possibly related to argument "
        "'client-query-buffer-limit') - argument must be between 1048576 "
        "and 9223372036854775807 inclusive")


def test_maxclients(server, raw):
    admin = raw(server)
    assert admin.cmd("CONFIG", "SET", "maxclients", "3") == b"+OK\r\n"
    assert admin.cmd("CONFIG", "GET", "maxclients") == \
        b"*2\r\n$10\r\nmaxclients\r\n$1\r\n3\r\n"
    c2 = raw(server)
    c3 = raw(server)
    assert c2.cmd("PING") == b"+PONG\r\n"
    assert c3.cmd("PING") == b"+PONG\r\n"
    c4 = raw(server)
    assert c4.read_until_close() == b"-ERR max number of clients reached\r\n"
    # The rejected connection never counts; the others keep working.
    assert admin.cmd("ECHO", "a") == b"$1\r\na\r\n"
    c3.close()
    time.sleep(0.1)
    c5 = raw(server)
    assert c5.cmd("PING") == b"+PONG\r\n"
    assert b"\r\nrejected_connections:1\r\n" in admin.cmd("INFO", "stats")


# -- command-level errors -----------------------------------------------------------


def test_wrong_arity(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.cmd("GET", "a", "b") == \
        b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.cmd("SET", "a") == \
        b"-ERR wrong number of arguments for 'set' command\r\n"
    assert c.cmd("MSET", "a", "1", "b") == \
        b"-ERR wrong number of arguments for 'mset' command\r\n"
    assert c.cmd("config", "get") == \
        b"-ERR wrong number of arguments for 'config|get' command\r\n"
    # The name is reported lowercase whatever case was sent.
    assert c.cmd("gEt") == b"-ERR wrong number of arguments for 'get' command\r\n"


def test_unknown_command(shared_server, raw):
    c = raw(shared_server)
    # Note the trailing space after the last quoted argument.
    assert c.cmd("foo", "a", "b") == \
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    assert c.cmd("foo") == \
        b"-ERR unknown command 'foo', with args beginning with: \r\n"
    # The command name keeps its original case.
    assert c.cmd("FooBar", "x") == \
        b"-ERR unknown command 'FooBar', with args beginning with: 'x' \r\n"
    c.send(b"foo a b c\r\n")
    assert c.read_reply() == (b"-ERR unknown command 'foo', with args "
                              b"beginning with: 'a' 'b' 'c' \r\n")


def test_unknown_command_args_truncated(shared_server, raw):
    c = raw(shared_server)
    # Arguments are appended while the list is shorter than 128 bytes, each
    # cut to what is left of 128.
    assert c.cmd("foo", "a" * 100, "b" * 100, "c") == (
        b"-ERR unknown command 'foo', with args beginning with: '"
        + b"a" * 100 + b"' '" + b"b" * 25 + b"' \r\n")
    assert c.cmd("foo" + "x" * 200, "a" * 200) == (
        b"-ERR unknown command '" + b"foo" + b"x" * 125
        + b"', with args beginning with: '" + b"a" * 128 + b"' \r\n")
    assert c.cmd("foo", *["a"] * 100) == (
        b"-ERR unknown command 'foo', with args beginning with: "
        + b"'a' " * 32 + b"\r\n")


def test_error_text_newlines_replaced(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("foo\r\nbar", "x\ny") == \
        b"-ERR unknown command 'foo  bar', with args beginning with: 'x y' \r\n"


def test_unknown_subcommand(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("CONFIG", "foo") == \
        b"-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n"
    assert c.cmd("CLIENT", "foo") == \
        b"-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
    assert c.cmd("OBJECT", "foo", "x") == \
        b"-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
    assert c.cmd("COMMAND", "foo") == \
        b"-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n"
    assert c.cmd("SLOWLOG", "foo") == \
        b"-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\r\n"
    assert c.cmd("CONFIG") == \
        b"-ERR wrong number of arguments for 'config' command\r\n"


def test_wrongtype(shared_server, raw):
    c = raw(shared_server)
    c.cmd("DEL", "list")
    assert make_list(c, "list", "a") == b":1\r\n"
    wrongtype = (b"-WRONGTYPE Operation against a key holding the wrong "
                 b"kind of value\r\n")
    for args in (("GET", "list"), ("INCR", "list"), ("APPEND", "list", "x"),
                 ("STRLEN", "list"), ("GETRANGE", "list", "0", "1"),
                 ("SETRANGE", "list", "0", "x"), ("GETSET", "list", "x"),
                 ("GETDEL", "list"), ("GETEX", "list"),
                 ("INCRBYFLOAT", "list", "1"), ("DECRBY", "list", "1")):
        assert c.cmd(*args) == wrongtype, args
    # MGET never fails: the wrong-type key reads as nil.
    assert c.cmd("MGET", "list") == b"*1\r\n$-1\r\n"
    # SET overwrites any type.
    assert c.cmd("SET", "list", "v") == b"+OK\r\n"
    assert c.cmd("TYPE", "list") == b"+string\r\n"


def test_incr_errors(shared_server, raw):
    c = raw(shared_server)
    c.cmd("FLUSHALL")
    notint = b"-ERR value is not an integer or out of range\r\n"
    overflow = b"-ERR increment or decrement would overflow\r\n"
    assert c.cmd("SET", "s", "abc") == b"+OK\r\n"
    assert c.cmd("INCR", "s") == notint
    assert c.cmd("SET", "s", " 1") == b"+OK\r\n"
    assert c.cmd("INCR", "s") == notint
    assert c.cmd("SET", "s", "1.5") == b"+OK\r\n"
    assert c.cmd("INCR", "s") == notint
    assert c.cmd("SET", "s", "99999999999999999999") == b"+OK\r\n"
    assert c.cmd("INCR", "s") == notint
    assert c.cmd("INCRBY", "x", "abc") == notint
    assert c.cmd("INCRBY", "x", "9223372036854775808") == notint
    assert c.cmd("SET", "n", "9223372036854775807") == b"+OK\r\n"
    assert c.cmd("INCR", "n") == overflow
    assert c.cmd("INCRBY", "n", "1") == overflow
    assert c.cmd("SET", "m", "-9223372036854775808") == b"+OK\r\n"
    assert c.cmd("DECR", "m") == overflow
    assert c.cmd("INCRBY", "m", "-1") == overflow
    # DECRBY LLONG_MIN cannot be negated: its own message.
    assert c.cmd("SET", "q", "1") == b"+OK\r\n"
    assert c.cmd("DECRBY", "q", "-9223372036854775808") == \
        b"-ERR decrement would overflow\r\n"
    # Failed increments leave the value unchanged.
    assert c.cmd("GET", "n") == b"$19\r\n9223372036854775807\r\n"


def test_incrbyfloat_errors(shared_server, raw):
    c = raw(shared_server)
    c.cmd("FLUSHALL")
    nan_inf = b"-ERR increment would produce NaN or Infinity\r\n"
    notfloat = b"-ERR value is not a valid float\r\n"
    assert c.cmd("INCRBYFLOAT", "f", "inf") == nan_inf
    assert c.cmd("INCRBYFLOAT", "f", "-inf") == nan_inf
    assert c.cmd("INCRBYFLOAT", "f", "+inf") == nan_inf
    # NaN is not even parsed as a float.
    assert c.cmd("INCRBYFLOAT", "f", "nan") == notfloat
    assert c.cmd("INCRBYFLOAT", "f", "abc") == notfloat
    assert c.cmd("INCRBYFLOAT", "f", "") == notfloat
    assert c.cmd("INCRBYFLOAT", "f", " 1") == notfloat
    assert c.cmd("SET", "s", "abc") == b"+OK\r\n"
    assert c.cmd("INCRBYFLOAT", "s", "1") == notfloat
    assert c.cmd("EXISTS", "f") == b":0\r\n"


def test_set_expire_errors(shared_server, raw):
    c = raw(shared_server)
    bad = b"-ERR invalid expire time in 'set' command\r\n"
    for opt, val in (("EX", "0"), ("EX", "-1"), ("PX", "0"), ("PX", "-5"),
                     ("EXAT", "0"), ("PXAT", "-1"),
                     ("EX", "9223372036854775807"),
                     ("PX", "9223372036854775807")):
        assert c.cmd("SET", "k", "v", opt, val) == bad, (opt, val)
    notint = b"-ERR value is not an integer or out of range\r\n"
    assert c.cmd("SET", "k", "v", "EX", "x") == notint
    assert c.cmd("SET", "k", "v", "EX", "1.5") == notint
    assert c.cmd("SETEX", "k", "0", "v") == \
        b"-ERR invalid expire time in 'setex' command\r\n"
    assert c.cmd("PSETEX", "k", "-1", "v") == \
        b"-ERR invalid expire time in 'psetex' command\r\n"
    assert c.cmd("EXISTS", "k") == b":0\r\n"
    # GETEX looks the key up first: a missing key is nil even with a bad
    # expire time; an existing key gets the error and keeps its value.
    assert c.cmd("GETEX", "k", "EX", "0") == b"$-1\r\n"
    assert c.cmd("SET", "k", "v") == b"+OK\r\n"
    assert c.cmd("GETEX", "k", "EX", "0") == \
        b"-ERR invalid expire time in 'getex' command\r\n"
    assert c.cmd("GETEX", "k", "PX", "-1") == \
        b"-ERR invalid expire time in 'getex' command\r\n"
    assert c.cmd("GET", "k") == b"$1\r\nv\r\n"
    assert c.cmd("DEL", "k") == b":1\r\n"


def test_syntax_errors(shared_server, raw):
    c = raw(shared_server)
    syntax = b"-ERR syntax error\r\n"
    for args in (("SET", "k", "v", "EX"),
                 ("SET", "k", "v", "FOO"),
                 ("SET", "k", "v", "NX", "XX"),
                 ("SET", "k", "v", "EX", "1", "PX", "1"),
                 ("SET", "k", "v", "KEEPTTL", "EX", "1"),
                 ("SET", "k", "v", "EXAT", "1", "PXAT", "1"),
                 ("GETEX", "k", "PERSIST", "EX", "1"),
                 ("GETEX", "k", "FOO"),
                 ("FLUSHALL", "FOO"),
                 ("CLIENT", "KILL", "ID", "1", "FOO")):
        assert c.cmd(*args) == syntax, args
    # EXPIRE has its own message, echoing the option as sent.
    assert c.cmd("EXPIRE", "k", "10", "Foo") == \
        b"-ERR Unsupported option Foo\r\n"
    # Repeating the same option is accepted.
    assert c.cmd("SET", "k", "v", "EX", "100", "EX", "100") == b"+OK\r\n"
