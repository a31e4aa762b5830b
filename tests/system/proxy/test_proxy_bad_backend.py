"""tessera-proxy in front of backends that misbehave.

A fake three-node "cluster" of Python socket servers that all describe the
same slot map (CLUSTER SLOTS): one behaves (a tiny key-value store), one
accepts and never answers, one answers with bytes that are not RESP.  The
requests routed to the bad ones fail with a clear error (after
`backend-timeout` for the silent one), the link is dropped and re-opened
for the next request, and requests for the good node's slots -- from the
same client's pipeline and from other clients at the same time -- are
unaffected.  Then the same with a real master stopped by SIGSTOP.
(Output buffer limits for slow clients: test_proxy_connection.py.)
"""

import signal
import socket
import threading
import time

import pytest
import redis

from .proxy_cluster import FakeServer
from .test_proxy_connection import Raw

THIRD = 16384 // 3
RANGES = [(0, THIRD - 1), (THIRD, 2 * THIRD - 1), (2 * THIRD, 16383)]


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def parse_commands(buf):
    """Complete RESP commands at the front of buf: (list, rest)."""
    cmds = []
    while buf.startswith(b"*"):
        i = buf.find(b"\r\n")
        if i < 0:
            break
        n, pos, args = int(buf[1:i]), i + 2, []
        for _ in range(n):
            j = buf.find(b"\r\n", pos)
            if j < 0:
                return cmds, buf
            ln = int(buf[pos + 1:j])
            if len(buf) < j + 2 + ln + 2:
                return cmds, buf
            args.append(buf[j + 2:j + 2 + ln])
            pos = j + 2 + ln + 2
        if len(args) < n:
            break
        cmds.append(args)
        buf = buf[pos:]
    return cmds, buf


class FakeNode(FakeServer):
    """mode: "good" (GET/SET/anything else +OK), "hang" (never answers
    data commands), or "garbage" (answers them with `garbage`)."""

    def __init__(self, mode, garbage=b"@garbage\r\n"):
        self.mode = mode
        self.garbage = garbage
        self.data = {}
        self.slots_reply = b""
        super().__init__(backlog=64)

    def _answer(self, args):
        name = args[0].upper()
        if name == b"CLUSTER":
            sub = args[1].upper() if len(args) > 1 else b""
            if sub == b"SLOTS":
                return self.slots_reply
            return b"-ERR unknown subcommand '%s'.\r\n" % args[1]
        if name == b"TESSERA":      # the proxy's opt-in: a Redis answer
            return b"-ERR unknown command 'TESSERA'\r\n"
        if self.mode == "hang":
            return b""
        if self.mode == "garbage":
            return self.garbage
        if name == b"GET":
            v = self.data.get(args[1])
            return b"$-1\r\n" if v is None else bulk(v)
        if name == b"SET":
            self.data[args[1]] = args[2]
        return b"+OK\r\n"

    def _serve(self, s):
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            cmds, buf = parse_commands(buf)
            out = b"".join(self._answer(c) for c in cmds)
            if out:
                try:
                    s.sendall(out)
                except OSError:
                    return



@pytest.fixture
def fake_cluster():
    nodes = [FakeNode("good"), FakeNode("hang"), FakeNode("garbage")]
    entries = b""
    for (lo, hi), n in zip(RANGES, nodes):
        entries += (b"*3\r\n:%d\r\n:%d\r\n*2\r\n" % (lo, hi) +
                    bulk(b"127.0.0.1") + b":%d\r\n" % n.port)
    for n in nodes:
        n.slots_reply = b"*3\r\n" + entries
    yield nodes
    for n in nodes:
        n.close()


def keys_in(rng, count):
    out, i = [], 0
    while len(out) < count:
        k = "key:%d" % i
        i += 1
        if rng[0] <= slot_of(k) <= rng[1]:
            out.append(k)
    return out


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot_of(key):
    k = key.encode()
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    return crc16(k) % 16384


def test_hanging_backend_fails_only_its_requests(fake_cluster, start_proxy):
    good, hang, _ = fake_cluster
    p = start_proxy([good.addr], "--backend-timeout", "500")
    gk = keys_in(RANGES[0], 5)
    hk = keys_in(RANGES[1], 2)
    c = p.client(socket_timeout=5)
    assert c.set(gk[0], "v0")
    # one pipeline mixing both nodes: replies in order, only hk fail
    pipe = c.pipeline(transaction=False)
    pipe.get(gk[0])
    pipe.get(hk[0])
    pipe.set(gk[1], "v1")
    res = {}

    def run():
        t0 = time.monotonic()
        res["out"] = pipe.execute(raise_on_error=False)
        res["took"] = time.monotonic() - t0
    th = threading.Thread(target=run)
    th.start()
    # meanwhile another client works with the good node's slots at once
    other = p.client(socket_timeout=5)
    t0 = time.monotonic()
    for i in range(20):
        assert other.set(gk[2], str(i))
        assert other.get(gk[2]) == str(i).encode()
    assert time.monotonic() - t0 < 0.4, "good slots were held up"
    th.join(10)
    out = res["out"]
    assert out[0] == b"v0" and out[2] is True
    assert isinstance(out[1], redis.ResponseError)
    assert str(out[1]) == "tessera-proxy: backend %s timed out" % hang.addr
    # the proxy keeps time with a 100 ms tick: +-100 ms
    assert 0.35 < res["took"] < 3
    # the link was dropped: the next request opens a new one, and fails
    # the same way; the good node never noticed
    before = hang.connections
    with pytest.raises(redis.ResponseError, match="timed out"):
        c.get(hk[1])
    assert hang.connections == before + 1
    assert c.get(gk[1]) == b"v1"
    info = c.info("proxy")
    assert info["backend_failures"] >= 2


