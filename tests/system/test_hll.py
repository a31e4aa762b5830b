"""HyperLogLog (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) side by side
with Debian's redis-server 7.0.

A HyperLogLog is a string whose bytes are Redis's format, so the strongest
check is the bytes themselves: the same PFADDs on both servers must leave
the same value (GET), sparse and dense, across the promotion, with the
same cached cardinality, and PFCOUNT must return the same numbers.  DUMP
payloads move both ways.  Corrupted values (random byte flips written
with SET) must give INVALIDOBJ or a count (the same as Redis's), never a
crash: run under ASan this is the decoder's hostile-input test.
"""

import random

import pytest
from conftest import RawConn, encode_command
from rdbutil import start_reference

NOT_HLL = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
INVALID = b"-INVALIDOBJ Corrupted HLL object detected\r\n"


@pytest.fixture(scope="module")
def ref():
    s = start_reference()
    yield s
    s.cleanup()


@pytest.fixture
def rc(ref):
    conn = RawConn(ref)
    assert conn.cmd("FLUSHALL") == b"+OK\r\n"
    yield conn
    conn.close()


def pipe(conn, cmds):
    """Send all commands at once, return their raw replies."""
    conn.send(b"".join(encode_command(*cmd) for cmd in cmds))
    return [conn.read_reply() for _ in cmds]


def both(c, rc, *cmd):
    """Run cmd on Tessera and Redis; the raw replies must be equal."""
    a, b = c.cmd(*cmd), rc.cmd(*cmd)
    assert a == b, (cmd, a[:300], b[:300])
    return a


def same_value(c, rc, key):
    a, b = c.call("GET", key), rc.call("GET", key)
    assert a == b, (key, len(a or b""), len(b or b""))
    return a


# -- format and counts ------------------------------------------------------


def test_empty_pfadd_creates_key(c, rc):
    assert both(c, rc, "PFADD", "h") == b":1\r\n"
    assert both(c, rc, "PFADD", "h") == b":0\r\n"
    v = same_value(c, rc, "h")
    assert v[:4] == b"HYLL" and len(v) == 18
    assert both(c, rc, "PFCOUNT", "h") == b":0\r\n"
    assert both(c, rc, "PFCOUNT", "nokey") == b":0\r\n"
    assert both(c, rc, "PFDEBUG", "ENCODING", "h") == b"+sparse\r\n"
    assert both(c, rc, "PFDEBUG", "DECODE", "h") == b"$7\r\nZ:16384\r\n"
    same_value(c, rc, "h")


CHECKPOINTS = [1, 2, 3, 5, 10, 20, 50, 100, 200, 300, 500, 700, 1000, 1500,
               2000, 3000, 5000, 10000, 20000, 50000, 100000]


def test_streams_match_redis(c, rc):
    """Counts and bytes equal at every checkpoint from 1 to 1e5 elements:
    small batches first (sparse edits one by one), then larger ones
    (through the promotion to dense)."""
    n = 0
    for target in CHECKPOINTS:
        step = 1 if n < 300 else (20 if n < 3000 else 1000)
        cmds = []
        while n < target:
            k = min(step, target - n)
            cmds.append(["PFADD", "h"] + ["e%d" % i for i in range(n, n + k)])
            n += k
        a, b = pipe(c, cmds), pipe(rc, cmds)
        assert a == b, target
        v = same_value(c, rc, "h")           # cache invalid here
        assert v[15] & 0x80
        assert both(c, rc, "PFCOUNT", "h")  # computes, stores the cache
        v = same_value(c, rc, "h")
        assert not v[15] & 0x80
        both(c, rc, "PFCOUNT", "h")          # from the cache
        both(c, rc, "PFDEBUG", "ENCODING", "h")
    assert c.cmd("PFDEBUG", "ENCODING", "h") == b"+dense\r\n"
    count = c.call("PFCOUNT", "h")
    assert abs(count - 100000) < 100000 * 0.02


def test_random_binary_elements(c, rc):
    """Random element lengths (every MurmurHash tail) and bytes; one PFADD
    per element, each reply compared, bytes compared along the way."""
    rng = random.Random(11)
    for key, count in (("s", 1500), ("t", 6000)):
        cmds = []
        for i in range(count):
            ele = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
            cmds.append(["PFADD", key, ele])
        for lo in range(0, count, 500):
            assert pipe(c, cmds[lo:lo + 500]) == pipe(rc, cmds[lo:lo + 500])
            same_value(c, rc, key)
        both(c, rc, "PFCOUNT", key)
        both(c, rc, "PFDEBUG", "DECODE", key)
    both(c, rc, "PFCOUNT", "s", "t", "nokey")


