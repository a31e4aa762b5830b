#!/usr/bin/python3
"""Eviction under write pressure, candidate vs reference.

Two phases per server, each on a fresh server started with
`--maxmemory <M> --maxmemory-policy allkeys-lru` (M = --maxmemory-mb, 100),
one server at a time:

overshoot   --total-mb (300) of SET key:N <--value-size (300) bytes> sent
            pipelined (--batch commands per write, every reply checked) over
            one connection, while a poller thread reads INFO memory every
            --poll-ms.  Reported: the highest used_memory the poller saw
            and INFO's used_memory_peak, both as % over maxmemory, the
            final used_memory, evicted_keys, DBSIZE (how many keys fit) and
            the load time.  Note that INFO is a command: both servers evict
            before answering it, so the poller sees what eviction could not
            catch up with (the time limit of maxmemory-eviction-tenacity),
            which is what a monitoring system would see too.

hot set     H = 10% of the keys that fit (DBSIZE at the end of the first
            phase, per server) hot keys are written first; then the same
            --total-mb of new keys is written while a reader process GETs
            the hot keys round-robin in pipelines of 100 and writes back any
            missing one (as a cache client would).  Hit rate = hits / hot
            reads, counted once eviction has started.  --write-rate and
            --read-rate pace the writer and the reader (0 = as fast as they
            go; unpaced, the hit rate also depends on how the server shares
            its time between the two connections); Redis's LRU clock
            has a resolution of one second, so when the whole cache turns
            over in about a second, LRU cannot tell hot keys from new ones
            on either server.

Prints a Markdown table; JSON goes to tests/bench/results/.
Exit status: 0 ok, 1 tooling failure, 2 a server failed to start or died.
"""

import itertools
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

MB = 1024 * 1024


BenchError = bl.BenchError


def parse_args():
    p = bl.arg_parser(__doc__)
    p.add_argument("--maxmemory-mb", type=int, default=100, help="maxmemory (quick: 20)")
    p.add_argument("--total-mb", type=int, default=300,
                   help="value bytes written per phase (quick: 60)")
    p.add_argument("--value-size", type=int, default=300, help="bytes per value")
    p.add_argument("--batch", type=int, default=1000, help="commands per pipelined write")
    p.add_argument("--poll-ms", type=float, default=10.0, help="INFO poll period")
    p.add_argument("--write-rate", type=int, default=0,
                   help="hot-set phase: new keys per second (0: unpaced)")
    p.add_argument("--read-rate", type=int, default=0,
                   help="hot-set phase: hot reads per second (0: unpaced)")
    p.add_argument("--hot-fraction", type=float, default=0.10,
                   help="hot keys as a fraction of the keys that fit")
    p.add_argument("--policy", default="allkeys-lru", help="maxmemory-policy")
    p.add_argument("--server-cpu", default="0", help="CPU for the server ('' = unpinned)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    a = p.parse_args()
    bl.apply_quick(p, a, maxmemory_mb=20, total_mb=60)
    if a.maxmemory_mb < 1 or a.total_mb < 1 or a.value_size < 1 or a.batch < 1:
        p.error("sizes must be positive")
    return a


def info_int(client, section, field):
    return int(client.info(section)[field])


class Poller(threading.Thread):
    """Reads INFO memory (and stats) every period until stopped."""

    def __init__(self, port, period_s):
        super().__init__(daemon=True)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=60)
        self.period = period_s
        self.stop_ev = threading.Event()
        self.peak = 0
        self.samples = 0
        self.evicting = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop_ev.is_set():
                info = self.client.info("memory")
                self.peak = max(self.peak, int(info["used_memory"]))
                self.samples += 1
                if not self.evicting.is_set() and \
                        info_int(self.client, "stats", "evicted_keys") > 0:
                    self.evicting.set()
                self.stop_ev.wait(self.period)
        except (redis.RedisError, OSError) as e:
            self.error = e
        finally:
            self.client.close()

    def stop(self):
        self.stop_ev.set()
        self.join()
        if self.error:
            raise BenchError(f"INFO poller failed: {self.error}")


def set_commands(prefix, n, value_size, start=0):
    val = b"v" * value_size
    for i in range(start, start + n):
        yield bl.resp_command(b"SET", b"%s:%d" % (prefix, i), val)


def paced(commands, rate, batch):
    """Yield commands at `rate` per second, in steps of `batch`."""
    if rate <= 0:
        yield from commands
        return
    t0 = time.monotonic()
    for i, c in enumerate(commands):
        if i % batch == 0:
            due = t0 + i / rate
            left = due - time.monotonic()
            if left > 0:
                time.sleep(left)
        yield c


