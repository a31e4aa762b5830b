"""Sorted-set commands: replies, errors and encodings as Redis 7.0.

Expected values were taken from redis-server 7.0.15; the suite passes
against it unchanged (TESSERA_SERVER=redis).  Score formatting is checked
on raw bytes (RESP2 bulk "%.17g", RESP3 doubles).  Orders that Redis
leaves unspecified (ZSCAN on a hash table, ZRANDMEMBER subsets) are
compared as sets.
"""

import random

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


@pytest.fixture
def small(r):
    """Listpack thresholds lowered to 4 entries / 8 bytes for the test."""
    r.config_set("zset-max-listpack-entries", 4)
    r.config_set("zset-max-listpack-value", 8)
    yield r
    r.config_set("zset-max-listpack-entries", 128)
    r.config_set("zset-max-listpack-value", 64)


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def test_zadd_options_and_errors(r):
    assert r.execute_command("ZADD", "z", 1, "a", 2, "b") == 2
    assert r.execute_command("ZADD", "z", "NX", 5, "a", 3, "c") == 1
    assert r.zscore("z", "a") == 1.0
    assert r.execute_command("ZADD", "z", "XX", 5, "a", 9, "new") == 0
    assert r.zscore("z", "a") == 5.0 and r.zscore("z", "new") is None
    assert r.execute_command("ZADD", "z", "XX", "CH", 6, "a", 2, "b") == 1
    assert r.execute_command("ZADD", "z", "GT", "CH", 1, "a", 7, "b") == 1
    assert r.execute_command("ZADD", "z", "LT", "CH", 10, "a", 1, "b") == 1
    assert r.zadd("z", {"a": 1.5}, incr=True) == 7.5
    assert r.zadd("z", {"a": -1}, gt=True, incr=True) is None
    assert r.execute_command("ZADD", "nokey", "XX", 1, "a") == 0
    assert r.exists("nokey") == 0
    assert err(r, "ZADD", "z", "NX", "XX", 1, "a") == \
        "XX and NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "GT", "LT", 1, "a") == \
        "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "NX", "GT", 1, "a") == \
        "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "INCR", 1, "a", 2, "b") == \
        "INCR option supports a single increment-element pair"
    assert err(r, "ZADD", "z", 1, "a", 2) == "syntax error"
    assert err(r, "ZADD", "z", "x", "a") == "value is not a valid float"
    assert err(r, "ZADD", "z", "nan", "a") == "value is not a valid float"
    r.set("s", "x")
    assert err(r, "ZADD", "s", 1, "a") == WRONGTYPE


def test_zincrby_inf_nan(r):
    assert r.execute_command("ZINCRBY", "z", 1, "a") == 1.0
    assert r.execute_command("ZINCRBY", "z", "+inf", "a") == float("inf")
    assert err(r, "ZINCRBY", "z", "-inf", "a") == \
        "resulting score is not a number (NaN)"
    assert err(r, "ZINCRBY", "z", "abc", "a") == "value is not a valid float"


def test_score_formatting_raw(c):
    c.cmd("ZADD", "z", "1.1", "b", "-0", "c", "1e20", "d", "0.1", "e")
    assert c.cmd("ZSCORE", "z", "b") == b"$18\r\n1.1000000000000001\r\n"
    assert c.cmd("ZSCORE", "z", "c") == b"$1\r\n0\r\n"
    assert c.cmd("ZSCORE", "z", "d") == b"$5\r\n1e+20\r\n"
    assert c.cmd("ZRANGE", "z", "0", "1", "WITHSCORES") == \
        b"*4\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\ne\r\n$19\r\n0.10000000000000001\r\n"
    assert c.cmd("HELLO", "3").startswith(b"%")
    assert c.cmd("ZSCORE", "z", "b") == b",1.1000000000000001\r\n"
    assert c.cmd("ZRANGE", "z", "0", "0", "WITHSCORES") == \
        b"*1\r\n*2\r\n$1\r\nc\r\n,0\r\n"
    assert c.cmd("ZPOPMIN", "z") == b"*2\r\n$1\r\nc\r\n,0\r\n"
    assert c.cmd("ZPOPMIN", "z", "1") == b"*1\r\n*2\r\n$1\r\ne\r\n,0.10000000000000001\r\n"


