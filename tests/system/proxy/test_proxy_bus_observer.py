"""tessera-proxy as an observer on the Tessera cluster bus (proxy/busobs.c,
node/cluster/observer.c, docs/cluster-bus.md "Observers").

Tessera nodes only (Redis has no such bus).  The proxies here run with
topology-refresh-interval 60000, so nothing but a bus push can explain a
map that changes within a second.  Frames are also built by hand, as in
tests/system/cluster/test_bus_security.py, to check that the nodes answer
a signed OBSERVE, drop a forged one, and never let the observer flag turn
a message into cluster state.
"""

import hashlib
import hmac
import socket
import struct
import threading
import time

import pytest

from buswire import f_bytes, f_int

from .proxy_cluster import HOST, SECRET, Cluster, wait_for
from .test_proxy_failover import ReplicatedCluster

OBSERVE, TOPOLOGY, PING = 10, 11, 1
OBSERVER_FLAG = 1024
NO_POLL = ("--topology-refresh-interval", "60000")


def message(mtype, flags, sender="ab" * 20, body=b""):
    hdr = f_int(1, 1) + f_bytes(2, sender) + f_int(5, flags)
    return f_bytes(1, hdr) + f_int(2, mtype) + body


def frame(pb, secret=SECRET):
    head = struct.pack(">I", len(pb))
    key = hashlib.sha256(secret.encode()).digest()
    return head + pb + hmac.new(key, head + pb, hashlib.sha256).digest()


def read_frame(s, secret=SECRET):
    """One frame from s (HMAC checked): the top-level message type."""
    def exact(n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out
    head = exact(4)
    (n,) = struct.unpack(">I", head)
    pb = exact(n)
    mac = exact(32)
    key = hashlib.sha256(secret.encode()).digest()
    assert hmac.compare_digest(mac, hmac.new(key, head + pb,
                                             hashlib.sha256).digest())
    i = 0
    while i < len(pb):             # walk the fields for type (2)
        key_, j = 0, 0
        while True:
            b = pb[i]
            i += 1
            key_ |= (b & 0x7F) << (7 * j)
            j += 1
            if not b & 0x80:
                break
        num, wt = key_ >> 3, key_ & 7
        val, j = 0, 0
        if wt == 0 or wt == 2:
            while True:
                b = pb[i]
                i += 1
                val |= (b & 0x7F) << (7 * j)
                j += 1
                if not b & 0x80:
                    break
        if wt == 2:
            i += val
        elif wt != 0:
            raise AssertionError("unexpected wire type %d" % wt)
        if num == 2:
            return val
    return 0


def proxy_status(p):
    text = p.client().execute_command("PROXY").decode()
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def owner_in_map(status, slot):
    for k, v in status.items():
        if k.startswith("master") and ",slots=" in v:
            addr, ranges = v[len("addr="):].split(",slots=")
            for r in ranges.split(",")[0].split():
                lo, hi = r.split("-")
                if int(lo) <= slot <= int(hi):
                    return addr
    return None


def cluster_view(node):
    raw = node.client().execute_command("CLUSTER", "NODES").decode()
    return sorted((l.split()[0], l.split()[2], l.split()[8:].__repr__())
                  for l in raw.splitlines())


def counters(node):
    info = node.client().execute_command("CLUSTER", "INFO").decode()
    d = dict(l.split(":", 1) for l in info.splitlines() if ":" in l)
    return (int(d["cluster_stats_messages_dropped"]),
            int(d["cluster_stats_messages_auth_failed"]))


@pytest.fixture(scope="module")
def tcluster(cluster_tmp):
    c = Cluster(cluster_tmp, kind="tessera")
    yield c
    c.stop()


def test_observer_is_not_a_member(tcluster, start_proxy):
    before = [cluster_view(n) for n in tcluster.nodes]
    links = [len(n.client().execute_command("CLUSTER", "LINKS"))
             for n in tcluster.nodes]
    p = start_proxy([tcluster.nodes[0].addr], "--cluster-secret", SECRET,
                    *NO_POLL)
    wait_for(lambda: proxy_status(p)["bus_links_up"] == "3", timeout=10,
             what="a bus link to every node")
    time.sleep(0.5)
    for n, view, nl in zip(tcluster.nodes, before, links):
        info = n.client().execute_command("CLUSTER", "INFO").decode()
        assert "cluster_known_nodes:3" in info
        assert "cluster_size:3" in info
        assert cluster_view(n) == view
        assert len(n.client().execute_command("CLUSTER", "LINKS")) == nl
    assert proxy_status(p)["bus_dropped"] == "0"
    assert p.client().set("k", "v") and p.client().get("k") == b"v"


def test_wrong_secret_polls_and_is_dropped(tcluster, start_proxy):
    n0 = tcluster.nodes[0]
    _, auth0 = counters(n0)
    p = start_proxy([n0.addr], "--cluster-secret", "wrong", *NO_POLL)
    wait_for(lambda: counters(n0)[1] > auth0, timeout=5,
             what="the node to count the forged OBSERVE")
    time.sleep(0.3)
    st = proxy_status(p)
    assert st["bus_links_up"] == "0" and st["bus_topology_frames"] == "0"
    assert p.client().set("k2", "v") and p.client().get("k2") == b"v"
    info = n0.client().execute_command("CLUSTER", "INFO").decode()
    assert "cluster_known_nodes:3" in info


def test_node_answers_signed_observe_drops_forged(tcluster):
    n = tcluster.nodes[1]
    bus = n.port + 10000
    view = cluster_view(n)
    dropped, auth = counters(n)
    with socket.create_connection((HOST, bus), 2) as s:
        s.settimeout(3)
        s.sendall(frame(message(OBSERVE, OBSERVER_FLAG)))
        assert read_frame(s) == TOPOLOGY
        s.sendall(frame(message(OBSERVE, OBSERVER_FLAG)))   # keep-alive
        assert read_frame(s) == TOPOLOGY
    with socket.create_connection((HOST, bus), 2) as s:
        s.settimeout(1)
        s.sendall(frame(message(OBSERVE, OBSERVER_FLAG), secret="forged"))
        with pytest.raises(socket.timeout):
            s.recv(10)
    # OBSERVE without the flag, a PING with it: dropped, nothing learnt
    ping = message(PING, 1 | OBSERVER_FLAG, sender="cd" * 20,
                   body=f_bytes(3, b""))
    with socket.create_connection((HOST, bus), 2) as s:
        s.settimeout(1)
        s.sendall(frame(message(OBSERVE, 0)) + frame(ping))
        with pytest.raises(socket.timeout):
            s.recv(10)
    wait_for(lambda: counters(n) == (dropped + 3, auth + 1), timeout=3,
             what="three drops, one of them auth")
    assert cluster_view(n) == view


def test_slot_move_is_pushed(tcluster, start_proxy):
    p = start_proxy([n.addr for n in tcluster.nodes], "--cluster-secret",
                    SECRET, *NO_POLL)
    wait_for(lambda: proxy_status(p)["bus_links_up"] == "3", timeout=10,
             what="bus links")
    slot = tcluster.slot("{push}k")
    src = tcluster.slot_owner(slot)
    dst = next(n for n in tcluster.nodes if n is not src)
    pushes0 = int(proxy_status(p)["bus_push_refreshes"])
    t0 = time.monotonic()
    for n in [dst, src] + [n for n in tcluster.nodes if n not in (src, dst)]:
        n.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                   dst.node_id)
    wait_for(lambda: owner_in_map(proxy_status(p), slot) == dst.addr,
             timeout=3, interval=0.005, what="the pushed move")
    took = time.monotonic() - t0
    print("\nslot move reached the proxy's map %.1f ms after SETSLOT" %
          (took * 1000))
    assert int(proxy_status(p)["bus_push_refreshes"]) > pushes0
    # move it back for the other tests
    for n in [src, dst] + [n for n in tcluster.nodes if n not in (src, dst)]:
        n.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                   src.node_id)


