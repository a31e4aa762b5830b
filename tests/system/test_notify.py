"""Keyspace notifications (notify-keyspace-events), side by side with
Debian's redis-server 7.0.15.

Each scenario is a scripted sequence of commands run against the server
under test and against a reference redis-server started by this file,
each with a subscriber on `__key*__:*`.  The test fails if the exact list
of (channel, message) pairs the subscriber receives differs, or if any
command reply differs.  Scenarios whose event order is random by nature
(active expiry and eviction pick keys at random) compare the events as
sorted lists instead.

The end of a scenario's events is found with a marker: the script's last
step PUBLISHes on a channel the subscriber also listens to, and pub/sub
delivers in order, so every notification of the script precedes it.

Run against TESSERA_SERVER=redis this compares redis-server with itself,
which checks that every scenario is deterministic.
"""

import os
import time

import pytest

from conftest import REDIS_SERVER_BIN, RawConn, Server, parse_reply, wait_for

END = "zz-notify-end"

# -- scenarios ----------------------------------------------------------------
#
# A step is a command tuple, or one of:
#   ("@sleep", seconds)
#   ("@block", name, cmd...)   send cmd on side connection `name`, no read
#   ("@blocked", n)            wait until INFO blocked_clients == n
#   ("@read", name)            read (and compare) name's pending reply
#   ("@noreply", cmd...)       run cmd, do not compare its reply (random)
#   ("@empty",)                wait until DBSIZE is 0 (active expiry)

FUTURE = str(int(time.time()) + 100000)
# DUMP payloads from redis-server 7.0.15: the string "v", the list [a, b].
DUMP_V = b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce"
DUMP_L = (b"\x12\x01\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\n"
          b"\x00h\xeb\n\x89\x13A\xbb\xb1")

STRINGS = [
    ("SET", "s1", "v"),
    ("SET", "s1", "v2"),
    ("SETNX", "s1", "x"),
    ("SETNX", "s2", "x"),
    ("SET", "s3", "v", "NX"),
    ("SET", "s3", "w", "XX", "GET"),
    ("SET", "s9", "w", "XX"),
    ("SET", "s9", "w", "GET"),
    ("SET", "s4", "v", "EX", "100"),
    ("SET", "s4", "v", "KEEPTTL"),
    ("SET", "s4", "v", "PXAT", FUTURE + "000"),
    ("SETEX", "s5", "100", "v"),
    ("PSETEX", "s6", "100000", "v"),
    ("GETSET", "s6", "w"),
    ("GETSET", "s7", "w"),
    ("MSET", "m1", "1", "m2", "2", "m1", "3"),
    ("MSETNX", "m3", "1", "m1", "2"),
    ("MSETNX", "m3", "1", "m4", "2"),
    ("INCR", "n"),
    ("INCRBY", "n", "5"),
    ("DECR", "n"),
    ("DECRBY", "n2", "3"),
    ("INCRBYFLOAT", "f", "1.5"),
    ("INCRBYFLOAT", "f", "2"),
    ("INCR", "s1"),
    ("APPEND", "s1", "xx"),
    ("APPEND", "a1", "new"),
    ("APPEND", "a1", ""),
    ("SETRANGE", "r1", "3", "abc"),
    ("SETRANGE", "r1", "0", "X"),
    ("SETRANGE", "r1", "0", ""),
    ("SETRANGE", "r2", "0", ""),
    ("GETDEL", "s2"),
    ("GETDEL", "s2"),
    ("GETEX", "s3"),
    ("GETEX", "s3", "EX", "100"),
    ("GETEX", "s3", "PX", "100000"),
    ("GETEX", "s3", "EXAT", FUTURE),
    ("GETEX", "s3", "PERSIST"),
    ("GETEX", "s3", "PERSIST"),
    ("GETEX", "s3", "PXAT", "1"),
    ("GETEX", "nokey", "EX", "10"),
    ("GET", "nokey"),
    ("MGET", "s1", "nokey", "n"),
    ("STRLEN", "nokey"),
    ("GETRANGE", "nokey", "0", "1"),
    ("LPUSH", "lst", "x"),
    ("GET", "lst"),
    ("SET", "lst", "now-a-string"),
    # channel names longer than any fixed buffer
    ("SET", "L" * 300, "v"),
    ("RPUSH", "K" * 70000, "v"),
    ("GET", "M" * 1000),
    ("DEL", "L" * 300, "K" * 70000),
]