def test_lookups(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zcard("z") == 3 and r.zcard("nokey") == 0
    assert r.zscore("z", "x") is None
    assert r.execute_command("ZMSCORE", "z", "a", "x", "c") == [1.0, None, 3.0]
    assert r.execute_command("ZMSCORE", "nokey", "a") == [None]
    assert r.zrank("z", "c") == 2 and r.zrevrank("z", "c") == 0
    assert r.zrank("z", "x") is None and r.zrank("nokey", "a") is None
    assert r.zcount("z", "(1", "+inf") == 2
    assert r.zcount("z", "-inf", "(1") == 0
    assert err(r, "ZCOUNT", "z", "a", "1") == "min or max is not a float"
    r.zadd("l", {"a": 0, "b": 0, "c": 0, "d": 0})
    assert r.zlexcount("l", "(a", "[c") == 2
    assert r.zlexcount("l", "-", "+") == 4
    assert err(r, "ZLEXCOUNT", "l", "a", "[c") == \
        "min or max not valid string range item"
    assert r.zrem("z", "a", "x") == 1
    assert r.zrem("z", "b", "c") == 2
    assert r.exists("z") == 0


def test_zrange_forms(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    ex = r.execute_command
    assert ex("ZRANGE", "z", 0, -1) == [b"a", b"b", b"c", b"d"]
    assert ex("ZRANGE", "z", -2, 100, "WITHSCORES") == [b"c", b"3", b"d", b"4"]
    assert ex("ZRANGE", "z", "(1", 3, "BYSCORE") == [b"b", b"c"]
    assert ex("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 1, 2) == [b"c", b"b"]
    assert ex("ZRANGE", "z", 0, 10, "BYSCORE", "LIMIT", -1, 2) == []
    assert ex("ZRANGE", "z", 0, 10, "BYSCORE", "LIMIT", 1, -1) == [b"b", b"c", b"d"]
    assert ex("ZREVRANGE", "z", 0, 1, "WITHSCORES") == [b"d", b"4", b"c", b"3"]
    assert ex("ZRANGEBYSCORE", "z", 2, 3, "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert ex("ZREVRANGEBYSCORE", "z", 3, "(1") == [b"c", b"b"]
    assert err(r, "ZRANGE", "z", 0, 1, "LIMIT", 0, 1) == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(r, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(r, "ZRANGEBYSCORE", "z", 0, 1, "REV") == "syntax error"
    assert err(r, "ZRANGE", "z", "a", 1) == "value is not an integer or out of range"
    assert err(r, "ZRANGEBYSCORE", "z", "a", 1) == "min or max is not a float"
    assert ex("ZRANGE", "nokey", 0, -1) == []
    r.zadd("l", {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0})
    assert ex("ZRANGEBYLEX", "l", "[b", "(d") == [b"b", b"c"]
    assert ex("ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", 1, 2) == [b"d", b"c"]
    assert ex("ZRANGE", "l", "[e", "-", "BYLEX", "REV") == [b"e", b"d", b"c", b"b", b"a"]
    assert err(r, "ZRANGEBYLEX", "l", "b", "+") == "min or max not valid string range item"
    r.set("s", "x")
    assert err(r, "ZRANGE", "s", 0, 1) == WRONGTYPE


def test_zrangestore(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    ex = r.execute_command
    assert ex("ZRANGESTORE", "d", "z", 1, -1) == 2
    assert r.zrange("d", 0, -1, withscores=True) == [(b"b", 2.0), (b"c", 3.0)]
    assert ex("ZRANGESTORE", "d", "z", 2, 1, "BYSCORE", "REV") == 2
    assert r.zrange("d", 0, -1) == [b"a", b"b"]
    assert ex("ZRANGESTORE", "d", "z", 1, 2, "BYSCORE", "REV") == 0
    assert r.exists("d") == 0
    assert ex("ZRANGESTORE", "d", "nokey", 0, -1) == 0
    assert err(r, "ZRANGESTORE", "d", "z", 0, -1, "WITHSCORES") == "syntax error"


def test_zremrange(r):
    ex = r.execute_command
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert ex("ZREMRANGEBYRANK", "z", 0, 1) == 2
    assert ex("ZREMRANGEBYSCORE", "z", "(3", 4) == 1
    assert r.zrange("z", 0, -1) == [b"c", b"e"]
    assert ex("ZREMRANGEBYRANK", "z", 5, 10) == 0
    r.zadd("l", {"a": 0, "b": 0, "c": 0})
    assert ex("ZREMRANGEBYLEX", "l", "[a", "(c") == 2
    assert ex("ZREMRANGEBYLEX", "l", "-", "+") == 1
    assert r.exists("l") == 0
    assert err(r, "ZREMRANGEBYLEX", "l", "x", "+") == "min or max not valid string range item"


def test_pops(r):
    ex = r.execute_command
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert ex("ZPOPMIN", "z") == [b"a", b"1"]
    assert ex("ZPOPMAX", "z", 2) == [b"d", b"4", b"c", b"3"]
    assert ex("ZPOPMIN", "z", 0) == []
    assert err(r, "ZPOPMIN", "z", -1) == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", 1, 2) == "syntax error"
    assert ex("ZPOPMIN", "nokey") == []
    assert ex("ZPOPMAX", "z", 5) == [b"b", b"2"]
    assert r.exists("z") == 0
    r.zadd("y", {"x": 1, "y": 2, "z": 3})
    assert ex("ZMPOP", 2, "nokey", "y", "MIN", "COUNT", 2) == [b"y", [[b"x", b"1"], [b"y", b"2"]]]
    assert ex("ZMPOP", 1, "y", "MAX") == [b"y", [[b"z", b"3"]]]
    assert ex("ZMPOP", 1, "y", "MAX") is None
    assert err(r, "ZMPOP", 0, "y", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", 1, "y", "FOO") == "syntax error"
    assert err(r, "ZMPOP", 1, "y", "MIN", "COUNT", 0) == "count should be greater than 0"


def test_setops(r):
    ex = r.execute_command
    r.zadd("a", {"x": 1, "y": 2, "z": 3})
    r.zadd("b", {"y": 10, "z": 20, "w": 30})
    assert ex("ZUNION", 2, "a", "b", "WITHSCORES") == \
        [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert ex("ZINTER", 2, "a", "b", "WEIGHTS", 2, 3, "AGGREGATE", "MAX", "WITHSCORES") == \
        [b"y", b"30", b"z", b"60"]
    assert ex("ZDIFF", 2, "a", "b", "WITHSCORES") == [b"x", b"1"]
    assert ex("ZUNIONSTORE", "d", 2, "a", "b", "AGGREGATE", "MIN") == 4
    assert r.zrange("d", 0, -1, withscores=True) == \
        [(b"x", 1.0), (b"y", 2.0), (b"z", 3.0), (b"w", 30.0)]
    assert ex("ZINTERSTORE", "d", 2, "a", "nokey") == 0
    assert r.exists("d") == 0
    assert ex("ZDIFFSTORE", "d", 2, "b", "a") == 1
    assert ex("ZINTERCARD", 2, "a", "b") == 2
    assert ex("ZINTERCARD", 2, "a", "b", "LIMIT", 1) == 1
    assert err(r, "ZINTERCARD", 2, "a", "b", "LIMIT", -1) == "LIMIT can't be negative"
    assert err(r, "ZUNION", 0, "a") == "at least 1 input key is needed for 'zunion' command"
    assert err(r, "ZUNIONSTORE", "d", 0, "a") == \
        "at least 1 input key is needed for 'zunionstore' command"
    assert err(r, "ZUNION", 3, "a", "b") == "syntax error"
    assert err(r, "ZUNION", 2, "a", "b", "WEIGHTS", 1, "x") == "weight value is not a float"
    assert err(r, "ZDIFF", 2, "a", "b", "WEIGHTS", 1, 1) == "syntax error"
    r.set("s", "x")
    assert err(r, "ZUNION", 2, "a", "s", "FOO") == WRONGTYPE
    r.zadd("i", {"m": "inf"})
    r.zadd("j", {"m": "-inf"})
    assert ex("ZUNION", 2, "i", "j", "WITHSCORES") == [b"m", b"0"]



def test_setops_plain_set_inputs(r):
    """Plain sets (intset and hashtable) as inputs: every member scores 1."""
    ex = r.execute_command
    r.sadd("s", "a", "b")
    r.zadd("z", {"a": 1, "c": 5})
    assert ex("ZUNION", 2, "s", "z", "WITHSCORES") == \
        [b"b", b"1", b"a", b"2", b"c", b"5"]
    assert ex("ZINTER", 2, "s", "z", "WEIGHTS", 3, 1, "WITHSCORES") == [b"a", b"4"]
    assert ex("ZDIFF", 2, "s", "z", "WITHSCORES") == [b"b", b"1"]
    assert ex("ZDIFF", 2, "z", "s", "WITHSCORES") == [b"c", b"5"]
    assert ex("ZINTERCARD", 2, "s", "z") == 1
    assert ex("ZUNIONSTORE", "d", 2, "s", "z", "AGGREGATE", "MAX") == 3
    assert r.zrange("d", 0, -1, withscores=True) == \
        [(b"a", 1.0), (b"b", 1.0), (b"c", 5.0)]
    assert r.object("encoding", "d") == b"listpack"
    assert ex("ZUNION", 1, "s", "WEIGHTS", "inf", "WITHSCORES") == \
        [b"a", b"inf", b"b", b"inf"]
    assert ex("ZUNION", 2, "s", "s", "WEIGHTS", "inf", "-inf", "WITHSCORES") == \
        [b"a", b"0", b"b", b"0"]

    # intset members are compared and returned as canonical decimal text
    r.sadd("si", 1, 2, 3)
    r.zadd("zc", {"01": 1, "1": 2})
    assert r.object("encoding", "si") == b"intset"
    assert ex("ZINTER", 2, "zc", "si", "WITHSCORES") == [b"1", b"3"]
    assert ex("ZINTER", 2, "si", "zc", "WITHSCORES") == [b"1", b"3"]
    assert ex("ZDIFF", 2, "si", "zc", "WITHSCORES") == [b"2", b"1", b"3", b"1"]
    assert ex("ZDIFF", 2, "zc", "si", "WITHSCORES") == [b"01", b"1"]
    r.sadd("h", "a", "b", -5)
    assert r.object("encoding", "h") == b"hashtable"
    assert ex("ZUNION", 3, "h", "si", "zc", "WEIGHTS", 2, 0.5, 1, "WITHSCORES") == \
        [b"2", b"0.5", b"3", b"0.5", b"01", b"1", b"-5", b"2", b"a", b"2",
         b"b", b"2", b"1", b"2.5"]
    assert ex("ZDIFF", 1, "h") == [b"-5", b"a", b"b"]
    assert ex("ZINTERCARD", 3, "si", "h", "zc") == 0
    assert ex("ZINTERCARD", 2, "si", "si", "LIMIT", 2) == 2
    assert ex("ZINTER", 2, "si", "nokey") == []
    assert ex("ZUNION", 2, "nokey", "si", "WITHSCORES") == \
        [b"1", b"1", b"2", b"1", b"3", b"1"]

    # the result's encoding follows the members' text length
    assert ex("ZUNIONSTORE", "d", 2, "h", "si") == 6
    assert r.object("encoding", "d") == b"listpack"
    r.config_set("zset-max-listpack-value", 1)
    try:
        assert ex("ZUNIONSTORE", "d", 2, "h", "si") == 6
        assert r.object("encoding", "d") == b"skiplist"
        assert ex("ZUNIONSTORE", "d", 1, "si") == 3
        assert r.object("encoding", "d") == b"listpack"
    finally:
        r.config_set("zset-max-listpack-value", 64)

    # a set input may be the destination: it becomes a sorted set
    assert ex("ZINTERSTORE", "s", 2, "s", "z") == 1
    assert r.type("s") == b"zset"
    assert r.zrange("s", 0, -1, withscores=True) == [(b"a", 2.0)]

    # a large intset (not embedded in its key)
    r.config_set("set-max-intset-entries", 3000)
    try:
        base = 1 << 40
        r.sadd("big", *[base + i for i in range(1, 1501)])
        assert r.object("encoding", "big") == b"intset"
        r.zadd("zb", {str(base + 1): 7, str(base + 223): 8, "nope": 9})
        assert ex("ZINTERCARD", 2, "big", "zb") == 2
        assert ex("ZINTER", 2, "zb", "big", "WEIGHTS", 1, 2, "WITHSCORES") == \
            [str(base + 1).encode(), b"9", str(base + 223).encode(), b"10"]
        assert ex("ZUNIONSTORE", "db", 2, "big", "zb") == 1501
        assert ex("ZDIFF", 2, "zb", "big") == [b"nope"]
    finally:
        r.config_set("set-max-intset-entries", 512)

    # other types still answer WRONGTYPE, before the options are parsed
    r.set("str", "x")
    assert err(r, "ZUNION", 2, "si", "str") == WRONGTYPE
    assert err(r, "ZUNION", 2, "str", "si", "WEIGHTS", "x") == WRONGTYPE
    assert err(r, "ZINTERCARD", 2, "si", "str") == WRONGTYPE

def test_zscan_and_zrandmember(r, small):
    ex = r.execute_command
    for name, n in (("lp", 3), ("sl", 50)):
        members = {"m%d" % i: i for i in range(n)}
        r.zadd(name, members)
        got, cursor = {}, 0
        while True:
            cursor, items = ex("ZSCAN", name, cursor, "COUNT", 5)
            cursor = int(cursor)
            for k, v in items:
                got[k.decode()] = int(v)
            if cursor == 0:
                break
        assert got == members
        assert set(ex("ZRANDMEMBER", name, n + 5)) == {m.encode() for m in members}
        pick = ex("ZRANDMEMBER", name, 2, "WITHSCORES")
        assert len(pick) == 4 and pick[0] != pick[2]
        assert len(ex("ZRANDMEMBER", name, -7)) == 7
        assert ex("ZRANDMEMBER", name).decode() in members
    assert ex("ZSCAN", "lp", 0, "MATCH", "m1") == (0, [(b"m1", 1.0)])
    assert ex("ZSCAN", "nokey", 0) == (0, [])
    assert err(r, "ZSCAN", "lp", "x") == "invalid cursor"
    assert err(r, "ZSCAN", "lp", 0, "COUNT", 0) == "syntax error"
    assert ex("ZRANDMEMBER", "nokey") is None
    assert ex("ZRANDMEMBER", "lp", 0) == []
    assert err(r, "ZRANDMEMBER", "lp", 1, "x") == "syntax error"


def test_encodings_convert(r, small):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.object("encoding", "z") == b"listpack"
    r.zadd("z", {"e": 5})
    assert r.object("encoding", "z") == b"skiplist"
    r.zadd("v", {"short": 1})
    assert r.object("encoding", "v") == b"listpack"
    r.zadd("v", {"longer-than-8": 2})
    assert r.object("encoding", "v") == b"skiplist"
    r.zrem("z", "a", "b", "c")
    assert r.object("encoding", "z") == b"skiplist"   # no way back
    r.execute_command("ZUNIONSTORE", "u", 1, "z")
    assert r.object("encoding", "u") == b"listpack"  # rebuilt sets shrink
    r.execute_command("ZRANGESTORE", "u2", "z", 0, -1)
    assert r.object("encoding", "u2") == b"listpack"
    assert r.config_get("zset-max-ziplist-entries") == {"zset-max-ziplist-entries": "4"}
    r.config_set("zset-max-listpack-entries", 0)
    r.zadd("zero", {"a": 1})
    assert r.object("encoding", "zero") == b"skiplist"


@pytest.mark.parametrize("entries", [128, 8])
def test_random_ops_vs_model(r, entries):
    """Random ZADD/ZINCRBY/ZREM/ZREMRANGE* against a Python model, across
    the listpack -> skiplist conversion."""
    r.config_set("zset-max-listpack-entries", entries)
    rnd = random.Random(entries)
    model = {}
    try:
        for step in range(600):
            op = rnd.randrange(6)
            m = "m%d" % rnd.randrange(40)
            s = rnd.randrange(-5, 6) / 2
            if op <= 1:
                r.zadd("z", {m: s})
                model[m] = s
            elif op == 2:
                r.zincrby("z", s, m)
                model[m] = model.get(m, 0) + s
            elif op == 3:
                assert r.zrem("z", m) == (1 if model.pop(m, None) is not None else 0)
            elif op == 4:
                lo = rnd.randrange(-5, 6) / 2
                n = r.zremrangebyscore("z", lo, lo + 1)
                gone = [k for k, v in model.items() if lo <= v <= lo + 1]
                for k in gone:
                    del model[k]
                assert n == len(gone)
            else:
                ordered = sorted(model.items(), key=lambda kv: (kv[1], kv[0]))
                if ordered:
                    a = rnd.randrange(len(ordered))
                    assert r.zrank("z", ordered[a][0]) == a
                    assert r.zrevrank("z", ordered[a][0]) == len(ordered) - 1 - a
            ordered = sorted(model.items(), key=lambda kv: (kv[1], kv[0]))
            got = r.zrange("z", 0, -1, withscores=True)
            assert [(k.decode(), v) for k, v in got] == ordered
    finally:
        r.config_set("zset-max-listpack-entries", 128)
