"""List commands: replies, errors and encodings as Redis 7.0.15.

Exact reply bytes go through a raw connection (`c`, FLUSHALL'd first).
Then a model test (random list commands against a Python list, every
reply and the whole list compared after each step, with a tiny
list-max-listpack-size so lists cross between the compact and the linked
encodings all the time), and, when the suite runs against tessera, a
side-by-side test that sends the same random commands to tessera-node and
to Debian's redis-server and compares the raw reply bytes.

The blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) are not
covered here: they come with the blocking infrastructure.
"""

import os
import random

import pytest

from conftest import REDIS_SERVER_BIN, RawConn, Server
from respwire import (
    OK, NIL, NILARR, EMPTY, SYNTAX, NOTINT, POSITIVE, WRONGTYPE, bulk,
    integer, array as arr)


# -- push / pop ----------------------------------------------------------------


def test_push_and_range(c):
    assert c.cmd("RPUSH", "l", "a", "b", "c") == integer(3)
    assert c.cmd("LPUSH", "l", "x", "y") == integer(5)
    assert c.cmd("LRANGE", "l", 0, -1) == arr("y", "x", "a", "b", "c")
    assert c.cmd("LLEN", "l") == integer(5)
    assert c.cmd("LLEN", "nokey") == integer(0)
    assert c.cmd("TYPE", "l") == b"+list\r\n"


def test_pushx(c):
    assert c.cmd("LPUSHX", "l", "a") == integer(0)
    assert c.cmd("RPUSHX", "l", "a", "b") == integer(0)
    assert c.cmd("EXISTS", "l") == integer(0)
    c.cmd("RPUSH", "l", "m")
    assert c.cmd("LPUSHX", "l", "a", "b") == integer(3)
    assert c.cmd("RPUSHX", "l", "z") == integer(4)
    assert c.cmd("LRANGE", "l", 0, -1) == arr("b", "a", "m", "z")


def test_pop(c):
    c.cmd("RPUSH", "l", "a", "b", "c", "d", "e")
    assert c.cmd("LPOP", "l") == bulk("a")
    assert c.cmd("RPOP", "l") == bulk("e")
    assert c.cmd("LPOP", "l", 2) == arr("b", "c")
    assert c.cmd("RPOP", "l", 0) == EMPTY
    assert c.cmd("RPOP", "l", 10) == arr("d")
    assert c.cmd("EXISTS", "l") == integer(0)
    assert c.cmd("LPOP", "l") == NIL
    assert c.cmd("LPOP", "l", 3) == NILARR
    assert c.cmd("RPOP", "l", 0) == NILARR


def test_pop_order_and_integers(c):
    c.cmd("RPUSH", "l", "1", "-2", "300", "70000", "-9223372036854775808",
          "007", "x")
    assert c.cmd("RPOP", "l", 3) == arr("x", "007", "-9223372036854775808")
    assert c.cmd("LRANGE", "l", 0, -1) == arr("1", "-2", "300", "70000")


def test_pop_errors(c):
    c.cmd("RPUSH", "l", "a")
    assert c.cmd("LPOP", "l", -1) == POSITIVE
    assert c.cmd("LPOP", "l", "x") == POSITIVE
    assert c.cmd("LPOP", "nokey", -1) == POSITIVE
    assert c.cmd("LPOP", "l", 1, 2) == (
        b"-ERR wrong number of arguments for 'lpop' command\r\n")
    assert c.cmd("RPOP", "l", 1, 2) == (
        b"-ERR wrong number of arguments for 'rpop' command\r\n")


def test_resp3_nulls(c):
    c.cmd("HELLO", "3")
    assert c.cmd("LPOP", "nokey") == b"_\r\n"
    assert c.cmd("LPOP", "nokey", 2) == b"_\r\n"
    assert c.cmd("LINDEX", "nokey", 0) == b"_\r\n"
    assert c.cmd("LPOS", "nokey", "a") == b"_\r\n"
    assert c.cmd("LMPOP", 1, "nokey", "LEFT") == b"_\r\n"
    assert c.cmd("RPOPLPUSH", "nokey", "d") == b"_\r\n"
    c.cmd("HELLO", "2")