def start_server(args, name, workdir):
    extra = ["--maxmemory", f"{args.maxmemory_mb}mb",
             "--maxmemory-policy", args.policy]
    binary = args.ref_bin if name == "ref" else args.cand_bin
    extra += args.ref_args if name == "ref" else args.cand_args
    s = bl.Server(name, binary, cpu=args.server_cpu, workdir=workdir, extra=extra)
    s.start()
    bl.log(f"started {name}: {binary} on port {s.port} (pid {s.proc.pid})")
    return s


def overshoot_phase(srv, args):
    limit = args.maxmemory_mb * MB
    n = args.total_mb * MB // args.value_size
    client = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=60)
    poller = Poller(srv.port, args.poll_ms / 1000)
    poller.start()
    t0 = time.monotonic()
    try:
        bl.load_keys(srv.port, set_commands(b"key", n, args.value_size), batch=args.batch)
    except (OSError, RuntimeError) as e:
        poller.stop()
        srv.check()
        raise BenchError(f"{srv.name}: load failed: {e}")
    load_s = time.monotonic() - t0
    poller.stop()
    srv.check()
    mem = client.info("memory")
    r = {"keys_written": n, "load_seconds": round(load_s, 2),
         "polled_peak": poller.peak, "polls": poller.samples,
         "polled_peak_over_pct": 100.0 * (poller.peak - limit) / limit,
         "used_memory_peak": int(mem["used_memory_peak"]),
         "info_peak_over_pct": 100.0 * (int(mem["used_memory_peak"]) - limit) / limit,
         "used_memory_end": int(mem["used_memory"]),
         "evicted_keys": info_int(client, "stats", "evicted_keys"),
         "dbsize": client.dbsize(), "rss_peak": vm_hwm(srv)}
    client.close()
    bl.log(f"  {srv.name}: {n:,} keys in {load_s:.1f}s, peak over maxmemory: polled "
           f"{fmt_over(poller.peak, limit)}, INFO {fmt_over(r['used_memory_peak'], limit)}; "
           f"{r['dbsize']:,} keys fit, {r['evicted_keys']:,} evicted")
    return r


def vm_hwm(srv):
    """Peak RSS of the server process (VmHWM), bytes."""
    with open(f"/proc/{srv.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def hot_reader(port, nhot, value_size, rate, measuring, stop, out):
    """Child process: GET hot keys round-robin (at `rate` reads/s if > 0),
    re-SET misses; count."""
    c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=60)
    val = b"v" * value_size
    keys = [b"hot:%d" % i for i in range(nhot)]
    cyc = itertools.cycle(keys)
    hits = misses = reads = 0
    sent = 0
    t0 = time.monotonic()
    try:
        while not stop.is_set():
            if rate > 0:
                left = t0 + sent / rate - time.monotonic()
                if left > 0:
                    time.sleep(left)
            batch = [next(cyc) for _ in range(min(100, nhot))]
            sent += len(batch)
            p = c.pipeline(transaction=False)
            for k in batch:
                p.get(k)
            res = p.execute()
            gone = [k for k, v in zip(batch, res) if v is None]
            if gone:
                p = c.pipeline(transaction=False)
                for k in gone:
                    p.set(k, val)
                p.execute()
            if measuring.is_set():
                hits += len(batch) - len(gone)
                misses += len(gone)
                reads += len(batch)
        out.put({"hits": hits, "misses": misses, "reads": reads})
    except Exception as e:  # reported by the parent
        out.put({"error": repr(e)})
    finally:
        c.close()


def hot_phase(srv, args, fit):
    nhot = max(1, int(fit * args.hot_fraction))
    n = args.total_mb * MB // args.value_size
    bl.load_keys(srv.port, set_commands(b"hot", nhot, args.value_size), batch=args.batch)
    ctx = mp.get_context("fork")
    measuring, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=hot_reader,
                         args=(srv.port, nhot, args.value_size, args.read_rate,
                               measuring, stop, out))
    reader.start()
    poller = Poller(srv.port, 0.05)
    poller.start()

    def mark():
        poller.evicting.wait()
        measuring.set()

    threading.Thread(target=mark, daemon=True).start()
    t0 = time.monotonic()
    try:
        bl.load_keys(srv.port, paced(set_commands(b"cold", n, args.value_size),
                                     args.write_rate, args.batch), batch=args.batch)
    except (OSError, RuntimeError) as e:
        srv.check()
        raise BenchError(f"{srv.name}: load failed: {e}")
    finally:
        load_s = time.monotonic() - t0
        stop.set()
        try:
            res = out.get(timeout=60)
        except Exception:
            res = {"error": "reader gave no result"}
        reader.join(10)
        poller.stop()
    srv.check()
    if "error" in res:
        raise BenchError(f"{srv.name}: hot reader: {res['error']}")
    reads = res["hits"] + res["misses"]
    r = {"hot_keys": nhot, "cold_keys_written": n, "load_seconds": round(load_s, 2),
         "hot_reads_per_key_per_s": reads / nhot / load_s if load_s else None,
         "hot_reads": reads, "hot_hits": res["hits"],
         "hit_rate": res["hits"] / reads if reads else None}
    bl.log(f"  {srv.name}: {nhot:,} hot keys, {reads:,} hot reads while writing "
           f"{n:,} keys in {load_s:.1f}s: hit rate "
           f"{'n/a' if r['hit_rate'] is None else '%.3f' % r['hit_rate']}")
    return r


