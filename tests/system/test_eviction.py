"""maxmemory eviction: the eight policies, -OOM, LFU counters, options.

Every test starts its own server and sets `maxmemory` to the memory in use
at that moment plus a few megabytes, so the same numbers work for Redis
(~0.9 MB at start) and Tessera (~40 KB).  Then it writes several times that
volume and checks what Redis 7.0 guarantees:

  - used_memory, read after each pipelined batch, stays within a small
    tolerance of maxmemory (Redis's own test allows 4 KB for one key at a
    time; batches of 100 writes and INFO itself get a little more);
  - volatile-* policies evict only keys with a TTL and answer -OOM when
    there are none; noeviction always answers -OOM to writes that may
    grow memory, while reads and DEL still work;
  - allkeys-lru keeps a continuously read hot set resident: the LRU clock
    has a resolution of one second, so the write rate is paced to turn the
    cache over in a few seconds, as a real cache would see it;
  - allkeys-lfu keeps often-read keys; OBJECT FREQ grows with accesses
    (deterministically with lfu-log-factor 0) and OBJECT IDLETIME errs.

The tests pass unchanged against redis-server 7.0 (TESSERA_SERVER=redis).
"""

import itertools
import time

import pytest

from conftest import wait_for

OK = b"+OK\r\n"
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
IDLE_LFU = (b"-ERR An LFU maxmemory policy is selected, idle time not "
            b"tracked. Please note that when switching between policies at "
            b"runtime LRU and LFU data will take some time to adjust.\r\n")

MB = 1024 * 1024
HEADROOM = 4 * MB           # maxmemory = used at start + HEADROOM
VALUE = b"v" * 300          # ~300-byte values, stored raw by both servers
BATCH = 100                 # writes per pipeline
# After each batch used_memory may exceed maxmemory by what INFO and the
# connection buffers hold (eviction runs before INFO itself).
TOLERANCE = 64 * 1024

ALL_POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random",
                "volatile-lru", "volatile-lfu", "volatile-random",
                "volatile-ttl"]


def used_memory(c):
    return int(c.info("memory")["used_memory"])


def evicted(c):
    return int(c.info("stats")["evicted_keys"])


def limited_server(start_server, policy, headroom=HEADROOM):
    """A server with `policy` and maxmemory = used + headroom.

    Returns (server, client, limit)."""
    s = start_server("--maxmemory-policy", policy)
    c = s.client()
    limit = used_memory(c) + headroom
    assert c.config_set("maxmemory", limit)
    return s, c, limit


def write_keys(c, prefix, total_bytes, limit=None, ex=None):
    """SET prefix:N (300-byte values, EX `ex` if given) in pipelined
    batches until total_bytes of values were written.  With `limit`,
    checks used_memory after each batch; returns (keys written, peak)."""
    n = total_bytes // len(VALUE)
    peak = 0
    for start in range(0, n, BATCH):
        p = c.pipeline(transaction=False)
        for i in range(start, min(start + BATCH, n)):
            p.set("%s:%d" % (prefix, i), VALUE, ex=ex)
        assert all(p.execute())
        if limit is not None:
            peak = max(peak, used_memory(c))
            assert peak <= limit + TOLERANCE, (
                "used_memory %d over maxmemory %d after %d keys"
                % (peak, limit, start + BATCH))
    return n, peak


def count_existing(c, keys):
    p = c.pipeline(transaction=False)
    for k in keys:
        p.exists(k)
    return sum(p.execute())


# -- noeviction and -OOM -----------------------------------------------------


