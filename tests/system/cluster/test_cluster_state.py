"""Cluster identity and state: nodes.conf, restarts, start-up refusals,
failure detection after kill -9."""

import re
import subprocess
import time

import pytest
import redis

from .clusterlib import (IS_REDIS, NODE_TIMEOUT, ClusterNode, tessera_binary,
                      wait_cluster_ok, wait_for)

LINE = re.compile(r"^[0-9a-f]{40} [0-9.]*:\d+@\d+(,\S+)? [a-z?,]+ (-|[0-9a-f]{40}) "
                  r"\d+ \d+ \d+ (connected|disconnected)( \S+)*$")


def test_fresh_node(single_node):
    n = single_node()
    myid = n.myid()
    assert re.fullmatch(r"[0-9a-f]{40}", myid)
    lines = n.nodes()
    assert len(lines) == 1 and lines[0][0] == myid
    assert lines[0][2] == "myself,master"
    info = n.cluster_info()
    assert info["cluster_state"] == "fail"
    assert info["cluster_known_nodes"] == "1"
    assert n.client().info("cluster")["cluster_enabled"] == 1
    with pytest.raises(redis.ResponseError,
                       match="^CLUSTERDOWN Hash slot not served$"):
        n.client().get("foo")


def test_nodes_conf_survives_restart(single_node):
    n = single_node()
    c = n.client()
    myid = n.myid()
    assert c.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 100, 200, 300)
    assert c.execute_command("CLUSTER", "SET-CONFIG-EPOCH", 7)
    wait_for(lambda: n.cluster_info()["cluster_my_epoch"] == "7")
    assert c.execute_command("CLUSTER", "SAVECONFIG")
    text = (n.dir / "nodes.conf").read_text()
    lines = text.splitlines()
    assert LINE.match(lines[0]), lines[0]
    assert lines[0].startswith(myid + " ")
    assert lines[0].endswith(" 0-100 200-300")
    if IS_REDIS:
        assert lines[-1] == "vars currentEpoch 7 lastVoteEpoch 0"
    else:       # plus the shard id (CLUSTER MYSHARDID, Redis 7.2's)
        shard = c.execute_command("CLUSTER", "MYSHARDID")
        assert re.fullmatch(rb"[0-9a-f]{40}", shard) and shard != myid.encode()
        assert lines[-1] == ("vars currentEpoch 7 lastVoteEpoch 0 shardId "
                             + shard.decode())
    assert not list(n.dir.glob("nodes.conf.tmp*"))
    n.stop()
    n.start(keep_port=True)
    assert n.myid() == myid
    if not IS_REDIS:
        assert n.client().execute_command("CLUSTER", "MYSHARDID") == shard
    assert n.nodes()[0][8:] == ["0-100", "200-300"]
    info = n.cluster_info()
    assert info["cluster_current_epoch"] == "7"
    assert info["cluster_my_epoch"] == "7"
    assert info["cluster_slots_assigned"] == "202"


def test_open_slots_are_saved(make_cluster):
    a, b, _ = make_cluster(3)
    a.client().execute_command("CLUSTER", "SETSLOT", 7, "MIGRATING", b.myid())
    a.client().execute_command("CLUSTER", "SAVECONFIG")
    mine = [l for l in (a.dir / "nodes.conf").read_text().splitlines()
            if l.startswith(a.myid())][0]
    assert mine.endswith(" 0-5460 [7->-%s]" % b.myid())
    a.stop()
    a.start(keep_port=True)
    assert "[7->-%s]" % b.myid() in " ".join(
        [l for l in a.nodes() if l[0] == a.myid()][0])
    a.client().execute_command("CLUSTER", "SETSLOT", 7, "STABLE")


@pytest.mark.skipif(IS_REDIS, reason="Tessera's bus authentication")
def test_refuses_to_start_without_secret(tmp_path):
    port = 26999
    p = subprocess.run([tessera_binary(), "--port", str(port), "--bind",
                        "127.0.0.1", "--dir", str(tmp_path), "--save", "",
                        "--cluster-enabled", "yes"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "cluster-secret" in p.stdout + p.stderr
    assert "cluster-bus-insecure yes" in p.stdout + p.stderr


@pytest.mark.skipif(IS_REDIS, reason="Tessera's bus authentication")
def test_insecure_bus_allowed_when_asked():
    n = ClusterNode("tessera", ["--cluster-secret", "",
                                "--cluster-bus-insecure", "yes"], "insecure")
    try:
        n.start()
        assert n.cluster_info()["cluster_known_nodes"] == "1"
    finally:
        n.cleanup()


def test_config_file_locked(single_node):
    n = single_node()
    other = ClusterNode(n.kind, [], "locked")
    other.dir = n.dir    # same directory, same nodes.conf
    with pytest.raises(RuntimeError, match="node exited"):
        other.start()


def test_kill9_pfail_then_fail_then_back(make_cluster):
    nodes = make_cluster(3)
    victim = nodes[2]
    vid = victim.myid()
    watcher = nodes[0]

    def flags():
        return [l[2] for l in watcher.nodes() if l[0] == vid][0]

    t0 = time.monotonic()
    victim.kill9()
    wait_for(lambda: "fail" in flags(), 6, 0.02, "PFAIL or FAIL")
    t_pfail = time.monotonic() - t0
    wait_for(lambda: flags().split(",")[-1] == "fail", 6, 0.02, "FAIL")
    t_fail = time.monotonic() - t0
    # PFAIL after node-timeout, FAIL once the other master agrees
    assert NODE_TIMEOUT / 1000 * 0.8 <= t_pfail <= NODE_TIMEOUT / 1000 * 3
    assert t_fail <= NODE_TIMEOUT / 1000 * 4
    for n in nodes[:2]:
        wait_for(lambda: n.cluster_info()["cluster_state"] == "fail", 5)
        assert [l[2] for l in n.nodes() if l[0] == vid][0] == "master,fail"
    with pytest.raises(redis.ResponseError, match="^CLUSTERDOWN"):
        watcher.client().get("foo")
    # back on the same port with the same nodes.conf: rejoins, FAIL clears
    victim.start(keep_port=True)
    assert victim.myid() == vid
    wait_cluster_ok(nodes, timeout=15)
    assert flags() == "master"