GENERIC = [
    ("SET", "g1", "v"),
    ("EXPIRE", "g1", "100"),
    ("PEXPIRE", "g1", "100000"),
    ("EXPIREAT", "g1", FUTURE),
    ("PEXPIREAT", "g1", FUTURE + "000"),
    ("EXPIRE", "g1", "100", "NX"),
    ("EXPIRE", "g1", "100", "GT"),
    ("EXPIRE", "nokey", "100"),
    ("@noreply", "TTL", "g1"),
    ("TTL", "nokey"),
    ("PTTL", "nokey"),
    ("PERSIST", "g1"),
    ("PERSIST", "g1"),
    ("PERSIST", "nokey"),
    ("SET", "g2", "v"),
    ("EXPIRE", "g2", "-1"),
    ("SET", "g2", "v"),
    ("PEXPIREAT", "g2", "1"),
    ("SET", "g3", "v"),
    ("RENAME", "g3", "g4"),
    ("SET", "g5", "v"),
    ("RENAME", "g4", "g5"),
    ("RENAME", "g5", "g5"),
    ("RENAMENX", "g5", "g6"),
    ("SET", "g7", "v"),
    ("RENAMENX", "g6", "g7"),
    ("RENAME", "nokey", "g8"),
    ("COPY", "g6", "g8"),
    ("COPY", "g6", "g8"),
    ("COPY", "g6", "g8", "REPLACE"),
    ("COPY", "nokey", "g9"),
    ("RPUSH", "gl", "a", "b"),
    ("COPY", "gl", "gl2"),
    ("HSET", "gh", "f", "v"),
    ("COPY", "gh", "gh2"),
    ("SADD", "gs", "1", "2"),
    ("COPY", "gs", "gs2"),
    ("ZADD", "gz", "1", "a"),
    ("COPY", "gz", "gz2"),
    ("SET", "g10", "v", "EX", "100"),
    ("RENAME", "g10", "g11"),
    ("DEL", "g6", "g7", "nokey", "g8"),
    ("UNLINK", "g11", "nokey"),
    ("DEL", "nokey"),
    ("EXISTS", "nokey", "gl"),
    ("TYPE", "nokey"),
    ("TOUCH", "nokey", "gl"),
    ("OBJECT", "ENCODING", "nokey"),
    ("OBJECT", "FREQ", "nokey"),
    ("RESTORE", "rs1", "0", DUMP_V),
    ("RESTORE", "rs1", "0", DUMP_V),
    ("RESTORE", "rs1", "0", DUMP_L, "REPLACE"),
    ("RESTORE", "rs2", "100000", DUMP_L),
    ("RESTORE", "rs1", "1", DUMP_V, "REPLACE", "ABSTTL"),
    ("RESTORE", "rs3", "1", DUMP_V, "ABSTTL"),
    ("RESTORE", "rs4", "0", b"bad payload"),
    ("@noreply", "RANDOMKEY"),
    ("DBSIZE",),
]