GARBAGE = [
    b"@garbage\r\n",
    b"\x00\xff\xfe binary\r\n",
    b"$-7\r\n",
    b"*99999999999999999999\r\n",
    b":12ab\r\n",
    b"$3\r\nabcdef\r\n",        # bulk without its CRLF where it belongs
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_backend_fails_only_its_requests(fake_cluster, start_proxy,
                                                 garbage):
    good, _, bad = fake_cluster
    bad.garbage = garbage
    p = start_proxy([good.addr])
    gk = keys_in(RANGES[0], 3)
    bk = keys_in(RANGES[2], 3)
    c = p.client(socket_timeout=5)
    pipe = c.pipeline(transaction=False)
    pipe.set(gk[0], "a")
    pipe.get(bk[0])
    pipe.get(gk[0])
    out = pipe.execute(raise_on_error=False)
    assert out[0] is True and out[2] == b"a"
    assert isinstance(out[1], redis.ResponseError)
    assert str(out[1]) == ("tessera-proxy: backend %s sent a malformed "
                           "reply" % bad.addr)
    # dropped and re-opened for the next request
    before = bad.connections
    with pytest.raises(redis.ResponseError, match="malformed reply"):
        c.get(bk[1])
    assert bad.connections == before + 1
    assert c.get(gk[0]) == b"a" and c.ping()
    assert p.alive()


def test_reply_nobody_asked_for(fake_cluster, start_proxy):
    good, _, bad = fake_cluster
    p = start_proxy([good.addr])
    bk = keys_in(RANGES[2], 1)
    bad.garbage = b"+OK\r\n+EXTRA\r\n"     # two replies for one request
    c = p.client(socket_timeout=5)
    # the first reply pairs with the request; the extra one drops the link
    assert c.get(bk[0]) == b"OK"
    time.sleep(0.2)
    before = bad.connections
    bad.garbage = b"+OK\r\n"
    assert c.get(bk[0]) == b"OK"
    assert bad.connections == before + 1


def test_stopped_redis_master(cluster, start_proxy):
    """A real master frozen with SIGSTOP (shorter than the cluster's node
    timeout, so no failover): its slots time out, the others do not."""
    p = start_proxy([n.addr for n in cluster.nodes],
                    "--backend-timeout", "400")
    c = p.client(socket_timeout=5)
    victim = cluster.nodes[1]
    by_node = {}
    for i in range(200):
        k = "s:%d" % i
        by_node.setdefault(cluster.node_for_key(k).port, []).append(k)
    vk = by_node[victim.port][0]
    ok = [ks[0] for port, ks in by_node.items() if port != victim.port]
    for k in ok + [vk]:
        assert c.set(k, k)
    victim.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(redis.ResponseError) as e:
            c.get(vk)
        assert "timed out" in str(e.value) and victim.addr in str(e.value)
        assert 0.25 < time.monotonic() - t0 < 2
        for k in ok:
            assert c.get(k) == k.encode()
    finally:
        victim.proc.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 5
    while True:
        try:
            assert c.get(vk) == vk.encode()
            break
        except redis.ResponseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_hanging_backend_in_transaction_and_blocking(fake_cluster,
                                                     start_proxy):
    """Pinned links (MULTI/EXEC, blocking commands) time out too: after
    backend-timeout, or a blocking command's own timeout plus it (checked
    once a second); a blocking command with timeout 0 may wait forever."""
    good, hang, _ = fake_cluster
    p = start_proxy([good.addr], "--backend-timeout", "300")
    gk = keys_in(RANGES[0], 1)[0]
    hk = keys_in(RANGES[1], 3)
    c = p.client(socket_timeout=10)
    t0 = time.monotonic()
    tx = c.pipeline(transaction=True)
    tx.set(hk[0], "v")
    with pytest.raises(redis.ResponseError, match="timed out"):
        tx.execute()
    assert time.monotonic() - t0 < 2.5
    assert c.set(gk, "ok") and c.get(gk) == b"ok"
    t0 = time.monotonic()
    with pytest.raises(redis.ResponseError, match="%s timed out" % hang.addr):
        c.blpop([hk[1]], timeout=0.5)
    took = time.monotonic() - t0
    assert 0.7 < took < 2.8, took
    forever = Raw(p.host, p.port)
    forever.send(b"*3\r\n$5\r\nBLPOP\r\n$%d\r\n%s\r\n$1\r\n0\r\n"
                 % (len(hk[2]), hk[2].encode()))
    forever.sock.settimeout(1.6)
    with pytest.raises(socket.timeout):
        forever.line()
    forever.close()
    assert c.get(gk) == b"ok"
