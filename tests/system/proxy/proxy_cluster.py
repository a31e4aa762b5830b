"""Helpers for tessera-proxy system tests (imported by conftest.py).

A real 3-master cluster -- Debian's redis-server 7.0 processes (kind
"redis") or tessera-node processes (kind "tessera", with a cluster-secret)
-- (cluster-enabled yes, nodes.conf in a temp dir, slots given with
CLUSTER ADDSLOTSRANGE, nodes joined with CLUSTER MEET) and a real
tessera-proxy in front of it.  conftest.py runs every module once per kind
(the `backend_kind` fixture; TESSERA_PROXY_BACKENDS=redis or =tessera
narrows it).  One cluster and one proxy serve a whole test
module (starting a cluster costs about a second); `pr` is a redis-py client
on the proxy, with the cluster flushed before each test.

    cluster     Cluster: .nodes (list of Node), .node_for_key(key),
                .slot_owner(slot), .wait_ok()
    proxy       Proxy in front of `cluster` (.host, .port, .client(),
                .log_tail())
    pr          redis.Redis on the proxy (bytes replies), FLUSHALL'd first
    start_proxy factory: start_proxy(seed_addrs, *extra_args) -> Proxy

The proxy binary: $TESSERA_PROXY_BIN, else <repo>/build/proxy/tessera-proxy;
the node binary: $TESSERA_NODE_BIN, else <repo>/build/node/tessera-node.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis

REPO = Path(__file__).resolve().parents[3]
REDIS_SERVER_BIN = "/usr/bin/redis-server"
HOST = "127.0.0.1"
NMASTERS = 3
SECRET = "proxy-test-cluster-secret"
KINDS = [k for k in os.environ.get("TESSERA_PROXY_BACKENDS",
                                   "redis,tessera").split(",") if k]


def observer_args(kind):
    """Proxy arguments for a cluster of `kind`: with Tessera nodes the
    proxy observes the cluster bus (topology pushed, docs/proxy.md)."""
    return ("--cluster-secret", SECRET) if kind == "tessera" else ()


def node_binary():
    env = os.environ.get("TESSERA_NODE_BIN")
    return env or str(REPO / "build" / "node" / "tessera-node")


def proxy_binary():
    env = os.environ.get("TESSERA_PROXY_BIN")
    if env:
        return env
    node = os.environ.get("TESSERA_NODE_BIN")
    if node:  # build-X/node/tessera-node -> build-X/proxy/tessera-proxy
        cand = Path(node).resolve().parents[1] / "proxy" / "tessera-proxy"
        if cand.exists():
            return str(cand)
    return str(REPO / "build" / "proxy" / "tessera-proxy")


def cluster_port():
    """A free port whose cluster-bus port (+10000) is free too (the
    cluster tests' helper: tests/system is on sys.path, as for pytest's
    rootdir conftest and the bench scripts that import this module)."""
    from cluster.clusterlib import free_cluster_port
    return free_cluster_port()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return
        except (redis.ConnectionError, redis.ResponseError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


class Node:
    """One redis-server (kind "redis") or tessera-node (kind "tessera")."""

    def __init__(self, tmp, cluster=True, extra=(), password=None,
                 kind="redis"):
        self.host = HOST
        self.kind = kind
        self.password = password
        self.port = cluster_port()
        self.dir = Path(tmp) / ("node-%d" % self.port)
        self.dir.mkdir()
        binary = REDIS_SERVER_BIN if kind == "redis" else node_binary()
        args = [binary, "--port", str(self.port), "--bind", HOST,
                "--save", "", "--appendonly", "no", "--dir", str(self.dir),
                "--logfile", str(self.dir / "redis.log")]
        if cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file",
                     "nodes.conf", "--cluster-node-timeout", "5000"]
            if kind != "redis":
                args += ["--cluster-secret", SECRET]
        if password:
            args += ["--requirepass", password]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.addr = "%s:%d" % (HOST, self.port)
        wait_for(lambda: self.client().ping(), what="redis-server " + self.addr)

    def client(self, **kw):
        return redis.Redis(host=HOST, port=self.port, socket_timeout=5,
                           password=self.password, **kw)

    @property
    def node_id(self):
        return self.client().execute_command("CLUSTER", "MYID").decode()

    def stop(self):
        stop_process(self.proc)


def stop_process(proc):
    """SIGTERM, then SIGKILL after 10 s; returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def split_slots_and_meet(masters, others=()):
    """Give every node its own config epoch (1, 2, ... as redis-cli
    --cluster create does), the masters equal slot ranges in order
    (CLUSTER ADDSLOTSRANGE), and make the first one MEET every other node.
    Without the epochs all nodes start at 0 and settle theirs by collision
    handling, bumps that can still be travelling when a test moves a
    slot (see epochs_agreed)."""
    for epoch, n in enumerate(list(masters) + list(others), 1):
        n.client().execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    per = 16384 // len(masters)
    for i, m in enumerate(masters):
        lo = i * per
        hi = 16383 if i == len(masters) - 1 else (i + 1) * per - 1
        m.client().execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
    first = masters[0].client()
    for n in list(masters[1:]) + list(others):
        first.execute_command("CLUSTER", "MEET", HOST, n.port)


