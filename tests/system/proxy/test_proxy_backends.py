"""tessera-proxy and its backends: single-backend mode (one plain Redis),
a backend that dies, hangs or sends garbage fails only the requests
routed to it, with an error naming it, and is reconnected afterwards."""

import time

import pytest
import redis

from .proxy_cluster import FakeServer, Node


class FakeBackend(FakeServer):
    """A TCP server that claims to be a non-cluster Redis, then misbehaves:
    mode "hang" never answers, mode "garbage" answers with non-RESP."""

    def __init__(self, mode):
        self.mode = mode
        super().__init__(backlog=16)

    def _serve(self, s):
        buf = b""
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            if b"CLUSTER" in buf:
                # both topology questions, as a non-cluster redis answers
                if buf.count(b"CLUSTER") >= 2:
                    s.sendall(b"-ERR This instance has cluster support "
                              b"disabled\r\n" * 2)
                    buf = b""
                continue
            if self.mode == "garbage":
                s.sendall(b"@garbage\r\n")
            buf = b""


def test_single_backend_mode(cluster_tmp, start_proxy):
    node = Node(cluster_tmp, cluster=False)
    try:
        p = start_proxy([node.addr])
        c = p.client()
        assert "topology_source:single" in c.execute_command("PROXY").decode()
        # multi-key commands pass through unchanged to the one node
        assert c.mset({"a": 1, "b": 2, "c": 3})
        assert c.mget("a", "b", "c", "d") == [b"1", b"2", b"3", None]
        assert c.msetnx({"x": 1, "y": 2})
        assert c.sunion("a1", "b1") == set()
        assert c.dbsize() == 5
        assert sorted(c.keys()) == [b"a", b"b", b"c", b"x", b"y"]
        cur, keys = c.scan(0, count=100)
        assert cur == 0 and len(keys) == 5
        assert node.client().get("x") == b"1"
    finally:
        node.stop()


def test_backend_death_fails_fast_then_recovers(cluster_tmp, start_proxy):
    node = Node(cluster_tmp, cluster=False)
    port = node.port
    p = start_proxy([node.addr], "--connect-timeout", "300",
                    "--failover-wait", "500")
    c = p.client(socket_timeout=5)
    assert c.set("k", "v")
    node.proc.kill()
    node.proc.wait()
    t0 = time.monotonic()
    with pytest.raises(redis.ResponseError) as e:
        c.get("k")
    # held for failover-wait (a new owner might appear), then failed
    assert 0.4 < time.monotonic() - t0 < 2
    assert "tessera-proxy: " in str(e.value) and node.addr in str(e.value)
    assert "failover-wait" in str(e.value)
    # local commands still work on the same connection
    assert c.ping()
    # a new backend process on the same port: the proxy reconnects
    import subprocess
    proc = subprocess.Popen(["/usr/bin/redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                assert c.set("k2", "v2")
                break
            except redis.ResponseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert c.get("k2") == b"v2"
    finally:
        proc.terminate()
        proc.wait()


def test_hanging_backend_times_out(start_proxy):
    fake = FakeBackend("hang")
    try:
        p = start_proxy([fake.addr], "--backend-timeout", "300")
        c = p.client(socket_timeout=5)
        t0 = time.monotonic()
        with pytest.raises(redis.ResponseError, match="timed out"):
            c.get("k")
        assert time.monotonic() - t0 < 2
        assert c.ping()
    finally:
        fake.close()


def test_garbage_from_backend_fails_requests(start_proxy):
    fake = FakeBackend("garbage")
    try:
        p = start_proxy([fake.addr])
        c = p.client(socket_timeout=5)
        with pytest.raises(redis.ResponseError, match="malformed reply"):
            c.get("k")
        assert c.ping()
    finally:
        fake.close()


def test_backend_password(cluster_tmp, start_proxy):
    node = Node(cluster_tmp, cluster=False, password="bpw")
    try:
        p = start_proxy([node.addr], "--backend-password", "bpw")
        c = p.client()
        assert c.set("k", "v") and c.get("k") == b"v"
        r3 = p.client(protocol=3) if redis.__version__ >= "5" else None
        if r3 is not None:
            assert r3.get("k") == b"v"
    finally:
        node.stop()
