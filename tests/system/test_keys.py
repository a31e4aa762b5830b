"""Keyspace commands: DEL/EXISTS/TYPE/RENAME/COPY/EXPIRE*/KEYS/SCAN/OBJECT...

Exact replies as Redis 7.0 sends them.  Tessera serves database 0 only;
the few places where that shows are marked tessera_only, and the error
text it uses is checked against a real Redis started with --databases 1.
"""

import time

import pytest

from conftest import lpush_or_skip, make_list
from respwire import OK, NIL, SYNTAX, NOTINT, bulk, integer


DB_RANGE = b"-ERR DB index is out of range\r\n"


def ttl(c, key):
    return int(c.cmd("TTL", key)[1:-2])


def pttl(c, key):
    return int(c.cmd("PTTL", key)[1:-2])


# -- DEL / UNLINK / EXISTS / TYPE / TOUCH ----------------------------------------


def test_del_unlink(c):
    assert c.cmd("MSET", "a", "1", "b", "2", "c", "3") == OK
    assert c.cmd("DEL", "a", "a", "nokey") == integer(1)
    assert c.cmd("UNLINK", "b", "nokey", "b") == integer(1)
    assert c.cmd("DEL", "nokey") == integer(0)
    assert c.cmd("EXISTS", "a", "b", "c") == integer(1)
    assert c.cmd("DEL") == b"-ERR wrong number of arguments for 'del' command\r\n"


def test_unlink_large_value(c):
    assert c.cmd("SET", "big", "x" * 1000000) == OK
    assert c.cmd("UNLINK", "big") == integer(1)
    assert c.cmd("EXISTS", "big") == integer(0)


def test_exists_counts_duplicates(c):
    assert c.cmd("SET", "b", "1") == OK
    assert c.cmd("EXISTS", "b", "b", "b", "nokey") == integer(3)
    assert c.cmd("EXISTS", "nokey") == integer(0)


def test_type(c):
    assert c.cmd("SET", "s", "1") == OK
    assert make_list(c, "l", "x") == integer(1)
    assert c.cmd("TYPE", "s") == b"+string\r\n"
    assert c.cmd("TYPE", "l") == b"+list\r\n"
    assert c.cmd("TYPE", "nokey") == b"+none\r\n"


def test_touch(c):
    assert c.cmd("MSET", "a", "1", "b", "2") == OK
    assert c.cmd("TOUCH", "a", "b", "nokey", "a") == integer(3)
    assert c.cmd("TOUCH", "nokey") == integer(0)


# -- RENAME / RENAMENX / COPY ----------------------------------------------------


def test_rename(c):
    assert c.cmd("SET", "a", "1") == OK
    assert c.cmd("RENAME", "a", "b") == OK
    assert c.cmd("EXISTS", "a") == integer(0)
    assert c.cmd("GET", "b") == bulk("1")
    # Renaming onto itself is fine when the key exists.
    assert c.cmd("RENAME", "b", "b") == OK
    assert c.cmd("GET", "b") == bulk("1")
    assert c.cmd("RENAME", "nokey", "x") == b"-ERR no such key\r\n"
    assert c.cmd("RENAME", "nokey", "nokey") == b"-ERR no such key\r\n"


def test_rename_moves_ttl_and_overwrites(c):
    assert c.cmd("SET", "t", "v", "EX", "100") == OK
    assert c.cmd("RENAME", "t", "t2") == OK
    assert c.cmd("TTL", "t2") == integer(100)
    # The destination's TTL is replaced by the source's (none here).
    assert c.cmd("SET", "a", "1") == OK
    assert c.cmd("RENAME", "a", "t2") == OK
    assert c.cmd("TTL", "t2") == integer(-1)
    assert c.cmd("GET", "t2") == bulk("1")
    # Any type may be overwritten.
    assert make_list(c, "l", "x") == integer(1)
    assert c.cmd("RENAME", "t2", "l") == OK
    assert c.cmd("TYPE", "l") == b"+string\r\n"


