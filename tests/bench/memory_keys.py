#!/usr/bin/python3
"""Memory per key, candidate vs reference.

Starts both servers, then for each one: reads `INFO memory` used_memory and
the process RSS (from /proc/<pid>/status, independent of what the server
reports), loads --keys string keys `key:0000000` .. `key:0999999` with
--value-size-byte values through the protocol (pipelined SET commands over one
connection, every reply checked), checks DBSIZE, waits until used_memory is
stable (no rehash in flight), and reads both figures again.

    bytes per key = (after - before) / keys

for used_memory (what the server accounts and what maxmemory compares
against) and for RSS (what the machine pays, allocator overhead included),
per server, and the ratios cand/ref. Values are distinct, non-numeric
strings (`v000000000000042`), so no server can store them as integers or
share them.

Prints a Markdown table; JSON goes to tests/bench/results/.
Exit status: 0 ok, 1 tooling failure or missing used_memory, 2 a server
failed to start or died.
"""

import os
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


BenchError = bl.BenchError


def parse_args():
    p = bl.arg_parser(__doc__)
    p.add_argument("--keys", type=int, default=1000000, help="keys to load (quick: 100000)")
    p.add_argument("--value-size", type=int, default=16, help="bytes per value")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    a = p.parse_args()
    bl.apply_quick(p, a, keys=100000)
    if a.keys < 1 or a.value_size < 0:
        p.error("need --keys >= 1 and --value-size >= 0")
    return a


def set_commands(keys, value_size):
    """RESP SET commands for key:0000000.. with distinct non-numeric values."""
    width = max(7, len(str(keys - 1)))
    for i in range(keys):
        key = b"key:%0*d" % (width, i)
        if value_size == 0:
            val = b""
        else:
            digits = b"%0*d" % (value_size - 1, i) if value_size > 1 else b""
            val = b"v" + digits[len(digits) - (value_size - 1):]
        yield bl.resp_command(b"SET", key, val)


def used_memory(client):
    info = client.info("memory")
    v = info.get("used_memory")
    return int(v) if v is not None else None


def settled_used_memory(client, timeout=10.0):
    """used_memory once two readings 0.3 s apart agree within 0.1%
    (lets an incremental rehash finish); the last reading after `timeout`."""
    prev = used_memory(client)
    deadline = time.monotonic() + timeout
    while prev is not None and time.monotonic() < deadline:
        time.sleep(0.3)
        cur = used_memory(client)
        if cur is None or abs(cur - prev) <= 0.001 * prev:
            return cur
        prev = cur
    return prev


def measure_load(srv, nkeys, commands, client_timeout=60, load_opts=None,
                 inspect=None, settle_timeout=10.0):
    """Load `commands` (nkeys keys) into srv, between two settled readings
    of used_memory and RSS; returns the per-key figures.  load_opts go to
    benchlib.load_keys; inspect(client), if given, checks the loaded keys
    (raising BenchError) and returns fields for the result (an "encoding"
    is logged), before the second reading."""
    client = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=client_timeout)
    extra = {}
    try:
        before_um = settled_used_memory(client)
        before_rss = srv.rss_bytes()
        t0 = time.monotonic()
        try:
            bl.load_keys(srv.port, commands, **(load_opts or {}))
        except (OSError, RuntimeError) as e:
            srv.check()
            raise BenchError(f"{srv.name}: load failed: {e}")
        load_s = time.monotonic() - t0
        srv.check()
        dbsize = client.dbsize()
        if dbsize != nkeys:
            raise BenchError(f"{srv.name}: DBSIZE is {dbsize} after loading {nkeys} keys")
        if inspect:
            extra = inspect(client)
        after_um = settled_used_memory(client, timeout=settle_timeout)
        after_rss = srv.rss_bytes()
    except redis.RedisError as e:
        srv.check()
        raise BenchError(f"{srv.name}: {e}")
    finally:
        client.close()
    r = {"load_seconds": round(load_s, 2), "dbsize": dbsize, **extra,
         "used_memory_before": before_um, "used_memory_after": after_um,
         "rss_before": before_rss, "rss_after": after_rss,
         "rss_per_key": (after_rss - before_rss) / nkeys,
         "used_memory_per_key": None}
    if before_um is not None and after_um is not None:
        r["used_memory_per_key"] = (after_um - before_um) / nkeys
    enc = f" ({r['encoding']})" if "encoding" in r else ""
    bl.log(f"  {srv.name}: loaded {nkeys:,} keys{enc} in {load_s:.1f}s, "
           f"used_memory/key={bl.fmt_num(r['used_memory_per_key'], 1)} "
           f"rss/key={r['rss_per_key']:.1f}")
    return r


