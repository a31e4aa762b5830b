"""Set commands: replies, errors and encodings as Redis 7.0.

Exact reply bytes go through a raw connection (`c`, RESP2; `c3`, RESP3).
Members of an intset come back in ascending order, so those replies are
compared byte for byte; hashtable order is the table's, so those are
compared as sorted lists.  Encodings are Redis 7.0's: intset and
hashtable (listpack sets came with 7.2).  A randomized test drives both a
Python model and the server with the same operations and compares after
every step, on a server with a small set-max-intset-entries so that sets
cross the conversion often.
"""

import random

import pytest
from respwire import (
    OK, NIL, EMPTY, SYNTAX, NOTINT, POSITIVE, WRONGTYPE, bulk, integer, array)


@pytest.fixture
def c3(shared_server, raw):
    conn = raw(shared_server)
    conn.call("HELLO", "3")
    assert conn.cmd("FLUSHALL") == OK
    return conn


def enc(c, key):
    return c.call("OBJECT", "ENCODING", key)


def members(c, key):
    return sorted(c.call("SMEMBERS", key))


def bset(*items):
    return sorted(str(i).encode() if not isinstance(i, bytes) else i for i in items)


# -- SADD, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS ------------------------------


def test_sadd_basic(c):
    assert c.cmd("SADD", "s", "3", "1", "2", "-5", "300") == integer(5)
    assert c.cmd("SADD", "s", "1", "2", "4") == integer(1)
    assert c.cmd("SCARD", "s") == integer(6)
    assert c.cmd("SCARD", "nokey") == integer(0)
    # intset members come back sorted
    assert c.cmd("SMEMBERS", "s") == array(-5, 1, 2, 3, 4, 300)
    assert c.cmd("SMEMBERS", "nokey") == EMPTY
    assert c.cmd("TYPE", "s") == b"+set\r\n"
    assert c.cmd("SISMEMBER", "s", "300") == integer(1)
    assert c.cmd("SISMEMBER", "s", "301") == integer(0)
    assert c.cmd("SISMEMBER", "s", "0300") == integer(0)
    assert c.cmd("SISMEMBER", "nokey", "1") == integer(0)
    assert c.cmd("SMISMEMBER", "s", "1", "x", "300") == (
        b"*3\r\n:1\r\n:0\r\n:1\r\n")
    assert c.cmd("SMISMEMBER", "nokey", "1", "2") == b"*2\r\n:0\r\n:0\r\n"
    # duplicates inside one SADD count once
    assert c.cmd("SADD", "d", "a", "a", "b") == integer(2)
    assert members(c, "d") == [b"a", b"b"]


def test_arity(c):
    for cmd in (["SADD", "k"], ["SREM", "k"], ["SCARD"], ["SISMEMBER", "k"],
                ["SMISMEMBER", "k"], ["SMEMBERS"], ["SPOP"], ["SRANDMEMBER"],
                ["SMOVE", "a", "b"], ["SINTER"], ["SINTERSTORE", "d"],
                ["SUNION"], ["SUNIONSTORE", "d"], ["SDIFF"],
                ["SDIFFSTORE", "d"], ["SSCAN", "k"], ["SINTERCARD", "1"]):
        name = cmd[0].lower()
        assert c.cmd(*cmd) == (
            b"-ERR wrong number of arguments for '%s' command\r\n"
            % name.encode())


def test_wrongtype(c):
    assert c.cmd("SET", "str", "x") == OK
    for cmd in (["SADD", "str", "1"], ["SREM", "str", "1"], ["SCARD", "str"],
                ["SISMEMBER", "str", "1"], ["SMISMEMBER", "str", "1"],
                ["SMEMBERS", "str"], ["SPOP", "str"], ["SPOP", "str", "0"],
                ["SRANDMEMBER", "str"], ["SRANDMEMBER", "str", "0"],
                ["SINTER", "str"], ["SUNION", "str"], ["SDIFF", "str"],
                ["SSCAN", "str", "0"], ["SINTERCARD", "1", "str"],
                ["SINTERSTORE", "d", "str"], ["SUNIONSTORE", "d", "str"],
                ["SDIFFSTORE", "d", "str"], ["SMOVE", "str", "x", "1"]):
        assert c.cmd(*cmd) == WRONGTYPE, cmd
    # nothing was created
    assert c.cmd("EXISTS", "d") == integer(0)
    assert c.cmd("GET", "str") == bulk("x")
    # other types reject set commands too
    assert c.cmd("SADD", "s", "1") == integer(1)
    assert c.cmd("GET", "s") == WRONGTYPE


