#!/usr/bin/python3
"""Side-by-side throughput of the data-type commands (issue 3's table):
tessera-node (candidate) vs redis-server (reference).

redis-benchmark's type tests -- LPUSH, RPUSH, LPOP, RPOP, SADD, HSET, SPOP,
ZADD, ZPOPMIN, LRANGE_100 -- at -P 1 and -P 16 with 50 clients, each server
pinned with taskset to --server-cpu (default 0) and redis-benchmark to
--client-cpu (default 1), as bench_node.py does (shared code in
benchlib.py).

Every run is one `redis-benchmark -c 50 -r 1000000 -P p -t test -n N --csv`
on a keyspace prepared the same way on both servers, so that each test
measures what its name says rather than whatever an earlier test left:

  lpush rpush sadd hset zadd   start from an empty keyspace
  lpop rpop                    mylist holds N elements (every pop pops)
  spop                         myset holds N members
  zpopmin                      myzset holds N members
  lrange_100                   empty; redis-benchmark pushes N elements to
                               mylist first ("LPUSH (needed to benchmark
                               LRANGE)", not reported) and then measures
                               LRANGE mylist 0 99

The keys and values are redis-benchmark's own (mylist, myset, myhash,
myzset, "xxx", element:<random>).  N is --requests, or sized by a
calibration run (which warms both servers up) so one run on the reference
takes about --seconds.  For each test and pipeline depth the two servers
are measured in --rounds interleaved rounds, the order alternating, and the
table shows the median and min-max requests/s of each, and the median and
min-max of the per-round ratio cand/ref.  The server's CPU time per request
(user+sys from /proc) is shown too; for lrange_100 it would include the
LPUSH prelude, so it is left out there.

A Markdown table goes to stdout, JSON to tests/bench/results/.  Exit
status: 0 ok, 1 bad usage/tooling, 2 a server failed to start or died.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ALL_TESTS = "lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100"
LOAD_BATCH = 100    # elements per prefill command


def parse_args():
    p = bl.arg_parser(__doc__)
    bl.add_side_by_side_args(p, quick_rounds=1, quick_seconds=0.2)
    p.add_argument("--tests", default=ALL_TESTS, help="comma-separated redis-benchmark tests")
    p.add_argument("--keyspace", type=int, default=1000000,
                   help="redis-benchmark -r (range of the random members)")
    return bl.parse_side_by_side_args(p, known_tests=ALL_TESTS.split(","))


# -- keyspace preparation ----------------------------------------------------


def prefill_commands(test, n):
    """The commands that give `test` its starting keyspace (see the module
    comment), in batches of LOAD_BATCH elements; [] for an empty one."""
    cmds = []
    for start in range(0, n, LOAD_BATCH):
        count = min(LOAD_BATCH, n - start)
        if test in ("lpop", "rpop"):
            cmds.append(bl.resp_command("RPUSH", "mylist", *([b"xxx"] * count)))
        elif test == "spop":
            cmds.append(bl.resp_command(
                "SADD", "myset", *[b"element:%d" % i for i in range(start, start + count)]))
        elif test == "zpopmin":
            args = []
            for i in range(start, start + count):
                args += [b"%d" % i, b"element:%d" % i]
            cmds.append(bl.resp_command("ZADD", "myzset", *args))
    return cmds


def prepare(server, test, n):
    """FLUSHALL, then the test's starting keyspace."""
    reply = bl.raw_command(server.port, "FLUSHALL", timeout=60.0)
    if reply != b"+OK":
        raise bl.BenchError(f"{server.name}: FLUSHALL answered {reply!r}")
    cmds = prefill_commands(test, n)
    if cmds:
        try:
            bl.load_keys(server.port, cmds, batch=1000, expect=None)
        except (OSError, RuntimeError) as e:
            server.check()
            raise bl.BenchError(f"{server.name}: prefill for {test} failed: {e}")


def run(args, server, test, pipeline, n):
    """Prepare server for test, run it; returns the measured CSV row."""
    prepare(server, test, n)
    rows = bl.redis_benchmark(server, test, pipeline, n, args.clients, args.keyspace,
                              args.client_cpu, timeout=max(60.0, 30 * args.seconds))
    return rows[-1]     # the last row is the test itself (after any prelude)


def calibrate(args, servers, test, pipeline):
    """Warm both servers up with a short run each; return -n for this test."""
    n_cal = min(10000 * pipeline, 100000)
    if args.quick:
        n_cal = min(n_cal, 5000)
    rps = {s.name: run(args, s, test, pipeline, n_cal)["rps"] for s in servers}
    if args.requests:
        return args.requests
    step = 100 * pipeline
    return max(step, int(round(rps["ref"] * args.seconds / step)) * step)


def main():
    args = parse_args()
    config = bl.side_by_side_config(args)
    return bl.side_by_side("bench_types", args, config, run, calibrate, bl.rps_table)


if __name__ == "__main__":
    sys.exit(main())
