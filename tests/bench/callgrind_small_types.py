#!/usr/bin/python3
"""Instructions per command on small hashes and sorted sets, per binary.

For comparing builds of tessera-node (or redis-server) on the small
encodings: each binary runs under `valgrind --tool=callgrind` twice per
operation, serving N1 and N2 commands from `redis-benchmark -c 1 -P 1`, and
the instructions per command are (I(N2) - I(N1)) / (N2 - N1), so start-up,
the fixture set-up and shutdown cancel (the server's timer does not
entirely; callgrind_ops.py corrects for it, this quick comparison does not,
which is why only builds of the same server should be compared).

Fixtures, made before each run: `h`, a hash of `field:0`..`field:9` with
8-byte values; `z`, a sorted set of `member:0`..`member:9` with scores
0.5..9.5; `zi`, the same with integer scores 0..9; `s`, the set of
integers 0..9; `str`, a 16-byte string.  Operations (OPS): overwrite and
read a field, update and read a score, full and partial ranges forward and
backward, counts, new keys, and GET/SET/SADD/LPUSH for reference.

    callgrind_small_types.py BINARY [BINARY ...] [--ops hget,zscore]
        [--toggle-collect cmd_execute]

--toggle-collect FUNC counts only the instructions spent inside FUNC (for
tessera-node, `cmd_execute`: one command's lookup, work and reply, without
the event loop, socket I/O and the timer), which takes the timer's noise
out of comparisons of the type code.

Prints a Markdown table, one column per binary.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

OPS = {
    "hset_upd": ["HSET", "h", "field:5", "vNEWVAL5"],
    "hget": ["HGET", "h", "field:7"],
    "hset_newkey": ["HSET", "hk:__rand_int__", "field:1", "v1234567"],
    "zadd_upd": ["ZADD", "z", "5.5", "member:5"],
    "zscore": ["ZSCORE", "z", "member:7"],
    "zrange": ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    "zrevrange": ["ZREVRANGE", "z", "0", "2", "WITHSCORES"],
    "zadd_newkey": ["ZADD", "zk:__rand_int__", "1.5", "member:1"],
    "zcard": ["ZCARD", "z"],
    "hlen": ["HLEN", "h"],
    "zscore_int": ["ZSCORE", "zi", "member:7"],
    "zrange_int": ["ZRANGE", "zi", "0", "-1", "WITHSCORES"],
    "zadd_int_upd": ["ZADD", "zi", "5", "member:5"],
    "sadd": ["SADD", "s", "5"],
    "sadd_newkey": ["SADD", "sk:__rand_int__", "5"],
    "lpush": ["LPUSH", "l", "x"],
    "get": ["GET", "str"],
    "set": ["SET", "str", "value:0000000002"],
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(binary, cmd, n, toggle=None):
    """Total instructions of `binary` serving n x cmd (inside `toggle`
    only, if given)."""
    d = tempfile.mkdtemp(prefix="cg-small-")
    port = free_port()
    out = os.path.join(d, "callgrind.out")
    collect = (["--collect-atstart=no", "--toggle-collect=" + toggle]
               if toggle else [])
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
        + collect + [binary,
                     "--port", str(port), "--save", "", "--appendonly", "no"]
        # no busy polling under callgrind: it would count waiting as work
        + (["--busy-poll-us", "0"] if "tessera" in os.path.basename(binary) else []),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    try:
        c = redis.Redis(port=port)
        for _ in range(600):
            try:
                c.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        c.hset("h", mapping={"field:%d" % j: "v%07d" % j for j in range(10)})
        c.zadd("z", {"member:%d" % j: j + 0.5 for j in range(10)})
        c.zadd("zi", {"member:%d" % j: j for j in range(10)})
        c.sadd("s", *range(10))
        c.set("str", "value:0000000001")
        rnd = "100000000" if "__rand_int__" in cmd[1] else "10"
        subprocess.run(["redis-benchmark", "-p", str(port), "-c", "1", "-n",
                        str(n), "-r", rnd, "-q"] + cmd,
                       stdout=subprocess.DEVNULL, check=True, timeout=600)
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                total = int(line.split()[1])
    shutil.rmtree(d, ignore_errors=True)
    if total is None:
        raise RuntimeError(f"{binary}: no totals in the callgrind output")
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("binaries", nargs="+")
    p.add_argument("--ops", default=",".join(OPS))
    p.add_argument("--n1", type=int, default=1000)
    p.add_argument("--n2", type=int, default=6000)
    p.add_argument("--toggle-collect", default=None, metavar="FUNC",
                   help="count only instructions inside FUNC (e.g. cmd_execute)")
    a = p.parse_args()
    ops = [o for o in a.ops.split(",") if o]
    for o in ops:
        if o not in OPS:
            p.error(f"unknown op {o} (known: {', '.join(OPS)})")
    print("| op | " + " | ".join(os.path.basename(os.path.dirname(b)) or b
                                  for b in a.binaries) + " |")
    print("|---|" + "---|" * len(a.binaries))
    for o in ops:
        row = []
        for b in a.binaries:
            i1 = run(b, OPS[o], a.n1, a.toggle_collect)
            i2 = run(b, OPS[o], a.n2, a.toggle_collect)
            row.append(f"{(i2 - i1) / (a.n2 - a.n1):,.0f}")
        print(f"| {o} | " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