# -- encodings ------------------------------------------------------------------


def test_encoding_intset_and_conversions(c):
    assert c.cmd("SADD", "s", "1", "2", "3") == integer(3)
    assert enc(c, "s") == b"intset"
    # 64-bit values stay in the intset
    assert c.cmd("SADD", "s", "-9223372036854775808", "9223372036854775807") == integer(2)
    assert enc(c, "s") == b"intset"
    assert c.cmd("SMEMBERS", "s") == array(
        "-9223372036854775808", 1, 2, 3, "9223372036854775807")
    # a non-integer member converts, and removing it does not convert back
    assert c.cmd("SADD", "s", "a") == integer(1)
    assert enc(c, "s") == b"hashtable"
    assert c.cmd("SREM", "s", "a") == integer(1)
    assert enc(c, "s") == b"hashtable"
    assert members(c, "s") == bset(1, 2, 3, "-9223372036854775808",
                                   "9223372036854775807")


@pytest.mark.parametrize("member", ["012", "+1", " 1", "1 ", "-0", "1.0",
                                    "9223372036854775808", "0x10", ""])
def test_non_canonical_integers_are_strings(c, member):
    assert c.cmd("SADD", "s", member) == integer(1)
    assert enc(c, "s") == b"hashtable"
    assert c.cmd("SISMEMBER", "s", member) == integer(1)
    assert c.cmd("SADD", "t", "5") == integer(1)
    assert c.cmd("SADD", "t", member) == integer(1)
    assert enc(c, "t") == b"hashtable"


def test_first_member_decides_start_encoding(c):
    assert c.cmd("SADD", "a", "x", "1") == integer(2)
    assert enc(c, "a") == b"hashtable"
    assert c.cmd("SADD", "b", "1", "x") == integer(2)
    assert enc(c, "b") == b"hashtable"
    # a hashtable with only integers in it stays a hashtable
    assert c.cmd("SREM", "b", "x") == integer(1)
    assert enc(c, "b") == b"hashtable"


def test_intset_size_limit(c):
    try:
        nums = [str(i) for i in range(512)]
        assert c.cmd("SADD", "s", *nums) == integer(512)
        assert enc(c, "s") == b"intset"
        assert c.cmd("SADD", "s", "512") == integer(1)
        assert enc(c, "s") == b"hashtable"
        assert c.cmd("SCARD", "s") == integer(513)
        # configurable with Redis's name
        assert c.cmd("CONFIG", "SET", "set-max-intset-entries", "3") == OK
        assert c.call("CONFIG", "GET", "set-max-intset-entries") == [
            b"set-max-intset-entries", b"3"]
        assert c.cmd("SADD", "t", "1", "2", "3") == integer(3)
        assert enc(c, "t") == b"intset"
        assert c.cmd("SADD", "t", "4") == integer(1)
        assert enc(c, "t") == b"hashtable"
        assert c.cmd("CONFIG", "SET", "set-max-intset-entries", "0") == OK
        assert c.cmd("SADD", "u", "1") == integer(1)
        assert enc(c, "u") == b"hashtable"
        assert c.cmd("CONFIG", "SET", "set-max-intset-entries", "-1") != OK
    finally:
        c.cmd("CONFIG", "SET", "set-max-intset-entries", "512")


def test_store_results_encoding(c):
    # results start as an intset and convert like any set
    assert c.cmd("SADD", "h1", "1", "2", "3", "x") == integer(4)
    assert c.cmd("SADD", "h2", "2", "3", "4", "x") == integer(4)
    assert c.cmd("SINTERSTORE", "d", "h1", "h2") == integer(3)
    assert enc(c, "d") == b"hashtable"
    assert c.cmd("SREM", "h2", "x") == integer(1)
    assert c.cmd("SINTERSTORE", "d", "h1", "h2") == integer(2)
    assert enc(c, "d") == b"intset"
    assert c.cmd("SUNIONSTORE", "d", "h2") == integer(3)
    assert enc(c, "d") == b"intset"
    assert c.cmd("SDIFFSTORE", "d", "h1", "h2") == integer(2)
    assert enc(c, "d") == b"hashtable"


