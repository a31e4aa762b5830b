"""DUMP and RESTORE: replies and errors as Redis 7.0, every option, payloads
that move both ways between Tessera and redis-server 7.0 for every type
and encoding (byte-identical where the encoding has one order), and
fuzzed payloads (random byte flips with a recomputed, valid CRC) that
must be refused or restored but never crash the server.
"""

import random
import struct
import time

import pytest
import redis

from rdbutil import crc64, listpack, payload, populate, snapshot, start_reference


@pytest.fixture(scope="module")
def ref():
    s = start_reference()
    yield s
    s.cleanup()


def dump_all(c):
    return {k: c.dump(k) for k in c.scan_iter(count=1000)}


def copy_by_dump(src, dst):
    """Every key of src DUMPed and RESTOREd into dst, expiry kept (ABSTTL);
    returns the snapshot of src taken before."""
    want = snapshot(src)
    for k, p in dump_all(src).items():
        ttl = src.pexpiretime(k)
        dst.restore(k, ttl if ttl > 0 else 0, p, absttl=True)
    return want


def test_dump_missing_and_format(r):
    assert r.dump("nokey") is None
    r.set("k", "hello")
    p = r.dump("k")
    assert p[:7] == b"\x00\x05hello"
    assert p[7:9] == b"\x0a\x00"             # RDB version 10, little endian
    assert struct.unpack("<Q", p[9:])[0] == crc64(p[:9])


def test_restore_basics(r):
    r.set("k", "v")
    p = r.dump("k")
    assert r.restore("k2", 0, p) == b"OK"
    assert r.get("k2") == b"v"
    assert r.ttl("k2") == -1
    with pytest.raises(redis.ResponseError) as e:
        r.restore("k2", 0, p)
    assert str(e.value) == "BUSYKEY Target key name already exists."
    r.set("k2", "other")
    assert r.restore("k2", 0, p, replace=True) == b"OK"
    assert r.get("k2") == b"v"


def test_restore_ttl_and_absttl(r):
    r.set("k", "v")
    p = r.dump("k")
    r.restore("a", 5000, p)
    assert 4000 < r.pttl("a") <= 5000
    when = int(time.time() * 1000) + 100000
    r.restore("b", when, p, absttl=True)
    assert r.pexpiretime("b") == when
    # already expired: OK, nothing created; with REPLACE the old key goes
    assert r.restore("c", 1, p, absttl=True) == b"OK"
    assert r.exists("c") == 0
    r.set("d", "old")
    assert r.restore("d", 1, p, absttl=True, replace=True) == b"OK"
    assert r.exists("d") == 0
    # REPLACE drops the old TTL
    r.set("e", "x", ex=100)
    r.restore("e", 0, p, replace=True)
    assert r.ttl("e") == -1


def test_restore_idletime_freq(r):
    r.set("k", "v")
    p = r.dump("k")
    r.restore("i", 0, p, idletime=1000)
    assert 1000 <= r.object("idletime", "i") <= 1002
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        r.restore("f", 0, p, frequency=100)
        assert r.object("freq", "f") == 100
    finally:
        r.config_set("maxmemory-policy", "noeviction")


@pytest.mark.parametrize("args,err", [
    (["k", "0", "P", "FOO"], "ERR syntax error"),
    (["k", "0", "P", "IDLETIME"], "ERR syntax error"),
    (["k", "0", "P", "IDLETIME", "-1"], "ERR Invalid IDLETIME value, must be >= 0"),
    (["k", "0", "P", "IDLETIME", "x"], "ERR value is not an integer or out of range"),
    (["k", "0", "P", "FREQ", "256"], "ERR Invalid FREQ value, must be >= 0 and <= 255"),
    (["k", "0", "P", "FREQ", "-1"], "ERR Invalid FREQ value, must be >= 0 and <= 255"),
    (["k", "0", "P", "IDLETIME", "1", "FREQ", "1"], "ERR syntax error"),
    (["k", "0", "P", "FREQ", "1", "IDLETIME", "1"], "ERR syntax error"),
    (["k", "-1", "P"], "ERR Invalid TTL value, must be >= 0"),
    (["k", "x", "P"], "ERR value is not an integer or out of range"),
    (["k", "0", "P"], "ERR DUMP payload version or checksum are wrong"),
    (["k", "0", "123456789"], "ERR DUMP payload version or checksum are wrong"),
    (["exists", "0", "P"], "BUSYKEY Target key name already exists."),
])
def test_restore_errors(shared_server, raw, args, err):
    c = shared_server.client()
    c.flushall()
    c.set("exists", "1")
    rc = raw(shared_server)
    got = rc.cmd("RESTORE", *args)
    assert got == b"-" + err.encode() + b"\r\n"


