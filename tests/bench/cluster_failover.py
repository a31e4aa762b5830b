#!/usr/bin/python3
"""Failover window, side by side: kill -9 of a master of a 6-node cluster
(3 masters, 3 replicas, cluster-node-timeout 1000) while one client writes
continuously to keys of that master's slots; the window is the time from
the kill to the first write acknowledged again.  Also counts acknowledged
writes that are missing after the failover (async replication loses the
tail that had not reached the replica).

    /usr/bin/python3 tests/bench/cluster_failover.py [--kills 10]
        [--mode async|wait|durable] [--bin build-release/node/tessera-node]

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


def write_wait(nodes, key, value, timeout=0.3):
    """SET then WAIT 1 on the node that took it; acknowledged only if a
    replica has it."""
    for n in nodes:
        if not n.alive():
            continue
        target = n
        for _ in range(2):
            try:
                c = target.client(socket_timeout=timeout,
                                  socket_connect_timeout=timeout,
                                  single_connection_client=True)
                c.set(key, value)
                ok = c.execute_command("WAIT", 1, 200) >= 1
                c.close()
                return ok
            except redis.ResponseError as e:
                if not str(e).startswith("MOVED"):
                    break
                port = int(str(e).split()[2].rsplit(":", 1)[1])
                target = [x for x in nodes if x.port == port][0]
            except (redis.RedisError, OSError):
                break
    return False


def slot_owner_alive(nodes, victim):
    """A live node says slot 16383 is served by a live node."""
    live = {n.port for n in nodes if n.alive()}
    for n in nodes:
        if not n.alive():
            continue
        try:
            for r in n.client(socket_timeout=0.3).execute_command(
                    "CLUSTER", "SLOTS"):
                if r[0] <= 16383 <= r[1]:
                    return r[2][1] in live
        except (redis.RedisError, OSError):
            continue
    return False


def one_kill(kind, mode="async"):
    """(window s, acknowledged writes lost, acknowledged writes).  async:
    the window ends at the first write acknowledged after the kill.  wait
    / durable: writes are acknowledged only once a replica has them, and
    the new master has no replica left, so writing stops at the kill; the
    window ends when the slot has a live owner again."""
    extra = ["--repl-diskless-sync-delay", "0"]
    if mode == "durable":
        extra += ["--min-replicas-ack", "1"]
    write = write_wait if mode == "wait" else write_through
    nodes = [ClusterNode(kind, extra, "fo%d" % i).start() for i in range(6)]
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
        # writes flowing to the victim for a second
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            if write(nodes, "{x}%d" % seq, seq):
                acked.append(seq)
            seq += 1
        t0 = time.monotonic()
        victim.kill9()
        while True:
            if mode == "async":
                if write(nodes, "{x}%d" % seq, seq):
                    acked.append(seq)
                    break
                seq += 1
            elif slot_owner_alive(nodes, victim):
                break
            time.sleep(0.005)
            if time.monotonic() - t0 > 20:
                raise RuntimeError("no failover")
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
        return window, lost, len(acked)
    finally:
        for n in nodes:
            n.cleanup()


def main():
    ap = argparse.ArgumentParser()
    # the issue asks for 0 lost writes "over at least 10 kills"
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--mode", default="async",
                    choices=["async", "wait", "durable"],
                    help="wait: WAIT 1 after every write; durable: "
                         "min-replicas-ack 1 (tessera only)")
    args = ap.parse_args()
    if args.bin:
        os.environ["TESSERA_NODE_BIN"] = args.bin
    if args.mode != "async":
        res = [one_kill("tessera", args.mode) for _ in range(args.kills)]
        print("| tessera, %s, %d kills | median window (s) | acked writes "
              "lost (total) | acked writes |" % (args.mode, args.kills))
        print("|---|---|---|---|")
        print("| | %.2f | %d | %d |" % (statistics.median(x[0] for x in res),
                                      sum(x[1] for x in res),
                                      sum(x[2] for x in res)))
        return
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