def test_noeviction_oom(start_server, raw):
    s = start_server()
    c = raw(s)
    assert c.cmd("CONFIG", "GET", "maxmemory-policy") == \
        b"*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n"
    assert c.cmd("SET", "a", "1") == OK
    assert c.cmd("SET", "b", "2") == OK
    assert c.cmd("CONFIG", "SET", "maxmemory", "1") == OK
    # Writes that may grow memory are refused with Redis's exact text...
    assert c.cmd("SET", "c", "3") == OOM
    assert c.cmd("APPEND", "a", "x") == OOM
    assert c.cmd("INCR", "a") == OOM
    # ...reads, deletions and admin commands are not.
    assert c.cmd("GET", "a") == b"$1\r\n1\r\n"
    assert c.cmd("DEL", "b") == b":1\r\n"
    assert c.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("DBSIZE") == b":1\r\n"
    info = s.info("stats")
    assert info["evicted_keys"] == 0
    assert c.cmd("CONFIG", "SET", "maxmemory", "0") == OK
    assert c.cmd("SET", "c", "3") == OK


def test_noeviction_fills_up_to_limit(start_server):
    s, c, limit = limited_server(start_server, "noeviction", 1 * MB)
    n = 0
    while True:
        try:
            c.set("k:%d" % n, VALUE)
        except Exception as e:  # redis-py's class for OOM varies by version
            assert str(e).startswith("OOM command not allowed"), e
            break
        n += 1
        assert n < 100000, "never reached maxmemory"
    # Stopped close to the limit, nothing evicted, every key still there.
    used = used_memory(c)
    assert limit - 64 * 1024 < used <= limit + TOLERANCE
    assert evicted(c) == 0
    assert c.dbsize() == n


# -- every policy keeps memory at the limit -----------------------------------


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_policy_keeps_memory_near_limit(start_server, policy):
    s, c, limit = limited_server(start_server, policy)
    volatile = policy.startswith("volatile")
    if volatile:
        # Keys without a TTL must all survive a volatile-* policy.
        keep, _ = write_keys(c, "keep", 256 * 1024)
    n, peak = write_keys(c, "k", 3 * HEADROOM, limit,
                         ex=100000 if volatile else None)
    print("%s: peak used_memory %+d bytes vs maxmemory"
          % (policy, peak - limit))
    ev = evicted(c)
    size = c.dbsize()
    # Most of what was written was evicted, the cache is still well used.
    assert ev >= n - size
    assert ev > n // 2
    assert size > 0.5 * HEADROOM / 700
    assert peak > limit - 1 * MB
    if volatile:
        ks = c.info("keyspace")["db0"]
        assert ks["keys"] - ks["expires"] == keep
        assert count_existing(c, ["keep:%d" % i for i in range(keep)]) == keep


@pytest.mark.parametrize("policy", [p for p in ALL_POLICIES
                                    if p.startswith("volatile")])
def test_volatile_without_ttl_keys_is_oom(start_server, raw, policy):
    s, c, limit = limited_server(start_server, policy, 1 * MB)
    n = 0
    while True:
        try:
            c.set("k:%d" % n, VALUE)
        except Exception as e:
            assert str(e).startswith("OOM command not allowed"), e
            break
        n += 1
        assert n < 100000, "never reached maxmemory"
    assert evicted(c) == 0
    assert c.dbsize() == n
    conn = raw(s)
    assert conn.cmd("CONFIG", "SET", "maxmemory", "1") == OK
    assert conn.cmd("SET", "x", "y") == OOM
    assert conn.cmd("GET", "k:0") == b"$300\r\n" + VALUE + b"\r\n"
    # One key with a TTL: CONFIG SET maxmemory evicts it (and only it) at
    # once; writes are refused again.
    assert conn.cmd("CONFIG", "SET", "maxmemory", "0") == OK
    assert conn.cmd("SET", "ttl", "v", "EX", "1000") == OK
    assert conn.cmd("CONFIG", "SET", "maxmemory", "1") == OK
    assert conn.cmd("EXISTS", "ttl") == b":0\r\n"
    assert evicted(c) == 1
    assert c.dbsize() == n
    assert conn.cmd("SET", "x", "y") == OOM


