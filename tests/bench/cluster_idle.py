#!/usr/bin/python3
"""Idle cluster cost, side by side: bus bytes and messages per node per
second, and CPU per node, for an idle cluster of tessera-node and of
Debian's redis-server (same size, same cluster-node-timeout, same machine).

    /usr/bin/python3 tests/bench/cluster_idle.py [--nodes 6] [--replicas 1]
        [--seconds 20] [--timeout 1000] [--bin build-release/node/tessera-node]

Bytes are what the nodes' bus sockets sent (`ss -tinp`, bytes_sent summed
over each node's sockets, client port excluded), sampled twice; messages
come from CLUSTER INFO; CPU from /proc/<pid>/stat (utime + stime).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "system"))
from cluster.clusterlib import (ClusterNode, cluster_create,  # noqa: E402
                                wait_cluster_ok)

CLK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def bus_bytes(nodes):
    """pid -> bytes sent on sockets other than the client port."""
    out = subprocess.run(["ss", "-tinpH"], capture_output=True,
                         text=True).stdout
    res = {n.proc.pid: 0 for n in nodes}
    client_ports = {n.port for n in nodes}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"pid=(\d+)", line)
        if not m or int(m.group(1)) not in res:
            continue
        local = line.split()[2] if len(line.split()) > 3 else ""
        if int(local.rsplit(":", 1)[-1] or 0) in client_ports:
            continue
        info = lines[i + 1] if i + 1 < len(lines) else ""
        b = re.search(r"bytes_sent:(\d+)", line + " " + info)
        if b:
            res[int(m.group(1))] += int(b.group(1))
    return res


def msgs(node):
    info = node.cluster_info()
    return int(info["cluster_stats_messages_sent"])


def run(kind, binary, args):
    if binary:
        os.environ["TESSERA_NODE_BIN"] = binary
    nodes = [ClusterNode(kind, [], "idle%d" % i).start()
             for i in range(args.nodes)]
    try:
        cluster_create(nodes, args.replicas)
        wait_cluster_ok(nodes)
        time.sleep(3)
        b0, c0 = bus_bytes(nodes), {n.proc.pid: cpu_ticks(n.proc.pid)
                                    for n in nodes}
        m0 = {n.proc.pid: msgs(n) for n in nodes}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        dt = time.monotonic() - t0
        b1, c1 = bus_bytes(nodes), {n.proc.pid: cpu_ticks(n.proc.pid)
                                    for n in nodes}
        m1 = {n.proc.pid: msgs(n) for n in nodes}
        pids = [n.proc.pid for n in nodes]
        bps = sum(b1[p] - b0[p] for p in pids) / len(pids) / dt
        mps = sum(m1[p] - m0[p] for p in pids) / len(pids) / dt
        cpu = sum(c1[p] - c0[p] for p in pids) / CLK / len(pids) / dt * 100
        return bps, mps, cpu
    finally:
        for n in nodes:
            n.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    rows = [("tessera", run("tessera", args.bin, args)),
            ("redis 7.0", run("redis", None, args))]
    print("| %d nodes idle, node-timeout 1000 | bus bytes/s per node | "
          "messages/s per node | CPU %% per node |" % args.nodes)
    print("|---|---|---|---|")
    for name, (bps, mps, cpu) in rows:
        print("| %s | %.0f | %.1f | %.2f |" % (name, bps, mps, cpu))


if __name__ == "__main__":
    main()