def test_renamenx(c):
    assert c.cmd("MSET", "a", "1", "b", "2") == OK
    assert c.cmd("RENAMENX", "a", "b") == integer(0)
    assert c.cmd("RENAMENX", "a", "a") == integer(0)
    assert c.cmd("RENAMENX", "a", "c") == integer(1)
    assert c.cmd("MGET", "a", "c") == b"*2\r\n$-1\r\n$1\r\n1\r\n"
    assert c.cmd("RENAMENX", "nokey", "x") == b"-ERR no such key\r\n"


def test_copy(c):
    assert c.cmd("SET", "b", "2") == OK
    assert c.cmd("COPY", "b", "c") == integer(1)
    assert c.cmd("GET", "c") == bulk("2")
    assert c.cmd("SET", "b", "3") == OK
    assert c.cmd("COPY", "b", "c") == integer(0)
    assert c.cmd("GET", "c") == bulk("2")
    assert c.cmd("COPY", "b", "c", "REPLACE") == integer(1)
    assert c.cmd("GET", "c") == bulk("3")
    assert c.cmd("COPY", "nokey", "c") == integer(0)
    assert c.cmd("COPY", "b", "d", "DB", "0") == integer(1)
    assert c.cmd("COPY", "b", "d", "DB", "0", "REPLACE") == integer(1)
    # The copy is independent of the source.
    assert c.cmd("APPEND", "d", "x") == integer(2)
    assert c.cmd("GET", "b") == bulk("3")


def test_copy_keeps_ttl(c):
    assert c.cmd("SET", "t", "v", "EX", "100") == OK
    assert c.cmd("COPY", "t", "t2") == integer(1)
    assert c.cmd("TTL", "t2") == integer(100)


def test_copy_errors(c):
    assert c.cmd("SET", "b", "1") == OK
    same = b"-ERR source and destination objects are the same\r\n"
    assert c.cmd("COPY", "b", "b") == same
    assert c.cmd("COPY", "b", "b", "REPLACE") == same
    assert c.cmd("COPY", "b", "c", "DB", "x") == NOTINT
    assert c.cmd("COPY", "b", "c", "DB") == SYNTAX
    assert c.cmd("COPY", "b", "c", "FOO") == SYNTAX
    assert c.cmd("COPY", "b", "e", "DB", "-1") == DB_RANGE
    assert c.cmd("COPY", "b", "e", "DB", "16") == DB_RANGE


@pytest.mark.tessera_only
def test_copy_other_db_rejected(c):
    # Tessera serves DB 0 only (cluster-first, like Redis Cluster).
    assert c.cmd("SET", "b", "1") == OK
    assert c.cmd("COPY", "b", "c", "DB", "1") == DB_RANGE
    assert c.cmd("EXISTS", "c") == integer(0)


# -- EXPIRE family ----------------------------------------------------------------


def test_expire_pexpire(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("EXPIRE", "k", "100") == integer(1)
    assert c.cmd("TTL", "k") == integer(100)
    assert c.cmd("PEXPIRE", "k", "50000") == integer(1)
    assert 49000 < pttl(c, "k") <= 50000
    assert c.cmd("EXPIRE", "nokey", "10") == integer(0)
    assert c.cmd("PEXPIRE", "nokey", "10") == integer(0)


def test_expireat_pexpireat_and_expiretime(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("EXPIRETIME", "k") == integer(-1)
    assert c.cmd("PEXPIRETIME", "k") == integer(-1)
    assert c.cmd("EXPIRETIME", "nokey") == integer(-2)
    assert c.cmd("PEXPIRETIME", "nokey") == integer(-2)
    assert c.cmd("EXPIREAT", "k", "4000000000") == integer(1)
    assert c.cmd("EXPIRETIME", "k") == integer(4000000000)
    assert c.cmd("PEXPIRETIME", "k") == integer(4000000000000)
    assert c.cmd("PEXPIREAT", "k", "4000000000123") == integer(1)
    assert c.cmd("PEXPIRETIME", "k") == integer(4000000000123)
    assert c.cmd("EXPIRETIME", "k") == integer(4000000000)
    at = int(time.time()) + 100
    assert c.cmd("EXPIREAT", "k", str(at)) == integer(1)
    assert 98 <= ttl(c, "k") <= 100
    assert c.cmd("EXPIREAT", "nokey", str(at)) == integer(0)


def test_ttl_pttl_special_values(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("TTL", "k") == integer(-1)
    assert c.cmd("PTTL", "k") == integer(-1)
    assert c.cmd("TTL", "nokey") == integer(-2)
    assert c.cmd("PTTL", "nokey") == integer(-2)


@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "0"), ("PEXPIRE", "-100"),
    ("EXPIREAT", "1"), ("EXPIREAT", "-1"), ("PEXPIREAT", "1000"),
    ("PEXPIREAT", "-9223372036854775808"),
])
def test_non_positive_or_past_expiry_deletes(c, cmd, arg):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd(cmd, "k", arg) == integer(1)
    assert c.cmd("EXISTS", "k") == integer(0)
    assert c.cmd("TTL", "k") == integer(-2)


