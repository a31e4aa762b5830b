#!/usr/bin/python3
"""Side-by-side throughput: tessera-node (candidate) vs redis-server (reference).

Both servers are started once, each on a free loopback port and pinned to the
same CPU (--server-cpu, default 0); redis-benchmark is pinned to another CPU
(--client-cpu, default 1). Only one server is measured at a time; the idle
one sleeps in its event loop and costs nothing.

For every test (SET, GET, INCR, MSET) and pipeline depth (-P 1, -P 16) the
two servers are measured in interleaved rounds, with the order alternating
(ref,cand / cand,ref / ...) so that drift on a noisy machine hits both sides
alike. Each run is one `redis-benchmark -c 50 -r 1000000 -P p -t test -n N
--csv`. N is either --requests or, by default, sized so a run of the
reference takes about --seconds (measured by a calibration run on each
server, which doubles as warm-up). The same N is used for both servers.

Before measuring, both keyspaces are pre-filled with the 1M keys that
redis-benchmark's -r draws from (key:000000000000 ...), so GET hits and SET
overwrites, and neither server is growing its hash table during a timed run.

Reported per test/pipeline: median and min-max requests/s for each server,
and the median of the per-round ratios cand/ref (paired within a round).
A Markdown table goes to stdout, JSON to tests/bench/results/.
Exit status: 0 ok, 1 bad usage/tooling, 2 a server failed to start or died.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BenchError = bl.BenchError


def parse_args():
    p = bl.arg_parser(__doc__)
    bl.add_side_by_side_args(p, quick_rounds=2, quick_seconds=0.3)
    p.add_argument("--tests", default="set,get,incr,mset",
                   help="comma-separated redis-benchmark test names")
    p.add_argument("--keyspace", type=int, default=1000000, help="redis-benchmark -r")
    p.add_argument("--no-prefill", action="store_true",
                   help="do not pre-load the keyspace before measuring")
    return bl.parse_side_by_side_args(p)


def run_benchmark(args, server, test, pipeline, n):
    """One redis-benchmark run against `server` (benchlib.redis_benchmark);
    returns its single CSV row, with 'rps' and the server's 'cpu_us' per
    request."""
    # Generous timeout: a run is meant to take seconds; a hang means trouble.
    rows = bl.redis_benchmark(server, test, pipeline, n, args.clients, args.keyspace,
                              args.client_cpu, timeout=max(60.0, 30 * args.seconds))
    if len(rows) != 1:
        raise BenchError(f"redis-benchmark {test} gave {len(rows)} rows, expected 1")
    return rows[0]


def prefill(server, keyspace, cmds):
    t0 = time.monotonic()
    try:
        bl.load_keys(server.port, cmds)
    except (OSError, RuntimeError) as e:
        server.check()
        raise BenchError(f"{server.name}: prefill failed: {e}")
    bl.log(f"  prefilled {server.name} with {keyspace:,} keys in {time.monotonic() - t0:.1f}s")


def calibrate(args, servers, test, pipeline):
    """Warm both servers up with a short run each; return -n for this test."""
    n_cal = min(20000 * pipeline, 200000)
    rps = {}
    for s in servers:
        rps[s.name] = run_benchmark(args, s, test, pipeline, n_cal)["rps"]
    if args.requests:
        return args.requests
    n = int(rps["ref"] * args.seconds)
    step = 1000 * pipeline
    return max(step, int(round(n / step)) * step)


def main():
    args = parse_args()
    config = bl.side_by_side_config(args, prefill=not args.no_prefill)

    def prepare(servers):
        if args.no_prefill:
            return
        cmds = [bl.resp_command("SET", b"key:%012d" % i, b"xxx") for i in range(args.keyspace)]
        for s in servers:
            prefill(s, args.keyspace, cmds)

    return bl.side_by_side("bench_node", args, config, run_benchmark, calibrate, bl.rps_table,
                           prepare=prepare)


if __name__ == "__main__":
    sys.exit(main())