def test_spop_rebuild_makes_intset_again(c):
    # SPOP with a count close to the size rebuilds the set from the members
    # that stay; like Redis, the rebuilt set starts as an intset.
    try:
        assert c.cmd("CONFIG", "SET", "set-max-intset-entries", "10") == OK
        assert c.cmd("SADD", "s", *range(20)) == integer(20)
        assert enc(c, "s") == b"hashtable"
        assert c.cmd("EXPIRE", "s", "1000") == integer(1)
        popped = c.call("SPOP", "s", "18")
        assert len(popped) == 18
        assert enc(c, "s") == b"intset"
        assert c.cmd("SCARD", "s") == integer(2)
        left = c.call("SMEMBERS", "s")
        assert sorted(int(x) for x in popped + left) == list(range(20))
        # the TTL is kept
        assert 0 < int(c.cmd("TTL", "s")[1:-2]) <= 1000
    finally:
        c.cmd("CONFIG", "SET", "set-max-intset-entries", "512")


def test_copy_keeps_encoding(c):
    assert c.cmd("SADD", "i", "1", "2") == integer(2)
    assert c.cmd("SADD", "h", "a", "b") == integer(2)
    assert c.cmd("COPY", "i", "i2") == integer(1)
    assert c.cmd("COPY", "h", "h2") == integer(1)
    assert enc(c, "i2") == b"intset"
    assert enc(c, "h2") == b"hashtable"
    assert c.cmd("SADD", "i2", "3") == integer(1)
    assert c.cmd("SCARD", "i") == integer(2)
    assert members(c, "h2") == [b"a", b"b"]


# -- SREM, SMOVE --------------------------------------------------------------


def test_srem(c):
    assert c.cmd("SREM", "nokey", "a") == integer(0)
    assert c.cmd("SADD", "s", "1", "2", "a") == integer(3)
    assert c.cmd("SREM", "s", "1", "x", "1") == integer(1)
    assert c.cmd("SREM", "s", "2", "a", "b") == integer(2)
    # the last member removed deletes the key
    assert c.cmd("EXISTS", "s") == integer(0)
    assert c.cmd("SADD", "i", "1", "2") == integer(2)
    assert c.cmd("SREM", "i", "3", "abc", "01") == integer(0)
    assert c.cmd("SREM", "i", "1", "2") == integer(2)
    assert c.cmd("EXISTS", "i") == integer(0)


def test_smove(c):
    assert c.cmd("SMOVE", "nokey", "d", "a") == integer(0)
    assert c.cmd("SADD", "s", "1", "2") == integer(2)
    assert c.cmd("SMOVE", "s", "d", "3") == integer(0)
    assert c.cmd("EXISTS", "d") == integer(0)
    # destination created with the right encoding
    assert c.cmd("SMOVE", "s", "d", "1") == integer(1)
    assert enc(c, "d") == b"intset"
    assert c.cmd("SMEMBERS", "s") == array(2)
    assert c.cmd("SMEMBERS", "d") == array(1)
    # moving a member the destination already has still removes it
    assert c.cmd("SADD", "d", "2") == integer(1)
    assert c.cmd("SMOVE", "s", "d", "2") == integer(1)
    assert c.cmd("EXISTS", "s") == integer(0)
    assert c.cmd("SMEMBERS", "d") == array(1, 2)
    # non-integer into an intset converts it
    assert c.cmd("SADD", "x", "a") == integer(1)
    assert c.cmd("SMOVE", "x", "d", "a") == integer(1)
    assert enc(c, "d") == b"hashtable"
    assert c.cmd("EXISTS", "x") == integer(0)
    # same key: membership only
    assert c.cmd("SMOVE", "d", "d", "a") == integer(1)
    assert c.cmd("SMOVE", "d", "d", "zz") == integer(0)
    assert members(c, "d") == [b"1", b"2", b"a"]
    # types: source missing wins over a wrong destination
    assert c.cmd("SET", "str", "v") == OK
    assert c.cmd("SMOVE", "nokey", "str", "a") == integer(0)
    assert c.cmd("SMOVE", "d", "str", "a") == WRONGTYPE
    assert c.cmd("SMOVE", "str", "d", "a") == WRONGTYPE
    assert c.cmd("SMOVE", "d", "str", "nosuchmember") == WRONGTYPE