def measure(srv, args):
    return measure_load(srv, args.keys, set_commands(args.keys, args.value_size))


def ratio(a, b):
    return a / b if a is not None and b else None


def compare_memory(args, name, config, measure, title,
                   label=lambda result: ""):
    """Start ref and cand, run measure(server, args) on each in turn (one at a
    time, so they never compete for memory bandwidth), print the bytes-per-key
    table, write the JSON results.  Shared by memory_keys and memory_types.
    `label(result)` adds to each server's heading line.  Returns the exit
    status (0, 1 on a failed measurement, 2 if a server died)."""
    workdir = tempfile.mkdtemp(prefix=f"tessera-bench-{name}-")
    servers = [bl.Server("ref", args.ref_bin, workdir=workdir, extra=args.ref_args),
               bl.Server("cand", args.cand_bin, workdir=workdir, extra=args.cand_args)]
    payload = {"benchmark": name, "meta": bl.common_meta(args), "config": config,
               "results": {}, "error": None}
    t_start = time.monotonic()

    def measure_both():
        for s in servers:
            s.start()
            bl.log(f"started {s.name}: {s.binary} on port {s.port} (pid {s.proc.pid})")
        for s in servers:
            payload["results"][s.name] = measure(s, args)
        res = payload["results"]
        payload["ratio_used_memory"] = ratio(res["cand"]["used_memory_per_key"],
                                             res["ref"]["used_memory_per_key"])
        payload["ratio_rss"] = ratio(res["cand"]["rss_per_key"], res["ref"]["rss_per_key"])
        for n in ("ref", "cand"):
            if res[n]["used_memory_per_key"] is None:
                payload["error"] = f"{n}: INFO memory has no used_memory"
                return 1
        return 0

    status = bl.run_guarded(payload, measure_both, servers=servers, workdir=workdir,
                            keep=args.keep)
    payload["elapsed_s"] = round(time.monotonic() - t_start, 1)
    res = payload["results"]
    if "ref" in res and "cand" in res:
        print(f"\n### {name}: bytes per key, {title}\n")
        bl.print_binaries(payload, label(res["ref"]), label(res["cand"]))
        rows = [["used_memory (INFO)", bl.fmt_num(res["ref"]["used_memory_per_key"], 1),
                 bl.fmt_num(res["cand"]["used_memory_per_key"], 1),
                 bl.fmt_ratio(payload["ratio_used_memory"])],
                ["RSS (/proc)", bl.fmt_num(res["ref"]["rss_per_key"], 1),
                 bl.fmt_num(res["cand"]["rss_per_key"], 1), bl.fmt_ratio(payload["ratio_rss"])]]
        print(bl.markdown_table(["bytes/key", "ref", "cand", "cand/ref"], rows))
    return bl.finish(name, payload, args.out_dir, status)


def main():
    args = parse_args()
    return compare_memory(args, "memory_keys",
                          {"keys": args.keys, "value_size": args.value_size},
                          measure, f"{args.keys:,} keys, {args.value_size}-byte values")


if __name__ == "__main__":
    sys.exit(main())