def test_sparse_max_bytes(c, rc):
    """hll-sparse-max-bytes decides when the value turns dense."""
    try:
        for size in ("300", "0", "1kb"):
            for conn in (c, rc):
                assert conn.cmd("CONFIG", "SET", "hll-sparse-max-bytes",
                                size) == b"+OK\r\n"
            both(c, rc, "CONFIG", "GET", "hll-sparse-max-bytes")
            both(c, rc, "DEL", "h")
            both(c, rc, "PFADD", "h")
            for i in range(400):
                both(c, rc, "PFADD", "h", "x%d" % i)
                if i % 10 == 0:
                    both(c, rc, "PFDEBUG", "ENCODING", "h")
            v = same_value(c, rc, "h")
            if size == "1kb":       # 400 registers set: about 870 bytes
                assert 300 < len(v) <= 1024
                assert c.cmd("PFDEBUG", "ENCODING", "h") == b"+sparse\r\n"
                for i in range(400, 700):
                    both(c, rc, "PFADD", "h", "x%d" % i)
                v = same_value(c, rc, "h")
            assert len(v) == 12304
            assert c.cmd("PFDEBUG", "ENCODING", "h") == b"+dense\r\n"
    finally:
        for conn in (c, rc):
            conn.cmd("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
    assert c.call("CONFIG", "GET", "hll-sparse-max-bytes") == [
        b"hll-sparse-max-bytes", b"3000"]


def test_pfmerge_sparse_and_dense(c, rc):
    cmds = [["PFADD", "sp1"] + ["a%d" % i for i in range(100)],
            ["PFADD", "sp2"] + ["a%d" % i for i in range(50, 250)],
            ["PFADD", "dn"] + ["b%d" % i for i in range(20000)]]
    assert pipe(c, cmds) == pipe(rc, cmds)
    both(c, rc, "PFDEBUG", "ENCODING", "dn")
    for dest, srcs in (("m1", ["sp1", "sp2"]), ("m2", ["sp1", "dn"]),
                       ("sp1", ["sp2"]), ("m3", ["nokey"]), ("m4", []),
                       ("dn", ["sp2", "nokey"])):
        assert both(c, rc, "PFMERGE", dest, *srcs) == b"+OK\r\n"
        same_value(c, rc, dest)
        both(c, rc, "PFCOUNT", dest)
        both(c, rc, "PFDEBUG", "ENCODING", dest)
        same_value(c, rc, dest)
    both(c, rc, "PFCOUNT", "sp1", "sp2", "dn", "m1", "nokey")
    # a sparse destination receiving a merge that needs promotion
    both(c, rc, "PFMERGE", "m1", "dn")
    same_value(c, rc, "m1")


def test_dump_restore_both_ways(c, rc):
    for n in (0, 10, 600, 5000):
        key = "k%d" % n
        cmds = [["PFADD", key] + ["d%d" % i for i in range(n)]]
        pipe(rc, cmds)
        payload = rc.call("DUMP", key)
        assert c.cmd("RESTORE", key, "0", payload) == b"+OK\r\n"
        same_value(c, rc, key)
        both(c, rc, "PFCOUNT", key)
        both(c, rc, "PFADD", key, "more", "and", "more")
        same_value(c, rc, key)
        back = c.call("DUMP", key)
        assert rc.cmd("RESTORE", key + "b", "0", back) == b"+OK\r\n"
        assert rc.call("GET", key + "b") == c.call("GET", key)
        assert rc.call("PFCOUNT", key + "b") == c.call("PFCOUNT", key)


# -- errors -----------------------------------------------------------------


def test_wrongtype_and_errors(c, rc):
    both(c, rc, "SET", "str", "not an hll")
    both(c, rc, "SET", "int", "12345")
    both(c, rc, "SET", "hdr", b"HYLL\x00" + b"\x00" * 20)   # dense, short
    both(c, rc, "SET", "enc", b"HYLL\x02" + b"\x00" * 20)   # bad encoding
    both(c, rc, "RPUSH", "list", "a")
    both(c, rc, "PFADD", "ok", "a")
    for key in ("str", "int", "hdr", "enc"):
        assert both(c, rc, "PFADD", key, "x") == NOT_HLL
        assert both(c, rc, "PFCOUNT", key) == NOT_HLL
        assert both(c, rc, "PFCOUNT", "ok", key) == NOT_HLL
        assert both(c, rc, "PFMERGE", "ok", key) == NOT_HLL
        assert both(c, rc, "PFMERGE", key, "ok") == NOT_HLL
        assert both(c, rc, "PFDEBUG", "GETREG", key) == NOT_HLL
    for cmd in (("PFADD", "list", "x"), ("PFCOUNT", "list"),
                ("PFCOUNT", "ok", "list"), ("PFMERGE", "d", "list"),
                ("PFDEBUG", "ENCODING", "list")):
        assert both(c, rc, *cmd).startswith(b"-WRONGTYPE Operation")
    both(c, rc, "PFDEBUG", "ENCODING", "nokey")
    both(c, rc, "PFDEBUG", "NOSUCH", "ok")
    both(c, rc, "PFDEBUG", "NOSUCH", "nokey")
    both(c, rc, "PFDEBUG", "GETREG", "ok", "extra")
    both(c, rc, "PFADD")
    both(c, rc, "PFCOUNT")
    both(c, rc, "PFMERGE")
    both(c, rc, "PFSELFTEST", "x")
    # dense: DECODE refuses, TODENSE is a no-op; sparse: TODENSE converts
    both(c, rc, "PFADD", "d", "a", "b")
    assert both(c, rc, "PFDEBUG", "TODENSE", "d") == b":1\r\n"
    assert both(c, rc, "PFDEBUG", "TODENSE", "d") == b":0\r\n"
    both(c, rc, "PFDEBUG", "DECODE", "d")
    same_value(c, rc, "d")
    regs = c.call("PFDEBUG", "GETREG", "ok")
    assert len(regs) == 16384 and sum(1 for x in regs if x) == 1
    assert regs == rc.call("PFDEBUG", "GETREG", "ok")
    same_value(c, rc, "ok")    # GETREG turned it dense on both


def test_pfselftest(c, rc):
    assert c.cmd("PFSELFTEST") == b"+OK\r\n"


def test_corrupt_values(c, rc, shared_server):
    """Byte flips in valid sparse and dense values: every command answers
    INVALIDOBJ, WRONGTYPE or a count, as Redis does for PFCOUNT, and the
    server survives."""
    rng = random.Random(5)
    cmds = [["PFADD", "sp"] + ["c%d" % i for i in range(300)],
            ["PFADD", "dn"] + ["c%d" % i for i in range(5000)],
            ["PFADD", "tiny", "a", "b", "c"]]
    pipe(rc, cmds)
    bases = [rc.call("GET", k) for k in ("sp", "dn", "tiny")]
    for it in range(600):
        v = bytearray(rng.choice(bases))
        for _ in range(rng.choice([1, 1, 2, 5])):
            pos = rng.randrange(4 if rng.random() < 0.9 else 0, len(v))
            v[pos] = rng.randrange(256)
        if rng.random() < 0.2:
            v = v[:rng.randrange(16, len(v) + 1)]
        if rng.random() < 0.5:
            v[15] |= 0x80            # force the count to be computed
        v = bytes(v)
        assert both(c, rc, "SET", "bad", v) == b"+OK\r\n"
        both(c, rc, "PFCOUNT", "bad")
        both(c, rc, "PFCOUNT", "bad", "nokey")
        for cmd in (("PFADD", "bad", "e%d" % it, "f%d" % it),
                    ("PFMERGE", "out", "bad"),
                    ("PFDEBUG", "GETREG", "bad"),
                    ("PFDEBUG", "DECODE", "bad"),
                    ("PFCOUNT", "bad")):
            reply = c.cmd(*cmd)
            assert reply[:1] in (b":", b"+", b"*", b"$") or reply in (
                INVALID, NOT_HLL, b"-ERR HLL encoding is not sparse\r\n"), (
                cmd, reply[:100])
        c.cmd("DEL", "out")
    # a huge sparse value: 1M one-register ZERO opcodes
    huge = b"HYLL\x01" + b"\x00" * 10 + b"\x80" + b"\x00" * (1 << 20)
    assert both(c, rc, "SET", "huge", huge) == b"+OK\r\n"
    assert both(c, rc, "PFCOUNT", "huge") == INVALID
    both(c, rc, "PFADD", "huge", "a", "b", "c")
    assert c.call("GET", "huge") == rc.call("GET", "huge")
    assert both(c, rc, "PFMERGE", "out", "huge") == INVALID
    assert shared_server.alive()
    assert c.cmd("PING") == b"+PONG\r\n"


# -- side effects -------------------------------------------------------------


def test_watch_and_notify(c, shared_server, raw):
    c.cmd("PFADD", "h", "a")
    other = raw(shared_server)
    assert c.cmd("WATCH", "h") == b"+OK\r\n"
    assert other.cmd("PFADD", "h", "b") == b":1\r\n"
    c.cmd("MULTI")
    c.cmd("PING")
    assert c.cmd("EXEC") == b"*-1\r\n"
    # PFCOUNT storing the cache is a modification too
    assert c.cmd("WATCH", "h") == b"+OK\r\n"
    assert other.cmd("PFCOUNT", "h") == b":2\r\n"
    c.cmd("MULTI")
    c.cmd("PING")
    assert c.cmd("EXEC") == b"*-1\r\n"
    # a PFADD that changes nothing is not
    assert c.cmd("WATCH", "h") == b"+OK\r\n"
    assert other.cmd("PFADD", "h", "a") == b":0\r\n"
    c.cmd("MULTI")
    c.cmd("PING")
    assert c.cmd("EXEC") == b"*1\r\n+PONG\r\n"

    sub = raw(shared_server)
    try:
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "E$")
        sub.cmd("SUBSCRIBE", "__keyevent@0__:pfadd")
        c.cmd("PFADD", "h", "zz")
        c.cmd("PFMERGE", "h2", "h")
        for key in (b"h", b"h2"):
            msg = sub.read_reply()
            assert msg.endswith(b"$%d\r\n%s\r\n" % (len(key), key)), msg
    finally:
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "")