# -- SPOP, SRANDMEMBER --------------------------------------------------------


def test_spop_single(c):
    assert c.cmd("SPOP", "nokey") == NIL
    assert c.cmd("SADD", "s", "1", "2", "a") == integer(3)
    got = set()
    for _ in range(3):
        v = c.call("SPOP", "s")
        assert v in (b"1", b"2", b"a") and v not in got
        got.add(v)
    assert c.cmd("EXISTS", "s") == integer(0)
    assert c.cmd("SPOP", "s") == NIL
    assert c.cmd("SPOP", "s", "1", "2") == SYNTAX


def test_spop_count(c):
    assert c.cmd("SPOP", "nokey", "3") == EMPTY
    assert c.cmd("SPOP", "nokey", "-1") == POSITIVE
    assert c.cmd("SPOP", "nokey", "x") == POSITIVE
    assert c.cmd("SADD", "s", *range(100)) == integer(100)
    assert c.cmd("SPOP", "s", "0") == EMPTY
    assert c.cmd("SPOP", "s", "-1") == POSITIVE
    # case 2 (few), case 3 (most), case 1 (all)
    a = c.call("SPOP", "s", "10")
    assert len(set(a)) == 10 and c.call("SCARD", "s") == 90
    b = c.call("SPOP", "s", "85")
    assert len(set(b)) == 85 and c.call("SCARD", "s") == 5
    rest = c.call("SMEMBERS", "s")
    assert c.cmd("SPOP", "s", "5") == array(*rest)
    assert c.cmd("EXISTS", "s") == integer(0)
    assert sorted(int(x) for x in a + b + rest) == list(range(100))
    # hashtable
    words = ["w%d" % i for i in range(50)]
    assert c.cmd("SADD", "h", *words) == integer(50)
    out = c.call("SPOP", "h", "45") + c.call("SPOP", "h", "3")
    out += c.call("SPOP", "h", "100")
    assert sorted(out) == sorted(w.encode() for w in words)
    assert c.cmd("EXISTS", "h") == integer(0)


def test_srandmember(c):
    assert c.cmd("SRANDMEMBER", "nokey") == NIL
    assert c.cmd("SRANDMEMBER", "nokey", "5") == EMPTY
    assert c.cmd("SRANDMEMBER", "nokey", "-5") == EMPTY
    assert c.cmd("SRANDMEMBER", "nokey", "x") == NOTINT
    assert c.cmd("SRANDMEMBER", "nokey", "-9223372036854775808") == (
        b"-ERR value is out of range, value must between "
        b"-9223372036854775807 and 9223372036854775807\r\n")
    assert c.cmd("SRANDMEMBER", "k", "1", "2") == SYNTAX
    for key, items in (("i", [str(i) for i in range(30)]),
                       ("h", ["m%d" % i for i in range(30)])):
        assert c.cmd("SADD", key, *items) == integer(30)
        universe = {x.encode() for x in items}
        assert c.call("SRANDMEMBER", key) in universe
        assert c.cmd("SRANDMEMBER", key, "0") == EMPTY
        for n in (1, 5, 12, 29):        # cases 4 and 3
            got = c.call("SRANDMEMBER", key, n)
            assert len(got) == n and len(set(got)) == n
            assert set(got) <= universe
        for n in (30, 31, 1000):        # case 2: the whole set
            got = c.call("SRANDMEMBER", key, n)
            assert sorted(got) == sorted(universe)
        # negative: exactly |count| members, repeats allowed
        got = c.call("SRANDMEMBER", key, -100)
        assert len(got) == 100 and set(got) <= universe
        assert len(set(got)) < 100
        assert c.call("SCARD", key) == 30
    # whole intset comes back sorted
    assert c.cmd("SADD", "small", "3", "1", "2") == integer(3)
    assert c.cmd("SRANDMEMBER", "small", "10") == array(1, 2, 3)
    assert c.cmd("SRANDMEMBER", "small", "-3").startswith(b"*3\r\n")