def test_wrongtype(c):
    c.cmd("SET", "s", "v")
    for args in (("LPUSH", "s", "a"), ("RPUSH", "s", "a"),
                 ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
                 ("LPOP", "s"), ("RPOP", "s", 2), ("LLEN", "s"),
                 ("LRANGE", "s", 0, -1), ("LINDEX", "s", 0),
                 ("LSET", "s", 0, "x"), ("LINSERT", "s", "BEFORE", "a", "b"),
                 ("LREM", "s", 0, "a"), ("LTRIM", "s", 0, 1),
                 ("LPOS", "s", "a"), ("LMOVE", "s", "d", "LEFT", "LEFT"),
                 ("RPOPLPUSH", "s", "d"), ("LMPOP", 1, "s", "LEFT")):
        assert c.cmd(*args) == WRONGTYPE, args
    c.cmd("RPUSH", "l", "a")
    assert c.cmd("LMOVE", "l", "s", "LEFT", "LEFT") == WRONGTYPE
    assert c.cmd("RPOPLPUSH", "l", "s") == WRONGTYPE
    assert c.cmd("LRANGE", "l", 0, -1) == arr("a")
    assert c.cmd("GET", "l") == WRONGTYPE


# -- reading -------------------------------------------------------------------


def test_lrange_bounds(c):
    c.cmd("RPUSH", "l", *"abcde")
    assert c.cmd("LRANGE", "l", 1, 3) == arr("b", "c", "d")
    assert c.cmd("LRANGE", "l", -2, -1) == arr("d", "e")
    assert c.cmd("LRANGE", "l", -100, 100) == arr(*"abcde")
    assert c.cmd("LRANGE", "l", 3, 1) == EMPTY
    assert c.cmd("LRANGE", "l", 5, 10) == EMPTY
    assert c.cmd("LRANGE", "l", 0, -6) == EMPTY
    assert c.cmd("LRANGE", "nokey", 0, -1) == EMPTY
    assert c.cmd("LRANGE", "l", "x", 1) == NOTINT
    # the range is parsed before the key is looked up
    c.cmd("SET", "s", "v")
    assert c.cmd("LRANGE", "s", "x", 1) == NOTINT


def test_lindex(c):
    c.cmd("RPUSH", "l", "a", "b", "123")
    assert c.cmd("LINDEX", "l", 0) == bulk("a")
    assert c.cmd("LINDEX", "l", -1) == bulk("123")
    assert c.cmd("LINDEX", "l", 3) == NIL
    assert c.cmd("LINDEX", "l", -4) == NIL
    assert c.cmd("LINDEX", "l", "x") == NOTINT
    # the key is looked up before the index is parsed
    assert c.cmd("LINDEX", "nokey", "x") == NIL