def test_expire_invalid_time(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("EXPIRE", "k", "9223372036854775807") == \
        b"-ERR invalid expire time in 'expire' command\r\n"
    # Seconds are converted to ms and added to now: that overflows too.
    assert c.cmd("EXPIRE", "k", "9223372036854775") == \
        b"-ERR invalid expire time in 'expire' command\r\n"
    assert c.cmd("PEXPIRE", "k", "9223372036854775807") == \
        b"-ERR invalid expire time in 'pexpire' command\r\n"
    assert c.cmd("EXPIREAT", "k", "9223372036854775807") == \
        b"-ERR invalid expire time in 'expireat' command\r\n"
    assert c.cmd("EXPIRE", "k", "x") == NOTINT
    assert c.cmd("EXPIRE", "k", "1.5") == NOTINT
    assert c.cmd("TTL", "k") == integer(-1)


def test_expire_nx_xx_gt_lt(c):
    assert c.cmd("SET", "a", "1") == OK
    # No TTL: XX fails, GT fails (no TTL counts as infinite), LT succeeds.
    assert c.cmd("EXPIRE", "a", "100", "XX") == integer(0)
    assert c.cmd("EXPIRE", "a", "100", "GT") == integer(0)
    assert c.cmd("TTL", "a") == integer(-1)
    assert c.cmd("EXPIRE", "a", "100", "LT") == integer(1)
    assert c.cmd("TTL", "a") == integer(100)
    assert c.cmd("EXPIRE", "a", "200", "NX") == integer(0)
    assert c.cmd("EXPIRE", "a", "50", "GT") == integer(0)
    assert c.cmd("EXPIRE", "a", "200", "GT") == integer(1)
    assert c.cmd("TTL", "a") == integer(200)
    assert c.cmd("EXPIRE", "a", "300", "LT") == integer(0)
    assert c.cmd("EXPIRE", "a", "100", "lt") == integer(1)
    assert c.cmd("TTL", "a") == integer(100)
    assert c.cmd("EXPIRE", "a", "150", "XX") == integer(1)
    assert c.cmd("TTL", "a") == integer(150)
    # XX and GT together: both must hold.
    assert c.cmd("EXPIRE", "a", "10", "XX", "GT") == integer(0)
    assert c.cmd("EXPIRE", "a", "500", "XX", "GT") == integer(1)
    assert c.cmd("PERSIST", "a") == integer(1)
    assert c.cmd("EXPIRE", "a", "100", "NX") == integer(1)
    assert c.cmd("PEXPIRE", "a", "100000", "NX") == integer(0)
    assert c.cmd("PEXPIREAT", "a", "4000000000000", "GT") == integer(1)
    assert c.cmd("EXPIREAT", "a", "4000000001", "LT") == integer(0)
    assert c.cmd("EXPIRE", "nokey", "10", "NX") == integer(0)
    # Repeating an option is allowed.
    assert c.cmd("EXPIRE", "a", "600", "LT", "LT") == integer(1)


def test_expire_option_errors(c):
    assert c.cmd("SET", "a", "1") == OK
    nx_mix = (b"-ERR NX and XX, GT or LT options at the same time are not "
              b"compatible\r\n")
    gt_lt = b"-ERR GT and LT options at the same time are not compatible\r\n"
    assert c.cmd("EXPIRE", "a", "10", "NX", "XX") == nx_mix
    assert c.cmd("EXPIRE", "a", "10", "NX", "GT") == nx_mix
    assert c.cmd("EXPIRE", "a", "10", "LT", "NX") == nx_mix
    assert c.cmd("PEXPIRE", "a", "10", "NX", "XX") == nx_mix
    assert c.cmd("EXPIRE", "a", "10", "GT", "LT") == gt_lt
    assert c.cmd("EXPIREAT", "a", "10", "GT", "LT") == gt_lt
    assert c.cmd("EXPIRE", "a", "10", "foo") == b"-ERR Unsupported option foo\r\n"
    assert c.cmd("TTL", "a") == integer(-1)


def test_persist(c):
    assert c.cmd("SET", "b", "1", "EX", "100") == OK
    assert c.cmd("PERSIST", "b") == integer(1)
    assert c.cmd("TTL", "b") == integer(-1)
    assert c.cmd("PERSIST", "b") == integer(0)
    assert c.cmd("PERSIST", "nokey") == integer(0)


# -- KEYS / SCAN / RANDOMKEY / DBSIZE --------------------------------------------


PATTERN_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo",
                "h[a]llo", "h\\llo"]