def cluster_settled(nodes):
    """True once every node says cluster_state:ok, knows exactly `nodes`,
    has its bus link to each of them up (CLUSTER NODES "connected", no
    handshake/fail flags: PUBLISH is broadcast only over links that are
    up) and theirs to it (CLUSTER LINKS: one "to" and one "from" link per
    peer), all agree on one slot map and on the epochs."""
    maps = set()
    for node in nodes:
        c = node.client()
        info = c.execute_command("CLUSTER", "INFO").decode()
        if "cluster_state:ok" not in info:
            return False
        lines = c.execute_command("CLUSTER", "NODES").decode().splitlines()
        if len(lines) != len(nodes):
            return False
        for ln in lines:
            f = ln.split()
            if f[7] != "connected" or any(
                    x in f[2] for x in ("handshake", "noaddr", "fail")):
                return False
        if len(c.execute_command("CLUSTER", "LINKS")) != 2 * (len(nodes) - 1):
            return False
        maps.add(tuple(sorted((e[0], e[1], e[2][1]) for e in
                              c.execute_command("CLUSTER", "SLOTS"))))
    return len(maps) == 1 and epochs_agreed(nodes)


def epochs_agreed(nodes):
    """True once every node reports the same cluster_current_epoch and the
    same config epoch for every master, and no two masters share one.
    SETSLOT NODE on an importing node bumps its epoch above the greatest
    it knows, which must be the cluster's greatest: a node that has not
    heard of a higher epoch yet keeps its lower one, and a ping the old
    owner sent just before its own SETSLOT NODE (claiming the slot with
    the higher epoch) then hands the slot back to it on the new owner
    only -- old and new owner each say the other owns it, for good (seen
    with Redis 7.0: MOVED back and forth until the proxy gave up)."""
    current, views = set(), set()
    for node in nodes:
        c = node.client()
        info = c.execute_command("CLUSTER", "INFO").decode()
        current.update(ln for ln in info.splitlines()
                       if ln.startswith("cluster_current_epoch:"))
        lines = c.execute_command("CLUSTER", "NODES").decode().splitlines()
        views.add(tuple(sorted((f[0], f[6]) for f in map(str.split, lines)
                               if "master" in f[2].split(","))))
    if len(current) != 1 or len(views) != 1:
        return False
    epochs = [e for _, e in views.pop()]
    return len(set(epochs)) == len(epochs)


# -- moving a slot the Redis way (redis-cli --cluster reshard's steps) ------

def move_keys(src, dst, keys):
    """MIGRATE ... KEYS from src to dst (both backend kinds: tessera-node's
    MIGRATE sends RESTORE-ASKING); NOKEY is fine."""
    reply = src.client().execute_command("MIGRATE", dst.host, dst.port, "",
                                         0, 5000, "KEYS", *keys)
    assert reply in (b"OK", b"NOKEY"), reply


