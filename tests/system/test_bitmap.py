"""Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
BITFIELD_RO) side by side with redis-server 7.0.

Every command of a test goes to the server under test and to Debian's
redis-server (the module's `ref`), and the reply bytes must be equal:
corner cases of every option and error, then a few thousand random
operations on a handful of keys.  Around that: keyspace events and the
dirty counter compared with Redis's, WATCH, the proto-max-bulk-len limit
on offsets, values that survive DEBUG RELOAD and a restart, DUMP payloads
equal to Redis's, and SETBIT/BITFIELD/BITOP replicated to a replica.
"""

import random

import pytest

from conftest import RawConn, wait_for
from rdbutil import start_reference
from respwire import NIL, OK, WRONGTYPE, bulk, integer


@pytest.fixture(scope="module")
def ref():
    s = start_reference(name="bitref")
    yield s
    s.cleanup()


class Both:
    """One raw connection to each server; cmd() sends to both and asserts
    the replies are the same bytes, returning them."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def cmd(self, *args):
        ra, rb = self.a.cmd(*args), self.b.cmd(*args)
        assert ra == rb, (args, ra[:300], rb[:300])
        return ra

    def close(self):
        self.b.close()


@pytest.fixture
def both(shared_server, raw, ref):
    a, b = raw(shared_server), RawConn(ref)
    for conn in (a, b):
        assert conn.cmd("FLUSHALL") == OK
    yield Both(a, b)
    b.close()


# -- SETBIT / GETBIT ------------------------------------------------------------


def test_setbit_getbit(both):
    c = both
    assert c.cmd("SETBIT", "k", 7, 1) == integer(0)
    assert c.cmd("SETBIT", "k", 7, 1) == integer(1)
    assert c.cmd("GET", "k") == bulk(b"\x01")
    assert c.cmd("SETBIT", "k", 0, 1) == integer(0)
    assert c.cmd("SETBIT", "k", 100, 1) == integer(0)
    assert c.cmd("STRLEN", "k") == integer(13)
    assert c.cmd("SETBIT", "k", 0, 0) == integer(1)
    for off in (0, 7, 8, 99, 100, 101, 103, 104, 100000, 4294967295):
        c.cmd("GETBIT", "k", off)
    assert c.cmd("GETBIT", "nokey", 5) == integer(0)
    assert c.cmd("EXISTS", "nokey") == integer(0)
    assert c.cmd("OBJECT", "ENCODING", "k") == bulk("raw")


def test_setbit_getbit_errors(both):
    c = both
    bad_off = b"-ERR bit offset is not an integer or out of range\r\n"
    bad_bit = b"-ERR bit is not an integer or out of range\r\n"
    for off in ("-1", "1.5", "abc", "", " 1", "+1", "01", "4294967296",
                "9223372036854775807", "99999999999999999999"):
        assert c.cmd("SETBIT", "k", off, 1) == bad_off, off
        assert c.cmd("GETBIT", "k", off) == bad_off, off
    for val in ("2", "-1", "a", "1.0", "", "9223372036854775808"):
        assert c.cmd("SETBIT", "k", 1, val) == bad_bit, val
    assert c.cmd("EXISTS", "k") == integer(0)
    # The offset is checked before the value.
    assert c.cmd("SETBIT", "k", -1, 5) == bad_off
    c.cmd("SETBIT", "k")
    c.cmd("SETBIT", "k", 1, 1, 1)
    c.cmd("GETBIT", "k")
    c.cmd("RPUSH", "l", "x")
    assert c.cmd("SETBIT", "l", 1, 1) == WRONGTYPE
    assert c.cmd("GETBIT", "l", 1) == WRONGTYPE
    assert c.cmd("GETBIT", "l", -1) == bad_off


def test_integer_and_embedded_values(both):
    c = both
    c.cmd("SET", "n", "12345")
    assert c.cmd("OBJECT", "ENCODING", "n") == bulk("int")
    for off in range(0, 44, 3):
        c.cmd("GETBIT", "n", off)
    c.cmd("BITCOUNT", "n")
    c.cmd("BITPOS", "n", 0)
    c.cmd("BITFIELD", "n", "GET", "u8", 0, "GET", "i16", 4)
    assert c.cmd("SETBIT", "n", 3, 1) == integer(1)   # '1' is 0x31
    assert c.cmd("SETBIT", "n", 4, 1) == integer(0)
    assert c.cmd("GET", "n") == bulk("92345")
    assert c.cmd("OBJECT", "ENCODING", "n") == bulk("raw")
    c.cmd("SET", "s", "foobar")
    assert c.cmd("OBJECT", "ENCODING", "s") == bulk("embstr")
    c.cmd("SETBIT", "s", 1, 0)
    assert c.cmd("GET", "s") == bulk("&oobar")
    c.cmd("OBJECT", "ENCODING", "s")
    c.cmd("SET", "m", "-9223372036854775808")
    c.cmd("BITFIELD", "m", "INCRBY", "u8", 0, 1, "GET", "i64", 8)
    c.cmd("GET", "m")


# -- BITCOUNT / BITPOS -----------------------------------------------------------

RANGES = [(), ("0", "-1"), ("1", "1"), ("-1", "-1"), ("-2", "-1"),
          ("-1", "-2"), ("5", "2"), ("0", "100"), ("-100", "100"),
          ("-100", "-50"), ("3", "-3"), ("9223372036854775807", "0"),
          ("-9223372036854775808", "9223372036854775807")]


def test_bitcount(both):
    c = both
    c.cmd("SET", "k", "foobar")
    assert c.cmd("BITCOUNT", "k") == integer(26)
    assert c.cmd("BITCOUNT", "k", 1, 1) == integer(6)
    assert c.cmd("BITCOUNT", "k", 5, 30, "BIT") == integer(17)
    for rng in RANGES:
        for unit in ((), ("BIT",), ("BYTE",), ("bit",), ("byte",)):
            if not rng and unit:
                continue
            for key in ("k", "nokey"):
                c.cmd("BITCOUNT", key, *rng, *unit)
    for start in range(-50, 50, 7):
        for end in range(-50, 50, 5):
            c.cmd("BITCOUNT", "k", start, end, "BIT")
    c.cmd("SET", "e", "")
    c.cmd("BITCOUNT", "e")
    c.cmd("BITCOUNT", "e", 0, -1, "BIT")


def test_bitcount_errors_in_redis_order(both):
    c = both
    c.cmd("SET", "k", "foo")
    c.cmd("RPUSH", "l", "x")
    # Redis 7.0 looks the key up first: a missing key is 0 whatever the
    # arguments, a wrong type wins over bad arguments.
    for args in (("a", "b"), ("1",), ("0", "1", "bit", "x"), ("0", "1", "x")):
        assert c.cmd("BITCOUNT", "nokey", *args) == integer(0)
        assert c.cmd("BITCOUNT", "l", *args) == WRONGTYPE
    for args in (("a", "b"), ("1",), ("0", "a"), ("1", "a", "foo"),
                 ("0", "-2", "foo"), ("-1", "-2", "foo"),
                 ("-1", "-2", "bit", "x"), ("0", "1", "bit", "x"),
                 ("1.5", "2"), ("0", "99999999999999999999")):
        c.cmd("BITCOUNT", "k", *args)
    c.cmd("BITCOUNT")


def test_bitpos(both):
    c = both
    c.cmd("SET", "k", b"\xff\xf0\x00")
    c.cmd("SET", "ff", b"\xff\xff")
    c.cmd("SET", "z", b"\x00\x00\x00")
    c.cmd("SET", "e", "")
    assert c.cmd("BITPOS", "k", 0) == integer(12)
    assert c.cmd("BITPOS", "ff", 0) == integer(16)
    assert c.cmd("BITPOS", "ff", 0, 0, -1) == integer(-1)
    assert c.cmd("BITPOS", "z", 1) == integer(-1)
    assert c.cmd("BITPOS", "nokey", 1) == integer(-1)
    assert c.cmd("BITPOS", "nokey", 0) == integer(0)
    assert c.cmd("BITPOS", "e", 0) == integer(-1)
    for key in ("k", "ff", "z", "e", "nokey"):
        for bit in (0, 1):
            for rng in RANGES:
                c.cmd("BITPOS", key, bit, *rng)
                if len(rng) == 2:
                    c.cmd("BITPOS", key, bit, rng[0])
                    for unit in ("BIT", "BYTE", "bit"):
                        c.cmd("BITPOS", key, bit, *rng, unit)
    for key in ("k", "ff", "z"):
        for bit in (0, 1):
            for start in range(-30, 30, 3):
                for end in range(-30, 30, 4):
                    c.cmd("BITPOS", key, bit, start, end, "BIT")


def test_bitpos_errors_in_redis_order(both):
    c = both
    c.cmd("SET", "k", "foo")
    c.cmd("RPUSH", "l", "x")
    for bit in ("2", "-1", "a", ""):
        assert c.cmd("BITPOS", "nokey", bit) == (
            b"-ERR value is not an integer or out of range\r\n"
            if bit in ("a", "") else
            b"-ERR The bit argument must be 1 or 0.\r\n")
        c.cmd("BITPOS", "l", bit)
    # the bit is parsed first, then the key is looked up, then the range
    for args in (("a",), ("0", "a"), ("0", "1", "x"), ("0", "1", "bit", "x")):
        c.cmd("BITPOS", "nokey", 1, *args)
        c.cmd("BITPOS", "nokey", 0, *args)
        assert c.cmd("BITPOS", "l", 1, *args) == WRONGTYPE
        c.cmd("BITPOS", "k", 1, *args)
    for args in (("a", "1", "foo"), ("1", "a", "foo"), ("1", "a", "bit"),
                 ("-1", "-2", "foo"), ("1", "2", "bit")):
        c.cmd("BITPOS", "k", 0, *args)
    c.cmd("BITPOS", "k")


def test_bitcount_bitpos_large_value(both):
    """Word-at-a-time paths at every alignment, against Python's count."""
    c = both
    rnd = random.Random(5)
    data = bytes(rnd.getrandbits(8) for _ in range(5000))
    data = b"\x00" * 700 + data + b"\xff" * 900
    c.cmd("SET", "big", data)
    assert c.cmd("BITCOUNT", "big") == integer(
        sum(bin(b).count("1") for b in data))
    for _ in range(150):
        s = rnd.randrange(-len(data) * 8, len(data) * 8)
        e = rnd.randrange(-len(data) * 8, len(data) * 8)
        c.cmd("BITCOUNT", "big", s, e, "BIT")
        c.cmd("BITPOS", "big", rnd.randrange(2), s, e, "BIT")
        c.cmd("BITCOUNT", "big", s // 8, e // 8)
        c.cmd("BITPOS", "big", rnd.randrange(2), s // 8)
    first = next(i for i, b in enumerate(data) if b)
    assert c.cmd("BITPOS", "big", 1) == integer(
        first * 8 + 8 - data[first].bit_length())
    assert c.cmd("BITPOS", "big", 0, len(data) - 900) == integer(
        len(data) * 8)


# -- BITOP ----------------------------------------------------------------------


def test_bitop(both):
    c = both
    c.cmd("SET", "a", "foobar")
    c.cmd("SET", "b", "abcdef0123456789abcdef0123456789abc")
    c.cmd("SET", "n", "42")
    for op in ("AND", "OR", "XOR", "and", "Or"):
        assert c.cmd("BITOP", op, "d", "a", "b") == integer(35)
        c.cmd("GET", "d")
        c.cmd("BITOP", op, "d", "a", "nokey", "b", "n")
        c.cmd("GET", "d")
        c.cmd("BITOP", op, "d", "b", "a")
        c.cmd("GET", "d")
        c.cmd("OBJECT", "ENCODING", "d")
    assert c.cmd("BITOP", "NOT", "d", "a") == integer(6)
    assert c.cmd("GET", "d") == bulk(bytes(~x & 0xFF for x in b"foobar"))
    c.cmd("BITOP", "NOT", "d", "b")
    c.cmd("GET", "d")
    c.cmd("BITOP", "NOT", "n2", "n")
    c.cmd("GET", "n2")
    # the destination may be a source
    c.cmd("BITOP", "XOR", "a", "a", "b")
    c.cmd("GET", "a")
    # an integer-looking result is stored raw, as Redis stores it
    c.cmd("BITOP", "OR", "d", "n")
    assert c.cmd("OBJECT", "ENCODING", "d") == bulk("raw")
    # a TTL on the destination is dropped
    c.cmd("EXPIRE", "d", 100)
    c.cmd("BITOP", "AND", "d", "a", "b")
    assert c.cmd("TTL", "d") == integer(-1)
    # nothing but missing keys: 0, and the destination goes away
    assert c.cmd("BITOP", "OR", "d", "x1", "x2") == integer(0)
    assert c.cmd("EXISTS", "d") == integer(0)
    assert c.cmd("BITOP", "NOT", "d", "x1") == integer(0)
    # a destination of another type is replaced
    c.cmd("RPUSH", "l", "x")
    c.cmd("BITOP", "OR", "l", "a")
    c.cmd("TYPE", "l")


def test_bitop_errors(both):
    c = both
    c.cmd("SET", "a", "x")
    c.cmd("RPUSH", "l", "x")
    c.cmd("SET", "dest", "keep")
    for args in (("DIFF", "d", "a", "a"), ("ONE", "d", "a"),
                 ("ANDX", "d", "a"), ("", "d", "a")):
        assert c.cmd("BITOP", *args) == b"-ERR syntax error\r\n"
    err_not = b"-ERR BITOP NOT must be called with a single source key.\r\n"
    assert c.cmd("BITOP", "NOT", "d", "a", "a") == err_not
    assert c.cmd("BITOP", "AND", "dest", "a", "l") == WRONGTYPE
    assert c.cmd("BITOP", "AND", "dest", "l", "nokey") == WRONGTYPE
    assert c.cmd("GET", "dest") == bulk("keep")
    c.cmd("BITOP", "AND", "d")
    c.cmd("BITOP", "AND")


# -- BITFIELD -------------------------------------------------------------------


def test_bitfield(both):
    c = both
    c.cmd("BITFIELD", "k", "SET", "i8", 0, 100, "GET", "i8", 0)
    c.cmd("BITFIELD", "k", "INCRBY", "u4", "#1", 3, "GET", "u4", "#1",
          "GET", "u8", 0)
    c.cmd("GET", "k")
    for t in ["i%d" % b for b in (1, 2, 7, 8, 9, 31, 32, 33, 63, 64)] + \
             ["u%d" % b for b in (1, 2, 7, 8, 9, 31, 32, 33, 62, 63)]:
        for off in (0, 1, 5, 13, "#0", "#1", "#3"):
            c.cmd("BITFIELD", "f", "SET", t, off, -1, "GET", t, off,
                  "INCRBY", t, off, 1, "GET", "u8", 0)
            c.cmd("BITFIELD_RO", "f", "GET", t, off)
    c.cmd("GET", "f")
    assert c.cmd("BITFIELD", "nokey", "GET", "u8", 100) == b"*1\r\n:0\r\n"
    assert c.cmd("EXISTS", "nokey") == integer(0)
    assert c.cmd("BITFIELD", "nokey") == b"*0\r\n"
    assert c.cmd("BITFIELD_RO", "nokey", "GET", "i64", "#7") == (
        b"*1\r\n:0\r\n")


@pytest.mark.parametrize("mode", ["WRAP", "SAT", "FAIL", "wrap"])
def test_bitfield_overflow(both, mode):
    c = both
    big = ("9223372036854775807", "-9223372036854775808", "4611686018427387904",
           "-4611686018427387905", "300", "-300", "255", "256", "127", "-128")
    for t in ("i8", "u8", "i64", "u63", "i63", "u1", "i1", "u2"):
        for v in big:
            c.cmd("BITFIELD", "o", "OVERFLOW", mode, "SET", t, 0, v,
                  "GET", t, 0)
            c.cmd("BITFIELD", "o", "OVERFLOW", mode, "INCRBY", t, 3, v,
                  "INCRBY", t, 3, v, "GET", t, 3)
    c.cmd("GET", "o")
    # OVERFLOW applies to the operations after it, several in one call
    c.cmd("BITFIELD", "p", "INCRBY", "u2", 0, 5, "OVERFLOW", "SAT",
          "INCRBY", "u2", 0, 5, "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 5,
          "OVERFLOW", mode)
    if mode == "FAIL":
        assert c.cmd("BITFIELD", "q", "OVERFLOW", "FAIL", "INCRBY", "u2", 0,
                     9) == b"*1\r\n" + NIL
        # the key is created (zeroed) even though nothing was written
        assert c.cmd("GET", "q") == bulk(b"\x00")


def test_bitfield_errors(both):
    c = both
    c.cmd("SET", "k", "x")
    c.cmd("RPUSH", "l", "x")
    bad_type = (b"-ERR Invalid bitfield type. Use something like i16 u8. "
                b"Note that u64 is not supported but i64 is.\r\n")
    for t in ("u64", "i65", "i0", "u0", "I8", "x8", "u", "i", "u-1", "u08",
              "", "u 8"):
        assert c.cmd("BITFIELD", "k", "GET", t, 0) == bad_type, t
    bad_off = b"-ERR bit offset is not an integer or out of range\r\n"
    for off in ("-1", "#", "#-1", "a", "#a", "4294967296", "#536870912",
                "##1", "#144115188075855872", "#288230376151711744"):
        c.cmd("BITFIELD", "k", "GET", "u8", off)
        c.cmd("BITFIELD", "k", "SET", "u8", off, 1)
    assert c.cmd("BITFIELD", "k", "GET", "u8", "-1") == bad_off
    for args in (("GET", "u8"), ("SET", "u8", 0), ("INCRBY", "u8", 0),
                 ("FOO", "u8", 0), ("OVERFLOW",), ("OVERFLOW", "foo"),
                 ("GET", "u8", 0, "SET"), ("SET", "u8", 0, "a"),
                 ("INCRBY", "u8", 0, "1.5"), ("OVERFLOW", "foo", "GET"),
                 ("GET", "u8", 0, "OVERFLOW", "SAT", "BAR")):
        c.cmd("BITFIELD", "k", *args)
        c.cmd("BITFIELD_RO", "k", *args)
    ro_err = b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    assert c.cmd("BITFIELD_RO", "k", "SET", "u8", 0, 1) == ro_err
    assert c.cmd("BITFIELD_RO", "k", "GET", "u8", 0, "INCRBY", "u8", 0,
                 1) == ro_err
    assert c.cmd("GET", "k") == bulk("x")
    assert c.cmd("BITFIELD", "l", "GET", "u8", 0) == WRONGTYPE
    assert c.cmd("BITFIELD", "l", "SET", "u8", 0, 1) == WRONGTYPE
    assert c.cmd("BITFIELD_RO", "l", "GET", "u8", 0) == WRONGTYPE
    # argument errors come before the type check
    assert c.cmd("BITFIELD", "l", "GET", "u64", 0) == bad_type
    c.cmd("BITFIELD")
    c.cmd("BITFIELD_RO")


def test_bitfield_resp3_null(both):
    c = both
    for conn in (c.a, c.b):     # the replies differ in the client id
        assert conn.cmd("HELLO", "3").startswith(b"%7\r\n")
    c.cmd("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "i4", 0, 100,
          "INCRBY", "u8", 0, 1)


def test_offset_limit_follows_proto_max_bulk_len(both):
    c = both
    c.cmd("CONFIG", "SET", "proto-max-bulk-len", "1048576")
    try:
        bad = b"-ERR bit offset is not an integer or out of range\r\n"
        assert c.cmd("SETBIT", "k", 8 * 1048576, 1) == bad
        assert c.cmd("GETBIT", "k", 8 * 1048576) == bad
        assert c.cmd("BITFIELD", "k", "SET", "u8", "#1048576", 1) == bad
        assert c.cmd("SETBIT", "k", 8 * 1048576 - 1, 1) == integer(0)
        assert c.cmd("STRLEN", "k") == integer(1048576)
        c.cmd("BITFIELD", "k", "SET", "u8", 8 * 1048576 - 1, 255)
        c.cmd("STRLEN", "k")
        c.cmd("BITCOUNT", "k")
    finally:
        c.cmd("CONFIG", "SET", "proto-max-bulk-len", "536870912")


# -- events, dirty counter, WATCH -------------------------------------------------


def collect_events(client, run):
    p = client.pubsub()
    p.psubscribe("__key*__:*")
    p.get_message(timeout=1)
    run()
    out = []
    while True:
        m = p.get_message(timeout=0.3)
        if m is None:
            break
        if m["type"] == "pmessage":
            out.append((m["channel"], m["data"]))
    p.close()
    return out


def test_events_and_dirty_match_redis(shared_server, ref):
    clients = [shared_server.client(), ref.client()]
    script = [
        ("SETBIT", "k", 7, 1), ("SETBIT", "k", 7, 1), ("SETBIT", "k", 7, 0),
        ("SETBIT", "k", 100, 0), ("GETBIT", "k", 3),
        ("BITFIELD", "k", "SET", "u8", 0, 0),
        ("BITFIELD", "k", "SET", "u8", 0, 5, "INCRBY", "u8", 0, 1),
        ("BITFIELD", "k", "INCRBY", "u8", 0, 0),
        ("BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 9),
        ("BITFIELD", "new2", "GET", "u8", 0),
        ("BITOP", "OR", "d", "k"), ("BITOP", "AND", "d", "k", "nokey"),
        ("BITOP", "OR", "d", "nokey"), ("BITOP", "OR", "d", "nokey"),
        ("BITCOUNT", "k"), ("BITPOS", "k", 1),
    ]
    seen, dirty = [], []
    for cl in clients:
        cl.flushall()
        cl.config_set("notify-keyspace-events", "KEAn")
        before = cl.info("persistence")["rdb_changes_since_last_save"]

        def run():
            for cmd in script:
                cl.execute_command(*cmd)

        try:
            seen.append(collect_events(cl, run))
        finally:
            cl.config_set("notify-keyspace-events", "")
        dirty.append(cl.info("persistence")["rdb_changes_since_last_save"]
                     - before)
        cl.close()
    assert seen[0] == seen[1]
    assert dirty[0] == dirty[1]
    assert (b"__keyevent@0__:setbit", b"k") in seen[0]
    assert (b"__keyevent@0__:del", b"d") in seen[0]


@pytest.mark.parametrize("cmd,aborted", [
    (("SETBIT", "w", 0, 1), True),      # changes the bit
    (("SETBIT", "w", 1, 0), False),     # already 0: no change
    (("BITFIELD", "w", "SET", "u8", 0, 128), False),
    (("BITFIELD", "w", "INCRBY", "u8", 0, 1), True),
    (("BITOP", "NOT", "w", "w"), True),
    (("BITFIELD_RO", "w", "GET", "u8", 0), False),
])
def test_watch(shared_server, ref, cmd, aborted):
    for srv in (shared_server, ref):
        c = srv.client()
        c.flushall()
        c.set("w", b"\x80")
        p = c.pipeline(transaction=True)
        p.watch("w")
        srv.client().execute_command(*cmd)
        p.multi()
        p.get("w")
        try:
            res = p.execute()
            assert not aborted, (srv, cmd)
            assert res
        except Exception as e:  # WatchError
            assert aborted, (srv, cmd, e)
        c.close()


# -- randomized side by side ---------------------------------------------------


TYPES = ["i%d" % b for b in (1, 3, 8, 13, 16, 32, 63, 64)] + \
        ["u%d" % b for b in (1, 4, 8, 15, 16, 32, 62, 63)]
EDGES = ["0", "1", "-1", "127", "-128", "255", "256", "9223372036854775807",
         "-9223372036854775808", "4294967296", "12345"]


def rand_bitfield(rnd, key, ro):
    args = ["BITFIELD_RO" if ro else "BITFIELD", key]
    for _ in range(rnd.randint(1, 4)):
        t = rnd.choice(TYPES)
        off = rnd.choice([str(rnd.randrange(200)), "#%d" % rnd.randrange(8)])
        op = "GET" if ro else rnd.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
        v = rnd.choice(EDGES + [str(rnd.randint(-1000, 1000))])
        if op == "GET":
            args += ["GET", t, off]
        elif op == "OVERFLOW":
            args += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
        else:
            args += [op, t, off, v]
    return args


def rand_range(rnd, n):
    r = []
    if n >= 1:
        r.append(str(rnd.randint(-60, 60)))
    if n >= 2:
        r.append(str(rnd.randint(-60, 60)))
    if n >= 3:
        r.append(rnd.choice(["BIT", "BYTE"]))
    return r


def rand_command(rnd, keys):
    k = rnd.choice(keys)
    x = rnd.random()
    if x < 0.25:
        return ["SETBIT", k, str(rnd.randrange(320)), str(rnd.randrange(2))]
    if x < 0.32:
        return ["GETBIT", k, str(rnd.randrange(330))]
    if x < 0.42:
        return ["BITCOUNT", k] + rand_range(rnd, rnd.choice([0, 2, 3]))
    if x < 0.55:
        return ["BITPOS", k, str(rnd.randrange(2))] + rand_range(
            rnd, rnd.randint(0, 3))
    if x < 0.65:
        op = rnd.choice(["AND", "OR", "XOR", "NOT"])
        n = 1 if op == "NOT" else rnd.randint(1, 3)
        return ["BITOP", op, k] + [rnd.choice(keys) for _ in range(n)]
    if x < 0.85:
        return rand_bitfield(rnd, k, False)
    if x < 0.90:
        return rand_bitfield(rnd, k, True)
    if x < 0.95:
        v = rnd.choice([str(rnd.randint(-10**6, 10**6)), "",
                        bytes(rnd.getrandbits(8)
                              for _ in range(rnd.randrange(60)))])
        return ["SET", k, v]
    return rnd.choice([["DEL", k], ["APPEND", k, "\xff\x00"]])


@pytest.mark.parametrize("seed", [1, 2])
def test_random_side_by_side(both, seed):
    rnd = random.Random(seed)
    keys = ["a", "b", "c"]
    for step in range(2500):
        cmd = rand_command(rnd, keys)
        ra, rb = both.a.cmd(*cmd), both.b.cmd(*cmd)
        assert ra == rb, (step, cmd, ra[:200], rb[:200])
        if step % 100 == 0:
            for k in keys:
                both.cmd("GET", k)


GARBAGE = ["0", "1", "7", "-1", "2", "#0", "#1", "#-1", "#", "##1", "", "abc",
           "1.5", " 1", "4294967296", "99999999999999999999",
           "#144115188075855872", "#288230376151711744", "u8", "i64", "u64",
           "i0", "u63", "I8", "GET", "SET", "INCRBY", "OVERFLOW", "WRAP",
           "SAT", "FAIL", "BIT", "BYTE", "AND", "NOT", "XOR", "a", "b",
           "\x00\xff"]


@pytest.mark.parametrize("seed", [3])
def test_random_bad_arguments_side_by_side(both, seed):
    """Commands with arguments drawn from a pool of bad and edge tokens:
    the same replies (mostly errors) from both servers, and no crash."""
    rnd = random.Random(seed)
    both.cmd("SET", "a", "foobar")
    both.cmd("RPUSH", "b", "x")
    names = ["SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP", "BITFIELD",
             "BITFIELD_RO"]
    for step in range(1500):
        cmd = [rnd.choice(names)] + [rnd.choice(GARBAGE)
                                     for _ in range(rnd.randint(0, 7))]
        ra, rb = both.a.cmd(*cmd), both.b.cmd(*cmd)
        assert ra == rb, (step, cmd, ra[:200], rb[:200])
    assert both.cmd("PING") == b"+PONG\r\n"


# -- persistence and replication -----------------------------------------------


def populate(c):
    c.setbit("sparse", 100000, 1)
    c.setbit("sparse", 3, 1)
    c.bitfield("bf").set("i16", "#3", -1234).incrby("u5", 3, 7).execute()
    c.set("n", 777)
    c.setbit("n", 2, 1)
    c.set("a", "foobar")
    c.bitop("XOR", "x", "a", "sparse")
    for i in range(0, 2000, 3):
        c.setbit("dense", i, 1)


def values(c):
    return {k: c.get(k) for k in (b"sparse", b"bf", b"n", b"x", b"dense")}


def test_reload_and_restart_keep_bitmaps(server):
    c = server.client()
    populate(c)
    want = values(c)
    assert c.execute_command("DEBUG", "RELOAD") == b"OK"
    assert values(c) == want
    c.save()
    c.close()
    server.stop()
    server.start(keep_port=True)
    c = server.client()
    assert values(c) == want
    assert c.bitcount("dense") == 667
    c.close()


def test_aof_replay_keeps_bitmaps(start_server):
    srv = start_server("--appendonly", "yes")
    c = srv.client()
    populate(c)
    c.bitfield("bf").overflow("FAIL").incrby("u2", 0, 9).execute()
    want = values(c)
    c.close()
    srv.stop()
    srv.start(keep_port=True)
    c = srv.client()
    assert values(c) == want
    c.close()


def test_dump_matches_redis(r, ref):
    rr = ref.client()
    rr.flushall()
    populate(r)
    populate(rr)
    for k in values(r):
        assert r.dump(k) == rr.dump(k), k
        # and Redis can read ours
        rr.restore(b"copy:" + k, 0, r.dump(k))
        assert rr.get(b"copy:" + k) == r.get(k)
    rr.close()


def test_replicated(start_server):
    master = start_server("--repl-diskless-sync-delay", "0")
    replica = start_server("--repl-diskless-sync-delay", "0")
    redis_replica = start_reference(name="bitrepl",
                                    extra=("--repl-diskless-sync-delay", "0"))
    try:
        m = master.client()
        m.set("pre", "x")
        for rep in (replica, redis_replica):
            rep.client().replicaof(master.host, master.port)
        for rep in (replica, redis_replica):
            wait_for(lambda: rep.info("replication").get(
                "master_link_status") == "up", timeout=10, what="link up")
        populate(m)
        m.setbit("sparse", 3, 1)          # no change: not propagated
        m.bitfield("bf").overflow("FAIL").incrby("u2", 0, 9).execute()
        want = values(m)
        off = m.info("replication")["master_repl_offset"]
        for rep in (replica, redis_replica):
            wait_for(lambda: rep.info("replication")["slave_repl_offset"]
                     >= off, timeout=10, what="replica caught up")
            assert values(rep.client()) == want
    finally:
        redis_replica.cleanup()