def test_propagation_matches_redis(start_server):
    """What reaches the AOF (and so the replicas) is Redis's: PFADD and
    PFMERGE when they change something, PFCOUNT when it stores the cache,
    PFDEBUG when it converts; replaying it rebuilds the same bytes."""
    from test_aof import RefServer as AofRef, incr_commands, restart
    script = [("PFADD", "h", "a", "b", "c"), ("PFADD", "h", "a"),
              ("PFCOUNT", "h"), ("PFCOUNT", "h"), ("PFADD", "e"),
              ("PFADD", "h2") + tuple("x%d" % i for i in range(200)),
              ("PFMERGE", "m", "h", "h2"), ("PFCOUNT", "h", "h2"),
              ("PFDEBUG", "ENCODING", "m"), ("PFDEBUG", "TODENSE", "m"),
              ("PFDEBUG", "TODENSE", "m"), ("PFDEBUG", "GETREG", "h2"),
              ("PFCOUNT", "m"), ("SET", "s", "x"), ("PFADD", "s", "y")]
    tess = start_server("--appendonly", "yes", "--appendfsync", "always")
    ref = AofRef(["--appendonly", "yes", "--appendfsync", "always"],
                 name="hllaof")
    ref.start()
    try:
        conns = (RawConn(tess), RawConn(ref))
        for cmd in script:
            a, b = (conn.cmd(*cmd) for conn in conns)
            assert a == b, cmd
        assert incr_commands(tess.dir) == incr_commands(ref.dir)
        before = {k: conns[1].call("GET", k) for k in ("h", "h2", "m", "e")}
        for conn in conns:
            conn.close()
    finally:
        ref.cleanup()
    restart(tess)
    c = RawConn(tess)
    for k, v in before.items():
        assert c.call("GET", k) == v, k
    c.close()


