#!/usr/bin/python3
"""tessera-proxy vs nutcracker (twemproxy) vs direct, one backend.

One redis-server (Debian's) is the backend.  In front of it, side by side
in the same run:

  direct      redis-benchmark talks to the backend itself
  tessera     tessera-proxy --cluster-nodes <backend> (the backend is not a
              cluster node, so the proxy runs in single-backend mode)
  nutcracker  Debian's nutcracker, one pool with `redis: true` and the
              backend as its only server

redis-benchmark (50 clients) runs SET, GET and MGET of 10 random keys at
-P 1 and -P 16 against each target; rounds are interleaved (the order
rotates every round) so machine load drifts hit all targets alike.  Both
proxies get one thread (nutcracker has only one).  Reported: median
requests/s per target, ratio tessera/nutcracker (the issue's targets:
>= 1.0x at -P 1, >= 1.5x at -P 16), added p50 latency (proxy p50 - direct
p50, from redis-benchmark's CSV), and each proxy's CPU time per request
(from /proc/<pid>/schedstat; a spinning tessera-proxy counts its spin).

Two CPUs hold three processes, so the run is repeated in two layouts
(--layouts):

  own-cpu     the proxy alone on CPU 1; backend and client share CPU 0.
              How a proxy is deployed, but the shared CPU caps every
              target at what "direct" reaches there, so a proxy can never
              beat nutcracker by more than direct/nutcracker.
  shared-cpu  the client alone on CPU 0; proxy and backend share CPU 1.
              The client no longer caps anything: the proxy's own cost
              (and how well it batches onto the backend) sets the rate.

--backend-cpu/--proxy-cpu/--client-cpu together give a custom layout.

Then callgrind: user-space instructions per forwarded command (GET, and
with --callgrind-tests also SET and MGET of 10 keys), for each proxy, from
two runs that forward N1 and N2 commands (redis-benchmark -c 1 -P 1):
(I(N2) - I(N1)) / (N2 - N1).  Start-up, connection set-up and shutdown
cancel out; both proxies' 100 ms timers do not, but they cost a few
thousand instructions a second, i.e. well under 1% of the figure here.

Absolute numbers on a loaded 2-core machine are noise; quote ratios.
JSON goes to tests/bench/results/bench_proxy-*.json.
"""

import argparse
import csv
import io
import os
import shutil
import subprocess
import shlex
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
NUTCRACKER = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
DEFAULT_PROXY_BIN = os.path.join(bl.REPO, "build", "proxy", "tessera-proxy")
KEYSPACE = 100000
MGET_ARGS = ["MGET"] + ["key:__rand_int__"] * 10
LAYOUTS = {
    "own-cpu": {"backend": "0", "proxy": "1", "client": "0"},
    "shared-cpu": {"backend": "1", "proxy": "1", "client": "0"},
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--proxy-bin", default=DEFAULT_PROXY_BIN)
    p.add_argument("--backend-bin", default=bl.DEFAULT_REF_BIN)
    p.add_argument("--nutcracker-bin", default=NUTCRACKER)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--requests", type=int, default=200000,
                   help="requests per redis-benchmark run")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--proxy-threads", type=int, default=1)
    p.add_argument("--proxy-args", default="",
                   help="extra tessera-proxy arguments, one shell-quoted string")
    p.add_argument("--layouts", default="own-cpu,shared-cpu",
                   help="CPU layouts to run: " + ", ".join(LAYOUTS))
    p.add_argument("--backend-cpu", help="custom layout: backend's CPU")
    p.add_argument("--proxy-cpu", help="custom layout: the proxies' CPU")
    p.add_argument("--client-cpu", help="custom layout: client's CPU")
    p.add_argument("--tests", default="set,get,mget")
    p.add_argument("--pipelines", default="1,16")
    p.add_argument("--callgrind-n", default="2000,12000",
                   help="N1,N2 forwarded commands for the callgrind runs")
    p.add_argument("--callgrind-tests", default="get",
                   help="commands measured under callgrind (get,set,mget)")
    p.add_argument("--no-callgrind", action="store_true")
    p.add_argument("--out-dir", default=bl.RESULTS_DIR)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 round, 20k requests, small callgrind runs")
    a = p.parse_args()
    a.proxy_bin = os.path.abspath(a.proxy_bin)
    a.backend_bin = os.path.abspath(a.backend_bin)
    if a.quick:
        a.rounds, a.requests, a.callgrind_n = 1, 20000, "500,2500"
    custom = (a.backend_cpu, a.proxy_cpu, a.client_cpu)
    if any(x is not None for x in custom):
        if any(x is None for x in custom):
            p.error("a custom layout needs --backend-cpu, --proxy-cpu and "
                    "--client-cpu")
        a.layouts = {"custom": dict(zip(("backend", "proxy", "client"),
                                        custom))}
    else:
        names = a.layouts.split(",")
        for n in names:
            if n not in LAYOUTS:
                p.error("unknown layout %r" % n)
        a.layouts = {n: LAYOUTS[n] for n in names}
    return a


