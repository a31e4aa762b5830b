#!/usr/bin/python3
"""Failover window, side by side: kill -9 of a master of a 6-node cluster
(3 masters, 3 replicas, cluster-node-timeout 1000) while one client writes
continuously to keys of that master's slots; the window is the time from
the kill to the first write acknowledged again.  Also counts acknowledged
writes that are missing after the failover (async replication loses the
tail that had not reached the replica).

    /usr/bin/python3 tests/bench/cluster_failover.py [--kills 5]
        [--bin build-release/node/tessera-node]

Runs tessera-node and Debian's redis-server alternately (same machine,
same client, same timeout) and prints a Markdown table of medians.
"""

import argparse
import os
import statistics
import sys
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "system"))
from cluster.clusterlib import (ClusterNode, cluster_create,  # noqa: E402
                                wait_cluster_ok, wait_for)
from cluster.test_failover import write_through  # noqa: E402


def one_kill(kind):
    nodes = [ClusterNode(kind, ["--repl-diskless-sync-delay", "0"],
                         "fo%d" % i).start() for i in range(6)]
    try:
        cluster_create(nodes, 1)
        wait_cluster_ok(nodes)
        for n in nodes:
            wait_for(lambda: sum("slave" in l[2] for l in n.nodes()) == 3, 15)
        lines = nodes[0].nodes()
        by_id = {n.myid(): n for n in nodes}
        victim = by_id[[l for l in lines
                        if "16383" in " ".join(l[8:])][0][0]]
        acked = []
        seq = 0
        # warm up: writes flowing to the victim
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            if write_through(nodes, "{x}%d" % seq, seq):
                acked.append(seq)
            seq += 1
        t0 = time.monotonic()
        victim.kill9()
        while True:
            ok = write_through(nodes, "{x}%d" % seq, seq)
            if ok:
                acked.append(seq)
                break
            seq += 1
            time.sleep(0.005)
        window = time.monotonic() - t0
        live = [n for n in nodes if n.alive()]
        lost = 0
        for s in acked:
            got = None
            for n in live:
                try:
                    got = n.client().get("{x}%d" % s)
                    break
                except redis.ResponseError:
                    continue
            if got is None:
                lost += 1
        return window, lost
    finally:
        for n in nodes:
            n.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    if args.bin:
        os.environ["TESSERA_NODE_BIN"] = args.bin
    res = {"tessera": [], "redis": []}
    for _ in range(args.kills):
        for kind in ("tessera", "redis"):
            res[kind].append(one_kill(kind))
    print("| kill -9 of a master, node-timeout 1000, %d kills | median window "
          "(s) | min | max | acked writes lost (total) |" % args.kills)
    print("|---|---|---|---|---|")
    for kind, name in (("tessera", "tessera"), ("redis", "redis 7.0")):
        w = [x[0] for x in res[kind]]
        print("| %s | %.2f | %.2f | %.2f | %d |" % (
            name, statistics.median(w), min(w), max(w),
            sum(x[1] for x in res[kind])))
    print("\nratio of medians: %.2f" % (
        statistics.median([x[0] for x in res["tessera"]]) /
        statistics.median([x[0] for x in res["redis"]])))


if __name__ == "__main__":
    main()
