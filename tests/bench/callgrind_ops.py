#!/usr/bin/python3
"""Instructions per command, candidate vs reference, under callgrind.

Wall-clock throughput on a shared 2-core machine is noisy; instruction counts
are not. For each server and each command this script starts the server
under `valgrind --tool=callgrind --collect-atstart=yes` twice: once to serve
N1 commands and once N2 commands, sent by `redis-benchmark -c 1 -P 1` (one
connection, one command per round trip, so the count includes the read and
write syscall path and the event loop, not only the command handler). The
server is then stopped with SIGTERM; valgrind writes callgrind.out.<pid> on
exit, whether the server exits cleanly or dies of the signal, and the
"totals:" line of that file is the run's instruction count I.

    instructions per command = (I(N2) - I(N1) - r * (T(N2) - T(N1))) / (N2 - N1)

The difference cancels everything that does not scale with N: valgrind and
server start-up, the benchmark's connection set-up and CONFIG GET probes,
shutdown. What does not cancel is work driven by the clock rather than by
commands: the server's periodic timer (Redis's serverCron refreshes jemalloc
statistics 10 times a second, about 1.15M instructions/s under valgrind),
which the longer run pays for longer, and which a server that is slower
under valgrind would pay more of. So each server is first run idle for two
lengths of time to measure its idle rate r (instructions per second), and
r times the difference in serving time T (from the first PONG to SIGTERM)
is subtracted. Uncorrected figures are in the JSON ("per_command_raw";
--no-idle-correction prints them).

GET reads one existing key (set before the run); SET overwrites one key;
other redis-benchmark test names (incr, lpush, ...) work as they do in
redis-benchmark without -r (a single key).

Prints a Markdown table; JSON goes to tests/bench/results/.
Exit status: 0 ok, 1 tooling failure, 2 a server failed to start or died.
"""

import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"


BenchError = bl.BenchError


def parse_args():
    p = bl.arg_parser(__doc__)
    p.add_argument("--commands", default="get,set",
                   help="comma-separated redis-benchmark test names")
    p.add_argument("--n1", type=int, default=2000, help="commands in the short run (quick: 500)")
    p.add_argument("--n2", type=int, default=20000, help="commands in the long run (quick: 3000)")
    p.add_argument("--repeats", type=int, default=3,
                   help="(N1, N2) pairs per server and command; the median is reported (quick: 1)")
    p.add_argument("--idle-seconds", type=float, default=4.0,
                   help="length difference of the two idle runs that measure the timer's "
                        "instructions per second (quick: 2)")
    p.add_argument("--no-idle-correction", action="store_true",
                   help="do not subtract the idle (timer) instructions")
    p.add_argument("--valgrind-args", default="", type=shlex.split,
                   help="extra valgrind options, one shell-quoted string")
    p.add_argument("--server-cpu", default="0", help="CPU for the server ('' = unpinned)")
    p.add_argument("--client-cpu", default="1", help="CPU for redis-benchmark ('' = unpinned)")
    p.add_argument("--keep", action="store_true", help="keep callgrind.out files and logs")
    a = p.parse_args()
    bl.apply_quick(p, a, n1=500, n2=3000, repeats=1, idle_seconds=2.0)
    a.commands = [c.strip().lower() for c in a.commands.split(",") if c.strip()]
    if not 0 < a.n1 < a.n2:
        p.error("need 0 < --n1 < --n2")
    if not a.commands or a.repeats < 1:
        p.error("need at least one command and one repeat")
    return a


def read_totals(path):
    """Total instruction count from a callgrind output file.

    'totals:' is written at the end of a complete dump; 'summary:' by older
    valgrinds. Only the first event (Ir with the default options) is used.
    """
    totals = summary = None
    with open(path) as f:
        for line in f:
            if line.startswith("totals:"):
                totals = int(line.split()[1])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
    value = totals if totals is not None else summary
    if value is None:
        raise BenchError(f"no totals:/summary: line in {path} (incomplete dump?)")
    return value