# -- SINTER, SUNION, SDIFF, STORE, SINTERCARD ---------------------------------


@pytest.fixture
def sets(c):
    assert c.cmd("SADD", "i1", "1", "2", "3", "4") == integer(4)
    assert c.cmd("SADD", "i2", "3", "4", "5") == integer(3)
    assert c.cmd("SADD", "h1", "3", "4", "a", "b") == integer(4)
    assert c.cmd("SADD", "h2", "4", "b", "c") == integer(3)
    return c


def test_sinter(sets):
    c = sets
    assert c.cmd("SINTER", "i1", "i2") == array(3, 4)
    assert c.cmd("SINTER", "i1") == array(1, 2, 3, 4)
    assert sorted(c.call("SINTER", "h1", "i1")) == bset(3, 4)
    assert sorted(c.call("SINTER", "i1", "h1", "h2")) == bset(4)
    assert sorted(c.call("SINTER", "h1", "h2")) == bset(4, "b")
    assert c.cmd("SINTER", "i1", "i1") == array(1, 2, 3, 4)
    assert c.cmd("SINTER", "i1", "nokey") == array(t=b"*")
    assert c.cmd("SINTER", "nokey", "i1") == EMPTY
    # WRONGTYPE wins over an empty result, wherever the keys are
    assert c.cmd("SET", "str", "x") == OK
    assert c.cmd("SINTER", "nokey", "str") == WRONGTYPE
    assert c.cmd("SINTER", "i1", "nokey", "str") == WRONGTYPE
    assert c.cmd("SINTERSTORE", "d", "nokey", "str") == WRONGTYPE
    assert c.cmd("SINTERCARD", "2", "nokey", "str") == WRONGTYPE


def test_sunion_sdiff(sets):
    c = sets
    assert c.cmd("SUNION", "i1", "i2") == array(1, 2, 3, 4, 5)
    assert c.cmd("SUNION", "i1", "nokey") == array(1, 2, 3, 4)
    assert c.cmd("SUNION", "nokey") == EMPTY
    assert sorted(c.call("SUNION", "i1", "h2")) == bset(1, 2, 3, 4, "b", "c")
    assert c.cmd("SDIFF", "i1", "i2") == array(1, 2)
    assert c.cmd("SDIFF", "i1", "nokey", "i2") == array(1, 2)
    assert c.cmd("SDIFF", "nokey", "i1") == EMPTY
    assert c.cmd("SDIFF", "i1", "i1") == EMPTY
    assert c.cmd("SDIFF", "i1", "i2", "i1") == EMPTY
    assert c.cmd("SDIFF", "i1") == array(1, 2, 3, 4)
    assert sorted(c.call("SDIFF", "h1", "i1", "h2")) == bset("a")
    assert c.cmd("SDIFF", "i1", "h1") == array(1, 2)
    assert c.cmd("SET", "str", "x") == OK
    assert c.cmd("SUNION", "i1", "str") == WRONGTYPE
    assert c.cmd("SDIFF", "nokey", "str") == WRONGTYPE


def test_sdiff_both_algorithms(c):
    # a big first set against small ones (algorithm 2 is chosen when the
    # others are small... or not: the result must be the same either way)
    assert c.cmd("SADD", "big", *range(200)) == integer(200)
    for n in range(1, 6):
        assert c.cmd("SADD", "o%d" % n, *range(n * 10, n * 10 + 5)) == integer(5)
    want = [x for x in range(200) if not any(
        n * 10 <= x < n * 10 + 5 for n in range(1, 6))]
    got = c.call("SDIFF", "big", "o1", "o2", "o3", "o4", "o5")
    assert sorted(int(x) for x in got) == want
    assert c.cmd("SADD", "huge", *range(1000)) == integer(1000)
    got = c.call("SDIFF", "o1", "huge")
    assert got == []
    got = c.call("SDIFF", "big", "huge", "o1")
    assert got == []