def test_volatile_ttl_evicts_soonest_expiry_first(start_server):
    s, c, limit = limited_server(start_server, "volatile-ttl")
    third = HEADROOM // 3
    late, _ = write_keys(c, "late", third, ex=1000000)
    soon, _ = write_keys(c, "soon", third, ex=10000)
    more, _ = write_keys(c, "more", 2 * HEADROOM, limit, ex=500000)
    late_left = count_existing(c, ["late:%d" % i for i in range(late)])
    soon_left = count_existing(c, ["soon:%d" % i for i in range(soon)])
    # The soonest-expiring keys go first, the latest ones last.
    assert soon_left < 0.1 * soon
    assert late_left > 0.9 * late


def test_config_set_maxmemory_evicts_now(start_server):
    s = start_server("--maxmemory-policy", "allkeys-random")
    c = s.client()
    write_keys(c, "k", 4 * MB)
    before = c.dbsize()
    used = used_memory(c)
    limit = used - 2 * MB
    assert c.config_set("maxmemory", limit)
    # Eviction started inside CONFIG SET (bounded in time; the rest runs
    # from the event loop) and finishes without further commands.
    assert evicted(c) > 0
    wait_for(lambda: used_memory(c) <= limit, 5.0, what="eviction")
    assert c.dbsize() < before


# -- LRU keeps the hot set -----------------------------------------------------


def test_allkeys_lru_keeps_hot_set(start_server):
    """Writes ~1500 new keys/s into a full cache of ~5000 while reading a
    hot set of 10% of its capacity round-robin (each hot key about once a
    second); a missing hot key is written back, as a cache client would.
    After a warm-up, at least 80% of hot reads must hit."""
    s, c, limit = limited_server(start_server, "allkeys-lru", 2 * MB)
    # Fill the cache at full speed first (these keys are the oldest).
    write_keys(c, "fill", 2 * MB)
    hot = ["hot:%d" % i for i in range(500)]
    p = c.pipeline(transaction=False)
    for k in hot:
        p.set(k, VALUE)
    p.execute()
    tick, writes, reads = 0.05, 75, 25
    hot_cycle = itertools.cycle(hot)
    counter = itertools.count()
    hits = misses = 0
    t0 = time.monotonic()
    warm = t0 + 2.0
    end = t0 + 8.0
    evicted_at_warm = None
    while time.monotonic() < end:
        due = time.monotonic() + tick
        p = c.pipeline(transaction=False)
        for _ in range(writes):
            p.set("cold:%d" % next(counter), VALUE)
        batch = [next(hot_cycle) for _ in range(reads)]
        for k in batch:
            p.get(k)
        res = p.execute()[writes:]
        gone = [k for k, v in zip(batch, res) if v is None]
        if gone:
            p = c.pipeline(transaction=False)
            for k in gone:
                p.set(k, VALUE)
            p.execute()
        if time.monotonic() >= warm:
            if evicted_at_warm is None:
                evicted_at_warm = evicted(c)
            hits += len(batch) - len(gone)
            misses += len(gone)
        left = due - time.monotonic()
        if left > 0:
            time.sleep(left)
    assert evicted_at_warm > 0, "the cache never filled up"
    assert evicted(c) > evicted_at_warm
    rate = hits / (hits + misses)
    print("allkeys-lru hot-set hit rate: %.3f" % rate)
    assert rate >= 0.80, "hot-set hit rate %.3f" % rate
    assert used_memory(c) <= limit + TOLERANCE


# -- LFU -------------------------------------------------------------------------


