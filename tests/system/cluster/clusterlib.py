"""Cluster test helpers: real tessera-node (or redis-server) processes in
cluster mode on free loopback ports.  The fixtures built on them are in
conftest.py; tests import helpers from here (`from .clusterlib import ...`),
never from conftest (the parent directory has its own conftest module).

    ClusterNode         one process with cluster-enabled yes, its own dir
                        (nodes.conf lives there), a client port P whose bus
                        port P+10000 is free too
    make_cluster(n)     factory: n nodes joined with
                        `redis-cli --cluster create [--cluster-replicas r]`,
                        waited until every node says cluster_state:ok;
                        stopped at teardown
    cluster3            module-scoped 3-master cluster of the binary under
                        test (TESSERA_SERVER as in ../conftest.py)
    redis_cluster3      module-scoped 3-master Redis 7.0 cluster (Debian's
                        redis-server), the reference for error texts

Every node runs with cluster-node-timeout 1000 so failure detection fits in
a test, and (tessera) with a cluster-secret.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REPO = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"
REDIS_SERVER_BIN = "/usr/bin/redis-server"
REDIS_CLI_BIN = "/usr/bin/redis-cli"
SECRET = "test-cluster-secret"
NODE_TIMEOUT = 1000
IS_REDIS = os.environ.get("TESSERA_SERVER", "tessera").strip().lower() == "redis"


def tessera_binary():
    env = os.environ.get("TESSERA_NODE_BIN")
    return env or str(REPO / "build" / "node" / "tessera-node")


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def free_cluster_port():
    """A client port P with P and P + 10000 both free right now."""
    for _ in range(200):
        p = random.randint(20000, 30000)
        if _bindable(p) and _bindable(p + 10000):
            return p
    raise RuntimeError("no free port pair")


class ClusterNode:
    def __init__(self, kind="tessera", extra=(), name="node", gid=None):
        self.kind = kind
        self.gid = gid          # run under this group id (firewall owner match)
        self.extra = [str(a) for a in extra]
        self.dir = Path(tempfile.mkdtemp(prefix="tessera-cluster-%s-" % name))
        self.log_path = self.dir / "server.log"
        self.port = None
        self.proc = None

    @property
    def bus_port(self):
        return self.port + 10000

    @property
    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def args(self):
        binary = REDIS_SERVER_BIN if self.kind == "redis" else tessera_binary()
        a = [binary, "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--dir", str(self.dir),
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(NODE_TIMEOUT)]
        if self.kind != "redis":
            a += ["--cluster-secret", SECRET]
        return a + self.extra

    def start(self, keep_port=False):
        if not keep_port or not self.port:
            self.port = free_cluster_port()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.args(), cwd=self.dir, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         preexec_fn=self._preexec)
        finally:
            log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("node exited (%s): %s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                if self.client().ping():
                    return self
            except (redis.ConnectionError, redis.ResponseError):
                pass
            time.sleep(0.05)
        raise RuntimeError("node did not start: " + self.log_tail())

    def _preexec(self):
        if self.gid is not None:
            os.setgroups([])
            os.setgid(self.gid)

    def client(self, **kw):
        kw.setdefault("socket_timeout", 5)
        return redis.Redis(host=HOST, port=self.port, **kw)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill9()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace")
                             .splitlines()[-n:])
        except OSError:
            return ""

    def myid(self):
        return self.client().execute_command("CLUSTER", "MYID").decode()

    def cluster_info(self):
        raw = self.client().execute_command("CLUSTER", "INFO")
        if isinstance(raw, bytes):
            raw = raw.decode()
        out = {}
        for line in raw.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def nodes(self):
        raw = self.client().execute_command("CLUSTER", "NODES")
        if isinstance(raw, bytes):
            raw = raw.decode()
        return [l.split(" ") for l in raw.splitlines() if l]


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except (redis.ConnectionError, redis.TimeoutError):
            pass
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def cluster_create(nodes, replicas=0):
    """redis-cli --cluster create over nodes."""
    args = [REDIS_CLI_BIN, "--cluster", "create"] + [n.addr for n in nodes] + [
        "--cluster-replicas", str(replicas), "--cluster-yes"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def wait_cluster_ok(nodes, timeout=20.0):
    ids = {n.myid() for n in nodes}

    def ok():
        for n in nodes:
            info = n.cluster_info()
            if info.get("cluster_state") != "ok":
                return False
            seen = {l[0] for l in n.nodes() if "handshake" not in l[2]}
            if seen != ids:
                return False
        return True

    wait_for(ok, timeout, what="cluster_state:ok everywhere")