def test_lpos(c):
    c.cmd("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert c.cmd("LPOS", "l", "c") == integer(2)
    assert c.cmd("LPOS", "l", "c", "RANK", 2) == integer(6)
    assert c.cmd("LPOS", "l", "c", "RANK", -1) == integer(7)
    assert c.cmd("LPOS", "l", "c", "RANK", -3) == integer(2)
    assert c.cmd("LPOS", "l", "c", "RANK", 4) == NIL
    assert c.cmd("LPOS", "l", "c", "COUNT", 0) == (
        b"*3\r\n:2\r\n:6\r\n:7\r\n")
    assert c.cmd("LPOS", "l", "c", "COUNT", 2) == b"*2\r\n:2\r\n:6\r\n"
    assert c.cmd("LPOS", "l", "c", "COUNT", 2, "RANK", -1) == (
        b"*2\r\n:7\r\n:6\r\n")
    assert c.cmd("LPOS", "l", "c", "MAXLEN", 2) == NIL
    assert c.cmd("LPOS", "l", "c", "MAXLEN", 3) == integer(2)
    assert c.cmd("LPOS", "l", "c", "COUNT", 0, "MAXLEN", 7) == (
        b"*2\r\n:2\r\n:6\r\n")
    assert c.cmd("LPOS", "l", "2") == integer(4)
    assert c.cmd("LPOS", "l", "02") == NIL
    assert c.cmd("LPOS", "l", "zz", "COUNT", 1) == EMPTY
    assert c.cmd("LPOS", "nokey", "zz") == NIL
    assert c.cmd("LPOS", "nokey", "zz", "COUNT", 1) == EMPTY
    assert c.cmd("LPOS", "l", "c", "RANK", 0) == (
        b"-ERR RANK can't be zero: use 1 to start from the first match, 2 "
        b"from the second ... or use negative to start from the end of the "
        b"list\r\n")
    assert c.cmd("LPOS", "l", "c", "RANK", "x") == NOTINT
    assert c.cmd("LPOS", "l", "c", "COUNT", -1) == (
        b"-ERR COUNT can't be negative\r\n")
    assert c.cmd("LPOS", "l", "c", "COUNT", "x") == (
        b"-ERR COUNT can't be negative\r\n")
    assert c.cmd("LPOS", "l", "c", "MAXLEN", -1) == (
        b"-ERR MAXLEN can't be negative\r\n")
    assert c.cmd("LPOS", "l", "c", "RANK") == SYNTAX
    assert c.cmd("LPOS", "l", "c", "FOO", 1) == SYNTAX
    # options are parsed before the key is looked up
    assert c.cmd("LPOS", "nokey", "c", "RANK", 0).startswith(b"-ERR RANK")


# -- changing ------------------------------------------------------------------


def test_lset(c):
    c.cmd("RPUSH", "l", "a", "b", "c")
    assert c.cmd("LSET", "l", 1, "B") == OK
    assert c.cmd("LSET", "l", -1, "300") == OK
    assert c.cmd("LRANGE", "l", 0, -1) == arr("a", "B", "300")
    assert c.cmd("LSET", "l", 3, "x") == b"-ERR index out of range\r\n"
    assert c.cmd("LSET", "l", -4, "x") == b"-ERR index out of range\r\n"
    assert c.cmd("LSET", "nokey", 0, "x") == b"-ERR no such key\r\n"
    assert c.cmd("LSET", "nokey", "x", "x") == b"-ERR no such key\r\n"
    assert c.cmd("LSET", "l", "x", "x") == NOTINT


def test_linsert(c):
    c.cmd("RPUSH", "l", "a", "b", "c")
    assert c.cmd("LINSERT", "l", "BEFORE", "b", "x") == integer(4)
    assert c.cmd("LINSERT", "l", "after", "c", "y") == integer(5)
    assert c.cmd("LINSERT", "l", "AFTER", "zz", "y") == integer(-1)
    assert c.cmd("LRANGE", "l", 0, -1) == arr("a", "x", "b", "c", "y")
    assert c.cmd("LINSERT", "nokey", "AFTER", "a", "y") == integer(0)
    assert c.cmd("LINSERT", "l", "MIDDLE", "a", "y") == SYNTAX
    assert c.cmd("LINSERT", "nokey", "MIDDLE", "a", "y") == SYNTAX


def test_lrem(c):
    c.cmd("RPUSH", "l", "a", "b", "a", "c", "a", "1", "a")
    assert c.cmd("LREM", "l", 2, "a") == integer(2)
    assert c.cmd("LRANGE", "l", 0, -1) == arr("b", "c", "a", "1", "a")
    assert c.cmd("LREM", "l", -1, "a") == integer(1)
    assert c.cmd("LRANGE", "l", 0, -1) == arr("b", "c", "a", "1")
    assert c.cmd("LREM", "l", 0, "1") == integer(1)
    assert c.cmd("LREM", "l", 0, "zz") == integer(0)
    assert c.cmd("LREM", "l", "x", "a") == NOTINT
    assert c.cmd("LREM", "nokey", 0, "a") == integer(0)
    assert c.cmd("LREM", "l", 0, "b") == integer(1)
    assert c.cmd("LREM", "l", 0, "c") == integer(1)
    assert c.cmd("LREM", "l", 0, "a") == integer(1)
    assert c.cmd("EXISTS", "l") == integer(0)


def test_ltrim(c):
    c.cmd("RPUSH", "l", *"abcdef")
    assert c.cmd("LTRIM", "l", 1, -2) == OK
    assert c.cmd("LRANGE", "l", 0, -1) == arr(*"bcde")
    assert c.cmd("LTRIM", "l", -100, 100) == OK
    assert c.cmd("LRANGE", "l", 0, -1) == arr(*"bcde")
    assert c.cmd("LTRIM", "l", 2, 1) == OK
    assert c.cmd("EXISTS", "l") == integer(0)
    assert c.cmd("LTRIM", "nokey", 0, 1) == OK
    assert c.cmd("LTRIM", "l", "x", 1) == NOTINT


# -- moving --------------------------------------------------------------------


def test_lmove(c):
    c.cmd("RPUSH", "s", "a", "b", "c")
    assert c.cmd("LMOVE", "s", "d", "LEFT", "RIGHT") == bulk("a")
    assert c.cmd("LMOVE", "s", "d", "right", "left") == bulk("c")
    assert c.cmd("LRANGE", "d", 0, -1) == arr("c", "a")
    assert c.cmd("RPOPLPUSH", "s", "d") == bulk("b")
    assert c.cmd("EXISTS", "s") == integer(0)
    assert c.cmd("LRANGE", "d", 0, -1) == arr("b", "c", "a")
    assert c.cmd("LMOVE", "s", "d", "LEFT", "LEFT") == NIL
    assert c.cmd("RPOPLPUSH", "s", "d") == NIL
    assert c.cmd("LMOVE", "d", "d", "LEFT", "RIGHT") == bulk("b")
    assert c.cmd("LRANGE", "d", 0, -1) == arr("c", "a", "b")
    assert c.cmd("RPOPLPUSH", "d", "d") == bulk("b")
    assert c.cmd("LRANGE", "d", 0, -1) == arr("b", "c", "a")
    assert c.cmd("LMOVE", "d", "x", "UP", "LEFT") == SYNTAX
    assert c.cmd("LMOVE", "d", "x", "LEFT", "DOWN") == SYNTAX
    c.cmd("RPUSH", "one", "z")
    assert c.cmd("LMOVE", "one", "one", "LEFT", "LEFT") == bulk("z")
    assert c.cmd("LRANGE", "one", 0, -1) == arr("z")


def test_lmpop(c):
    c.cmd("RPUSH", "b", "1", "2", "3")
    assert c.cmd("LMPOP", 2, "a", "b", "LEFT") == (
        b"*2\r\n" + bulk("b") + arr("1"))
    assert c.cmd("LMPOP", 2, "a", "b", "RIGHT", "COUNT", 5) == (
        b"*2\r\n" + bulk("b") + arr("3", "2"))
    assert c.cmd("EXISTS", "b") == integer(0)
    assert c.cmd("LMPOP", 2, "a", "b", "LEFT") == NILARR
    err_nk = b"-ERR numkeys should be greater than 0\r\n"
    assert c.cmd("LMPOP", 0, "a", "LEFT") == err_nk
    assert c.cmd("LMPOP", "x", "a", "LEFT") == err_nk
    assert c.cmd("LMPOP", 2, "a", "LEFT") == SYNTAX
    assert c.cmd("LMPOP", 1, "a", "UP") == SYNTAX
    assert c.cmd("LMPOP", 1, "a", "LEFT", "COUNT") == SYNTAX
    assert c.cmd("LMPOP", 1, "a", "LEFT", "COUNT", 1, "COUNT", 1) == SYNTAX
    err_cnt = b"-ERR count should be greater than 0\r\n"
    assert c.cmd("LMPOP", 1, "a", "LEFT", "COUNT", 0) == err_cnt
    assert c.cmd("LMPOP", 1, "a", "LEFT", "COUNT", "x") == err_cnt
    assert c.cmd("LMPOP", 9223372036854775807, "a", "LEFT") == SYNTAX
    c.cmd("SET", "s", "v")
    c.cmd("RPUSH", "l", "x")
    # keys are tried in order: a string before a list is an error
    assert c.cmd("LMPOP", 2, "s", "l", "LEFT") == WRONGTYPE
    assert c.cmd("LMPOP", 2, "l", "s", "LEFT") == (
        b"*2\r\n" + bulk("l") + arr("x"))


# -- encodings and options -----------------------------------------------------


def test_encoding_names(c):
    c.cmd("RPUSH", "small", "a")
    assert c.cmd("OBJECT", "ENCODING", "small") == bulk("quicklist")
    c.cmd("RPUSH", "big", *["e%d" % i for i in range(2000)])
    assert c.cmd("OBJECT", "ENCODING", "big") == bulk("quicklist")
    c.cmd("RPUSH", "huge", "x" * 100000)
    assert c.cmd("OBJECT", "ENCODING", "huge") == bulk("quicklist")
    assert c.cmd("LINDEX", "huge", 0) == bulk("x" * 100000)


def test_copy_and_rename(c):
    c.cmd("RPUSH", "l", *["v%d" % i for i in range(300)])
    assert c.cmd("COPY", "l", "l2") == integer(1)
    c.cmd("RPOP", "l")
    assert c.cmd("LLEN", "l2") == integer(300)
    assert c.cmd("LINDEX", "l2", -1) == bulk("v299")
    c.cmd("RPUSH", "s", "a")
    assert c.cmd("COPY", "s", "s2") == integer(1)
    assert c.cmd("LRANGE", "s2", 0, -1) == arr("a")
    assert c.cmd("RENAME", "s2", "s3") == OK
    assert c.cmd("LRANGE", "s3", 0, -1) == arr("a")


def test_config_options(c):
    assert c.cmd("CONFIG", "GET", "list-max-listpack-size") == (
        arr("list-max-listpack-size", "-2"))
    assert c.cmd("CONFIG", "SET", "list-max-ziplist-size", "5") == OK
    assert c.cmd("CONFIG", "GET", "list-max-ziplist-size") == (
        arr("list-max-ziplist-size", "5"))
    assert c.cmd("CONFIG", "SET", "list-max-listpack-size", "-2") == OK
    assert c.cmd("CONFIG", "GET", "list-compress-depth") == (
        arr("list-compress-depth", "0"))
    assert c.cmd("CONFIG", "SET", "list-compress-depth", "0") == OK


@pytest.mark.tessera_only  # Redis compresses; Tessera refuses to pretend
def test_compress_depth_refused(c):
    reply = c.cmd("CONFIG", "SET", "list-compress-depth", "1")
    assert reply.startswith(b"-ERR CONFIG SET failed")
    assert b"list-compress-depth 0" in reply


@pytest.mark.parametrize("fill", ["-2", "3", "-1", "1"])
def test_sizes_across_fill(start_server, raw, fill):
    srv = start_server("--list-max-listpack-size", fill)
    c = raw(srv)
    vals = ["v%d" % i for i in range(500)] + ["y" * 5000, "7", "-70000"]
    assert c.cmd("RPUSH", "l", *vals) == integer(len(vals))
    assert c.cmd("LRANGE", "l", 0, -1) == arr(*vals)
    assert c.cmd("LINSERT", "l", "BEFORE", "v250", "mid") == (
        integer(len(vals) + 1))
    vals.insert(250, "mid")
    assert c.cmd("LTRIM", "l", 10, -10) == OK
    vals = vals[10:-9]
    assert c.cmd("LRANGE", "l", 0, -1) == arr(*vals)
    assert c.cmd("LPOP", "l", 400) == arr(*vals[:400])
    assert c.cmd("LRANGE", "l", 0, -1) == arr(*vals[400:])


# -- model test ----------------------------------------------------------------


def rand_value(rng):
    k = rng.random()
    if k < 0.3:
        return str(rng.randint(-5, 5))
    if k < 0.4:
        return str(rng.randint(-2 ** 63, 2 ** 63 - 1))
    if k < 0.45:
        return "x" * rng.randint(60, 300)
    if k < 0.47:
        return "y" * rng.randint(4000, 9000)
    return rng.choice(["a", "b", "c", "", "007", "-0", "hello"])


def model_step(rng, c, m, key="l"):
    """One random command applied to the server and the model list m."""
    n = len(m)
    op = rng.randrange(13)
    if op == 0:
        vals = [rand_value(rng) for _ in range(rng.randint(1, 4))]
        assert c.cmd("RPUSH", key, *vals) == integer(n + len(vals))
        m.extend(vals)
    elif op == 1:
        vals = [rand_value(rng) for _ in range(rng.randint(1, 4))]
        assert c.cmd("LPUSH", key, *vals) == integer(n + len(vals))
        m[:0] = vals[::-1]
    elif op == 2:
        cnt = rng.randint(0, 5)
        got = c.cmd("LPOP", key, cnt)
        if n == 0:
            assert got == NILARR
        else:
            assert got == arr(*m[:cnt])
            del m[:cnt]
    elif op == 3:
        got = c.cmd("RPOP", key)
        assert got == (bulk(m.pop()) if n else NIL)
    elif op == 4 and n:
        i = rng.randint(-n - 1, n)
        v = rand_value(rng)
        got = c.cmd("LSET", key, i, v)
        if -n <= i < n:
            assert got == OK
            m[i] = v
        else:
            assert got == b"-ERR index out of range\r\n"
    elif op == 5 and n:
        pivot = rng.choice(m + ["nope"])
        v = rand_value(rng)
        where = rng.choice(["BEFORE", "AFTER"])
        got = c.cmd("LINSERT", key, where, pivot, v)
        if pivot in m:
            i = m.index(pivot) + (1 if where == "AFTER" else 0)
            m.insert(i, v)
            assert got == integer(len(m))
        else:
            assert got == integer(-1)
    elif op == 6:
        v = rng.choice(m + ["a"]) if m else "a"
        cnt = rng.randint(-3, 3)
        got = c.cmd("LREM", key, cnt, v)
        idx = [i for i, x in enumerate(m) if x == v]
        if cnt > 0:
            idx = idx[:cnt]
        elif cnt < 0:
            idx = idx[cnt:]
        for i in reversed(idx):
            del m[i]
        assert got == integer(len(idx))
    elif op == 7:
        s, e = rng.randint(-n - 2, n + 2), rng.randint(-n - 2, n + 2)
        assert c.cmd("LTRIM", key, s, e) == OK
        ss, ee = s + n if s < 0 else s, e + n if e < 0 else e
        ss = max(ss, 0)
        if ss > ee or ss >= n:
            m.clear()
        else:
            m[:] = m[ss:min(ee, n - 1) + 1]
    elif op == 8 and n:
        i = rng.randint(-n - 1, n)
        assert c.cmd("LINDEX", key, i) == (
            bulk(m[i]) if -n <= i < n else NIL)
    elif op == 9:
        v = rng.choice(m + ["zz"]) if m else "zz"
        idx = [i for i, x in enumerate(m) if x == v]
        got = c.cmd("LPOS", key, v, "COUNT", 0)
        assert got == b"*%d\r\n" % len(idx) + b"".join(
            integer(i) for i in idx)
    elif op == 10 and n:
        got = c.cmd("LMOVE", key, key, "LEFT", "RIGHT")
        assert got == bulk(m[0])
        m.append(m.pop(0))
    elif op == 11 and n:
        got = c.cmd("RPOPLPUSH", key, key + "2")
        assert got == bulk(m[-1])
        c.cmd("LMOVE", key + "2", key, "LEFT", "RIGHT")
    elif op == 12:
        s, e = rng.randint(-n - 2, n + 2), rng.randint(-n - 2, n + 2)
        ss, ee = s + n if s < 0 else s, e + n if e < 0 else e
        ss = max(ss, 0)
        exp = [] if ss > ee or ss >= n else m[ss:min(ee, n - 1) + 1]
        assert c.cmd("LRANGE", key, s, e) == arr(*exp)
    # every step: the whole list and its length
    assert c.cmd("LLEN", key) == integer(len(m))
    assert c.cmd("LRANGE", key, 0, -1) == arr(*m)
    assert c.cmd("EXISTS", key) == integer(1 if m else 0)


@pytest.mark.parametrize("fill", ["2", "-1", "-2", "16"])
def test_model(start_server, raw, fill):
    srv = start_server("--list-max-listpack-size", fill)
    c = raw(srv)
    rng = random.Random(int(fill) + 1000)
    m = []
    for _ in range(1500):
        model_step(rng, c, m)


# -- side by side with redis-server -------------------------------------------


class RefServer(Server):
    """Debian's redis-server, whatever the suite runs against."""

    def __init__(self, extra_args=()):
        super().__init__(extra_args, debug=False, name="redisref")
        self.binary = REDIS_SERVER_BIN


def random_command(rng, keys):
    key = rng.choice(keys)
    other = rng.choice(keys)
    v = rand_value(rng)
    i = str(rng.randint(-12, 12))
    j = str(rng.randint(-12, 12))
    return rng.choice([
        ("RPUSH", key, v, rand_value(rng)), ("LPUSH", key, v),
        ("LPUSHX", key, v), ("RPUSHX", key, v),
        ("LPOP", key), ("RPOP", key), ("LPOP", key, i), ("RPOP", key, j),
        ("LLEN", key), ("LRANGE", key, i, j), ("LINDEX", key, i),
        ("LSET", key, i, v), ("LINSERT", key, rng.choice(["BEFORE", "AFTER"]),
                              rand_value(rng), v),
        ("LREM", key, i, v), ("LTRIM", key, i, j),
        ("LPOS", key, v, "RANK", rng.choice(["1", "-1", "2", "0"])),
        ("LPOS", key, v, "COUNT", rng.choice(["0", "2"]), "MAXLEN", "5"),
        ("LMOVE", key, other, rng.choice(["LEFT", "RIGHT"]),
         rng.choice(["LEFT", "RIGHT"])),
        ("RPOPLPUSH", key, other),
        ("LMPOP", "2", key, other, rng.choice(["LEFT", "RIGHT"]), "COUNT",
         rng.choice(["1", "3"])),
        ("SET", key, v), ("DEL", key), ("TYPE", key),
        ("OBJECT", "ENCODING", key),
    ])


@pytest.mark.tessera_only  # compares tessera with redis-server
@pytest.mark.parametrize("fill", ["-2", "3"])
def test_side_by_side(start_server, raw, fill):
    if not os.path.exists(REDIS_SERVER_BIN):
        pytest.skip("redis-server not installed")
    tess = start_server("--list-max-listpack-size", fill)
    ref = RefServer(["--list-max-listpack-size", fill]).start()
    try:
        a, b = raw(tess), RawConn(ref)
        rng = random.Random(7 + int(fill))
        keys = ["k1", "k2", "k3"]
        for step in range(4000):
            cmd = random_command(rng, keys)
            ra, rb = a.cmd(*cmd), b.cmd(*cmd)
            assert ra == rb, (step, cmd, ra[:200], rb[:200])
            if step % 50 == 0:
                for k in keys:
                    assert a.cmd("LRANGE", k, 0, -1) == (
                        b.cmd("LRANGE", k, 0, -1)), (step, k)
        b.close()
    finally:
        ref.stop()
        ref.cleanup()
