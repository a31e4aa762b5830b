#!/usr/bin/python3
"""Side-by-side RDB persistence: tessera-node (candidate) vs redis-server
(reference) on the same mixed data set.

For each server, in interleaved rounds (ref, cand, ref, cand, ...):

  1. start it empty in its own directory and load the data set (strings of
     16-100 bytes, small hashes, lists, integer sets and sorted sets: the
     compact encodings Redis writes as listpack/intset blobs);
  2. SAVE (wall-clock time of the synchronous save) and BGSAVE (from the
     command to rdb_bgsave_in_progress:0, polled every 5 ms);
  3. the file size;
  4. restart on the same directory and time start-up until PONG: the load
     time of that file.

Reports medians and cand/ref ratios (absolute numbers on the shared 2-core
machines are noise; DESIGN.md), and writes a JSON file to results/.

    /usr/bin/python3 tests/bench/persist.py [--keys 1000000] [--rounds 3]
    /usr/bin/python3 tests/bench/persist.py --quick      # 20k keys, 1 round
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

import benchlib as bl


def dataset(n, seed=7):
    """RESP commands building n keys of mixed types."""
    rnd = random.Random(seed)
    for i in range(n):
        r = rnd.random()
        if r < 0.70:
            v = "v" * rnd.randint(16, 100)
            yield bl.resp_command("SET", "s:%d" % i, v)
        elif r < 0.80:
            yield bl.resp_command("HSET", "h:%d" % i, "f1", "a", "f2", "bb",
                                  "f3", str(i), "f4", "xyz" * 5, "f5", "0")
        elif r < 0.90:
            yield bl.resp_command("RPUSH", "l:%d" % i, "a", "b", "c",
                                  str(i), "e" * 20)
        elif r < 0.95:
            yield bl.resp_command("SADD", "st:%d" % i, "1", "2", "3",
                                  str(i), "100000")
        else:
            yield bl.resp_command("ZADD", "z:%d" % i, "1", "a", "2.5", "b",
                                  str(i), "c")


def info_field(port, field):
    """One field of INFO persistence (reads the whole bulk reply)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(bl.resp_command("INFO", "persistence"))
        buf = b""
        while b"\r\n" not in buf:
            buf += s.recv(65536)
        head, rest = buf.split(b"\r\n", 1)
        want = int(head[1:]) + 2
        while len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    for line in rest.decode().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def one_round(name, binary, extra, keys, cpu):
    work = tempfile.mkdtemp(prefix="persist-%s-" % name)
    srv = bl.Server(name, binary, cpu=cpu, workdir=work,
                    extra=["--dir", work] + list(extra))
    try:
        srv.start()
        bl.load_keys(srv.port, dataset(keys), expect=None, timeout=300)
        t0 = time.monotonic()
        if bl.raw_command(srv.port, "SAVE", timeout=600) != b"+OK":
            raise bl.ServerDied("%s: SAVE failed" % name)
        save_s = time.monotonic() - t0
        size = os.path.getsize(os.path.join(work, "dump.rdb"))
        t0 = time.monotonic()
        bl.raw_command(srv.port, "BGSAVE", timeout=30)
        time.sleep(0.005)
        while info_field(srv.port, "rdb_bgsave_in_progress") != "0":
            time.sleep(0.005)
        bgsave_s = time.monotonic() - t0
        if info_field(srv.port, "rdb_last_bgsave_status") != "ok":
            raise bl.ServerDied("%s: BGSAVE failed" % name)
        srv.stop()
        t0 = time.monotonic()
        srv.start(timeout=600)
        load_s = time.monotonic() - t0
        dbsize = int(bl.raw_command(srv.port, "DBSIZE")[1:])
        if dbsize != keys:
            raise bl.ServerDied("%s: %d keys after load, want %d"
                                % (name, dbsize, keys))
        srv.stop()
        return {"save_s": save_s, "bgsave_s": bgsave_s, "size": size,
                "load_s": load_s}
    finally:
        if srv.alive():
            srv.kill()
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bl.add_common_args(p)
    p.add_argument("--keys", type=int, default=1000000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cpu", type=int, default=1,
                   help="CPU the servers are pinned to (default 1)")
    args = p.parse_args()
    if args.quick:
        args.keys, args.rounds = 20000, 1
    runs = {"ref": [], "cand": []}
    for rnd in range(args.rounds):
        for name, binary, extra in (("ref", args.ref_bin, args.ref_args),
                                    ("cand", args.cand_bin, args.cand_args)):
            bl.log("round %d: %s" % (rnd + 1, name))
            runs[name].append(one_round(name, binary, extra, args.keys,
                                        args.cpu))
    rows, summary = [], {}
    for m in ("save_s", "bgsave_s", "size", "load_s"):
        ref = bl.median([r[m] for r in runs["ref"]])
        cand = bl.median([r[m] for r in runs["cand"]])
        summary[m] = {"ref": ref, "cand": cand, "ratio": cand / ref}
        fmt = (lambda x: "%d" % x) if m == "size" else (lambda x: "%.3f" % x)
        rows.append([m, fmt(ref), fmt(cand), "%.2f" % (cand / ref)])
    print(bl.markdown_table(["%d keys" % args.keys, "redis", "tessera",
                             "tessera/redis"], rows))
    path = bl.write_results("persist", {"meta": bl.common_meta(args),
                                        "keys": args.keys, "runs": runs,
                                        "summary": summary},
                            out_dir=args.out_dir)
    bl.log("results: %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