def test_lfu_object_freq_and_idletime(start_server, raw):
    s = start_server("--maxmemory-policy", "allkeys-lfu",
                     "--lfu-log-factor", "0")
    c = raw(s)
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("OBJECT", "FREQ", "k") == b":5\r\n"     # LFU_INIT_VAL
    assert c.cmd("OBJECT", "IDLETIME", "k") == IDLE_LFU
    assert c.cmd("OBJECT", "IDLETIME", "nokey") == b"$-1\r\n"
    for _ in range(10):
        assert c.cmd("GET", "k") == b"$1\r\nv\r\n"
    # Factor 0: every access counts (one decay if a minute turned over).
    assert c.cmd("OBJECT", "FREQ", "k") in (b":15\r\n", b":14\r\n")
    # OBJECT FREQ does not touch.
    assert c.cmd("OBJECT", "FREQ", "k") in (b":15\r\n", b":14\r\n")
    # The default factor (10): the counter grows, logarithmically.
    assert c.cmd("CONFIG", "SET", "lfu-log-factor", "10") == OK
    assert c.cmd("SET", "j", "v") == OK
    for _ in range(100):
        c.cmd("GET", "j")
    freq = int(c.cmd("OBJECT", "FREQ", "j")[1:-2])
    assert 7 <= freq <= 14
    # Back to LRU: IDLETIME answers, FREQ errs.
    assert c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == OK
    assert c.cmd("OBJECT", "IDLETIME", "k").startswith(b":")
    assert c.cmd("OBJECT", "FREQ", "k").startswith(b"-ERR An LFU maxmemory "
                                                   b"policy is not selected")


def test_allkeys_lfu_keeps_frequent_keys(start_server):
    s, c, limit = limited_server(start_server, "allkeys-lfu")
    freq = ["freq:%d" % i for i in range(300)]
    p = c.pipeline(transaction=False)
    for k in freq:
        p.set(k, VALUE)
    p.execute()
    for _ in range(20):
        p = c.pipeline(transaction=False)
        for k in freq:
            p.get(k)
        p.execute()
    write_keys(c, "k", 3 * HEADROOM, limit)
    assert count_existing(c, freq) >= 0.95 * len(freq)


# -- options ---------------------------------------------------------------------


def test_eviction_options(start_server, raw):
    s = start_server()
    c = raw(s)
    defaults = {b"maxmemory-samples": b"5",
                b"maxmemory-eviction-tenacity": b"10",
                b"lfu-log-factor": b"10", b"lfu-decay-time": b"1"}
    for name, value in defaults.items():
        assert c.call("CONFIG", "GET", name) == [name, value]

    def failed(param, lo, hi):
        return (b"-ERR CONFIG SET failed (possibly related to argument '%s') "
                b"- argument must be between %d and %d inclusive\r\n"
                % (param.encode(), lo, hi))

    assert c.cmd("CONFIG", "SET", "maxmemory-samples", "0") == \
        failed("maxmemory-samples", 1, 2147483647)
    assert c.cmd("CONFIG", "SET", "maxmemory-eviction-tenacity", "101") == \
        failed("maxmemory-eviction-tenacity", 0, 100)
    assert c.cmd("CONFIG", "SET", "lfu-log-factor", "-1") == \
        failed("lfu-log-factor", 0, 2147483647)
    assert c.cmd("CONFIG", "SET", "lfu-decay-time", "-1") == \
        failed("lfu-decay-time", 0, 2147483647)
    assert c.cmd("CONFIG", "SET", "maxmemory-samples", "10",
                 "maxmemory-eviction-tenacity", "100", "lfu-log-factor", "0",
                 "lfu-decay-time", "0") == OK
    for p in ALL_POLICIES + ["noeviction"]:
        assert c.cmd("CONFIG", "SET", "maxmemory-policy", p.upper()) == OK
        assert c.call("CONFIG", "GET", "maxmemory-policy") == \
            [b"maxmemory-policy", p.encode()]
    assert s.info("memory")["maxmemory_policy"] == "noeviction"


def test_tenacity_zero_still_evicts(start_server):
    """Tenacity 0: every call evicts 16 keys at most before handing over to
    the event loop, which finishes the job."""
    s = start_server("--maxmemory-policy", "allkeys-lru",
                     "--maxmemory-eviction-tenacity", "0")
    c = s.client()
    write_keys(c, "k", 2 * MB)
    limit = used_memory(c) - 1 * MB
    assert c.config_set("maxmemory", limit)
    wait_for(lambda: used_memory(c) <= limit, 5.0, what="eviction")
    assert evicted(c) > 16
