#!/usr/bin/env python3
"""MGET through tessera-proxy in front of a 3-master Tessera cluster: the
per-node split (the default; one sub-request per master, TESSERA
MULTISLOT) against the per-slot split (`multislot no`, what a Redis
backend gets: one sub-request per slot).

bench_proxy.py cannot show this: with its single backend the proxy
forwards MGET unsplit.  Here both proxies run side by side in front of
the same cluster, rounds interleaved, and the median of each is reported
with their ratio.  Every MGET asks for --keys keys of distinct slots
spread over all masters (redis-benchmark -P 16 -c 50 by default).

    tests/bench/proxy_mget_split.py [--node-bin B] [--proxy-bin B]
        [--keys 12] [--requests 100000] [--rounds 3] [--pipeline 16]
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from benchlib import free_port, taskset_prefix  # noqa: E402


def cmd(port, *args):
    """One command on a fresh connection; the reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        return s.makefile("rb").readline()


def wait_ping(port, what):
    for _ in range(200):
        try:
            if cmd(port, "PING").startswith((b"+PONG", b"-CLUSTERDOWN")):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(what + " did not start")


def cluster_port():
    for _ in range(100):
        p = free_port()
        if p + 10000 < 65536:
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p + 10000))
                return p
            except OSError:
                pass
    raise RuntimeError("no port pair")


def start_cluster(node_bin, tmp, cpu):
    procs, ports = [], []
    for i in range(3):
        port = cluster_port()
        d = os.path.join(tmp, "n%d" % i)
        os.mkdir(d)
        procs.append(subprocess.Popen(
            taskset_prefix(cpu) + [node_bin, "--port", str(port),
                                   "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", d,
                                   "--cluster-enabled", "yes",
                                   "--cluster-bus-insecure", "yes",
                                   "--logfile", os.path.join(d, "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
        wait_ping(port, "tessera-node")
    per = 16384 // 3
    for i, port in enumerate(ports):
        hi = 16383 if i == 2 else (i + 1) * per - 1
        cmd(port, "CLUSTER", "ADDSLOTSRANGE", i * per, hi)
    for port in ports[1:]:
        cmd(ports[0], "CLUSTER", "MEET", "127.0.0.1", port)
    for _ in range(200):
        if all(b"cluster_state:ok" in raw_info(p) for p in ports):
            return procs, ports
        time.sleep(0.1)
    raise RuntimeError("cluster did not come up")


def raw_info(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"CLUSTER INFO\r\n")
        time.sleep(0.02)
        return s.recv(4096)


def start_proxy(proxy_bin, seeds, extra, cpu, threads):
    port = free_port()
    p = subprocess.Popen(
        taskset_prefix(cpu) + [proxy_bin, "--port", str(port), "--bind",
                               "127.0.0.1", "--cluster-nodes",
                               ",".join("127.0.0.1:%d" % s for s in seeds),
                               "--threads", str(threads)] + extra,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ping(port, "tessera-proxy")
    return p, port


def pick_keys(port, n):
    """n keys of distinct slots, round robin over the three masters."""
    per = 16384 // 3
    buckets = [[], [], []]
    seen = set()
    i = 0
    while sum(len(b) for b in buckets) < n * 3:
        k = "mk:%d" % i
        i += 1
        s = slot(port, k)
        if s in seen:
            continue
        seen.add(s)
        buckets[min(s // per, 2)].append(k)
    out = []
    while len(out) < n:
        for b in buckets:
            if len(out) < n and b:
                out.append(b.pop())
    return out


def slot(port, key):
    return int(cmd(port, "CLUSTER", "KEYSLOT", key)[1:])


def bench(port, keys, n, clients, pipeline, cpu):
    out = subprocess.run(
        taskset_prefix(cpu) + ["redis-benchmark", "-p", str(port), "-n",
                               str(n), "-c", str(clients), "-P",
                               str(pipeline), "-q", "--csv", "MGET"] + keys,
        capture_output=True, text=True, timeout=600).stdout
    m = re.findall(r'"([0-9.]+)"', out.splitlines()[-1])
    return float(m[0])


def mget_calls(ports):
    total = 0
    for p in ports:
        with socket.create_connection(("127.0.0.1", p), timeout=5) as s:
            s.sendall(b"INFO commandstats\r\n")
            time.sleep(0.05)
            data = s.recv(65536).decode(errors="replace")
        m = re.search(r"cmdstat_mget:calls=(\d+)", data)
        total += int(m.group(1)) if m else 0
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node-bin",
                    default=os.path.join(REPO, "build", "node",
                                         "tessera-node"))
    ap.add_argument("--proxy-bin",
                    default=os.path.join(REPO, "build", "proxy",
                                         "tessera-proxy"))
    ap.add_argument("--keys", type=int, default=12)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--proxy-threads", type=int, default=1)
    ap.add_argument("--node-cpu", default="0")
    ap.add_argument("--proxy-cpu", default="1")
    ap.add_argument("--client-cpu", default="1")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mget-split-")
    procs = []
    try:
        nodes, ports = start_cluster(a.node_bin, tmp, a.node_cpu)
        procs += nodes
        keys = pick_keys(ports[0], a.keys)
        for k in keys:
            p = next(pp for pp in ports
                     if not cmd(pp, "SET", k, "v" * 16).startswith(b"-"))
            assert p
        pnode, port_node = start_proxy(a.proxy_bin, ports, [], a.proxy_cpu,
                                       a.proxy_threads)
        pslot, port_slot = start_proxy(a.proxy_bin, ports,
                                       ["--multislot", "no"], a.proxy_cpu,
                                       a.proxy_threads)
        procs += [pnode, pslot]
        res = {"per-node": [], "per-slot": []}
        subs = {}
        for r in range(a.rounds):
            for name, port in (("per-node", port_node),
                               ("per-slot", port_slot)):
                c0 = mget_calls(ports)
                res[name].append(bench(port, keys, a.requests, a.clients,
                                       a.pipeline, a.client_cpu))
                subs[name] = (mget_calls(ports) - c0) / a.requests
                print("round %d %-8s %10.0f MGET/s  (%.1f node MGETs per "
                      "MGET)" % (r + 1, name, res[name][-1], subs[name]),
                      flush=True)
        med = {k: statistics.median(v) for k, v in res.items()}
        print("\n| split | MGET/s (median of %d) | node MGETs per MGET |"
              % a.rounds)
        print("|---|---|---|")
        for k in ("per-node", "per-slot"):
            print("| %s | %.0f | %.1f |" % (k, med[k], subs[k]))
        print("\nper-node / per-slot: %.2fx  (%d keys over 3 masters, "
              "-c %d -P %d)" % (med["per-node"] / med["per-slot"], a.keys,
                                a.clients, a.pipeline))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