@pytest.mark.parametrize("pattern,expected", [
    ("*", PATTERN_KEYS),
    ("h?llo", ["hello", "hallo", "hxllo", "h*llo", "h\\llo"]),
    ("h*llo", PATTERN_KEYS),
    ("h[ae]llo", ["hello", "hallo"]),
    ("h[^e]llo", ["hallo", "hxllo", "h*llo", "h\\llo"]),
    ("h[a-b]llo", ["hallo"]),
    ("h[b-a]llo", ["hallo"]),           # reversed ranges are swapped
    ("h\\*llo", ["h*llo"]),
    ("h\\\\llo", ["h\\llo"]),
    ("h\\[a\\]llo", ["h[a]llo"]),
    ("*ee*", ["heeeello"]),
    ("H*", []),                          # case-sensitive
    ("nomatch", []),
    ("hello", ["hello"]),
])
def test_keys_patterns(c, pattern, expected):
    args = []
    for k in PATTERN_KEYS:
        args += [k, "1"]
    assert c.cmd("MSET", *args) == OK
    got = c.cmd("KEYS", pattern)
    assert got.startswith(b"*%d\r\n" % len(expected))
    for k in expected:
        assert bulk(k) in got


def test_keys_via_redis_py(r):
    r.mset({"user:1": 1, "user:2": 2, "item:1": 3})
    assert sorted(r.keys("user:*")) == [b"user:1", b"user:2"]
    assert sorted(r.keys()) == [b"item:1", b"user:1", b"user:2"]


def full_scan(r, **kw):
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, keys = r.scan(cursor, **kw)
        seen += keys
        calls += 1
        if cursor == 0:
            return seen, calls


def test_scan_full_iteration(r):
    r.mset({"key:%d" % i: i for i in range(1000)})
    seen, calls = full_scan(r, count=50)
    assert set(seen) == {b"key:%d" % i for i in range(1000)}
    assert calls > 1


def test_scan_match_count_type(r):
    r.mset({"a:%d" % i: i for i in range(200)})
    r.mset({"b:%d" % i: i for i in range(200)})
    lpush_or_skip(r, "a:list", "x")
    seen, _ = full_scan(r, match="a:*", count=30)
    assert set(seen) == {b"a:%d" % i for i in range(200)} | {b"a:list"}
    seen, _ = full_scan(r, _type="list")
    assert seen == [b"a:list"]
    seen, _ = full_scan(r, match="b:1?", _type="string", count=1000)
    assert set(seen) == {b"b:%d" % i for i in range(10, 20)}
    # An unknown type name just matches nothing in 7.0.
    seen, _ = full_scan(r, _type="nosuchtype")
    assert seen == []


