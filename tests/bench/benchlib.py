"""Shared plumbing for the side-by-side benchmarks in tests/bench/.

Each benchmark runs a *candidate* (tessera-node) and a *reference*
(Debian's redis-server) in the same run and reports ratios, because absolute
numbers on the 2-core CI/dev machines are noise (DESIGN.md, "Tests and
measurements"). This module holds what the scripts share:

  - Server: start a redis-server-compatible binary on a free loopback port
    (optionally under `taskset` and/or a wrapper such as valgrind), wait
    until it answers PING, notice when it dies, stop it with SIGTERM.
  - load_keys(): push SET commands through the protocol, pipelined, over one
    raw socket, checking every reply (no dependency on ECHO or redis-cli
    --pipe, so a young candidate only needs SET).
  - small helpers: free ports, medians, Markdown tables, results files.

Only the standard library is used here; scripts that need INFO parsing use
redis-py from Debian's /usr/bin/python3.
"""

import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(BENCH_DIR))
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
DEFAULT_CAND_BIN = os.path.join(REPO, "build", "node", "tessera-node")
DEFAULT_REF_BIN = "/usr/bin/redis-server"


class ServerDied(Exception):
    """A server exited (or stopped answering) while it was needed."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    """Return a loopback TCP port that was free a moment ago.

    The port is also checked with +10000 free, so a node started in cluster
    mode later would find its bus port free too.
    """
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port found")


def taskset_prefix(cpu):
    """['taskset', '-c', cpu] when pinning is possible, else []."""
    if cpu is None or cpu == "":
        return []
    if shutil.which("taskset") is None:
        log("warning: taskset not found, running unpinned")
        return []
    if int(cpu) >= os.cpu_count():
        log(f"warning: cpu {cpu} does not exist, running unpinned")
        return []
    return ["taskset", "-c", str(cpu)]


def resp_command(*args):
    """Encode one command as a RESP array of bulk strings (bytes)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def raw_command(port, *args, timeout=2.0):
    """Send one command on a fresh connection; return the first reply line.

    Enough for PING / simple-string replies; used for readiness checks so
    they do not depend on a client library's handshake.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(resp_command(*args))
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed")
            buf += chunk
        return buf.split(b"\r\n", 1)[0]


class Server:
    """One redis-server-compatible process on 127.0.0.1:<free port>.

    name:    label used in reports ("ref", "cand").
    binary:  path to the server executable.
    cpu:     CPU to pin to with taskset (None = unpinned).
    workdir: directory for the server's cwd and its log file.
    extra:   extra command-line arguments appended to the standard ones.
    wrapper: argv prefix placed between taskset and the binary (valgrind).

    The process is started directly (taskset and valgrind exec), so
    self.proc.pid is the server's pid and signals reach it.
    """

    def __init__(self, name, binary, cpu=None, workdir=".", extra=(), wrapper=()):
        self.name = name
        self.binary = binary
        self.cpu = cpu
        self.workdir = workdir
        self.extra = list(extra)
        self.wrapper = list(wrapper)
        self.port = None
        self.proc = None
        self.logpath = os.path.join(workdir, f"{name}.log")

    def argv(self):
        return (taskset_prefix(self.cpu) + self.wrapper + [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no"] + self.extra)

    def start(self, timeout=10.0):
        """Start the server and wait until it answers PING with +PONG.

        Raises ServerDied (with the log tail) when the binary is missing, exits
        or does not answer within `timeout` seconds.
        """
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise ServerDied(f"{self.name}: binary not found or not executable: {self.binary}")
        self.port = free_port()
        os.makedirs(self.workdir, exist_ok=True)
        logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(self.argv(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerDied(f"{self.name}: exited during startup (rc={self.proc.returncode})\n"
                                 + self.log_tail())
            try:
                if raw_command(self.port, "PING") == b"+PONG":
                    return self
                last_err = "unexpected PING reply"
            except OSError as e:
                last_err = str(e)
            time.sleep(0.05)
        self.kill()
        raise ServerDied(f"{self.name}: no PONG within {timeout:.0f}s ({last_err})\n" + self.log_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check(self):
        """Raise ServerDied unless the process runs and answers PING."""
        if not self.alive():
            rc = self.proc.returncode if self.proc else None
            raise ServerDied(f"{self.name}: server died (rc={rc})\n" + self.log_tail())
        try:
            reply = raw_command(self.port, "PING", timeout=10.0)
        except OSError as e:
            raise ServerDied(f"{self.name}: server does not answer PING ({e})\n" + self.log_tail())
        if reply != b"+PONG":
            raise ServerDied(f"{self.name}: PING answered {reply!r}")

    def stop(self, timeout=30.0):
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code.

        SIGTERM (not SHUTDOWN) so that a server that does not implement
        SHUTDOWN yet still exits, and so that valgrind runs its end-of-run
        dump (it does so for a clean exit and for death by SIGTERM alike).
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name}: no exit {timeout:.0f}s after SIGTERM, sending SIGKILL")
                self.kill()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def rss_bytes(self):
        """Resident set size from /proc/<pid>/status (independent of INFO)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise ServerDied(f"{self.name}: no VmRSS for pid {self.proc.pid}")

    def log_tail(self, lines=15):
        try:
            with open(self.logpath, "rb") as f:
                data = f.read().decode(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        tail = data[-lines:]
        return "\n".join(f"  | {l}" for l in tail) if tail else "  | (log empty)"


def binary_version(binary):
    """First line of `<binary> --version`, or a short error note."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=5)
        line = (out.stdout or out.stderr).strip().splitlines()
        return line[0] if line else f"(rc={out.returncode}, no output)"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(unavailable: {e})"


def git_rev():
    try:
        out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def load_keys(port, keys, batch=10000, timeout=60.0, expect=b"+OK\r\n"):
    """Send every command in `keys` (an iterable of RESP-encoded bytes
    commands whose replies are one line each, e.g. SET) over one connection,
    `batch` at a time, and check that every reply is `expect` (+OK; RPUSH
    of 10 elements: b":10\r\n"), or with expect=None only that none is an
    error (RPUSH to one list: the length grows).

    Returns the number of commands sent. Raises RuntimeError on an error reply
    and OSError/ConnectionError when the server goes away.
    """
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        chunk = []
        for cmd in keys:
            chunk.append(cmd)
            if len(chunk) == batch:
                sent += _send_batch(s, chunk, expect)
                chunk = []
        if chunk:
            sent += _send_batch(s, chunk, expect)
    return sent


def _send_batch(s, chunk, expect=b"+OK\r\n"):
    s.sendall(b"".join(chunk))
    want = len(chunk)
    buf = bytearray()
    while buf.count(b"\r\n") < want:
        data = s.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the connection during load")
        buf += data
    if expect is None:
        bad = [l for l in bytes(buf).split(b"\r\n") if l.startswith(b"-")]
        if bad:
            raise RuntimeError(f"error reply during load: {bad[:3]!r}")
        return want
    if buf != expect * want:
        bad = [l for l in bytes(buf).split(b"\r\n") if l and l != expect[:-2]]
        raise RuntimeError(f"unexpected reply during load: {bad[:3]!r}")
    return want


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_num(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.3f}"


def markdown_table(header, rows):
    """Render rows (lists of str) as a GitHub Markdown table."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def write_results(prefix, payload, out_dir=RESULTS_DIR):
    """Write payload as JSON to <out_dir>/<prefix>-<UTC timestamp>-<pid>.json; return the path."""
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(out_dir, f"{prefix}-{stamp}-{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=False)
        f.write("\n")
    return path


class BenchError(Exception):
    """A benchmark step failed while the servers still looked healthy."""


def run_guarded(payload, body, errors=(), servers=(), workdir=None, keep=False,
                kept="server logs"):
    """Run body(), the measuring part of a script, and return the exit
    status: body()'s own (None: 0), or for an exception it raises, which
    is recorded in payload["error"], 2 a server died, 1 BenchError or one
    of `errors`, 130 interrupted.  Whatever happens, `servers` are stopped
    and `workdir` removed, unless keep is set or the run failed."""
    status = 0
    try:
        status = body() or 0
    except ServerDied as e:
        payload["error"] = str(e)
        log(f"ERROR: {e}")
        status = 2
    except (BenchError,) + tuple(errors) as e:
        payload["error"] = str(e)
        log(f"ERROR: {e}")
        status = 1
    except KeyboardInterrupt:
        payload["error"] = "interrupted"
        status = 130
    finally:
        for s in servers:
            s.stop()
        if workdir:
            if keep or status != 0:
                log(f"{kept} kept in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return status


def print_binaries(payload, ref_note="", cand_note=""):
    """The ref = / cand = lines above a results table."""
    meta = payload["meta"]
    print(f"ref  = {meta['ref_bin']} ({meta['ref_version']}){ref_note}")
    print(f"cand = {meta['cand_bin']} ({meta['cand_version']}){cand_note}\n")


def finish(name, payload, out_dir, status):
    """Say if the run failed, write the JSON results; returns status."""
    if payload["error"]:
        print(f"\n{name} FAILED: {payload['error'].splitlines()[0]}")
    path = write_results(name, payload, out_dir)
    print(f"results: {path}")
    return status


def common_meta(args):
    """Metadata recorded in every results file."""
    return {
        "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "git": git_rev(),
        "argv": sys.argv,
        "cand_bin": args.cand_bin,
        "cand_version": binary_version(args.cand_bin),
        "ref_bin": args.ref_bin,
        "ref_version": binary_version(args.ref_bin),
    }


def _binary_path(s):
    """A relative path to a binary is made absolute: servers run in their
    own work directory."""
    return os.path.abspath(s) if os.sep in s else s


def arg_parser(doc):
    """The argument parser of a node benchmark: the first paragraph of its
    docstring `doc` as description, defaults shown in --help, and the
    flags of add_common_args()."""
    import argparse
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_common_args(p)
    return p


def apply_quick(p, a, **quick):
    """With --quick, each option named in `quick` that is still at its
    default in parser p takes its quick value (a value given on the
    command line wins)."""
    if not a.quick:
        return
    for name, value in quick.items():
        if getattr(a, name) == p.get_default(name):
            setattr(a, name, value)


def add_common_args(p):
    """Flags the node benchmarks accept (run_all.sh passes them on)."""
    import shlex
    p.add_argument("--cand-bin", default=DEFAULT_CAND_BIN, type=_binary_path,
                   help="candidate server binary (default: %(default)s)")
    p.add_argument("--ref-bin", default=DEFAULT_REF_BIN, type=_binary_path,
                   help="reference server binary (default: %(default)s)")
    p.add_argument("--cand-args", default="", type=shlex.split,
                   help="extra arguments for the candidate, one shell-quoted string")
    p.add_argument("--ref-args", default="", type=shlex.split,
                   help="extra arguments for the reference, one shell-quoted string")
    p.add_argument("--out-dir", default=RESULTS_DIR,
                   help="where the JSON results go (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: small counts, finishes in well under a minute")


# -- redis-benchmark runs (bench_node.py, bench_types.py) -------------------

REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"




def server_cpu_seconds(server):
    """utime + stime of the server process, in seconds (from /proc)."""
    try:
        with open(f"/proc/{server.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def redis_benchmark(server, test, pipeline, n, clients, keyspace, client_cpu,
                    timeout):
    """One `redis-benchmark -t test` run against `server`, pinned to
    client_cpu; returns the CSV rows as dicts with 'rps' as float (several
    rows when the test has a prelude, e.g. lrange_100's LPUSH), plus
    'cpu_us' on the last row: the server's CPU (user+sys) per request over
    the whole run, None when the run had more than one row.

    On 2 cores, -P 1 throughput is bound by the round trip and the
    single-threaded client, so what the server spends per request is the
    figure that tells two servers apart there.  Raises ServerDied if the
    server went away, BenchError on any other failure."""
    argv = taskset_prefix(client_cpu) + [
        REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(server.port),
        "-c", str(clients), "-r", str(keyspace), "-n", str(n),
        "-P", str(pipeline), "-t", test, "--csv"]
    import csv
    import io
    cpu0 = server_cpu_seconds(server)
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        server.check()
        raise BenchError(f"redis-benchmark {test} -P {pipeline} on {server.name} "
                         f"did not finish in {timeout:.0f}s")
    rows = [r for r in csv.DictReader(io.StringIO(out.stdout)) if r.get("test")]
    if out.returncode != 0 or not rows:
        server.check()
        raise BenchError(f"redis-benchmark {test} -P {pipeline} on {server.name} failed "
                         f"(rc={out.returncode}):\n{out.stdout}{out.stderr}")
    for row in rows:
        try:
            row["rps"] = float(row["rps"])
        except (KeyError, ValueError):
            raise BenchError(f"unparsable redis-benchmark CSV: {out.stdout!r}")
        if not row["rps"] > 0:
            server.check()
            raise BenchError(f"redis-benchmark reported {row['rps']} rps for {test} "
                             f"on {server.name}")
    cpu = (server_cpu_seconds(server) - cpu0) * 1e6 / n
    rows[-1]["cpu_us"] = cpu if len(rows) == 1 else None
    # A server may die right at the end of a run; do not record a number for it.
    server.check()
    return rows


def summarize(runs_ref, runs_cand):
    """Paired summary of interleaved runs (rows with 'rps' and 'cpu_us'):
    medians and ranges per side, and the per-round ratios cand/ref."""
    ref = [r["rps"] for r in runs_ref]
    cand = [r["rps"] for r in runs_cand]
    ratios = [c / r for c, r in zip(cand, ref)]
    ref_cpu = [r["cpu_us"] for r in runs_ref if r.get("cpu_us") is not None]
    cand_cpu = [r["cpu_us"] for r in runs_cand if r.get("cpu_us") is not None]
    ref_cpu_m, cand_cpu_m = median(ref_cpu), median(cand_cpu)
    return {
        "ref_cpu_us": ref_cpu_m, "cand_cpu_us": cand_cpu_m,
        "cpu_ratio": (cand_cpu_m / ref_cpu_m) if ref_cpu_m and cand_cpu_m is not None
        else None,
        "ref_rps": ref, "cand_rps": cand, "ratios": ratios,
        "ref_median": median(ref), "ref_min": min(ref), "ref_max": max(ref),
        "cand_median": median(cand), "cand_min": min(cand), "cand_max": max(cand),
        "ratio_median": median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
        "ratio_of_medians": median(cand) / median(ref),
    }


def fmt_cpu(s):
    """'ref / cand' server CPU µs per request of a summary, or n/a."""
    if s["ref_cpu_us"] is None or s["cand_cpu_us"] is None:
        return "n/a"
    return f"{s['ref_cpu_us']:.2f} / {s['cand_cpu_us']:.2f}"


def add_side_by_side_args(p, quick_rounds, quick_seconds):
    """The flags of the side_by_side() scripts, --tests and --keyspace aside
    (their defaults and help differ)."""
    p.add_argument("--rounds", type=int, default=5,
                   help=f"interleaved rounds per test (quick: {quick_rounds})")
    p.add_argument("--requests", type=int, default=None,
                   help="fixed -n per run; default: calibrated so a run takes --seconds")
    p.add_argument("--seconds", type=float, default=2.0,
                   help="target duration of one run when -n is calibrated "
                        f"(quick: {quick_seconds})")
    p.add_argument("--pipelines", default="1,16", help="comma-separated -P values")
    p.add_argument("--clients", type=int, default=50, help="redis-benchmark -c")
    p.add_argument("--server-cpu", default="0", help="CPU for the servers ('' = unpinned)")
    p.add_argument("--client-cpu", default="1", help="CPU for redis-benchmark ('' = unpinned)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    p.set_defaults(quick_rounds=quick_rounds, quick_seconds=quick_seconds)


def parse_side_by_side_args(p, known_tests=None):
    """p.parse_args() for the flags of add_side_by_side_args: --quick
    defaults applied, --tests and --pipelines split into lists (and checked
    against known_tests if given)."""
    a = p.parse_args()
    apply_quick(p, a, rounds=a.quick_rounds, seconds=a.quick_seconds)
    a.tests = [t.strip().lower() for t in a.tests.split(",") if t.strip()]
    a.pipelines = [int(x) for x in a.pipelines.split(",") if x.strip()]
    unknown = [t for t in a.tests if known_tests and t not in known_tests]
    if unknown:
        p.error(f"unknown tests {unknown}; known: {','.join(known_tests)}")
    if a.rounds < 1 or not a.tests or not a.pipelines:
        p.error("need at least one round, one test and one pipeline depth")
    return a


def side_by_side_config(args, **extra):
    """The "config" of a side_by_side() results file."""
    config = {"rounds": args.rounds, "requests": args.requests,
              "seconds": args.seconds, "tests": args.tests,
              "pipelines": args.pipelines, "clients": args.clients,
              "keyspace": args.keyspace}
    config.update(extra)
    config.update({"server_cpu": args.server_cpu, "client_cpu": args.client_cpu})
    return config


def rps_table(results):
    """The Markdown table of side_by_side() results."""
    def rng(lo, hi):
        return f"{fmt_num(lo)}–{fmt_num(hi)}"
    rows = []
    for r in results:
        s = r["summary"]
        rows.append([r["test_name"], str(r["pipeline"]), fmt_num(r["requests"]),
                     fmt_num(s["ref_median"]), rng(s["ref_min"], s["ref_max"]),
                     fmt_num(s["cand_median"]), rng(s["cand_min"], s["cand_max"]),
                     fmt_ratio(s["ratio_median"]),
                     f"{fmt_ratio(s['ratio_min'])}–{fmt_ratio(s['ratio_max'])}",
                     fmt_cpu(s), fmt_ratio(s["cpu_ratio"])])
    header = ["test", "P", "-n", "ref rps (median)", "ref min–max", "cand rps (median)",
              "cand min–max", "cand/ref", "ratio min–max",
              "server CPU µs/req ref / cand", "CPU cand/ref"]
    return markdown_table(header, rows)


def side_by_side(name, args, config, run_one, calibrate, table, prepare=None):
    """The driver shared by bench_node.py and bench_types.py.

    Starts the reference and the candidate pinned to args.server_cpu,
    calls prepare(servers) once, then for every test in args.tests and
    pipeline in args.pipelines: calibrates -n, runs args.rounds interleaved
    rounds (ref first on even rounds, cand first on odd ones) of
    run_one(args, server, test, pipeline, n) -> row dict with "test", and
    summarizes the ratios.  Prints the Markdown table (table(results)),
    writes the JSON results file and returns the exit status (0 ok, 1 bench
    error, 2 a server died, 130 interrupted).
    """
    import math
    import tempfile
    if not os.path.exists(REDIS_BENCHMARK):
        log("redis-benchmark not found")
        return 1
    workdir = tempfile.mkdtemp(prefix=f"tessera-{name.replace('_', '-')}-")
    servers = [Server("ref", args.ref_bin, cpu=args.server_cpu, workdir=workdir,
                      extra=args.ref_args),
               Server("cand", args.cand_bin, cpu=args.server_cpu, workdir=workdir,
                      extra=args.cand_args)]
    payload = {"benchmark": name, "meta": common_meta(args), "config": config,
               "results": [], "error": None}
    t_start = time.monotonic()

    def measure_all():
        for s in servers:
            s.start()
            log(f"started {s.name}: {s.binary} on port {s.port} (pid {s.proc.pid})")
        if prepare:
            prepare(servers)
        for test in args.tests:
            for pipeline in args.pipelines:
                n = calibrate(args, servers, test, pipeline)
                runs = {"ref": [], "cand": []}
                test_name = None
                for rnd in range(args.rounds):
                    order = servers if rnd % 2 == 0 else servers[::-1]
                    for s in order:
                        row = run_one(args, s, test, pipeline, n)
                        row["round"] = rnd
                        test_name = row["test"]
                        runs[s.name].append(row)
                summ = summarize(runs["ref"], runs["cand"])
                payload["results"].append({"test": test, "test_name": test_name,
                                           "pipeline": pipeline, "requests": n,
                                           "runs": runs, "summary": summ})
                log(f"  {test_name:<24} P={pipeline:<3} n={n:<9} "
                    f"ref={summ['ref_median']:,.0f} cand={summ['cand_median']:,.0f} "
                    f"ratio={summ['ratio_median']:.3f}")

    status = run_guarded(payload, measure_all, servers=servers, workdir=workdir,
                         keep=args.keep)
    payload["elapsed_s"] = round(time.monotonic() - t_start, 1)
    if payload["results"]:
        print(f"\n### {name}: requests/s, {args.clients} clients, -r {args.keyspace}, "
              f"{args.rounds} interleaved rounds\n")
        print_binaries(payload)
        print(table(payload["results"]))
        ratios = [r["summary"]["ratio_median"] for r in payload["results"]]
        gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        payload["geomean_ratio"] = gm
        print(f"\ngeometric mean of cand/ref median ratios: {gm:.3f}")
    return finish(name, payload, args.out_dir, status)