def fmt_over(peak, limit):
    """Peak over the limit: percent and KB."""
    if peak is None:
        return "n/a"
    return f"{100.0 * (peak - limit) / limit:+.3f}% ({(peak - limit) / 1024:+,.1f} KB)"


def main():
    args = parse_args()
    workdir = tempfile.mkdtemp(prefix="tessera-bench-eviction-")
    payload = {"benchmark": "eviction", "meta": bl.common_meta(args),
               "config": {"maxmemory_mb": args.maxmemory_mb, "total_mb": args.total_mb,
                          "value_size": args.value_size, "batch": args.batch,
                          "policy": args.policy, "write_rate": args.write_rate,
                          "hot_fraction": args.hot_fraction, "poll_ms": args.poll_ms},
               "results": {}, "error": None}
    t_start = time.monotonic()

    def measure_all():
        for name in ("ref", "cand"):
            res = payload["results"][name] = {}
            for phase in ("overshoot", "hot"):
                srv = start_server(args, name, workdir)
                try:
                    if phase == "overshoot":
                        res[phase] = overshoot_phase(srv, args)
                    else:
                        res[phase] = hot_phase(srv, args, res["overshoot"]["dbsize"])
                finally:
                    srv.stop()

    status = bl.run_guarded(payload, measure_all, errors=(redis.RedisError, OSError),
                            workdir=workdir, keep=args.keep)
    payload["elapsed_s"] = round(time.monotonic() - t_start, 1)
    res = payload["results"]
    if all(len(res.get(n, {})) == 2 for n in ("ref", "cand")):
        print(f"\n### eviction: maxmemory {args.maxmemory_mb} MB, {args.total_mb} MB of "
              f"{args.value_size}-byte values per phase, {args.policy}\n")
        bl.print_binaries(payload)
        ro, co = res["ref"]["overshoot"], res["cand"]["overshoot"]
        rh, ch = res["ref"]["hot"], res["cand"]["hot"]
        rate = (f"{args.write_rate:,} keys/s" if args.write_rate else "unpaced")
        if args.read_rate:
            rate += f", reads {args.read_rate:,}/s"
        limit = args.maxmemory_mb * MB
        rows = [
            ["peak used_memory over maxmemory (INFO polled)",
             fmt_over(ro["polled_peak"], limit), fmt_over(co["polled_peak"], limit)],
            ["used_memory_peak over maxmemory (INFO)",
             fmt_over(ro["used_memory_peak"], limit), fmt_over(co["used_memory_peak"], limit)],
            ["keys that fit (DBSIZE at end)", bl.fmt_num(ro["dbsize"]), bl.fmt_num(co["dbsize"])],
            ["evicted_keys", bl.fmt_num(ro["evicted_keys"]), bl.fmt_num(co["evicted_keys"])],
            ["load time (s)", f"{ro['load_seconds']:.1f}", f"{co['load_seconds']:.1f}"],
            ["peak RSS (MB)", bl.fmt_num(ro["rss_peak"] / MB, 1), bl.fmt_num(co["rss_peak"] / MB, 1)],
            [f"hot-set hit rate ({args.hot_fraction:.0%} of fit, writes {rate})",
             "n/a" if rh["hit_rate"] is None else f"{rh['hit_rate']:.3f}",
             "n/a" if ch["hit_rate"] is None else f"{ch['hit_rate']:.3f}"],
            ["hot reads counted", bl.fmt_num(rh["hot_reads"]), bl.fmt_num(ch["hot_reads"])],
            ["hot-set write time (s)", f"{rh['load_seconds']:.1f}", f"{ch['load_seconds']:.1f}"],
        ]
        print(bl.markdown_table(["", "ref", "cand"], rows))
    return bl.finish("eviction", payload, args.out_dir, status)


if __name__ == "__main__":
    sys.exit(main())
