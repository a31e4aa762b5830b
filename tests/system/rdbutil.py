"""Helpers for test_rdb.py and test_dump.py: Redis's CRC-64, a tiny RDB
writer for hand-made (and hand-broken) files, a data set with every type
in every encoding, and a snapshot of a server's contents to compare two
servers key by key.

The reference server is always Debian's redis-server 7.0, whatever
TESSERA_SERVER says: these tests are about moving data between the two.
"""

import random
import struct

from conftest import REDIS_SERVER_BIN, Server

_POLY = 0x95AC9329AC4BC9B5
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc64(data, crc=0):
    """Redis's CRC-64/Jones (crc64(0, "123456789") == 0xe9c6d914c4b8d9ca)."""
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def start_reference(name="ref", rdb=None, extra=()):
    """A redis-server 7.0 in its own directory (optionally with a dump.rdb
    to load at start)."""
    s = Server(extra, debug=True, name=name)
    s.binary = REDIS_SERVER_BIN
    if rdb is not None:
        (s.dir / "dump.rdb").write_bytes(rdb)
    s.start()
    return s


# ---- a tiny RDB writer ------------------------------------------------------

def rdb_len(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def rdb_str(s):
    if isinstance(s, str):
        s = s.encode()
    return rdb_len(len(s)) + s


def listpack(entries):
    """A listpack of strings (7-bit/6-bit string encodings only as needed)."""
    body = b""
    for e in entries:
        if isinstance(e, str):
            e = e.encode()
        if len(e) < 64:
            enc = bytes([0x80 | len(e)]) + e
        else:
            assert len(e) < 4096
            enc = bytes([0xE0 | (len(e) >> 8), len(e) & 0xFF]) + e
        backlen = len(enc)
        assert backlen < 128
        body += enc + bytes([backlen])
    total = 6 + len(body) + 1
    return struct.pack("<IH", total, len(entries)) + body + b"\xff"


def ziplist(entries):
    """A ziplist (Redis < 7.0) of strings and ints."""
    body = b""
    prev = 0
    last = 10
    for e in entries:
        pre = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        if isinstance(e, int):
            if 0 <= e <= 12:
                enc = bytes([0xF1 + e])
            elif -128 <= e < 128:
                enc = b"\xfe" + struct.pack("<b", e)
            elif -32768 <= e < 32768:
                enc = b"\xc0" + struct.pack("<h", e)
            elif -2**31 <= e < 2**31:
                enc = b"\xd0" + struct.pack("<i", e)
            else:
                enc = b"\xe0" + struct.pack("<q", e)
        else:
            if isinstance(e, str):
                e = e.encode()
            assert len(e) < 64
            enc = bytes([len(e)]) + e
        entry = pre + enc
        last = 10 + len(body)
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    return struct.pack("<IIH", total, last, len(entries)) + body + b"\xff"


def intset(values, width=2):
    fmt = {2: "<h", 4: "<i", 8: "<q"}[width]
    return struct.pack("<II", width, len(values)) + b"".join(
        struct.pack(fmt, v) for v in values)


def rdb_file(items, checksum=True, version=10):
    """items: list of raw byte strings (type + key + value, or opcodes)."""
    body = b"REDIS%04d" % version
    body += b"\xfa" + rdb_str("redis-ver") + rdb_str("7.0.15")
    body += b"\xfe\x00"
    body += b"".join(items)
    body += b"\xff"
    return body + struct.pack("<Q", crc64(body) if checksum else 0)


def payload(obj, version=10):
    """A DUMP payload from a type byte + object encoding."""
    body = obj + struct.pack("<H", version)
    return body + struct.pack("<Q", crc64(body))


# ---- the data set --------------------------------------------------------------

def populate(c, seed=1):
    """Every type in every encoding Redis 7.0 has (and TTLs)."""
    rnd = random.Random(seed)
    p = c.pipeline(transaction=False)
    p.set("s:int8", "100")
    p.set("s:int16", "-30000")
    p.set("s:int32", "2000000000")
    p.set("s:int64", "9000000000000")
    p.set("s:short", "hello")
    p.set("s:empty", "")
    p.set("s:lzf", "abcdefgh" * 40)
    p.set("s:rand", bytes(rnd.getrandbits(8) for _ in range(300)))
    p.set("s:embstr", "e" * 44)
    p.set("s:raw", "r" * 45)
    p.set("s:ttl", "t", px=3600 * 1000)
    p.rpush("l:small", "a", "b", "1", "-5", "99999999999", "x" * 70)
    p.rpush("l:big", *["item-%d" % i for i in range(2000)])
    p.rpush("l:huge", "H" * 10000, "I" * 20000, "small")
    p.hset("h:lp", mapping={"f1": "v1", "f2": "2", "n": "-7"})
    p.hset("h:ht", mapping={"field:%d" % i: "value:%d" % i for i in range(600)})
    p.hset("h:long", mapping={"a": "1", "b": "L" * 100})
    p.sadd("st:int16", 1, 2, 3, -4)
    p.sadd("st:int64", 1, 5000000000, -9000000000000)
    p.sadd("st:ht", "a", "b", "c", "1")
    p.sadd("st:bigint", *range(600))
    p.zadd("z:lp", {"a": 1, "b": 2.5, "c": -3, "d": 1e20, "e": float("inf")})
    p.zadd("z:sl", {"member:%d" % i: i * 0.5 - 7 for i in range(200)})
    p.zadd("z:long", {"M" * 100: 1, "x": float("-inf")})
    p.set("s:ttl2", "u")
    p.pexpireat("s:ttl2", 4102444800000)
    p.hset("h:ttl", "f", "v")
    p.expire("h:ttl", 100000)
    p.execute()


def snapshot(c):
    """{key: (type, canonical value, encoding, pexpiretime)}."""
    out = {}
    for k in c.scan_iter(count=1000):
        t = c.type(k).decode()
        if t == "string":
            v = c.get(k)
        elif t == "list":
            v = c.lrange(k, 0, -1)
        elif t == "hash":
            v = sorted(c.hgetall(k).items())
        elif t == "set":
            v = sorted(c.smembers(k))
        elif t == "zset":
            v = c.zrange(k, 0, -1, withscores=True)
        else:
            v = None
        enc = c.object("encoding", k)
        out[k] = (t, v, enc, c.pexpiretime(k))
    return out


def assert_same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k] == b[k], (k, a[k][:1], a[k][2:], b[k][2:])
