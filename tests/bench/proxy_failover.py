#!/usr/bin/python3
"""Time from a promotion to tessera-proxy routing to the new master, with a
Tessera cluster (issue 6: target < 100 ms).

Each kill builds a fresh 3 masters + 3 replicas Tessera cluster
(cluster-node-timeout 1000) and a proxy in front of it, with one client
writing continuously through the proxy to a key of the victim's slots;
then kill -9 of that master, and three watchers at ~1 ms:

    promoted   the replica answers ROLE with "master"
    map        the proxy's PROXY topology names the replica as the owner
    write      the first write through the proxy acknowledged after the
               promotion (the writer's request parked during the failover
               and replayed, or a new one)

Modes: "bus" (the proxy observes the cluster bus: cluster-secret set) and
"poll" (bus-observer no: the proxy learns by polling, as with Redis; while
requests are held it asks every 100 ms).  Runs the modes alternately and
prints medians and ranges, in ms after the promotion.

    /usr/bin/python3 tests/bench/proxy_failover.py [--kills 5]
        [--modes bus,poll]

Binaries: $TESSERA_NODE_BIN / $TESSERA_PROXY_BIN, else build/.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "system"))
from proxy.proxy_cluster import SECRET, Proxy  # noqa: E402
from proxy.test_proxy_failover import ReplicatedCluster  # noqa: E402


def owner_in_map(pc, slot):
    text = pc.execute_command("PROXY").decode()
    for line in text.splitlines():
        if line.startswith("master") and ",slots=" in line:
            addr, ranges = line.split("addr=", 1)[1].split(",slots=")
            for r in ranges.split(",")[0].split():
                lo, hi = r.split("-")
                if int(lo) <= slot <= int(hi):
                    return addr
    return None


def one_kill(mode):
    tmp = tempfile.mkdtemp(prefix="tessera-bench-pf-")
    rc = ReplicatedCluster(tmp, kind="tessera")
    extra = ["--failover-wait", "10000"]
    if mode == "bus":
        extra += ["--cluster-secret", SECRET]
    else:
        extra += ["--bus-observer", "no"]
    proxy = Proxy(tmp, [n.addr for n in rc.masters], extra)
    try:
        victim = rc.masters[0]
        heir = rc.replica_of(victim)
        pc = proxy.client()
        if mode == "bus":
            deadline = time.monotonic() + 10
            while "bus_links_up:6" not in pc.execute_command(
                    "PROXY").decode():
                if time.monotonic() > deadline:
                    raise RuntimeError("bus links did not come up")
                time.sleep(0.05)
        key = next("pf:%d" % i for i in range(100000)
                   if victim.client().execute_command(
                       "CLUSTER", "KEYSLOT", "pf:%d" % i) <= 5460)
        slot = victim.client().execute_command("CLUSTER", "KEYSLOT", key)
        assert owner_in_map(pc, slot) == victim.addr
        t = {}
        stop = threading.Event()
        errors = []

        def writer():
            c = proxy.client(socket_timeout=30)
            i = 0
            while not stop.is_set():
                try:
                    c.set(key, i)
                    now = time.monotonic()
                    if "promoted" in t and "write" not in t:
                        t["write"] = now
                except redis.RedisError as e:
                    errors.append(repr(e))
                i += 1

        def watch_role():
            hc = heir.client()
            while not stop.is_set():
                if hc.execute_command("ROLE")[0] == b"master":
                    t["promoted"] = time.monotonic()
                    return
                time.sleep(0.001)

        def watch_map():
            c = proxy.client()
            while not stop.is_set():
                if owner_in_map(c, slot) == heir.addr:
                    t["map"] = time.monotonic()
                    return
                time.sleep(0.001)

        threads = [threading.Thread(target=f, daemon=True)
                   for f in (writer, watch_role, watch_map)]
        threads[0].start()
        time.sleep(0.3)
        t["kill"] = time.monotonic()
        victim.proc.kill()
        victim.proc.wait()
        for th in threads[1:]:
            th.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                "write" in t and "map" in t and "promoted" in t):
            time.sleep(0.01)
        stop.set()
        for th in threads:
            th.join(30)
        if not all(k in t for k in ("promoted", "map", "write")):
            raise RuntimeError("incomplete: %s" % sorted(t))
        return {"kill_to_promoted": (t["promoted"] - t["kill"]) * 1000,
                "map": (t["map"] - t["promoted"]) * 1000,
                "write": (t["write"] - t["promoted"]) * 1000,
                "errors": len(errors)}
    finally:
        proxy.stop()
        rc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def span(xs):
    return "%.1f (%.1f - %.1f)" % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--modes", default="bus,poll")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    res = {m: [] for m in modes}
    for i in range(args.kills):
        for m in modes:
            r = one_kill(m)
            res[m].append(r)
            print("kill %d %-4s: promoted %.0f ms after kill; map +%.1f ms, "
                  "first write +%.1f ms after promotion; %d client errors" %
                  (i + 1, m, r["kill_to_promoted"], r["map"], r["write"],
                   r["errors"]), flush=True)
    print("\n| mode | kills | promotion -> proxy map (ms) | promotion -> "
          "first write through the proxy (ms) | client errors |")
    print("|---|---|---|---|---|")
    for m in modes:
        rs = res[m]
        print("| %s | %d | %s | %s | %d |" % (
            m, len(rs), span([r["map"] for r in rs]),
            span([r["write"] for r in rs]), sum(r["errors"] for r in rs)))


if __name__ == "__main__":
    main()
