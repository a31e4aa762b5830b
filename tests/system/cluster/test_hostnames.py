"""Hostnames: cluster-announce-hostname and cluster-preferred-endpoint-type
as Redis 7.0 (CLUSTER NODES / SLOTS / SHARDS, MOVED), run against Redis
too; and peers that find a node again by its hostname after its address
changed (Tessera's addition: Redis only displays hostnames)."""

import time

import pytest
import redis

from .clusterlib import (ClusterNode, cluster_create, wait_cluster_ok,
                         wait_for)


def slots_entry(node, slot):
    for r in node.client().execute_command("CLUSTER", "SLOTS"):
        if r[0] <= slot <= r[1]:
            return r[2]
    raise AssertionError("slot %d not served" % slot)


def shard_node(node, node_id):
    for sh in node.client().execute_command("CLUSTER", "SHARDS"):
        sh = dict(zip(sh[::2], sh[1::2])) if isinstance(sh, list) else sh
        for n in sh[b"nodes"]:
            n = dict(zip(n[::2], n[1::2])) if isinstance(n, list) else n
            if n[b"id"] == node_id.encode():
                return n
    raise AssertionError("node not in CLUSTER SHARDS")


def moved(node, key):
    with pytest.raises(redis.ResponseError) as e:
        node.client().get(key)
    return str(e.value)


@pytest.mark.parametrize("kind", ["tessera", "redis"])
def test_preferred_endpoint_type(make_cluster, tessera_kind, kind):
    kind = tessera_kind if kind == "tessera" else "redis"
    nodes = make_cluster(3, kind=kind)
    for i, n in enumerate(nodes):
        n.client().config_set("cluster-announce-hostname", "host%d.test" % i)
    n0, n2 = nodes[0], nodes[2]
    id2 = n2.myid()
    wait_for(lambda: all("127.0.0.1:%d@%d,host2.test" % (n2.port, n2.bus_port)
                         in [l for l in n.nodes() if l[0] == id2][0][1]
                         for n in nodes), 10, what="hostname gossiped")
    key = "{x}k"     # slot 16287, served by n2
    c = n0.client()
    assert c.execute_command("CONFIG", "GET",
                             "cluster-preferred-endpoint-type") == [
        b"cluster-preferred-endpoint-type", b"ip"]
    e = slots_entry(n0, 16287)
    assert e[0] == b"127.0.0.1" and e[1] == n2.port
    assert e[3] == [b"hostname", b"host2.test"] or \
        e[3] == {b"hostname": b"host2.test"}
    assert moved(n0, key) == "MOVED 16287 127.0.0.1:%d" % n2.port
    sn = shard_node(n0, id2)
    assert sn[b"endpoint"] == b"127.0.0.1" and sn[b"hostname"] == b"host2.test"

    c.config_set("cluster-preferred-endpoint-type", "hostname")
    e = slots_entry(n0, 16287)
    assert e[0] == b"host2.test"
    assert e[3] in ([b"ip", b"127.0.0.1"], {b"ip": b"127.0.0.1"})
    assert moved(n0, key) == "MOVED 16287 host2.test:%d" % n2.port
    assert shard_node(n0, id2)[b"endpoint"] == b"host2.test"

    c.config_set("cluster-preferred-endpoint-type", "unknown-endpoint")
    e = slots_entry(n0, 16287)
    assert e[0] is None
    assert moved(n0, key) == "MOVED 16287 :%d" % n2.port
    assert shard_node(n0, id2)[b"endpoint"] == b""

    # a node without a hostname is "?" when hostnames are preferred
    n2.client().config_set("cluster-announce-hostname", "")
    wait_for(lambda: [l for l in n0.nodes() if l[0] == id2][0][1] ==
             "127.0.0.1:%d@%d" % (n2.port, n2.bus_port), 10,
             what="hostname removed")
    c.config_set("cluster-preferred-endpoint-type", "hostname")
    assert moved(n0, key) == "MOVED 16287 ?:%d" % n2.port
    with pytest.raises(redis.ResponseError):
        c.config_set("cluster-preferred-endpoint-type", "dns")


class HostNode(ClusterNode):
    """A node bound to another loopback address (127.0.0.x), which it
    announces (as a pod announces its pod IP)."""

    def __init__(self, host, *a, **kw):
        super().__init__(*a, **kw)
        self.host = host

    def args(self):
        a = super().args()
        a[a.index("--bind") + 1] = self.host
        return a + ["--cluster-announce-ip", self.host]

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    def client(self, **kw):
        kw.setdefault("socket_timeout", 5)
        return redis.Redis(host=self.host, port=self.port, **kw)


def only_myself(node):
    """Rewrite nodes.conf to hold only the node itself: after a restart it
    knows no peer, so only the peers can find it again."""
    conf = node.dir / "nodes.conf"
    lines = conf.read_text().splitlines()
    conf.write_text("\n".join(l for l in lines
                              if "myself" in l or l.startswith("vars")) + "\n")


def test_peers_follow_hostname_to_new_address(tessera_kind):
    if tessera_kind == "redis":
        pytest.skip("Redis 7.0 does not connect by hostname")
    # x announces "localhost" and starts on 127.0.0.2; y has no hostname
    x = HostNode("127.0.0.2", "tessera",
                 ["--cluster-announce-hostname", "localhost"], "hx")
    y = HostNode("127.0.0.3", "tessera", [], "hy")
    a = ClusterNode("tessera", [], "ha")
    nodes = [a, x, y]
    try:
        for n in nodes:
            n.start()
        cluster_create(nodes)
        wait_cluster_ok(nodes)
        idx, idy = x.myid(), y.myid()

        def line(n, nid):
            return [l for l in n.nodes() if l[0] == nid][0]

        assert line(a, idx)[1].startswith("127.0.0.2:")
        # both move to 127.0.0.1 (same ports, same node ids), knowing
        # nobody: a must find them itself
        for n in (x, y):
            n.stop()
            only_myself(n)
            n.host = "127.0.0.1"
        # a alone has no FAIL quorum: x is suspected (fail?)
        wait_for(lambda: "fail?" in line(a, idx)[2].split(","), 10,
                 what="x PFAIL")
        x.start(keep_port=True)
        y.start(keep_port=True)
        t0 = time.monotonic()
        wait_for(lambda: line(a, idx)[1].startswith(
            "127.0.0.1:%d@%d,localhost" % (x.port, x.bus_port)) and
            line(a, idx)[7] == "connected" and
            "fail?" not in line(a, idx)[2], 10,
            what="a reconnects to x at its new address")
        took = time.monotonic() - t0
        assert took < 5, took
        assert "Address of node %s (localhost) changed from 127.0.0.2 to "\
            "127.0.0.1" % idx in a.log_path.read_text()
        # y, without a hostname, is not found at its new address
        time.sleep(1)
        assert line(a, idy)[1].startswith("127.0.0.3:")
        assert line(a, idy)[7] == "disconnected"
    finally:
        for n in nodes:
            n.cleanup()