def test_scan_errors(c):
    assert c.cmd("SCAN", "x") == b"-ERR invalid cursor\r\n"
    assert c.cmd("SCAN", "18446744073709551616") == b"-ERR invalid cursor\r\n"
    assert c.cmd("SCAN", "0", "COUNT", "0") == SYNTAX
    assert c.cmd("SCAN", "0", "COUNT", "-1") == SYNTAX
    assert c.cmd("SCAN", "0", "COUNT", "x") == NOTINT
    assert c.cmd("SCAN", "0", "FOO") == SYNTAX
    assert c.cmd("SCAN", "0", "MATCH") == SYNTAX
    assert c.cmd("SCAN", "0") == b"*2\r\n$1\r\n0\r\n*0\r\n"


def test_scan_guarantee_under_rehash(r):
    """Keys present for the whole scan are returned even while the table
    grows under the cursor (10k keys, 50k more added during the scan) and
    other keys are deleted."""
    mset_range(r, "stable", 0, 10000)
    mset_range(r, "doomed", 0, 2000)
    stable = {b"stable:%d" % i for i in range(10000)}
    cursor, seen, added, calls = 0, set(), 0, 0
    while True:
        cursor, keys = r.scan(cursor, count=100)
        seen.update(keys)
        calls += 1
        if added < 50000:
            mset_range(r, "extra", added, added + 2500)
            added += 2500
        if calls == 10:
            r.delete(*[b"doomed:%d" % i for i in range(2000)])
        if cursor == 0:
            break
    assert added == 50000, "scan ended before the table had grown"
    assert stable <= seen, "%d stable keys missed" % len(stable - seen)
    assert r.dbsize() == 60000


def mset_range(r, prefix, start, end):
    for lo in range(start, end, 2500):
        r.mset({"%s:%d" % (prefix, i): "v"
                for i in range(lo, min(end, lo + 2500))})


def test_randomkey_dbsize(c):
    assert c.cmd("RANDOMKEY") == NIL
    assert c.cmd("DBSIZE") == integer(0)
    assert c.cmd("MSET", "a", "1", "b", "2", "c", "3") == OK
    assert c.cmd("DBSIZE") == integer(3)
    seen = set()
    for _ in range(100):
        seen.add(c.cmd("RANDOMKEY"))
    assert seen <= {bulk("a"), bulk("b"), bulk("c")}
    assert len(seen) >= 2
    assert c.cmd("RANDOMKEY", "x") == \
        b"-ERR wrong number of arguments for 'randomkey' command\r\n"


@pytest.mark.parametrize("cmd", ["FLUSHDB", "FLUSHALL"])
@pytest.mark.parametrize("mode", [(), ("SYNC",), ("ASYNC",), ("async",)])
def test_flush(c, cmd, mode):
    assert c.cmd("MSET", "a", "1", "b", "2") == OK
    assert c.cmd("SET", "big", "x" * 100000) == OK
    assert c.cmd(cmd, *mode) == OK
    assert c.cmd("DBSIZE") == integer(0)
    assert c.cmd("GET", "a") == NIL


def test_flush_errors(c):
    assert c.cmd("FLUSHDB", "foo") == SYNTAX
    assert c.cmd("FLUSHDB", "SYNC", "ASYNC") == SYNTAX
    assert c.cmd("FLUSHALL", "foo") == SYNTAX


# -- OBJECT -------------------------------------------------------------------------


def test_object_refcount(c):
    assert c.cmd("MSET", "small", "1", "edge", "9999", "big", "10000",
                 "str", "hello") == OK
    # Integers 0..9999 are shared objects: Redis reports INT_MAX.
    assert c.cmd("OBJECT", "REFCOUNT", "small") == integer(2147483647)
    assert c.cmd("OBJECT", "REFCOUNT", "edge") == integer(2147483647)
    assert c.cmd("OBJECT", "REFCOUNT", "big") == integer(1)
    assert c.cmd("OBJECT", "REFCOUNT", "str") == integer(1)
    assert c.cmd("OBJECT", "REFCOUNT", "nokey") == NIL


def test_object_idletime(c):
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("SET", "touched", "v") == OK
    assert c.cmd("OBJECT", "IDLETIME", "k") == integer(0)
    assert c.cmd("OBJECT", "IDLETIME", "nokey") == NIL
    time.sleep(2.2)
    assert c.cmd("GET", "touched") == bulk("v")
    # OBJECT itself does not touch the key.
    assert int(c.cmd("OBJECT", "IDLETIME", "k")[1:-2]) >= 1
    assert int(c.cmd("OBJECT", "IDLETIME", "k")[1:-2]) >= 1
    assert c.cmd("OBJECT", "IDLETIME", "touched") == integer(0)