def test_store_variants(sets):
    c = sets
    assert c.cmd("SINTERSTORE", "d", "i1", "i2") == integer(2)
    assert c.cmd("SMEMBERS", "d") == array(3, 4)
    assert c.cmd("SUNIONSTORE", "d", "i1", "i2") == integer(5)
    assert c.cmd("SMEMBERS", "d") == array(1, 2, 3, 4, 5)
    assert c.cmd("SDIFFSTORE", "d", "i1", "i2") == integer(2)
    assert c.cmd("SMEMBERS", "d") == array(1, 2)
    # overwrites another type and clears the TTL
    for cmd in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        assert c.cmd("SET", "dst", "string", "EX", "100") == OK
        assert c.cmd(cmd, "dst", "i1", "h2") == integer(
            {"SINTERSTORE": 1, "SUNIONSTORE": 6, "SDIFFSTORE": 3}[cmd])
        assert c.cmd("TYPE", "dst") == b"+set\r\n"
        assert c.cmd("TTL", "dst") == integer(-1)
    # an empty result deletes the destination (whatever it was)
    assert c.cmd("SET", "dst", "v") == OK
    assert c.cmd("SINTERSTORE", "dst", "i1", "nokey") == integer(0)
    assert c.cmd("EXISTS", "dst") == integer(0)
    assert c.cmd("SADD", "dst", "1") == integer(1)
    assert c.cmd("SDIFFSTORE", "dst", "i1", "i1") == integer(0)
    assert c.cmd("EXISTS", "dst") == integer(0)
    assert c.cmd("SADD", "dst", "1") == integer(1)
    assert c.cmd("SUNIONSTORE", "dst", "nokey") == integer(0)
    assert c.cmd("EXISTS", "dst") == integer(0)
    assert c.cmd("SINTERSTORE", "dst", "i1", "h2") == integer(1)
    assert c.cmd("SMEMBERS", "dst") == array(4)
    # the destination may be a source
    assert c.cmd("SUNIONSTORE", "i1", "i1", "i2") == integer(5)
    assert c.cmd("SMEMBERS", "i1") == array(1, 2, 3, 4, 5)
    assert c.cmd("SDIFFSTORE", "i1", "i1", "i2") == integer(2)
    assert c.cmd("SMEMBERS", "i1") == array(1, 2)
    assert c.cmd("SINTERSTORE", "h1", "h1", "h2") == integer(2)
    assert sorted(c.call("SMEMBERS", "h1")) == bset(4, "b")


def test_sintercard(sets):
    c = sets
    assert c.cmd("SINTERCARD", "2", "i1", "i2") == integer(2)
    assert c.cmd("SINTERCARD", "2", "i1", "i2", "LIMIT", "1") == integer(1)
    assert c.cmd("SINTERCARD", "2", "i1", "i2", "limit", "0") == integer(2)
    assert c.cmd("SINTERCARD", "2", "i1", "i2", "LIMIT", "9") == integer(2)
    assert c.cmd("SINTERCARD", "1", "i1", "LIMIT", "3", "LIMIT", "2") == integer(2)
    assert c.cmd("SINTERCARD", "3", "h1", "h2", "i1") == integer(1)
    assert c.cmd("SINTERCARD", "2", "i1", "nokey") == integer(0)
    assert c.cmd("SINTERCARD", "0", "i1") == (
        b"-ERR numkeys should be greater than 0\r\n")
    assert c.cmd("SINTERCARD", "-1", "i1") == (
        b"-ERR numkeys should be greater than 0\r\n")
    assert c.cmd("SINTERCARD", "x", "i1") == (
        b"-ERR numkeys should be greater than 0\r\n")
    assert c.cmd("SINTERCARD", "3", "i1", "i2") == (
        b"-ERR Number of keys can't be greater than number of args\r\n")
    assert c.cmd("SINTERCARD", "1", "i1", "LIMIT", "-1") == (
        b"-ERR LIMIT can't be negative\r\n")
    assert c.cmd("SINTERCARD", "1", "i1", "LIMIT", "x") == (
        b"-ERR LIMIT can't be negative\r\n")
    assert c.cmd("SINTERCARD", "1", "i1", "LIMIT") == SYNTAX
    assert c.cmd("SINTERCARD", "1", "i1", "foo") == SYNTAX
    # LIMIT errors come before key lookups
    assert c.cmd("SET", "str", "x") == OK
    assert c.cmd("SINTERCARD", "1", "str", "LIMIT", "-1") == (
        b"-ERR LIMIT can't be negative\r\n")