LISTS = [
    ("RPUSH", "l", "a", "b", "c"),
    ("LPUSH", "l", "z"),
    ("LPUSHX", "nokey", "x"),
    ("RPUSHX", "l", "y"),
    ("LPUSHX", "l", "w", "v"),
    ("LINSERT", "l", "BEFORE", "a", "q"),
    ("LINSERT", "l", "AFTER", "nothere", "q"),
    ("LINSERT", "nokey", "AFTER", "a", "q"),
    ("LSET", "l", "0", "W"),
    ("LSET", "l", "100", "W"),
    ("LSET", "nokey", "0", "W"),
    ("LREM", "l", "1", "a"),
    ("LREM", "l", "0", "nothere"),
    ("LREM", "nokey", "0", "a"),
    ("LTRIM", "l", "0", "-1"),
    ("LTRIM", "l", "0", "4"),
    ("LTRIM", "nokey", "0", "4"),
    ("LPOP", "l"),
    ("RPOP", "l", "2"),
    ("LPOP", "l", "0"),
    ("LPOP", "nokey"),
    ("RPOP", "nokey", "2"),
    ("LRANGE", "l", "0", "-1"),
    ("LRANGE", "nokey", "0", "-1"),
    ("LLEN", "nokey"),
    ("LINDEX", "nokey", "0"),
    ("LPOS", "nokey", "a"),
    ("LPOP", "l", "10"),
    ("RPUSH", "l", "1", "2"),
    ("RPOP", "l"),
    ("RPOP", "l"),
    ("RPUSH", "l", "1", "2"),
    ("LTRIM", "l", "5", "10"),
    ("RPUSH", "l", "1"),
    ("LREM", "l", "0", "1"),
    ("RPUSH", "src", "1", "2", "3"),
    ("LMOVE", "src", "dst", "LEFT", "RIGHT"),
    ("LMOVE", "src", "dst", "RIGHT", "LEFT"),
    ("LMOVE", "src", "src", "LEFT", "RIGHT"),
    ("LMOVE", "src", "src", "RIGHT", "RIGHT"),
    ("RPOPLPUSH", "src", "dst"),
    ("RPOPLPUSH", "nokey", "dst"),
    ("RPOPLPUSH", "dst", "dst2"),
    ("LMOVE", "dst", "dst2", "LEFT", "LEFT"),
    ("LMOVE", "dst", "dst2", "RIGHT", "LEFT"),
    ("RPUSH", "one", "x"),
    ("LMOVE", "one", "one", "LEFT", "LEFT"),
    ("RPUSH", "m1", "a", "b", "c"),
    ("LMPOP", "2", "nokey", "m1", "LEFT"),
    ("LMPOP", "2", "nokey", "m1", "RIGHT", "COUNT", "5"),
    ("LMPOP", "1", "nokey", "LEFT"),
    ("RPUSH", "bl", "a", "b"),
    ("BLPOP", "nokey", "bl", "0"),
    ("BRPOP", "bl", "0"),
    ("RPUSH", "bl", "a", "b"),
    ("BLMOVE", "bl", "bl2", "LEFT", "RIGHT", "0"),
    ("BRPOPLPUSH", "bl", "bl2", "0"),
    ("BLMPOP", "0", "1", "bl2", "LEFT", "COUNT", "1"),
    ("BLMPOP", "0", "1", "bl2", "RIGHT", "COUNT", "10"),
]

# Blocked clients served by a later write: the events of the serving are
# Redis's (serveClientBlockedOnList), after the writer's own events.
BLOCKING = [
    ("@block", "c1", "BLPOP", "q1", "0"),
    ("@blocked", 1),
    ("RPUSH", "q1", "a"),
    ("@read", "c1"),
    ("@block", "c1", "BRPOP", "q2", "q1", "0"),
    ("@blocked", 1),
    ("RPUSH", "q2", "a", "b"),
    ("@read", "c1"),
    ("@block", "c1", "BLMOVE", "q3", "q4", "RIGHT", "LEFT", "0"),
    ("@blocked", 1),
    ("LPUSH", "q3", "a"),
    ("@read", "c1"),
    ("@block", "c1", "BRPOPLPUSH", "q5", "q4", "0"),
    ("@blocked", 1),
    ("RPUSH", "q5", "a", "b"),
    ("@read", "c1"),
    ("@block", "c1", "BLMPOP", "0", "2", "q6", "q7", "LEFT", "COUNT", "5"),
    ("@blocked", 1),
    ("RPUSH", "q7", "a", "b", "c"),
    ("@read", "c1"),
    ("@block", "c1", "BLPOP", "q8", "0"),
    ("@block", "c2", "BLPOP", "q8", "0"),
    ("@blocked", 2),
    ("RPUSH", "q8", "a", "b", "c"),
    ("@read", "c1"),
    ("@read", "c2"),
    ("@block", "c1", "BZPOPMIN", "z1", "0"),
    ("@blocked", 1),
    ("ZADD", "z1", "1", "a", "2", "b"),
    ("@read", "c1"),
    ("@block", "c1", "BZPOPMAX", "z2", "0"),
    ("@blocked", 1),
    ("ZADD", "z2", "1", "a"),
    ("@read", "c1"),
    ("@block", "c1", "BZMPOP", "0", "1", "z3", "MIN", "COUNT", "3"),
    ("@blocked", 1),
    ("ZADD", "z3", "1", "a", "2", "b"),
    ("@read", "c1"),
    ("@block", "c1", "BLPOP", "q9", "0"),
    ("@blocked", 1),
    ("MULTI",),
    ("RPUSH", "q9", "a"),
    ("RPUSH", "q9", "b"),
    ("EXEC",),
    ("@read", "c1"),
]

