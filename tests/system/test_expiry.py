"""Key expiry: lazy on access, active in the background, and invisible.

Tests that must tell lazy from active expiry switch the active cycle off
with DEBUG SET-ACTIVE-EXPIRE 0 on a server of their own.
"""

import time

import pytest

from conftest import wait_for

OK = b"+OK\r\n"
NIL = b"$-1\r\n"


def integer(n):
    return b":%d\r\n" % n


def dbsize(c):
    return int(c.cmd("DBSIZE")[1:-2])


def stat(server, name):
    return server.info("stats")[name]


@pytest.fixture
def lazy(server, raw):
    """A raw connection to a fresh server with active expiry disabled."""
    c = raw(server)
    assert c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0") == OK
    return c


def test_lazy_expiry_on_access(server, lazy):
    c = lazy
    assert c.cmd("SET", "k", "v", "PX", "100") == OK
    assert c.cmd("SET", "keep", "v") == OK
    time.sleep(0.25)
    # Nobody touched it and the active cycle is off: still stored...
    assert dbsize(c) == 2
    assert stat(server, "expired_keys") == 0
    # ... but any access finds it expired and deletes it.
    assert c.cmd("GET", "k") == NIL
    assert dbsize(c) == 1
    assert stat(server, "expired_keys") == 1
    assert server.info("stats")["keyspace_misses"] >= 1


@pytest.mark.parametrize("access,reply", [
    (("GET", "k"), NIL),
    (("EXISTS", "k"), integer(0)),
    (("TTL", "k"), integer(-2)),
    (("PTTL", "k"), integer(-2)),
    (("TYPE", "k"), b"+none\r\n"),
    (("STRLEN", "k"), integer(0)),
    (("MGET", "k", "k"), b"*2\r\n$-1\r\n$-1\r\n"),
    (("GETRANGE", "k", "0", "-1"), b"$0\r\n\r\n"),
    (("PERSIST", "k"), integer(0)),
    (("EXPIRE", "k", "100"), integer(0)),
    (("RENAME", "k", "k2"), b"-ERR no such key\r\n"),
    (("COPY", "k", "k2"), integer(0)),
    (("DEL", "k"), integer(0)),
    (("OBJECT", "ENCODING", "k"), NIL),
    (("GETDEL", "k"), NIL),
    (("GETEX", "k", "PERSIST"), NIL),
])
def test_expired_key_is_invisible(lazy, access, reply):
    c = lazy
    assert c.cmd("SET", "k", "v", "PX", "50") == OK
    time.sleep(0.12)
    assert c.cmd(*access) == reply
    assert c.cmd("EXISTS", "k") == integer(0)


def test_expired_keys_not_listed(lazy):
    c = lazy
    assert c.cmd("MSET", "live:1", "1", "live:2", "2") == OK
    for i in range(20):
        assert c.cmd("SET", "dead:%d" % i, "v", "PX", "50") == OK
    time.sleep(0.12)
    keys = c.cmd("KEYS", "*")
    assert keys.startswith(b"*2\r\n"), keys
    assert b"dead" not in keys
    cursor, seen = b"0", b""
    while True:
        reply = c.cmd("SCAN", cursor, "COUNT", "100")
        seen += reply
        cursor = reply.split(b"\r\n")[2]
        if cursor == b"0":
            break
    assert b"dead" not in seen
    assert b"live:1" in seen and b"live:2" in seen
    for _ in range(20):
        assert c.cmd("RANDOMKEY") in (b"$6\r\nlive:1\r\n", b"$6\r\nlive:2\r\n")
    assert c.cmd("EXISTS", "dead:1", "dead:2", "live:1") == integer(1)
    assert c.cmd("MGET", "dead:3", "live:2") == b"*2\r\n$-1\r\n$1\r\n2\r\n"


def test_write_to_expired_key_starts_fresh(lazy):
    c = lazy
    for k in ("a", "b", "c", "d", "e"):
        assert c.cmd("SET", k, "100", "PX", "50") == OK
    time.sleep(0.12)
    assert c.cmd("SET", "a", "new", "NX") == OK
    assert c.cmd("TTL", "a") == integer(-1)
    assert c.cmd("INCR", "b") == integer(1)
    assert c.cmd("APPEND", "c", "x") == integer(1)
    assert c.cmd("SET", "d", "x", "XX") == NIL
    assert c.cmd("SETNX", "e", "1") == integer(1)
    assert c.cmd("TTL", "e") == integer(-1)


def test_active_expiry(server, raw):
    c = raw(server, timeout=30)
    n = 10000
    batch = b"".join(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n$2\r\nPX\r\n"
                     b"$3\r\n100\r\n" % (len(k), k)
                     for k in (b"t:%d" % i for i in range(n)))
    c.send(batch)
    for _ in range(n):
        assert c.read_reply() == OK
    assert c.cmd("SET", "persistent", "v") == OK
    start = time.monotonic()
    # Nobody reads the keys: only the active cycle can remove them.
    wait_for(lambda: dbsize(c) == 1, timeout=5.0, interval=0.05,
             what="active expiry of 10k keys")
    assert time.monotonic() - start < 3.0
    assert stat(server, "expired_keys") == n
    assert c.cmd("GET", "persistent") == b"$1\r\nv\r\n"
    assert server.info("keyspace")["db0"] == \
        {"keys": 1, "expires": 0, "avg_ttl": 0}


def test_active_expiry_disabled(server, lazy):
    c = lazy
    for i in range(100):
        assert c.cmd("SET", "t:%d" % i, "v", "PX", "20") == OK
    time.sleep(0.5)
    assert dbsize(c) == 100
    assert c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1") == OK
    wait_for(lambda: dbsize(c) == 0, timeout=3.0, what="active expiry")


def test_keyspace_info_counts_expires(r, shared_server):
    r.set("a", 1)
    r.set("b", 1, ex=100)
    r.set("c", 1, px=200000)
    db0 = shared_server.info("keyspace")["db0"]
    assert db0["keys"] == 3
    assert db0["expires"] == 2
    # avg_ttl is an estimate the active cycle refines over time.
    assert isinstance(db0["avg_ttl"], int)


@pytest.mark.parametrize("overwrite,ttl", [
    (("SET", "k", "w"), -1),
    (("SET", "k", "w", "KEEPTTL"), 100),
    (("SET", "k", "w", "XX"), -1),
    (("SET", "k", "w", "GET"), -1),
    (("GETSET", "k", "w"), -1),
    (("MSET", "k", "w"), -1),
    (("SETEX", "k", "50", "w"), 50),
    (("APPEND", "k", "w"), 100),
    (("SETRANGE", "k", "0", "w"), 100),
    (("INCR", "n"), 100),
    (("INCRBYFLOAT", "n", "1.5"), 100),
    (("DECRBY", "n", "3"), 100),
    (("GETEX", "k"), 100),
    (("GET", "k"), 100),
])
def test_ttl_after_overwrite(shared_server, raw, overwrite, ttl):
    c = raw(shared_server)
    assert c.cmd("FLUSHALL") == OK
    assert c.cmd("SET", "k", "v", "EX", "100") == OK
    assert c.cmd("SET", "n", "1", "EX", "100") == OK
    c.cmd(*overwrite)
    assert c.cmd("TTL", overwrite[1]) == integer(ttl)


def test_expire_then_persist_survives(r):
    r.set("k", "v", px=300)
    assert r.persist("k") is True
    time.sleep(0.4)
    assert r.get("k") == b"v"