def open_slot(slot, src, dst):
    """Step 1 of a slot move: dst IMPORTING from src, src MIGRATING to
    dst."""
    dst.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING",
                                 src.node_id)
    src.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING",
                                 dst.node_id)


def assign_slot(cluster, slot, src, dst):
    """Last step: SETSLOT NODE dst on dst, src, then every other node --
    once every node knows the greatest epoch (a previous move's bump may
    still be on its way: epochs_agreed says why that matters)."""
    wait_for(lambda: epochs_agreed(cluster.nodes), timeout=20,
             interval=0.05, what="all nodes to agree on the epochs")
    for n in [dst, src] + [n for n in cluster.nodes if n not in (src, dst)]:
        n.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                   dst.node_id)


def migrate_slot(cluster, slot, src, dst, between=None):
    """Redis's resharding steps for one slot; `between` runs after the keys
    moved but before ownership changes (the ASK window)."""
    open_slot(slot, src, dst)
    src_c = src.client()
    while True:
        keys = src_c.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
        if not keys:
            break
        move_keys(src, dst, keys)
    if between:
        between()
    assign_slot(cluster, slot, src, dst)


class Cluster:
    """NMASTERS masters, slots split evenly, no replicas."""

    def __init__(self, tmp, n=NMASTERS, kind="redis"):
        self.kind = kind
        self.nodes = [Node(tmp, kind=kind) for _ in range(n)]
        split_slots_and_meet(self.nodes)
        self.wait_ok()

    def wait_ok(self, timeout=20.0):
        wait_for(lambda: cluster_settled(self.nodes), timeout=timeout,
                 interval=0.1, what="cluster_state:ok, links up, one map")

    def slot(self, key):
        return self.nodes[0].client().execute_command("CLUSTER", "KEYSLOT", key)

    def slot_owner(self, slot):
        for entry in self.nodes[0].client().execute_command("CLUSTER", "SLOTS"):
            if entry[0] <= slot <= entry[1]:
                port = entry[2][1]
                return next(n for n in self.nodes if n.port == port)
        return None

    def node_for_key(self, key):
        return self.slot_owner(self.slot(key))

    def flushall(self):
        for n in self.nodes:
            n.client().flushall()

    def stop(self):
        for n in self.nodes:
            n.stop()


class Proxy:
    def __init__(self, tmp, seeds, extra=()):
        self.host = HOST
        self.dir = Path(tempfile.mkdtemp(prefix="proxy-", dir=tmp))
        self.logfile = self.dir / "proxy.log"
        for _ in range(5):
            self.port = free_port()
            args = [proxy_binary(), "--port", str(self.port), "--bind", HOST,
                    "--cluster-nodes", ",".join(seeds), "--threads", "2",
                    "--logfile", str(self.logfile)] + list(extra)
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            try:
                wait_for(self._ready, timeout=10, what="tessera-proxy")
                return
            except AssertionError:
                if self.proc.poll() is None:
                    raise
        raise RuntimeError("tessera-proxy did not start: %s" % self.log_tail())

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("exited")
        with socket.create_connection((HOST, self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host=HOST, port=self.port, **kw)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.logfile.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        return stop_process(self.proc)




class FakeServer:
    """A loopback TCP server standing in for a misbehaving backend: each
    accepted connection is counted, kept for close() and served by
    self._serve(sock) on a thread of its own.  Subclasses set their own
    attributes before calling this __init__ (it starts accepting)."""

    def __init__(self, backlog=64):
        self.connections = 0
        self.socks = []
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(backlog)
        self.port = self.lsock.getsockname()[1]
        self.addr = "%s:%d" % (HOST, self.port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            self.connections += 1
            self.socks.append(s)
            threading.Thread(target=self._serve, args=(s,),
                             daemon=True).start()

    def _serve(self, sock):
        raise NotImplementedError

    def close(self):
        self.lsock.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