def test_promotion_reaches_the_proxy_within_a_round_trip(cluster_tmp,
                                                         start_proxy):
    rc = ReplicatedCluster(cluster_tmp, kind="tessera")
    try:
        p = start_proxy([n.addr for n in rc.masters], "--cluster-secret",
                        SECRET, *NO_POLL)
        wait_for(lambda: proxy_status(p)["bus_links_up"] == "6", timeout=10,
                 what="bus links to masters and replicas")
        victim = rc.masters[0]
        heir = rc.replica_of(victim)
        hc = heir.client()
        slot = next(s for s in range(16384)
                    if owner_in_map(proxy_status(p), s) == victim.addr)
        times = {}

        def watch_role():
            while time.monotonic() < deadline:
                if hc.execute_command("ROLE")[0] == b"master":
                    times["promoted"] = time.monotonic()
                    return
                time.sleep(0.001)

        def watch_proxy():
            pc = p.client()
            while time.monotonic() < deadline:
                if owner_in_map(proxy_status(p), slot) == heir.addr:
                    times["proxy"] = time.monotonic()
                    return
                time.sleep(0.001)
            pc.close()

        victim.proc.kill()
        victim.proc.wait()
        deadline = time.monotonic() + 15
        ts = [threading.Thread(target=watch_role),
              threading.Thread(target=watch_proxy)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert "promoted" in times and "proxy" in times, times
        lag = times["proxy"] - times["promoted"]
        print("\npromotion -> proxy map: %.1f ms" % (lag * 1000))
        assert lag < 0.5
        assert p.client().set("{x}after", "1")
    finally:
        rc.stop()


class FakeNode:
    """A 'cluster node' on a free port P: its client port answers CLUSTER
    SLOTS (all slots its own; SHARDS is refused, so the proxy falls back)
    and its bus port P + 10000 hands the proxy's bus link to the test."""

    def __init__(self):
        from .proxy_cluster import cluster_port
        self.port = cluster_port()
        self.srv = socket.create_server((HOST, self.port))
        self.bus = socket.create_server((HOST, self.port + 10000))
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        self.srv.settimeout(0.2)
        conns = []
        while not self.stop_ev.is_set():
            try:
                c, _ = self.srv.accept()
                conns.append(c)
                threading.Thread(target=self._client, args=(c,),
                                 daemon=True).start()
            except socket.timeout:
                pass
        for c in conns:
            c.close()

    def _client(self, c):
        buf = b""
        slots = (b"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:%d"
                 b"\r\n" % self.port)
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    # count the arguments of one array command
                    head, _, rest = buf.partition(b"\r\n")
                    n = int(head[1:])
                    parts, ok = [], True
                    for _ in range(n):
                        if b"\r\n" not in rest:
                            ok = False
                            break
                        ln, _, rest = rest.partition(b"\r\n")
                        size = int(ln[1:])
                        if len(rest) < size + 2:
                            ok = False
                            break
                        parts.append(rest[:size].upper())
                        rest = rest[size + 2:]
                    if not ok:
                        break
                    buf = rest
                    if parts[:2] == [b"CLUSTER", b"SLOTS"]:
                        c.sendall(slots)
                    elif parts[:2] == [b"CLUSTER", b"SHARDS"]:
                        c.sendall(b"-ERR unknown subcommand 'SHARDS'\r\n")
                    else:
                        c.sendall(b"+OK\r\n")
        except OSError:
            return

    def close(self):
        self.stop_ev.set()
        self.t.join(5)
        self.srv.close()
        self.bus.close()


def topology_msg(sender, port):
    hdr = (f_int(1, 1) + f_bytes(2, sender) + f_int(5, 1) +
           f_int(10, port) + f_int(15, 2))
    gossip = (f_bytes(1, "ef" * 20) + f_bytes(4, "127.0.0.1") +
              f_int(5, 1) + f_int(6, 70000 % 65536) + f_int(7, 1))
    return f_bytes(1, hdr) + f_int(2, TOPOLOGY) + f_bytes(3, f_bytes(1,
                                                                     gossip))


def test_hostile_frames_from_a_node_are_dropped(start_proxy):
    fake = FakeNode()
    try:
        p = start_proxy(["%s:%d" % (HOST, fake.port)], "--cluster-secret",
                        SECRET, *NO_POLL)
        fake.bus.settimeout(5)
        link, _ = fake.bus.accept()
        link.settimeout(5)
        # the proxy's OBSERVE is signed with the secret (read_frame checks)
        assert read_frame(link) == OBSERVE
        good = topology_msg("12" * 20, fake.port)
        link.sendall(frame(good, secret="forged") +          # HMAC
                     frame(b"\xff" * 30) +                   # not protobuf
                     frame(topology_msg("xyz", fake.port)) +  # bad id
                     frame(message(PING, 1)) +               # not TOPOLOGY
                     frame(good[:-7]))                       # truncated
        wait_for(lambda: proxy_status(p)["bus_dropped"] == "5", timeout=5,
                 what="five drops")
        assert proxy_status(p)["bus_topology_frames"] == "0"
        link.sendall(frame(good))
        wait_for(lambda: proxy_status(p)["bus_topology_frames"] == "1",
                 timeout=5, what="the signed TOPOLOGY")
        # a huge length: the proxy closes the link, and lives on
        link.sendall(struct.pack(">I", 0xFFFFFFF0) + b"x" * 64)
        link.settimeout(5)
        try:
            while link.recv(4096):
                pass
        except socket.timeout:
            pytest.fail("the proxy kept a link with a 4 GB frame length")
        except OSError:
            pass
        link.close()
        assert p.alive()
        assert p.client().ping()
        assert proxy_status(p)["bus_dropped"] == "6"
    finally:
        fake.close()


def test_redis_cluster_with_a_secret_just_polls(cluster_tmp, start_proxy):
    rc = Cluster(cluster_tmp, kind="redis")
    try:
        p = start_proxy([n.addr for n in rc.nodes], "--cluster-secret",
                        SECRET, "--topology-refresh-interval", "200")
        time.sleep(1.5)
        st = proxy_status(p)
        assert st["bus_links_up"] == "0" and st["bus_topology_frames"] == "0"
        pc = p.client()
        for i in range(50):
            assert pc.set("r%d" % i, i)
        assert pc.mget(["r%d" % i for i in range(50)]) == [
            str(i).encode() for i in range(50)]
        rc.wait_ok()
        assert p.alive()
    finally:
        rc.stop()