# ---- the two proxies -------------------------------------------------------

class Proc:
    """A proxy process on a free port, pinned, optionally under a wrapper."""

    def __init__(self, name, argv_fn, cpu, workdir, wrapper=()):
        self.name, self.argv_fn, self.cpu = name, argv_fn, cpu
        self.workdir, self.wrapper = workdir, list(wrapper)
        self.port = self.proc = None

    def start(self, timeout=30.0):
        self.port = bl.free_port()
        argv = bl.taskset_prefix(self.cpu) + self.wrapper + self.argv_fn(self)
        self.log = open(os.path.join(self.workdir, self.name + ".out"), "wb")
        self.proc = subprocess.Popen(argv, cwd=self.workdir,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise bl.ServerDied("%s exited (rc=%s)" % (self.name,
                                                           self.proc.returncode))
            try:
                if bl.raw_command(self.port, "GET", "warmup") in (b"$-1", b"$1"):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise bl.ServerDied("%s did not answer within %.0fs" % (self.name, timeout))

    def stop(self, timeout=60.0):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def tessera_argv(args, backend_port):
    def fn(p):
        return [args.proxy_bin, "--port", str(p.port), "--bind", "127.0.0.1",
                "--cluster-nodes", "127.0.0.1:%d" % backend_port,
                "--threads", str(args.proxy_threads), "--loglevel", "warning"
                ] + shlex.split(args.proxy_args)
    return fn


def nutcracker_argv(args, backend_port, workdir):
    def fn(p):
        conf = os.path.join(workdir, "nutcracker-%d.yml" % p.port)
        with open(conf, "w") as f:
            f.write("bench:\n"
                    "  listen: 127.0.0.1:%d\n"
                    "  hash: fnv1a_64\n"
                    "  distribution: ketama\n"
                    "  redis: true\n"
                    "  preconnect: true\n"
                    "  auto_eject_hosts: false\n"
                    "  servers:\n"
                    "   - 127.0.0.1:%d:1\n" % (p.port, backend_port))
        return [args.nutcracker_bin, "-c", conf, "-s", str(bl.free_port()),
                "-a", "127.0.0.1", "-v", "0",
                "-o", os.path.join(workdir, "nutcracker.log"),
                "-p", os.path.join(workdir, "nutcracker-%d.pid" % p.port)]
    return fn


def cpu_ns(pid):
    """CPU time a process has used so far (all threads), in ns: the sum of
    its threads' /proc schedstat (exact), else utime + stime from
    /proc/<pid>/stat (in clock ticks)."""
    total, found = 0, False
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
                found = True
        except OSError:
            pass            # a thread that just ended, or no schedstat
    if found:
        return total
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000000000 // os.sysconf("SC_CLK_TCK")


# ---- redis-benchmark ------------------------------------------------------

def bench(port, test, pipeline, n, clients, cpu, timeout=600):
    argv = bl.taskset_prefix(cpu) + [
        REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-c",
        str(clients), "-n", str(n), "-r", str(KEYSPACE), "-P", str(pipeline),
        "--csv"]
    argv += MGET_ARGS if test == "mget" else ["-t", test]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    rows = [r for r in csv.DictReader(io.StringIO(out.stdout)) if r.get("test")]
    if out.returncode != 0 or not rows:
        raise bl.BenchError("redis-benchmark %s -P %d on port %d failed: %s%s"
                            % (test, pipeline, port, out.stdout, out.stderr))
    if "ERR" in out.stdout or "ERR" in out.stderr:
        raise bl.BenchError("error replies during %s: %s" % (test, out.stderr))
    r = rows[-1]
    return {"rps": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"])}


def throughput(args, layout, targets, pids):
    """targets: {name: port}; pids: {name: pid} of the proxies."""
    tests = args.tests.split(",")
    pipes = [int(x) for x in args.pipelines.split(",")]
    runs = {(t, pl, name): [] for t in tests for pl in pipes for name in targets}
    names = list(targets)
    for rnd in range(args.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for t in tests:
            for pl in pipes:
                for name in order:
                    pid = pids.get(name)
                    c0 = cpu_ns(pid) if pid else 0
                    r = bench(targets[name], t, pl, args.requests,
                              args.clients, layout["client"])
                    if pid:
                        r["proxy_cpu_us"] = (cpu_ns(pid) - c0) / 1000.0 / args.requests
                    runs[(t, pl, name)].append(r)
                    bl.log("round %d %-5s -P %-2d %-10s %10.0f rps  p50 %.3f ms%s"
                           % (rnd + 1, t, pl, name, r["rps"], r["p50_ms"],
                              "  proxy %.2f us/req" % r["proxy_cpu_us"]
                              if pid else ""))
    summary = []
    for t in tests:
        for pl in pipes:
            med = {n: bl.median([r["rps"] for r in runs[(t, pl, n)]])
                   for n in names}
            lo = {n: min(r["rps"] for r in runs[(t, pl, n)]) for n in names}
            hi = {n: max(r["rps"] for r in runs[(t, pl, n)]) for n in names}
            p50 = {n: bl.median([r["p50_ms"] for r in runs[(t, pl, n)]])
                   for n in names}
            cpu = {n: bl.median([r["proxy_cpu_us"] for r in runs[(t, pl, n)]])
                   for n in pids}
            # per-round ratios: the rounds interleave, so round i of each
            # target ran under the same conditions
            per_round = [a["rps"] / b["rps"] for a, b in
                         zip(runs[(t, pl, "tessera")], runs[(t, pl, "nutcracker")])]
            summary.append({
                "test": t, "pipeline": pl,
                "rps": med, "rps_min": lo, "rps_max": hi, "p50_ms": p50,
                "proxy_cpu_us_per_req": cpu,
                "ratio_tessera_nutcracker": med["tessera"] / med["nutcracker"],
                "ratio_per_round": per_round,
                "ratio_tessera_direct": med["tessera"] / med["direct"],
                "added_p50_ms": {n: p50[n] - p50["direct"]
                                 for n in ("tessera", "nutcracker")},
            })
    return runs, summary


# ---- callgrind ----------------------------------------------------------------

def read_totals(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise bl.BenchError("no totals in " + path)


def callgrind_once(args, name, argv_fn, test, n, workdir):
    out = os.path.join(workdir, "cg-%s-%s-%d.out" % (name, test, n))
    wrapper = [VALGRIND, "--tool=callgrind", "--callgrind-out-file=" + out]
    p = Proc(name + "-cg", argv_fn, "1", workdir, wrapper)
    p.start(timeout=60)
    try:
        subprocess.run(bl.taskset_prefix("0") + [
            REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(p.port), "-c", "1",
            "-n", str(n), "-P", "1", "-r", str(KEYSPACE), "-q"] +
            (MGET_ARGS if test == "mget" else ["-t", test]),
            capture_output=True, timeout=600, check=True)
    finally:
        p.stop()
    return read_totals(out)


def callgrind(args, argv_fns, workdir):
    """{test: {proxy: instructions per command, "ratio_tessera_nutcracker"}}"""
    n1, n2 = (int(x) for x in args.callgrind_n.split(","))
    out = {}
    for test in args.callgrind_tests.split(","):
        res = out[test] = {}
        for name, argv_fn in argv_fns.items():
            # no busy polling under callgrind: it would count waiting as work
            fn = ((lambda p, f=argv_fn: f(p)[:1] + ["--busy-poll-us", "0"] + f(p)[1:])
                  if name == "tessera" else argv_fn)
            i1 = callgrind_once(args, name, fn, test, n1, workdir)
            i2 = callgrind_once(args, name, fn, test, n2, workdir)
            res[name] = (i2 - i1) / (n2 - n1)
            bl.log("callgrind %-4s %-10s I(%d)=%d I(%d)=%d -> %.0f instr/cmd"
                   % (test, name, n1, i1, n2, i2, res[name]))
        res["ratio_tessera_nutcracker"] = res["tessera"] / res["nutcracker"]
    return out


def run_layout(args, name, layout, workdir):
    backend = bl.Server("backend", args.backend_bin, cpu=layout["backend"],
                        workdir=workdir)
    procs = []
    try:
        backend.start()
        # every key the GETs and MGETs can ask for exists
        bl.load_keys(backend.port, (bl.resp_command("SET", "key:%012d" % i, "x" * 3)
                                    for i in range(KEYSPACE)))
        fns = {"tessera": tessera_argv(args, backend.port),
               "nutcracker": nutcracker_argv(args, backend.port, workdir)}
        targets, pids = {"direct": backend.port}, {}
        for pname, fn in fns.items():
            p = Proc(pname, fn, layout["proxy"], workdir).start()
            procs.append(p)
            targets[pname], pids[pname] = p.port, p.proc.pid
        bl.log("layout %s: backend on CPU %s, proxies on CPU %s, client on "
               "CPU %s" % (name, layout["backend"], layout["proxy"],
                           layout["client"]))
        return throughput(args, layout, targets, pids)
    finally:
        for p in procs:
            p.stop()
        backend.stop()


def main():
    args = parse_args()
    for b in (args.proxy_bin, args.backend_bin, args.nutcracker_bin,
              REDIS_BENCHMARK):
        if not os.access(b, os.X_OK):
            bl.log("missing binary: " + b)
            return 1
    workdir = tempfile.mkdtemp(prefix="bench-proxy-")
    results = {}
    for name, layout in args.layouts.items():
        results[name] = run_layout(args, name, layout, workdir)
    cg = None
    if not args.no_callgrind:
        backend = bl.Server("backend", args.backend_bin, cpu="0",
                            workdir=workdir)
        try:
            backend.start()
            bl.load_keys(backend.port, (bl.resp_command("SET", "key:%012d" % i, "x" * 3)
                                        for i in range(KEYSPACE)))
            cg = callgrind(args, {"tessera": tessera_argv(args, backend.port),
                                  "nutcracker": nutcracker_argv(args, backend.port, workdir)},
                           workdir)
        finally:
            backend.stop()

    for name, (runs, summary) in results.items():
        layout = args.layouts[name]
        rows = []
        for s in summary:
            rows.append([s["test"], str(s["pipeline"]),
                         bl.fmt_num(s["rps"]["direct"]),
                         bl.fmt_num(s["rps"]["tessera"]),
                         bl.fmt_num(s["rps"]["nutcracker"]),
                         "%s (%.3f-%.3f)" % (bl.fmt_ratio(s["ratio_tessera_nutcracker"]),
                                             min(s["ratio_per_round"]),
                                             max(s["ratio_per_round"])),
                         "%.3f / %.3f" % (s["added_p50_ms"]["tessera"],
                                          s["added_p50_ms"]["nutcracker"]),
                         "%.2f / %.2f" % (s["proxy_cpu_us_per_req"]["tessera"],
                                          s["proxy_cpu_us_per_req"]["nutcracker"])])
        print("layout %s (backend CPU %s, proxies CPU %s, client CPU %s):"
              % (name, layout["backend"], layout["proxy"], layout["client"]))
        print(bl.markdown_table(
            ["test", "-P", "direct rps", "tessera rps", "nutcracker rps",
             "tessera/nutcracker (per-round range)",
             "added p50 ms (tessera / nutcracker)",
             "proxy CPU us/req (tessera / nutcracker)"], rows))
        print()
    if cg:
        print(bl.markdown_table(
            ["command", "tessera-proxy instr/cmd", "nutcracker instr/cmd",
             "tessera/nutcracker"],
            [[t.upper(), bl.fmt_num(r["tessera"]), bl.fmt_num(r["nutcracker"]),
              bl.fmt_ratio(r["ratio_tessera_nutcracker"])]
             for t, r in cg.items()]))
    meta = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "argv": sys.argv, "cpus": os.cpu_count(), "git": bl.git_rev(),
            "proxy_version": bl.binary_version(args.proxy_bin),
            "backend_version": bl.binary_version(args.backend_bin)}
    path = bl.write_results("bench_proxy", {
        "meta": meta, "callgrind": cg,
        "layouts": {name: {"cpus": args.layouts[name], "summary": summary,
                           "runs": {"%s|%d|%s" % k: v for k, v in runs.items()}}
                    for name, (runs, summary) in results.items()}},
        args.out_dir)
    bl.log("results: " + path)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