@pytest.fixture
def sanitized(shared_server, is_redis):
    """redis-server checks payloads deeply only with sanitize-dump-payload
    yes (without it a corrupt payload can crash it); Tessera always does."""
    if is_redis:
        shared_server.client().config_set("sanitize-dump-payload", "yes")
    yield
    if is_redis:
        shared_server.client().config_set("sanitize-dump-payload", "no")


def test_restore_bad_payloads(shared_server, raw, sanitized):
    c = shared_server.client()
    c.flushall()
    rc = raw(shared_server)
    good = c.dump("x") or None
    assert good is None
    cases = [
        payload(b"\x00\x20hel"),                    # truncated string
        payload(b"\x63\x01x"),                      # unknown type
        payload(b"\x10" + b"\x03abc"),              # listpack too short
        payload(b"\x10" + bytes([len(listpack(["a", "1", "a", "2"]))]) +
                listpack(["a", "1", "a", "2"])),    # duplicate field
        payload(b"\x0f\x00"),                       # stream
        payload(b"\x02\x00"),                       # empty set
    ]
    for p in cases:
        assert rc.cmd("RESTORE", "k", "0", p) == b"-ERR Bad data format\r\n"
    # a newer RDB version is refused as a version error
    p = b"\x00\x01x" + struct.pack("<H", 11)
    p += struct.pack("<Q", crc64(p))
    assert rc.cmd("RESTORE", "k", "0", p) == (
        b"-ERR DUMP payload version or checksum are wrong\r\n")
    assert c.dbsize() == 0


def test_same_payload_bytes_as_redis(r, ref):
    """Encodings with one order (strings, listpacks, intsets, quicklists)
    give byte-identical payloads."""
    rr = ref.client()
    rr.flushall()
    populate(r)
    populate(rr)
    ours, theirs = dump_all(r), dump_all(rr)
    assert sorted(ours) == sorted(theirs)
    ordered = [k for k in ours
               if r.object("encoding", k) not in (b"hashtable", b"skiplist")]
    assert len(ordered) > 15
    for k in ordered:
        assert ours[k] == theirs[k], k


@pytest.mark.parametrize("direction,seed", [("redis->here", 3),
                                             ("here->redis", 4)])
def test_payloads_restore_across(r, ref, direction, seed):
    """Payloads DUMPed by redis-server RESTORE here, and ours in
    redis-server, with the same contents."""
    rr = ref.client()
    rr.flushall()
    src, dst = (rr, r) if direction == "redis->here" else (r, rr)
    populate(src, seed=seed)
    want = copy_by_dump(src, dst)
    assert snapshot(dst) == want


def test_fuzzed_payloads_never_crash(r, sanitized):
    populate(r)
    payloads = list(dump_all(r).values())
    rnd = random.Random(1234)
    outcomes = {"ok": 0, "bad": 0}
    for i in range(3000):
        p = bytearray(rnd.choice(payloads))
        body = p[:-8]
        for _ in range(rnd.randint(1, 4)):
            body[rnd.randrange(len(body) - 2)] = rnd.getrandbits(8)
        if rnd.random() < 0.2:
            body = body[:rnd.randrange(1, len(body) - 2)] + body[-2:]
        data = bytes(body) + struct.pack("<Q", crc64(bytes(body)))
        try:
            r.restore("fz:%d" % i, 0, data)
            outcomes["ok"] += 1
        except redis.ResponseError as e:
            assert str(e) == "Bad data format", str(e)
            outcomes["bad"] += 1
    assert r.ping()
    assert outcomes["bad"] > 100
    # whatever was restored is readable
    for k in r.scan_iter("fz:*", count=1000):
        r.type(k)
        r.dump(k)


def test_debug_object_serializedlength(r, ref):
    """DEBUG OBJECT's serializedlength is the RDB size of the value, LZF
    included (rdbSavedObjectLen): the same as Redis for every key."""
    rr = ref.client()
    rr.flushall()
    populate(r)
    populate(rr)

    def serlen(c, k):
        line = c.execute_command("DEBUG", "OBJECT", k)
        if isinstance(line, dict):
            return int(line["serializedlength"])
        return int(line.split(b"serializedlength:")[1].split()[0])

    for k in r.scan_iter(count=1000):
        assert serlen(r, k) == serlen(rr, k), k
