"""Cluster bus send buffers, as Redis 7.0 (run against redis-server too):
a peer that stops reading (SIGSTOP) makes our link's send buffer grow
(CLUSTER LINKS send-buffer-*, events rw, INFO mem_cluster_links); with
cluster-link-sendbuf-limit the link is closed once over the limit and
counted in CLUSTER INFO total_cluster_links_buffer_limit_exceeded."""

import signal

import pytest

from .clusterlib import wait_for


def links_to(node, peer_id):
    out = []
    for l in node.client().execute_command("CLUSTER", "LINKS"):
        d = dict(zip(l[::2], l[1::2]))
        if d[b"node"] == peer_id.encode() and d[b"direction"] == b"to":
            out.append(d)
    return out


@pytest.mark.parametrize("kind", ["tessera", "redis"])
def test_link_sendbuf_limit(make_cluster, tessera_kind, kind):
    kind = tessera_kind if kind == "tessera" else "redis"
    nodes = make_cluster(3, kind=kind)
    n0, n1 = nodes[0], nodes[1]
    id1 = n1.myid()
    c = n0.client()
    assert c.config_get("cluster-link-sendbuf-limit") == {
        "cluster-link-sendbuf-limit": "0"}
    idle = links_to(n0, id1)[0]
    assert idle[b"send-buffer-used"] == 0 and idle[b"events"] == b"r"
    n1.proc.send_signal(signal.SIGSTOP)
    try:
        payload = b"x" * (512 * 1024)
        # kernel buffers take a few MB; the rest queues in our send buffer
        for _ in range(40):
            c.publish("ch", payload)
        link = links_to(n0, id1)[0]
        assert link[b"send-buffer-used"] > 2 * 1024 * 1024, link
        assert link[b"send-buffer-allocated"] >= link[b"send-buffer-used"]
        assert link[b"events"] == b"rw"
        # Redis 7.0 counts link structs and receive buffers only
        # (4352 bytes here); Tessera counts the queued bytes too
        if kind == "tessera":
            assert c.info("memory")["mem_cluster_links"] > 2 * 1024 * 1024
        assert n0.cluster_info()[
            "total_cluster_links_buffer_limit_exceeded"] == "0"
        c.config_set("cluster-link-sendbuf-limit", "1mb")
        wait_for(lambda: int(n0.cluster_info()[
            "total_cluster_links_buffer_limit_exceeded"]) >= 1, 5,
            what="the link over the limit closed")
        if kind == "tessera":
            assert c.info("memory")["mem_cluster_links"] < 1024 * 1024
        assert all(l[b"send-buffer-used"] < 1024 * 1024
                   for l in links_to(n0, id1))
    finally:
        n1.proc.send_signal(signal.SIGCONT)
    # the link is reopened and the peer is reachable again
    wait_for(lambda: [l for l in n0.nodes() if l[0] == id1][0][7] ==
             "connected" and "fail" not in
             [l for l in n0.nodes() if l[0] == id1][0][2], 10,
             what="link to n1 back")