HASHES = [
    ("HSET", "h", "a", "1", "b", "2"),
    ("HSET", "h", "a", "1"),
    ("HSETNX", "h", "a", "x"),
    ("HSETNX", "h", "c", "3"),
    ("HSETNX", "h2", "c", "3"),
    ("HMSET", "h", "d", "4", "e", "5"),
    ("HMSET", "h3", "d", "4"),
    ("HINCRBY", "h", "n", "1"),
    ("HINCRBY", "h4", "n", "1"),
    ("HINCRBY", "h", "a", "0"),
    ("HINCRBY", "h", "c", "x"),
    ("HINCRBYFLOAT", "h", "f", "1.5"),
    ("HINCRBYFLOAT", "h5", "f", "1.5"),
    ("HDEL", "h", "a"),
    ("HDEL", "h", "nothere"),
    ("HDEL", "nokey", "a"),
    ("HDEL", "h", "b", "c", "d", "e", "n", "f", "zz"),
    ("HDEL", "h2", "c"),
    ("HGET", "nokey", "a"),
    ("HGETALL", "nokey"),
    ("HLEN", "nokey"),
    ("HEXISTS", "nokey", "a"),
    ("HMGET", "nokey", "a"),
    ("HKEYS", "nokey"),
    ("HSTRLEN", "nokey", "a"),
    ("HRANDFIELD", "nokey"),
]

SETS = [
    ("SADD", "s", "a", "b", "c"),
    ("SADD", "s", "a"),
    ("SADD", "i", "1", "2", "3"),
    ("SREM", "s", "a"),
    ("SREM", "s", "nothere"),
    ("SREM", "nokey", "a"),
    ("SMOVE", "s", "s2", "b"),
    ("SMOVE", "s", "s2", "nothere"),
    ("SMOVE", "s", "s2", "c"),
    ("SMOVE", "nokey", "s2", "c"),
    ("SMOVE", "s2", "s2", "c"),
    ("SADD", "one", "x"),
    ("SPOP", "one"),
    ("SPOP", "nokey"),
    ("SADD", "one", "x"),
    ("SPOP", "one", "0"),
    ("SPOP", "one", "5"),
    ("@noreply", "SPOP", "i", "1"),
    ("@noreply", "SPOP", "i", "5"),
    ("SADD", "i", "1", "2", "3", "4"),
    ("@noreply", "SPOP", "i"),
    ("SADD", "x1", "1", "2", "3"),
    ("SADD", "x2", "2", "3", "4"),
    ("SINTERSTORE", "d", "x1", "x2"),
    ("SINTERSTORE", "d", "x1", "x2"),
    ("SUNIONSTORE", "d2", "x1", "x2"),
    ("SDIFFSTORE", "d3", "x1", "x2"),
    ("SDIFFSTORE", "d3", "x1", "x1"),
    ("SINTERSTORE", "d", "x1", "nokey"),
    ("SUNIONSTORE", "d4", "nokey"),
    ("SDIFFSTORE", "d", "nokey", "x1"),
    ("SINTERSTORE", "x1", "x1", "x2"),
    ("SMEMBERS", "nokey"),
    ("SCARD", "nokey"),
    ("SISMEMBER", "nokey", "a"),
    ("SINTER", "nokey", "x1"),
    ("SRANDMEMBER", "nokey"),
]