def test_replication_both_ways(start_server):
    """A Tessera replica of redis-server and a redis-server replica of
    Tessera end with the masters' exact bytes after the same PF commands
    (PFCOUNT's cache write and PFDEBUG's conversion included)."""
    from test_replication import FAST, attach, wait_synced
    tm, tr = start_server(*FAST), start_server(*FAST)
    rm = start_reference(name="hllrm", extra=FAST)
    rr = start_reference(name="hllrr", extra=FAST)
    try:
        attach(tr, rm)
        attach(rr, tm)
        script = [("PFADD", "a") + tuple("r%d" % i for i in range(300)),
                  ("PFCOUNT", "a"), ("PFADD", "b", "x", "y"),
                  ("PFMERGE", "m", "a", "b"), ("PFDEBUG", "TODENSE", "b"),
                  ("PFADD", "d") + tuple("q%d" % i for i in range(3000)),
                  ("PFCOUNT", "d"), ("PFCOUNT", "m")]
        masters = (RawConn(tm), RawConn(rm))
        for cmd in script:
            a, b = (conn.cmd(*cmd) for conn in masters)
            assert a == b, cmd
        wait_synced(rm, tr)
        wait_synced(tm, rr)
        for key in ("a", "b", "m", "d"):
            want = masters[1].call("GET", key)
            for srv in (tm, tr, rr):
                conn = RawConn(srv)
                assert conn.call("GET", key) == want, (key, srv)
                conn.close()
        for conn in masters:
            conn.close()
    finally:
        rm.cleanup()
        rr.cleanup()
