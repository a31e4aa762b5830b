#!/usr/bin/python3
"""Memory per key of the aggregate types, candidate vs reference.

Like memory_keys.py (same servers, same settle-then-measure procedure and
the same used_memory / RSS figures), but each key holds a value of another
type, chosen by --shape:

    hash10    --keys keys (default 1,000,000) `key:0000000`.., each a hash
              of 10 fields `field:0`..`field:9` with distinct 8-byte
              non-numeric values (small encoding: listpack)
    bighash   --keys keys (default 1,000) `key:0000000`.., each a hash of
              10,000 fields `field:0000`..`field:9999` with 8-byte values
              (large encoding: hashtable)
    list10    --keys keys (default 1,000,000) `key:0000000`.., each a list
              RPUSH'd with the 10 elements `elem:0`..`elem:9` (Redis 7.0: a
              quicklist of one listpack node; Tessera: one listpack)
    set10     --keys keys (default 1,000,000) `key:0000000`.., each a set
              SADD'd with the 10 small integers 0..9 (both: an intset)
    zset10    --keys keys (default 1,000,000) `key:0000000`.., each a sorted
              set ZADD'd with `member:0`..`member:9`, integer scores 0..9
              (small encoding: listpack)
    zset10f   as zset10 with fractional scores 0.5..9.5 (Redis keeps them
              as the text "0.5".."9.5" in its listpack)

Shapes are a table (SHAPES): name -> default key count, description and a
generator of load commands whose replies are +OK; other types add theirs.

    bytes per key = (after - before) / keys

Prints a Markdown table; JSON goes to tests/bench/results/.
Exit status: 0 ok, 1 tooling failure, 2 a server failed to start or died.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from memory_keys import BenchError, compare_memory, measure_load  # noqa: E402


def key_name(i, keys):
    return b"key:%0*d" % (max(7, len(str(keys - 1))), i)


def value8(n):
    """A distinct, non-numeric 8-byte value."""
    return b"v%07d" % (n % 10000000)


def hash10_commands(keys):
    for i in range(keys):
        args = [b"HMSET", key_name(i, keys)]
        for j in range(10):
            args += [b"field:%d" % j, value8(i * 10 + j)]
        yield bl.resp_command(*args)


def list10_commands(keys):
    for i in range(keys):
        yield bl.resp_command(b"RPUSH", key_name(i, keys),
                              *[b"elem:%d" % j for j in range(10)])


def set10_commands(keys):
    for i in range(keys):
        yield bl.resp_command(b"SADD", key_name(i, keys),
                              *[b"%d" % j for j in range(10)])


def zset10_commands(keys, frac=False):
    for i in range(keys):
        args = [b"ZADD", key_name(i, keys)]
        for j in range(10):
            args += [b"%d.5" % j if frac else b"%d" % j, b"member:%d" % j]
        yield bl.resp_command(*args)


def zset10f_commands(keys):
    return zset10_commands(keys, frac=True)


def bighash_commands(keys, fields=10000, per_cmd=1000):
    for i in range(keys):
        k = key_name(i, keys)
        for start in range(0, fields, per_cmd):
            args = [b"HMSET", k]
            for j in range(start, min(fields, start + per_cmd)):
                args += [b"field:%04d" % j, value8(i * fields + j)]
            yield bl.resp_command(*args)


# name -> (default keys, quick keys, description, command generator, TYPE)
SHAPES = {
    "hash10": (1000000, 100000, "hash, 10 fields x 8-byte values",
               hash10_commands, b"hash"),
    "bighash": (1000, 100, "hash, 10,000 fields x 8-byte values",
                bighash_commands, b"hash"),
    "list10": (1000000, 100000, "list, 10 elements elem:0..elem:9",
               list10_commands, b"list", b":10\r\n"),
    "set10": (1000000, 100000, "set, 10 small integers 0..9",
              set10_commands, b"set", b":10\r\n"),
    "zset10": (1000000, 100000, "sorted set, 10 members, integer scores",
               zset10_commands, b"zset", b":10\r\n"),
    "zset10f": (1000000, 100000, "sorted set, 10 members, scores 0.5..9.5",
                zset10f_commands, b"zset", b":10\r\n"),
}


def parse_args():
    p = bl.arg_parser(__doc__)
    p.add_argument("--shape", choices=sorted(SHAPES), required=True)
    p.add_argument("--keys", type=int, default=None,
                   help="keys to load (default: the shape's)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    a = p.parse_args()
    default, quick = SHAPES[a.shape][0], SHAPES[a.shape][1]
    if a.keys is None:
        a.keys = quick if a.quick else default
    if a.keys < 1:
        p.error("need --keys >= 1")
    return a


def measure(srv, args):
    shape = SHAPES[args.shape]
    k0 = key_name(0, args.keys)

    def inspect(client):
        if client.type(k0) != shape[4]:
            raise BenchError(f"{srv.name}: {k0!r} is not a {shape[4]!r}")
        encoding = client.object("encoding", k0)
        return {"encoding": encoding.decode() if isinstance(encoding, bytes) else encoding}

    # optional 6th field: the reply every load command gets
    expect = shape[5] if len(shape) > 5 else b"+OK\r\n"
    return measure_load(srv, args.keys, shape[3](args.keys), client_timeout=120,
                        load_opts={"batch": 200, "timeout": 120, "expect": expect},
                        inspect=inspect, settle_timeout=30.0)


def main():
    args = parse_args()
    desc = SHAPES[args.shape][2]
    return compare_memory(args, "memory_types_" + args.shape,
                          {"shape": args.shape, "keys": args.keys, "description": desc},
                          measure, f"{args.keys:,} keys, {desc}",
                          label=lambda res: f", encoding {res['encoding']}")


if __name__ == "__main__":
    sys.exit(main())