ZSETS = [
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"),
    ("ZADD", "z", "1", "a"),
    ("ZADD", "z", "5", "a"),
    ("ZADD", "z", "NX", "9", "a"),
    ("ZADD", "z", "XX", "9", "zz"),
    ("ZADD", "z", "CH", "9", "a"),
    ("ZADD", "z", "INCR", "1", "a"),
    ("ZADD", "z", "NX", "INCR", "1", "a"),
    ("ZINCRBY", "z", "2", "b"),
    ("ZINCRBY", "z2", "2", "b"),
    ("ZREM", "z", "a"),
    ("ZREM", "z", "nothere"),
    ("ZREM", "z2", "b"),
    ("ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
    ("ZREMRANGEBYSCORE", "r", "1", "1"),
    ("ZREMRANGEBYSCORE", "r", "100", "200"),
    ("ZREMRANGEBYRANK", "r", "0", "0"),
    ("ZREMRANGEBYRANK", "r", "10", "20"),
    ("ZREMRANGEBYLEX", "r", "[c", "[c"),
    ("ZREMRANGEBYLEX", "r", "[x", "[y"),
    ("ZREMRANGEBYSCORE", "r", "-inf", "+inf"),
    ("ZADD", "p", "1", "a", "2", "b", "3", "c"),
    ("ZPOPMIN", "p"),
    ("ZPOPMAX", "p", "1"),
    ("ZPOPMIN", "p", "0"),
    ("ZPOPMIN", "nokey"),
    ("ZPOPMAX", "p", "5"),
    ("ZADD", "p", "1", "a", "2", "b"),
    ("ZMPOP", "2", "nokey", "p", "MIN"),
    ("ZMPOP", "1", "p", "MAX", "COUNT", "5"),
    ("ZADD", "p", "1", "a"),
    ("BZPOPMIN", "nokey", "p", "0"),
    ("ZADD", "p", "1", "a", "2", "b"),
    ("BZPOPMAX", "p", "0"),
    ("BZMPOP", "0", "1", "p", "MIN", "COUNT", "9"),
    ("ZADD", "a1", "1", "x", "2", "y"),
    ("ZADD", "a2", "3", "y", "4", "w"),
    ("ZUNIONSTORE", "u", "2", "a1", "a2"),
    ("ZUNIONSTORE", "u", "2", "a1", "a2"),
    ("ZINTERSTORE", "u2", "2", "a1", "a2"),
    ("ZDIFFSTORE", "u3", "2", "a1", "a2"),
    ("ZINTERSTORE", "u", "2", "a1", "nokey"),
    ("ZINTERSTORE", "u5", "2", "a1", "nokey"),
    ("ZDIFFSTORE", "u2", "1", "nokey"),
    ("ZRANGESTORE", "rs", "a1", "0", "-1"),
    ("ZRANGESTORE", "rs", "a1", "5", "10"),
    ("ZRANGESTORE", "rs2", "nokey", "0", "-1"),
    ("SADD", "plain", "x"),
    ("ZUNIONSTORE", "u6", "2", "a1", "plain"),
    ("ZRANGE", "nokey", "0", "-1"),
    ("ZSCORE", "nokey", "a"),
    ("ZCARD", "nokey"),
    ("ZRANK", "nokey", "a"),
    ("ZCOUNT", "nokey", "0", "1"),
    ("ZUNION", "1", "nokey"),
]

TRANSACTIONS = [
    ("MULTI",),
    ("SET", "t1", "v"),
    ("RPUSH", "t2", "a"),
    ("DEL", "t1"),
    ("EXEC",),
    ("MULTI",),
    ("SET", "t1", "v"),
    ("DISCARD",),
]

# Lazy expiry: active expiry off, keys already past their TTL are found
# by the commands.
LAZY_EXPIRY = [
    ("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
    ("SET", "e1", "v", "PX", "1"),
    ("SET", "e2", "v", "PX", "1"),
    ("SET", "e3", "v", "PX", "1"),
    ("RPUSH", "e4", "a"),
    ("PEXPIRE", "e4", "1"),
    ("HSET", "e5", "f", "v"),
    ("PEXPIRE", "e5", "1"),
    ("SET", "e6", "v", "PX", "1"),
    ("SET", "e7", "v", "PX", "1"),
    ("SET", "e8", "v", "PX", "1"),
    ("@sleep", 0.05),
    ("GET", "e1"),
    ("EXISTS", "e2"),
    ("SET", "e3", "again"),
    ("RPUSH", "e4", "b"),
    ("HGET", "e5", "f"),
    ("TTL", "e6"),
    ("DEL", "e7"),
    ("RENAME", "e8", "e9"),
    ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
]

ACTIVE_EXPIRY = [
    ("SET", "a1", "v", "PX", "1"),
    ("SET", "a2", "v", "PX", "1"),
    ("RPUSH", "a3", "x"),
    ("PEXPIRE", "a3", "1"),
    ("SADD", "a4", "x"),
    ("PEXPIRE", "a4", "1"),
    ("@empty",),
]

# volatile-* eviction with exactly two keys that have a TTL: the policy
# must evict both, and nothing else can be evicted.
EVICTION = [
    ("CONFIG", "SET", "maxmemory-policy", "volatile-lru"),
    ("SET", "k1", "v"),
    ("RPUSH", "k2", "x"),
    ("SET", "v1", "v", "EX", "1000"),
    ("HSET", "v2", "f", "v"),
    ("EXPIRE", "v2", "1000"),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("@noreply", "SET", "k3", "v"),
    ("CONFIG", "SET", "maxmemory", "0"),
    ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
    ("DBSIZE",),
]

# Reads only: "keymiss" for each missing key a read looks up (lookupKeyRead),
# none for writes' lookups, OBJECT, or keys that exist.
READS = [
    ("SET", "str", "abc"),
    ("RPUSH", "list", "a"),
    ("SADD", "set", "a"),
    ("HSET", "hash", "f", "v"),
    ("ZADD", "zset", "1", "a"),
    ("LCS", "str", "nokey"),
    ("LCS", "nokey", "nokey2"),
    ("SUBSTR", "nokey", "0", "1"),
    ("MGET", "nokey", "str", "nokey2"),
    ("EXISTS", "str", "nokey", "nokey"),
    ("SRANDMEMBER", "nokey", "3"),
    ("SMISMEMBER", "nokey", "a"),
    ("SSCAN", "nokey", "0"),
    ("SSCAN", "set", "0"),
    ("SUNION", "nokey", "set"),
    ("SDIFF", "set", "nokey"),
    ("SINTERCARD", "2", "set", "nokey"),
    ("HSCAN", "nokey", "0"),
    ("HVALS", "nokey"),
    ("HRANDFIELD", "nokey", "2"),
    ("ZSCAN", "nokey", "0"),
    ("ZRANDMEMBER", "nokey", "2"),
    ("ZMSCORE", "nokey", "a"),
    ("ZLEXCOUNT", "nokey", "-", "+"),
    ("ZRANGEBYSCORE", "nokey", "0", "1"),
    ("ZREVRANGEBYLEX", "nokey", "+", "-"),
    ("ZREVRANK", "nokey", "a"),
    ("ZINTER", "2", "zset", "nokey"),
    ("ZDIFF", "2", "nokey", "zset"),
    ("ZINTERCARD", "2", "zset", "nokey"),
    ("ZUNION", "2", "zset", "set"),
    ("LPOS", "nokey", "a"),
    ("LINDEX", "list", "5"),
    ("TYPE", "str"),
    ("OBJECT", "IDLETIME", "nokey"),
    ("OBJECT", "REFCOUNT", "nokey"),
    ("@noreply", "SCAN", "0", "TYPE", "string"),
    ("KEYS", "nokey*"),
    ("DUMP", "nokey"),
]

ALL_ORDERED = READS + STRINGS + GENERIC + LISTS + HASHES + SETS + ZSETS + TRANSACTIONS

# -- harness --------------------------------------------------------------------


class RefServer(Server):
    """Debian's redis-server, whatever the suite runs against."""

    def __init__(self, extra_args=()):
        super().__init__(extra_args, debug=True, name="notifyref")
        self.binary = REDIS_SERVER_BIN


@pytest.fixture(scope="module")
def pair():
    """(server under test, reference redis-server), shared by the file."""
    if not os.path.exists(REDIS_SERVER_BIN):
        pytest.skip("redis-server not installed")
    tess = Server(name="notify")
    ref = RefServer()
    try:
        tess.start()
        ref.start()
        yield tess, ref
    finally:
        tess.cleanup()
        ref.cleanup()


def blocked_clients(conn):
    info = parse_reply(conn.cmd("INFO", "clients"))
    for line in info.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    raise AssertionError("no blocked_clients in INFO")


def dbsize(conn):
    return parse_reply(conn.cmd("DBSIZE"))


def run(srv, flags, steps, resp=2):
    """Run steps on srv with notify-keyspace-events = flags.

    Returns (replies, events, raw): the replies of the commands (bytes),
    the (channel, message) pairs received by a RESP`resp` subscriber, and
    that subscriber's raw bytes after its subscriptions.
    """
    ctl, sub = RawConn(srv), RawConn(srv)
    side = {}
    try:
        ctl.cmd("FLUSHALL")
        ok = ctl.cmd("CONFIG", "SET", "notify-keyspace-events", flags)
        assert ok == b"+OK\r\n", ok
        if resp == 3:
            sub.cmd("HELLO", "3")
        sub.cmd("PSUBSCRIBE", "__key*__:*")
        sub.cmd("SUBSCRIBE", END)
        replies = []
        for step in steps:
            op = step[0]
            if op == "@sleep":
                time.sleep(step[1])
            elif op == "@block":
                if step[1] not in side:
                    side[step[1]] = RawConn(srv)
                side[step[1]].send(_encode(step[2:]))
            elif op == "@blocked":
                wait_for(lambda: blocked_clients(ctl) == step[1],
                         what="%d blocked clients" % step[1])
            elif op == "@read":
                replies.append((step, side[step[1]].read_reply()))
            elif op == "@empty":
                wait_for(lambda: dbsize(ctl) == 0, timeout=10,
                         what="active expiry of every key")
            elif op == "@noreply":
                ctl.cmd(*step[1:])
            else:
                replies.append((step, ctl.cmd(*step)))
        ctl.cmd("PUBLISH", END, "end")
        events, raw = [], b""
        while True:
            rep = sub.read_reply()
            v = parse_reply(rep)
            if v[0] == b"message" and v[1] == END.encode():
                break
            raw += rep
            assert v[0] == b"pmessage", v
            events.append((v[2].decode(), v[3].decode()))
        ctl.cmd("CONFIG", "SET", "notify-keyspace-events", "")
        return replies, events, raw
    finally:
        for c in [ctl, sub] + list(side.values()):
            c.close()


def _encode(args):
    from conftest import encode_command
    return encode_command(*args)


def compare(pair, flags, steps, resp=2, ordered=True):
    tess, ref = pair
    rt, et, raw_t = run(tess, flags, steps, resp)
    rr, er, raw_r = run(ref, flags, steps, resp)
    for (step, a), (_, b) in zip(rt, rr):
        assert a == b, "reply to %r differs: %r != %r (redis)" % (step, a, b)
    if ordered:
        assert et == er, _diff(et, er)
        assert raw_t == raw_r
    else:
        assert sorted(et) == sorted(er), _diff(sorted(et), sorted(er))
    return er


def _diff(got, want):
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return ("event %d differs: %r != %r (redis); context (redis): %r"
                    % (i, a, b, want[max(0, i - 4):i + 4]))
    return "lengths differ: %d != %d (redis); tail: %r / %r" % (
        len(got), len(want), got[len(want):][:6], want[len(got):][:6])


# -- tests ----------------------------------------------------------------------

SCENARIOS = {
    "strings": STRINGS, "generic": GENERIC, "lists": LISTS,
    "blocking": BLOCKING, "hashes": HASHES, "sets": SETS, "zsets": ZSETS,
    "transactions": TRANSACTIONS, "lazy_expiry": LAZY_EXPIRY, "reads": READS,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_all_events(pair, name):
    """Every class, keyspace and keyevent channels, new and keymiss."""
    events = compare(pair, "KEAnm", SCENARIOS[name])
    assert events  # the scenario produces events at all


@pytest.mark.parametrize("flags", ["KEA", "Kl", "Eg$", "Ex", "En", "Em",
                                   "Ksh", "Ez", "K$lshzxe", "gK"])
def test_flag_sets(pair, flags):
    compare(pair, flags, ALL_ORDERED + BLOCKING + LAZY_EXPIRY)


def test_resp3_subscriber(pair):
    """Pushes to a RESP3 subscriber, byte for byte (compare checks raw)."""
    compare(pair, "KEA", STRINGS + LISTS + BLOCKING, resp=3)


def test_active_expiry(pair):
    events = compare(pair, "KEx", ACTIVE_EXPIRY, ordered=False)
    assert ("__keyevent@0__:expired", "a3") in events


def test_eviction(pair):
    events = compare(pair, "Ee", EVICTION, ordered=False)
    assert sorted(events) == [("__keyevent@0__:evicted", "v1"),
                              ("__keyevent@0__:evicted", "v2")]


def test_off_sends_nothing(pair):
    """Classes without K or E, and "" itself, publish nothing."""
    for flags in ["", "A", "g$lshzxetdnm"]:
        assert compare(pair, flags, STRINGS + LISTS) == []


CONFIG_VALUES = ["KEA", "AKE", "", "K", "E", "A", "nA", "An", "KEAnm",
                 "g$lshzxetd", "g$lshzxet", "Ag", "mKE", "xe", "lsK",
                 "ttll", "$", "dE", "EKmnzhsl$gxetd", "AKEA"]


@pytest.mark.parametrize("value", CONFIG_VALUES)
def test_config_canonical(pair, value):
    """CONFIG GET prints the flags in Redis's canonical order."""
    out = []
    for srv in pair:
        c = RawConn(srv)
        try:
            c.cmd("CONFIG", "SET", "notify-keyspace-events", value)
            out.append(c.cmd("CONFIG", "GET", "notify-keyspace-events"))
            c.cmd("CONFIG", "SET", "notify-keyspace-events", "")
        finally:
            c.close()
    assert out[0] == out[1]


@pytest.mark.parametrize("value", ["X", "KEA?", "k", "a", " "])
def test_config_invalid(pair, value):
    out = []
    for srv in pair:
        c = RawConn(srv)
        try:
            c.cmd("CONFIG", "SET", "notify-keyspace-events", "Kl")
            out.append(c.cmd("CONFIG", "SET", "notify-keyspace-events", value))
            out.append(c.cmd("CONFIG", "GET", "notify-keyspace-events"))
            c.cmd("CONFIG", "SET", "notify-keyspace-events", "")
        finally:
            c.close()
    assert out[0].startswith(b"-ERR")
    assert out[:2] == out[2:]


def test_startup_option(start_server, raw):
    """The option from the command line and from a config file."""
    srv = start_server("--notify-keyspace-events", "KEl")
    assert parse_reply(raw(srv).cmd(
        "CONFIG", "GET", "notify-keyspace-events")) == [
            b"notify-keyspace-events", b"lKE"]
    srv2 = start_server(conf="notify-keyspace-events Ex$\n")
    c = raw(srv2)
    assert parse_reply(c.cmd("CONFIG", "GET", "notify-keyspace-events"))[1] \
        == b"$xE"
    sub = raw(srv2)
    sub.cmd("SUBSCRIBE", "__keyevent@0__:set")
    c.cmd("SET", "k", "v")
    assert parse_reply(sub.read_reply()) == [
        b"message", b"__keyevent@0__:set", b"k"]


def test_active_expiry_reaches_idle_subscriber(pair):
    """Events of the expiry cycle are written out with no other traffic."""
    for srv in pair:
        ctl, sub = RawConn(srv), RawConn(srv, timeout=5.0)
        try:
            ctl.cmd("CONFIG", "SET", "notify-keyspace-events", "Ex")
            sub.cmd("SUBSCRIBE", "__keyevent@0__:expired")
            ctl.cmd("SET", "idle", "v", "PX", "20")
            ctl.close()
            assert parse_reply(sub.read_reply()) == [
                b"message", b"__keyevent@0__:expired", b"idle"]
        finally:
            sub.close()
            c = RawConn(srv)
            c.cmd("CONFIG", "SET", "notify-keyspace-events", "")
            c.close()