def measure(args, role, binary, extra, workdir, command=None, n=0, idle=0.0):
    """Run `binary` under callgrind, send `n` `command`s (or, with command
    None, leave it idle for `idle` seconds), stop it.

    Returns (Ir, T, exit code): T is the wall-clock time between the server
    answering PING and the SIGTERM, the window in which time-driven work (the
    server's periodic timer) accrues.
    """
    rundir = tempfile.mkdtemp(prefix=f"{role}-{command or 'idle'}-{n}-", dir=workdir)
    out_pattern = os.path.join(rundir, "callgrind.out.%p")
    wrapper = [VALGRIND, "--tool=callgrind", "--collect-atstart=yes",
               f"--callgrind-out-file={out_pattern}"] + args.valgrind_args
    srv = bl.Server(role, binary, cpu=args.server_cpu, workdir=rundir, extra=extra,
                    wrapper=wrapper)
    srv.start(timeout=120.0)
    t_ready = time.monotonic()
    try:
        if command is None:
            time.sleep(idle)
        else:
            send_commands(args, srv, command, n)
        srv.check()
    except BaseException:
        srv.kill()
        raise
    t_term = time.monotonic()
    pid = srv.proc.pid
    rc = srv.stop(timeout=120.0)
    path = os.path.join(rundir, f"callgrind.out.{pid}")
    if not os.path.exists(path):
        found = glob.glob(os.path.join(rundir, "callgrind.out.*"))
        raise BenchError(f"{role}: callgrind wrote no {path} (rc={rc}, found {found})\n"
                         + srv.log_tail())
    return read_totals(path), t_term - t_ready, rc


