"""String commands: replies, options, errors and encodings as Redis 7.0.

Most checks go through a raw connection so the exact reply bytes are
compared; `c` is a raw connection to the shared server after FLUSHALL.
"""

import time

import pytest

from conftest import lpush_or_skip, make_list
from respwire import OK, NIL, SYNTAX, NOTINT, WRONGTYPE, bulk, integer


def pttl(c, key):
    return int(c.cmd("PTTL", key)[1:-2])


# -- SET ---------------------------------------------------------------------


def test_set_get(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("GET", "k") == bulk("v")
    assert c.cmd("SET", "k", "w") == OK
    assert c.cmd("GET", "k") == bulk("w")
    assert c.cmd("GET", "nokey") == NIL


def test_set_nx_xx(c):
    assert c.cmd("SET", "k", "1", "NX") == OK
    assert c.cmd("SET", "k", "2", "NX") == NIL
    assert c.cmd("GET", "k") == bulk("1")
    assert c.cmd("SET", "k", "3", "XX") == OK
    assert c.cmd("GET", "k") == bulk("3")
    assert c.cmd("SET", "other", "1", "XX") == NIL
    assert c.cmd("EXISTS", "other") == integer(0)
    # Options are case-insensitive.
    assert c.cmd("SET", "k", "4", "xx") == OK


def test_set_get_option(c):
    assert c.cmd("SET", "k", "1", "GET") == NIL
    assert c.cmd("SET", "k", "2", "GET") == bulk("1")
    assert c.cmd("GET", "k") == bulk("2")
    # GET combines with NX since 7.0: the old value comes back, no write.
    assert c.cmd("SET", "a", "1", "NX", "GET") == NIL
    assert c.cmd("SET", "a", "2", "NX", "GET") == bulk("1")
    assert c.cmd("GET", "a") == bulk("1")
    assert c.cmd("SET", "a", "3", "XX", "GET") == bulk("1")
    assert c.cmd("GET", "a") == bulk("3")
    assert c.cmd("SET", "nokey", "v", "XX", "GET") == NIL
    assert c.cmd("EXISTS", "nokey") == integer(0)
    assert c.cmd("SET", "a", "4", "GET", "GET") == bulk("3")
    # GET on a non-string fails and does not overwrite.
    assert make_list(c, "l", "x") == integer(1)
    assert c.cmd("SET", "l", "v", "GET") == WRONGTYPE
    assert c.cmd("TYPE", "l") == b"+list\r\n"


def test_set_ex_px(c):
    assert c.cmd("SET", "k", "v", "EX", "100") == OK
    assert 99000 < pttl(c, "k") <= 100000
    assert c.cmd("SET", "k", "v", "PX", "5000") == OK
    assert 4000 < pttl(c, "k") <= 5000
    assert c.cmd("SET", "k", "v", "ex", "10") == OK
    assert c.cmd("TTL", "k") == integer(10)


def test_set_exat_pxat(c):
    now = time.time()
    assert c.cmd("SET", "k", "v", "EXAT", str(int(now) + 100)) == OK
    assert 98000 < pttl(c, "k") <= 100000
    assert c.cmd("SET", "k", "v", "PXAT", str(int(now * 1000) + 50000)) == OK
    assert 48000 < pttl(c, "k") <= 50000
    # A time in the past is accepted and the key is gone at once.
    assert c.cmd("SET", "k", "v", "EXAT", "1") == OK
    assert c.cmd("EXISTS", "k") == integer(0)
    assert c.cmd("SET", "k", "v", "PXAT", "1") == OK
    assert c.cmd("GET", "k") == NIL


def test_set_keepttl(c):
    assert c.cmd("SET", "k", "v", "EX", "100") == OK
    assert c.cmd("SET", "k", "w", "KEEPTTL") == OK
    assert c.cmd("GET", "k") == bulk("w")
    assert 98000 < pttl(c, "k") <= 100000
    assert c.cmd("SET", "k", "x") == OK
    assert c.cmd("TTL", "k") == integer(-1)
    assert c.cmd("SET", "n", "v", "KEEPTTL") == OK
    assert c.cmd("TTL", "n") == integer(-1)


@pytest.mark.parametrize("opts", [
    ("NX", "XX"), ("XX", "NX"),
    ("EX", "1", "PX", "1"), ("PX", "1", "EX", "1"),
    ("EX", "1", "EXAT", "99999999999"), ("PXAT", "1", "EXAT", "1"),
    ("KEEPTTL", "EX", "1"), ("PX", "1", "KEEPTTL"),
    ("EX",), ("PX",), ("EXAT",), ("FOO",), ("EX", "1", "FOO"),
])
def test_set_invalid_combinations(c, opts):
    assert c.cmd("SET", "k", "v", *opts) == SYNTAX
    assert c.cmd("EXISTS", "k") == integer(0)


def test_set_invalid_expire(c):
    bad = b"-ERR invalid expire time in 'set' command\r\n"
    for opts in (("EX", "0"), ("EX", "-10"), ("PX", "0"), ("EXAT", "0"),
                 ("PXAT", "0"), ("EX", "9223372036854775807"),
                 ("PX", "9223372036854775807")):
        assert c.cmd("SET", "k", "v", *opts) == bad, opts
    assert c.cmd("SET", "k", "v", "EX", "abc") == NOTINT
    assert c.cmd("SET", "k", "v", "PX", "1.0") == NOTINT
    assert c.cmd("EXISTS", "k") == integer(0)


# -- GETEX / GETDEL / GETSET ------------------------------------------------------


def test_getex(c):
    assert c.cmd("SET", "k", "v", "EX", "100") == OK
    assert c.cmd("GETEX", "k") == bulk("v")
    assert c.cmd("TTL", "k") == integer(100)
    assert c.cmd("GETEX", "k", "PERSIST") == bulk("v")
    assert c.cmd("TTL", "k") == integer(-1)
    assert c.cmd("GETEX", "k", "EX", "50") == bulk("v")
    assert c.cmd("TTL", "k") == integer(50)
    assert c.cmd("GETEX", "k", "PX", "5000") == bulk("v")
    assert 4000 < pttl(c, "k") <= 5000
    at = int(time.time()) + 1000
    assert c.cmd("GETEX", "k", "EXAT", str(at)) == bulk("v")
    assert 998 <= int(c.cmd("TTL", "k")[1:-2]) <= 1000
    assert c.cmd("GETEX", "k", "PXAT", str(at * 1000)) == bulk("v")
    assert 997000 < pttl(c, "k") <= 1000000
    # A past absolute time returns the value and deletes the key.
    assert c.cmd("GETEX", "k", "PXAT", "1") == bulk("v")
    assert c.cmd("EXISTS", "k") == integer(0)
    assert c.cmd("GETEX", "nokey", "PERSIST") == NIL


def test_getex_errors(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("GETEX", "k", "EX") == SYNTAX
    assert c.cmd("GETEX", "k", "PERSIST", "EX", "1") == SYNTAX
    assert c.cmd("GETEX", "k", "EX", "1", "PX", "1") == SYNTAX
    assert c.cmd("GETEX", "k", "KEEPTTL") == SYNTAX
    assert c.cmd("GETEX", "k", "EX", "0") == \
        b"-ERR invalid expire time in 'getex' command\r\n"
    assert c.cmd("GETEX", "k", "EX", "x") == NOTINT
    assert c.cmd("TTL", "k") == integer(-1)
    assert c.cmd("GETEX") == \
        b"-ERR wrong number of arguments for 'getex' command\r\n"


def test_getdel(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("GETDEL", "k") == bulk("v")
    assert c.cmd("GETDEL", "k") == NIL
    assert c.cmd("EXISTS", "k") == integer(0)
    assert make_list(c, "l", "x") == integer(1)
    assert c.cmd("GETDEL", "l") == WRONGTYPE
    assert c.cmd("EXISTS", "l") == integer(1)


def test_getset(c):
    assert c.cmd("GETSET", "k", "1") == NIL
    assert c.cmd("GETSET", "k", "2") == bulk("1")
    assert c.cmd("GET", "k") == bulk("2")
    # GETSET discards the TTL.
    assert c.cmd("SET", "t", "v", "EX", "100") == OK
    assert c.cmd("GETSET", "t", "w") == bulk("v")
    assert c.cmd("TTL", "t") == integer(-1)


def test_setnx(c):
    assert c.cmd("SETNX", "k", "1") == integer(1)
    assert c.cmd("SETNX", "k", "2") == integer(0)
    assert c.cmd("GET", "k") == bulk("1")


def test_setex_psetex(c):
    assert c.cmd("SETEX", "k", "100", "v") == OK
    assert c.cmd("GET", "k") == bulk("v")
    assert c.cmd("TTL", "k") == integer(100)
    assert c.cmd("PSETEX", "p", "100000", "v") == OK
    assert 99000 < pttl(c, "p") <= 100000
    assert c.cmd("SETEX", "k", "x", "v") == NOTINT
    assert c.cmd("SETEX", "k", "0", "v") == \
        b"-ERR invalid expire time in 'setex' command\r\n"
    assert c.cmd("SETEX", "k", "-5", "v") == \
        b"-ERR invalid expire time in 'setex' command\r\n"
    assert c.cmd("PSETEX", "k", "0", "v") == \
        b"-ERR invalid expire time in 'psetex' command\r\n"
    assert c.cmd("SETEX", "k", "1") == \
        b"-ERR wrong number of arguments for 'setex' command\r\n"


# -- multi-key ---------------------------------------------------------------------


def test_mset_mget(c):
    assert c.cmd("MSET", "a", "1", "b", "2") == OK
    assert c.cmd("MGET", "a", "b", "nokey", "a") == \
        b"*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n1\r\n"
    # The last occurrence of a repeated key wins.
    assert c.cmd("MSET", "m", "1", "m", "2") == OK
    assert c.cmd("GET", "m") == bulk("2")
    assert c.cmd("MSET", "a") == \
        b"-ERR wrong number of arguments for 'mset' command\r\n"
    assert c.cmd("MSET", "a", "1", "b") == \
        b"-ERR wrong number of arguments for 'mset' command\r\n"
    assert c.cmd("MGET") == b"-ERR wrong number of arguments for 'mget' command\r\n"


def test_mset_clears_ttl(c):
    assert c.cmd("SET", "a", "1", "EX", "100") == OK
    assert c.cmd("MSET", "a", "2") == OK
    assert c.cmd("TTL", "a") == integer(-1)


def test_msetnx(c):
    assert c.cmd("MSETNX", "x1", "1", "x2", "2") == integer(1)
    assert c.cmd("MGET", "x1", "x2") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    # All or nothing.
    assert c.cmd("MSETNX", "x3", "3", "x1", "9") == integer(0)
    assert c.cmd("EXISTS", "x3") == integer(0)
    assert c.cmd("GET", "x1") == bulk("1")
    # A key repeated in the same call is not an "existing" key.
    assert c.cmd("MSETNX", "d", "1", "d", "2") == integer(1)
    assert c.cmd("GET", "d") == bulk("2")
    assert c.cmd("MSETNX", "q", "1", "r") == \
        b"-ERR wrong number of arguments for 'msetnx' command\r\n"


# -- counters ----------------------------------------------------------------------


def test_incr_decr(c):
    assert c.cmd("INCR", "n") == integer(1)
    assert c.cmd("INCR", "n") == integer(2)
    assert c.cmd("DECR", "n") == integer(1)
    assert c.cmd("DECR", "n") == integer(0)
    assert c.cmd("DECR", "n") == integer(-1)
    assert c.cmd("INCRBY", "n", "100") == integer(99)
    assert c.cmd("DECRBY", "n", "-1") == integer(100)
    assert c.cmd("DECRBY", "m", "5") == integer(-5)
    assert c.cmd("GET", "n") == bulk("100")
    assert c.cmd("SET", "big", "9223372036854775806") == OK
    assert c.cmd("INCR", "big") == integer(9223372036854775807)
    assert c.cmd("SET", "neg", "-9223372036854775807") == OK
    assert c.cmd("DECR", "neg") == integer(-9223372036854775808)
    assert c.cmd("SET", "s", "-0") == OK
    assert c.cmd("INCR", "s") == NOTINT


def test_incr_keeps_ttl(c):
    assert c.cmd("SET", "n", "1", "EX", "100") == OK
    assert c.cmd("INCR", "n") == integer(2)
    assert c.cmd("TTL", "n") == integer(100)


def test_incr_errors(c):
    assert c.cmd("SET", "s", "abc") == OK
    assert c.cmd("INCR", "s") == NOTINT
    assert c.cmd("INCRBY", "n", "1.5") == NOTINT
    assert c.cmd("SET", "max", "9223372036854775807") == OK
    assert c.cmd("INCR", "max") == b"-ERR increment or decrement would overflow\r\n"
    assert c.cmd("DECRBY", "x", "-9223372036854775808") == \
        b"-ERR decrement would overflow\r\n"


@pytest.mark.parametrize("start,incr,result", [
    (None, "10.5", "10.5"),
    ("10.50", "0.1", "10.6"),
    ("10.6", "-5", "5.6"),
    ("5.0e3", "2.0e2", "5200"),
    (None, "3", "3"),
    ("3", "1e-5", "3.00001"),
    ("0.1", "0.2", "0.3"),
    ("10", "0.25", "10.25"),
    ("10.5", "-10.5", "0"),
    (None, "1e20", "100000000000000000000"),
    (None, ".5", "0.5"),
    (None, "5.", "5"),
    (None, "-0", "0"),
    (None, "1e-20", "0"),      # 17 decimals, then trailing zeros trimmed
    (None, "0x10", "16"),      # strtold accepts hex
])
def test_incrbyfloat_formatting(c, start, incr, result):
    if start is not None:
        assert c.cmd("SET", "f", start) == OK
    assert c.cmd("INCRBYFLOAT", "f", incr) == bulk(result)
    assert c.cmd("GET", "f") == bulk(result)


def test_incrbyfloat_errors(c):
    assert c.cmd("INCRBYFLOAT", "f", "inf") == \
        b"-ERR increment would produce NaN or Infinity\r\n"
    assert c.cmd("INCRBYFLOAT", "f", "nan") == \
        b"-ERR value is not a valid float\r\n"
    assert c.cmd("SET", "s", "1 ") == OK
    assert c.cmd("INCRBYFLOAT", "s", "1") == b"-ERR value is not a valid float\r\n"


def test_incrbyfloat_keeps_ttl(c):
    assert c.cmd("SET", "f", "1", "EX", "100") == OK
    assert c.cmd("INCRBYFLOAT", "f", "1.5") == bulk("2.5")
    assert c.cmd("TTL", "f") == integer(100)


# -- APPEND / STRLEN / SETRANGE / GETRANGE ------------------------------------


def test_append_strlen(c):
    assert c.cmd("APPEND", "k", "Hello") == integer(5)
    assert c.cmd("APPEND", "k", " World") == integer(11)
    assert c.cmd("GET", "k") == bulk("Hello World")
    assert c.cmd("STRLEN", "k") == integer(11)
    assert c.cmd("STRLEN", "nokey") == integer(0)
    assert c.cmd("SET", "i", "12345") == OK
    assert c.cmd("STRLEN", "i") == integer(5)
    assert c.cmd("APPEND", "i", "6") == integer(6)
    assert c.cmd("GET", "i") == bulk("123456")
    assert c.cmd("APPEND", "k", "") == integer(11)


def test_setrange(c):
    assert c.cmd("SET", "h", "Hello World") == OK
    assert c.cmd("SETRANGE", "h", "6", "Redis") == integer(11)
    assert c.cmd("GET", "h") == bulk("Hello Redis")
    # Padding with zero bytes, on a new key too.
    assert c.cmd("SETRANGE", "z", "5", "ab") == integer(7)
    assert c.cmd("GET", "z") == bulk(b"\x00\x00\x00\x00\x00ab")
    assert c.cmd("SETRANGE", "h", "12", "!") == integer(13)
    assert c.cmd("GET", "h") == bulk(b"Hello Redis\x00!")
    # An empty value never creates or grows the key.
    assert c.cmd("SETRANGE", "nk", "0", "") == integer(0)
    assert c.cmd("SETRANGE", "nk", "100", "") == integer(0)
    assert c.cmd("EXISTS", "nk") == integer(0)
    assert c.cmd("SETRANGE", "h", "100", "") == integer(13)
    assert c.cmd("STRLEN", "h") == integer(13)


def test_setrange_errors(c):
    assert c.cmd("SETRANGE", "s", "-1", "x") == b"-ERR offset is out of range\r\n"
    assert c.cmd("SETRANGE", "s", "-1", "") == b"-ERR offset is out of range\r\n"
    too_big = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    assert c.cmd("SETRANGE", "s", "536870912", "x") == too_big
    assert c.cmd("SETRANGE", "s", "536870911", "xy") == too_big
    assert c.cmd("SETRANGE", "s", "x", "a") == NOTINT
    assert c.cmd("EXISTS", "s") == integer(0)
    assert make_list(c, "l", "a") == integer(1)
    assert c.cmd("SETRANGE", "l", "0", "x") == WRONGTYPE


def test_append_beyond_limit(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "proto-max-bulk-len", "1mb") == OK
    assert c.cmd("SET", "k", "x" * 1048000) == OK
    assert c.cmd("APPEND", "k", "y" * 1000) == \
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    assert c.cmd("SETRANGE", "k", "1048576", "y") == \
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    assert c.cmd("STRLEN", "k") == integer(1048000)


@pytest.mark.parametrize("start,end,result", [
    ("0", "-1", "Hello Redis"),
    ("-5", "-1", "Redis"),
    ("0", "4", "Hello"),
    ("-100", "2", "Hel"),
    ("0", "100", "Hello Redis"),
    ("5", "2", ""),
    ("100", "200", ""),
    ("-1", "-5", ""),
    ("-1", "-100", ""),
    ("0", "0", "H"),
    ("-2", "-2", "i"),
    ("-1", "0", ""),
])
def test_getrange(c, start, end, result):
    assert c.cmd("SET", "h", "Hello Redis") == OK
    assert c.cmd("GETRANGE", "h", start, end) == bulk(result)


def test_getrange_misc(c):
    assert c.cmd("GETRANGE", "nokey", "0", "-1") == bulk("")
    assert c.cmd("SET", "e", "") == OK
    assert c.cmd("GETRANGE", "e", "0", "-1") == bulk("")
    assert c.cmd("SET", "i", "12345") == OK
    assert c.cmd("GETRANGE", "i", "1", "2") == bulk("23")
    assert c.cmd("GETRANGE", "i", "x", "1") == NOTINT
    assert c.cmd("SUBSTR", "i", "0", "2") == bulk("123")


# -- LCS ---------------------------------------------------------------------------


def test_lcs(c):
    assert c.cmd("MSET", "key1", "ohmytext", "key2", "mynewtext") == OK
    assert c.cmd("LCS", "key1", "key2") == bulk("mytext")
    assert c.cmd("LCS", "key1", "key2", "LEN") == integer(6)
    assert c.cmd("LCS", "key1", "nokey") == bulk("")
    assert c.cmd("LCS", "nokey", "nokey2", "LEN") == integer(0)
    # WITHMATCHLEN without IDX is ignored.
    assert c.cmd("LCS", "key1", "key2", "WITHMATCHLEN") == bulk("mytext")


def test_lcs_idx(c):
    assert c.cmd("MSET", "key1", "ohmytext", "key2", "mynewtext") == OK
    assert c.cmd("LCS", "key1", "key2", "IDX") == (
        b"*4\r\n$7\r\nmatches\r\n"
        b"*2\r\n"
        b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert c.cmd("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4") == (
        b"*4\r\n$7\r\nmatches\r\n"
        b"*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert c.cmd("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4",
                 "WITHMATCHLEN") == (
        b"*4\r\n$7\r\nmatches\r\n"
        b"*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert c.cmd("LCS", "key1", "key2", "IDX", "WITHMATCHLEN") == (
        b"*4\r\n$7\r\nmatches\r\n"
        b"*2\r\n"
        b"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert c.cmd("LCS", "nokey", "nokey2", "IDX") == \
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
    # A negative MINMATCHLEN counts as 0.
    assert c.cmd("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-1") == \
        c.cmd("LCS", "key1", "key2", "IDX")


def test_lcs_errors(c):
    assert c.cmd("MSET", "key1", "ohmytext", "key2", "mynewtext") == OK
    assert c.cmd("LCS", "key1", "key2", "LEN", "IDX") == \
        b"-ERR If you want both the length and indexes, please just use IDX.\r\n"
    assert c.cmd("LCS", "key1", "key2", "FOO") == SYNTAX
    assert c.cmd("LCS", "key1", "key2", "MINMATCHLEN") == SYNTAX
    assert c.cmd("LCS", "key1", "key2", "MINMATCHLEN", "x") == NOTINT
    assert make_list(c, "l", "a") == integer(1)
    assert c.cmd("LCS", "key1", "l") == \
        b"-ERR The specified keys must contain string values\r\n"
    assert c.cmd("LCS", "key1") == \
        b"-ERR wrong number of arguments for 'lcs' command\r\n"


# -- encodings ------------------------------------------------------------------


def encoding(c, key):
    return c.cmd("OBJECT", "ENCODING", key)


@pytest.mark.parametrize("value,enc", [
    ("12345", b"int"),
    ("-1", b"int"),
    ("0", b"int"),
    ("9223372036854775807", b"int"),
    ("-9223372036854775808", b"int"),
    ("9223372036854775808", b"embstr"),
    ("01", b"embstr"),
    (" 12", b"embstr"),
    ("1.5", b"embstr"),
    ("hello", b"embstr"),
    ("x" * 44, b"embstr"),
    ("x" * 45, b"raw"),
])
def test_object_encoding_on_set(c, value, enc):
    assert c.cmd("SET", "k", value) == OK
    assert encoding(c, "k") == bulk(enc)


def test_object_encoding_transitions(c):
    assert c.cmd("SET", "e", "hello") == OK
    assert encoding(c, "e") == bulk("embstr")
    # Any in-place modification turns embstr/int into raw.
    assert c.cmd("APPEND", "e", "x") == integer(6)
    assert encoding(c, "e") == bulk("raw")
    assert c.cmd("SET", "i", "123") == OK
    assert c.cmd("APPEND", "i", "4") == integer(4)
    assert encoding(c, "i") == bulk("raw")
    # ... and INCR turns it back into int.
    assert c.cmd("INCR", "i") == integer(1235)
    assert encoding(c, "i") == bulk("int")
    assert c.cmd("SETRANGE", "i", "0", "9") == integer(4)
    assert encoding(c, "i") == bulk("raw")
    assert c.cmd("SET", "s", "x" * 20) == OK
    assert c.cmd("SETRANGE", "s", "0", "y") == integer(20)
    assert encoding(c, "s") == bulk("raw")
    assert c.cmd("INCR", "new") == integer(1)
    assert encoding(c, "new") == bulk("int")
    assert c.cmd("INCRBYFLOAT", "f", "1.5") == bulk("1.5")
    assert encoding(c, "f") == bulk("embstr")
    assert c.cmd("APPEND", "newk", "abc") == integer(3)
    assert encoding(c, "newk") == bulk("embstr")
    assert c.cmd("GETRANGE", "s", "0", "1") == bulk("yx")
    assert encoding(c, "nokey") == NIL