# -- SSCAN --------------------------------------------------------------------


def test_sscan_intset_whole(c):
    assert c.cmd("SADD", "s", "5", "1", "10", "3") == integer(4)
    # a compact encoding is returned whole, cursor 0, COUNT ignored
    assert c.cmd("SSCAN", "s", "0") == b"*2\r\n$1\r\n0\r\n" + array(1, 3, 5, 10)
    assert c.cmd("SSCAN", "s", "0", "COUNT", "1") == (
        b"*2\r\n$1\r\n0\r\n" + array(1, 3, 5, 10))
    assert c.cmd("SSCAN", "s", "0", "MATCH", "1*") == (
        b"*2\r\n$1\r\n0\r\n" + array(1, 10))
    assert c.cmd("SSCAN", "s", "0", "MATCH", "*") == (
        b"*2\r\n$1\r\n0\r\n" + array(1, 3, 5, 10))
    assert c.cmd("SSCAN", "nokey", "0") == b"*2\r\n$1\r\n0\r\n*0\r\n"


def test_sscan_errors(c):
    assert c.cmd("SSCAN", "nokey", "x") == b"-ERR invalid cursor\r\n"
    # a missing key answers before its options are looked at
    assert c.cmd("SSCAN", "nokey", "0", "foo") == b"*2\r\n$1\r\n0\r\n*0\r\n"
    assert c.cmd("SADD", "s", "1") == integer(1)
    assert c.cmd("SSCAN", "s", "x") == b"-ERR invalid cursor\r\n"
    assert c.cmd("SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert c.cmd("SSCAN", "s", "0", "COUNT", "x") == NOTINT
    assert c.cmd("SSCAN", "s", "0", "TYPE", "set") == SYNTAX
    assert c.cmd("SSCAN", "s", "0", "MATCH") == SYNTAX
    assert c.cmd("SSCAN", "s", "0", "foo", "bar") == SYNTAX


def test_sscan_hashtable(c):
    items = {b"m%d" % i for i in range(1000)}
    assert c.cmd("SADD", "h", *items) == integer(1000)
    seen, cursor, calls = [], b"0", 0
    while True:
        cursor, batch = c.call("SSCAN", "h", cursor, "COUNT", "50")
        seen += batch
        calls += 1
        if cursor == b"0":
            break
    assert set(seen) == items
    assert calls > 5
    # MATCH filters after the step
    seen, cursor = [], b"0"
    while True:
        cursor, batch = c.call("SSCAN", "h", cursor, "MATCH", "m1?")
        seen += batch
        if cursor == b"0":
            break
    assert set(seen) == {b"m1%d" % i for i in range(10)}


# -- RESP3 --------------------------------------------------------------------


def test_resp3_types(c3):
    c = c3
    assert c.cmd("SADD", "s", "1", "2") == integer(2)
    assert c.cmd("SMEMBERS", "s") == array(1, 2, t=b"~")
    assert c.cmd("SMEMBERS", "nokey") == b"~0\r\n"
    assert c.cmd("SINTER", "s", "nokey") == b"~0\r\n"
    assert c.cmd("SUNION", "s") == array(1, 2, t=b"~")
    assert c.cmd("SDIFF", "s", "nokey") == array(1, 2, t=b"~")
    assert c.cmd("SPOP", "nokey") == b"_\r\n"
    assert c.cmd("SPOP", "nokey", "2") == b"~0\r\n"
    assert c.cmd("SPOP", "s", "0") == b"~0\r\n"
    assert c.cmd("SRANDMEMBER", "nokey") == b"_\r\n"
    assert c.cmd("SRANDMEMBER", "nokey", "2") == b"*0\r\n"
    assert c.cmd("SRANDMEMBER", "s", "5") == array(1, 2)
    assert c.cmd("SRANDMEMBER", "s", "-3").startswith(b"*3\r\n")
    assert c.cmd("SMISMEMBER", "s", "1", "3") == b"*2\r\n:1\r\n:0\r\n"
    assert c.cmd("SSCAN", "s", "0") == b"*2\r\n$1\r\n0\r\n" + array(1, 2)
    assert c.cmd("SPOP", "s", "5") == array(1, 2, t=b"~")


# -- model-based ----------------------------------------------------------------


def test_random_ops_against_model(start_server):
    """Random operations on a few keys, a Python model alongside, compared
    after every step.  A small intset limit makes sets convert often; the
    member universe mixes integers (some 32/64-bit) and strings."""
    srv = start_server("--set-max-intset-entries", "8")
    r = srv.client()
    rng = random.Random(1234)
    keys = ["a", "b", "c", "d"]
    ints = [str(i) for i in range(-6, 14)] + ["70000", "-5000000000"]
    words = ["x", "y", "z", "07", "w"]
    model = {k: set() for k in keys}

    def pick_members(n):
        pool = ints if rng.random() < 0.8 else ints + words
        return [rng.choice(pool).encode() for _ in range(n)]

    def store(dst, result):
        model[dst] = set(result)

    for step in range(1500):
        op = rng.randrange(12)
        k, k2 = rng.choice(keys), rng.choice(keys)
        if op <= 2:
            ms = pick_members(rng.randint(1, 4))
            n = len(set(ms) - model[k])
            model[k] |= set(ms)
            assert r.sadd(k, *ms) == n
        elif op == 3:
            ms = pick_members(rng.randint(1, 3))
            n = len(set(ms) & model[k])
            model[k] -= set(ms)
            assert r.srem(k, *ms) == n
        elif op == 4:
            m = pick_members(1)[0]
            moved = m in model[k]
            if moved and k != k2:
                model[k].discard(m)
                model[k2].add(m)
            assert r.smove(k, k2, m) == moved
        elif op == 5:
            n = rng.randint(0, 6)
            got = r.spop(k, n)
            if not model[k]:
                assert got == [] or got is None
            else:
                got = got or []
                assert len(got) == min(n, len(model[k]))
                assert set(got) <= model[k]
                model[k] -= set(got)
        elif op == 6:
            others = rng.sample(keys, rng.randint(1, 3))
            want = set.intersection(*(model[x] for x in [k] + others))
            if rng.random() < 0.5:
                assert set(r.sinter(k, *others)) == want
            else:
                assert r.sinterstore(k2, k, *others) == len(want)
                store(k2, want)
        elif op == 7:
            others = rng.sample(keys, rng.randint(1, 3))
            want = set.union(*(model[x] for x in [k] + others))
            if rng.random() < 0.5:
                assert set(r.sunion(k, *others)) == want
            else:
                assert r.sunionstore(k2, k, *others) == len(want)
                store(k2, want)
        elif op == 8:
            others = rng.sample(keys, rng.randint(1, 3))
            want = model[k].difference(*(model[x] for x in others))
            if rng.random() < 0.5:
                assert set(r.sdiff(k, *others)) == want
            else:
                assert r.sdiffstore(k2, k, *others) == len(want)
                store(k2, want)
        elif op == 9:
            lim = rng.randint(0, 4)
            want = len(model[k] & model[k2])
            assert r.execute_command("SINTERCARD", 2, k, k2, "LIMIT", lim) == (
                min(want, lim) if lim else want)
        elif op == 10:
            n = rng.randint(-8, 8)
            got = r.srandmember(k, n)
            if n == 0 or not model[k]:
                assert got == []
            elif n > 0:
                assert len(got) == min(n, len(model[k]))
                assert len(set(got)) == len(got) and set(got) <= model[k]
            else:
                assert len(got) == -n and set(got) <= model[k]
        else:
            ms = pick_members(3)
            assert r.smismember(k, ms) == [int(m in model[k]) for m in ms]
        # compare everything after every step
        for key in keys:
            want = model[key]
            if not want:
                assert r.exists(key) == 0, (step, key)
                continue
            assert set(r.smembers(key)) == want, (step, key)
            assert r.scard(key) == len(want)
            all_int = all(_canonical_int(m) for m in want)
            e = r.object("encoding", key)
            if not all_int or len(want) > 8:
                assert e == b"hashtable", (step, key, want)
    r.close()


def _canonical_int(m):
    try:
        v = int(m)
    except ValueError:
        return False
    return str(v).encode() == m and -2**63 <= v < 2**63