def send_commands(args, srv, command, n):
    """n x `command` over one connection, one per round trip."""
    if command == "get":
        # redis-benchmark without -r uses the literal key below.
        reply = bl.raw_command(srv.port, "SET", "key:__rand_int__", "xxx", timeout=30.0)
        if reply != b"+OK":
            raise BenchError(f"{srv.name}: SET before GET answered {reply!r}")
    argv = bl.taskset_prefix(args.client_cpu) + [
        REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(srv.port),
        "-c", "1", "-P", "1", "-n", str(n), "-t", command, "--csv"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        srv.check()
        raise BenchError(f"{srv.name}: redis-benchmark -t {command} -n {n} timed out")
    if out.returncode != 0 or "\n" not in out.stdout.strip():
        srv.check()
        raise BenchError(f"{srv.name}: redis-benchmark -t {command} -n {n} failed "
                         f"(rc={out.returncode}):\n{out.stdout}{out.stderr}")


def idle_rate(args, role, binary, extra, workdir):
    """Instructions per second the server spends while idle (timer work),
    from two idle runs 0.5 s and 0.5 s + --idle-seconds long."""
    ia, ta, _ = measure(args, role, binary, extra, workdir, idle=0.5)
    ib, tb, _ = measure(args, role, binary, extra, workdir, idle=0.5 + args.idle_seconds)
    rate = max(0.0, (ib - ia) / (tb - ta))
    bl.log(f"  idle   {role:<4} I({ta:.1f}s)={ia:,} I({tb:.1f}s)={ib:,} -> {rate:,.0f} instr/s")
    return {"I_short": ia, "T_short": ta, "I_long": ib, "T_long": tb, "instr_per_s": rate}


def main():
    args = parse_args()
    for tool in (REDIS_BENCHMARK, VALGRIND):
        if not os.path.exists(tool):
            bl.log(f"{tool} not found")
            return 1
    workdir = tempfile.mkdtemp(prefix="tessera-bench-callgrind-")
    # No busy polling under callgrind: valgrind runs the server on one
    # thread at a fraction of its speed, so a spin between requests would
    # count waiting as work (the candidate's own arguments may still set it).
    servers = [("ref", args.ref_bin, args.ref_args),
               ("cand", args.cand_bin, ["--busy-poll-us", "0"] + list(args.cand_args))]
    payload = {"benchmark": "callgrind_ops", "meta": bl.common_meta(args),
               "config": {"commands": args.commands, "n1": args.n1, "n2": args.n2,
                          "repeats": args.repeats, "idle_seconds": args.idle_seconds,
                          "idle_correction": not args.no_idle_correction,
                          "valgrind_args": args.valgrind_args,
                          "valgrind": bl.binary_version(VALGRIND)},
               "idle": {}, "results": [], "error": None}
    t_start = time.monotonic()

    def measure_all():
        rates = {}
        for role, binary, extra in servers:
            if args.no_idle_correction:
                rates[role] = 0.0
            else:
                payload["idle"][role] = idle_rate(args, role, binary, extra, workdir)
                rates[role] = payload["idle"][role]["instr_per_s"]
        dn = args.n2 - args.n1
        for command in args.commands:
            entry = {"command": command}
            for role, binary, extra in servers:
                pairs = []
                for rep in range(args.repeats):
                    i1, t1, rc1 = measure(args, role, binary, extra, workdir, command, args.n1)
                    i2, t2, rc2 = measure(args, role, binary, extra, workdir, command, args.n2)
                    raw = (i2 - i1) / dn
                    per = (i2 - i1 - rates[role] * (t2 - t1)) / dn
                    pairs.append({"I1": i1, "T1": t1, "I2": i2, "T2": t2,
                                  "per_command_raw": raw, "per_command": per,
                                  "exit_codes": [rc1, rc2]})
                    bl.log(f"  {command:<6} {role:<4} I({args.n1})={i1:,} I({args.n2})={i2:,} "
                           f"dT={t2 - t1:.1f}s -> {raw:,.0f} raw, {per:,.0f} instr/cmd")
                pers = [p["per_command"] for p in pairs]
                entry[role] = {"runs": pairs, "per_command": bl.median(pers),
                               "min": min(pers), "max": max(pers),
                               "per_command_raw": bl.median([p["per_command_raw"] for p in pairs])}
            entry["ratio"] = entry["cand"]["per_command"] / entry["ref"]["per_command"]
            payload["results"].append(entry)

    status = bl.run_guarded(payload, measure_all, errors=(OSError,), workdir=workdir,
                            keep=args.keep, kept="callgrind files and logs")
    payload["elapsed_s"] = round(time.monotonic() - t_start, 1)
    if payload["results"]:
        print(f"\n### callgrind_ops: instructions per command "
              f"(redis-benchmark -c 1 -P 1, N1={args.n1}, N2={args.n2}"
              f"{', median of %d' % args.repeats if args.repeats > 1 else ''})\n")
        bl.print_binaries(payload)
        rows = []
        for e in payload["results"]:
            ref, cand = e["ref"], e["cand"]
            rows.append([e["command"].upper(),
                         bl.fmt_num(ref["per_command"]),
                         f"{bl.fmt_num(ref['min'])}–{bl.fmt_num(ref['max'])}",
                         bl.fmt_num(cand["per_command"]),
                         f"{bl.fmt_num(cand['min'])}–{bl.fmt_num(cand['max'])}",
                         bl.fmt_ratio(e["ratio"])])
        print(bl.markdown_table(["command", "ref instr/cmd", "ref min–max", "cand instr/cmd",
                                 "cand min–max", "cand/ref"], rows))
        if args.no_idle_correction:
            print("\ninstr/cmd = (I(N2) - I(N1)) / (N2 - N1), no idle correction")
        else:
            print("\ninstr/cmd = (I(N2) - I(N1) - idle_rate * (T(N2) - T(N1))) / (N2 - N1); "
                  "idle_rate (timer work under valgrind): "
                  + ", ".join(f"{r} {bl.fmt_num(payload['idle'][r]['instr_per_s'])}/s"
                              for r in ("ref", "cand")))
    return bl.finish("callgrind_ops", payload, args.out_dir, status)


if __name__ == "__main__":
    sys.exit(main())