def test_object_freq(c):
    lfu_off = (b"-ERR An LFU maxmemory policy is not selected, access "
               b"frequency not tracked. Please note that when switching "
               b"between policies at runtime LRU and LFU data will take some "
               b"time to adjust.\r\n")
    lfu_on = (b"-ERR An LFU maxmemory policy is selected, idle time not "
              b"tracked. Please note that when switching between policies at "
              b"runtime LRU and LFU data will take some time to adjust.\r\n")
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("OBJECT", "FREQ", "k") == lfu_off
    # A missing key is nil before the policy is even checked.
    assert c.cmd("OBJECT", "FREQ", "nokey") == NIL
    try:
        assert c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu") == OK
        assert c.cmd("SET", "n", "v") == OK
        assert c.cmd("OBJECT", "FREQ", "n") == integer(5)  # LFU_INIT_VAL
        assert c.cmd("GET", "n") == bulk("v")
        assert c.cmd("OBJECT", "FREQ", "n") == integer(6)
        assert c.cmd("OBJECT", "IDLETIME", "n") == lfu_on
        assert c.cmd("CONFIG", "SET", "maxmemory-policy", "volatile-lru") == OK
        assert c.cmd("OBJECT", "FREQ", "k") == lfu_off
    finally:
        c.cmd("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_object_help_and_errors(c):
    help_reply = c.cmd("OBJECT", "HELP")
    lines = help_reply.split(b"\r\n")
    assert lines[0].startswith(b"*")
    assert int(lines[0][1:]) == len(lines) - 2
    assert lines[1] == b"+OBJECT <subcommand> [<arg> [value] [opt] ...]. " \
        b"Subcommands are:"
    for sub in (b"+ENCODING <key>", b"+FREQ <key>", b"+IDLETIME <key>",
                b"+REFCOUNT <key>", b"+HELP"):
        assert sub in lines
    assert c.cmd("OBJECT", "ENCODING") == \
        b"-ERR wrong number of arguments for 'object|encoding' command\r\n"
    assert c.cmd("OBJECT", "ENCODING", "a", "b") == \
        b"-ERR wrong number of arguments for 'object|encoding' command\r\n"
    assert c.cmd("OBJECT", "foo", "k") == \
        b"-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"


# -- SELECT / databases ---------------------------------------------------------


def test_select_0(c):
    assert c.cmd("SELECT", "0") == OK
    assert c.cmd("SELECT", "x") == NOTINT
    assert c.cmd("SELECT", "-1") == DB_RANGE


@pytest.mark.tessera_only
def test_select_other_db_rejected(c):
    # Tessera serves DB 0 only; its answer is Redis's own text for an
    # index beyond `databases` (see test_select_text_matches_redis).
    assert c.cmd("SELECT", "1") == DB_RANGE
    assert c.cmd("SELECT", "15") == DB_RANGE
    assert c.cmd("SELECT", "0") == OK


@pytest.mark.redis_only
def test_select_1_works_on_redis(c):
    assert c.cmd("SELECT", "1") == OK
    assert c.cmd("SET", "k", "db1") == OK
    assert c.cmd("SELECT", "0") == OK
    assert c.cmd("GET", "k") == NIL
    assert c.cmd("SELECT", "16") == DB_RANGE


@pytest.mark.redis_only
def test_select_text_matches_redis(start_server, raw):
    # The text Tessera uses for SELECT 1 is what Redis answers when it has
    # a single database.
    s = start_server("--databases", "1")
    c = raw(s)
    assert c.cmd("SELECT", "1") == DB_RANGE
    assert c.cmd("SELECT", "0") == OK
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("SWAPDB", "0", "1") == DB_RANGE
    assert c.cmd("MOVE", "k", "1") == DB_RANGE
    assert c.cmd("COPY", "k", "k2", "DB", "1") == DB_RANGE
