"""tessera-proxy reading from replicas (`read-from`).

A 3-master + 3-replica cluster (the failover test's ReplicatedCluster):
with `read-from replica` the GETs show up in the replicas' INFO
commandstats and not in the masters', writes still go to the masters;
`prefer-replica` falls back to the master when a replica is gone,
`replica` then fails with a clear error.  Replication is asynchronous,
so the tests wait for it (WAIT) before reading: the proxy does not
promise read-your-writes with read-from replica.
"""

import pytest
import redis

from .proxy_cluster import HOST, Node, wait_for
from .test_proxy_failover import ReplicatedCluster

NKEYS = 200


@pytest.fixture(scope="module")
def repl_cluster(cluster_tmp, backend_kind):
    c = ReplicatedCluster(cluster_tmp, kind=backend_kind)
    yield c
    c.stop()


def calls(node, cmd):
    stats = node.client().info("commandstats")
    return stats.get("cmdstat_" + cmd, {}).get("calls", 0)


def reset_stats(cluster):
    for n in cluster.alive():
        n.client().config_resetstat()


def wait_replicated(cluster):
    for m in cluster.masters:
        if m.proc.poll() is None:
            assert m.client().execute_command("WAIT", 1, 5000) >= 1


def test_reads_go_to_replicas_writes_to_masters(repl_cluster, start_proxy):
    c = repl_cluster
    p = start_proxy([n.addr for n in c.masters], "--read-from", "replica")
    pc = p.client()
    reset_stats(c)
    keys = ["rk:%d" % i for i in range(NKEYS)]
    pipe = pc.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, k)
    assert all(pipe.execute())
    wait_replicated(c)
    for k in keys:
        assert pc.get(k) == k.encode()
    # multi-key reads split go to replicas too
    assert pc.mget(keys) == [k.encode() for k in keys]
    status = pc.execute_command("PROXY").decode()
    assert "replicas=" in status
    for m in c.masters:
        assert calls(m, "get") == 0 and calls(m, "mget") == 0
    assert sum(calls(m, "set") for m in c.masters) == NKEYS
    got = [calls(r, "get") for r in c.replicas]
    assert sum(got) == NKEYS and all(g > 0 for g in got), got
    assert sum(calls(r, "mget") for r in c.replicas) > 0
    if c.kind == "tessera":     # split per node: one MGET per replica
        assert [calls(r, "mget") for r in c.replicas] == [1, 1, 1]
    assert all(calls(r, "readonly") >= 1 for r in c.replicas)
    # the default still reads from masters
    p2 = start_proxy([n.addr for n in c.masters])
    reset_stats(c)
    assert p2.client().get(keys[0]) == keys[0].encode()
    assert sum(calls(m, "get") for m in c.masters) == 1
    assert sum(calls(r, "get") for r in c.replicas) == 0


def test_a_write_is_never_sent_to_a_replica(repl_cluster, start_proxy):
    c = repl_cluster
    p = start_proxy([n.addr for n in c.masters], "--read-from",
                    "prefer-replica")
    pc = p.client()
    reset_stats(c)
    for i in range(30):
        assert pc.incr("ctr:%d" % i) == 1
        assert pc.exists("ctr:%d" % i) in (0, 1)    # may lag: a replica
    # (redis-py sends INCR as INCRBY)
    assert sum(calls(m, "incrby") for m in c.masters) == 30
    assert sum(calls(r, "exists") for r in c.replicas) == 30
    wait_replicated(c)
    assert pc.mget(["ctr:%d" % i for i in range(30)]) == [b"1"] * 30


def test_replica_gone_prefer_falls_back_replica_fails(repl_cluster,
                                                     start_proxy):
    """Runs last: kills a replica of the module's cluster."""
    c = repl_cluster
    seeds = [n.addr for n in c.masters]
    prefer = start_proxy(seeds, "--read-from", "prefer-replica")
    strict = start_proxy(seeds, "--read-from", "replica")
    pc, sc = prefer.client(), strict.client()
    keys = ["gone:%d" % i for i in range(60)]
    for k in keys:
        assert pc.set(k, k)
    wait_replicated(c)
    assert pc.mget(keys) == sc.mget(keys)
    victim = c.replicas[0]
    victim.proc.kill()
    victim.proc.wait()
    slot_lo, slot_hi = 0, 16384 // 3 - 1
    mine = [k for k in keys
            if slot_lo <= c.masters[0].client().execute_command(
                "CLUSTER", "KEYSLOT", k) <= slot_hi]
    assert mine
    # prefer-replica: the master answers, no client error
    for k in mine:
        assert pc.get(k) == k.encode()
    # replica: a clear error for that master's slots, others unaffected
    with pytest.raises(redis.ResponseError) as e:
        for k in mine:
            sc.get(k)
    assert "replica" in str(e.value) and "tessera-proxy" in str(e.value)
    others = [k for k in keys if k not in mine]
    assert sc.mget(others) == [k.encode() for k in others]


def test_new_replica_joins_the_round_robin(repl_cluster, start_proxy,
                                           cluster_tmp):
    """A replica added while the proxy runs is picked up with the next
    topology refresh; reads for its master then alternate between both."""
    c = repl_cluster
    master = c.masters[1]
    p = start_proxy([n.addr for n in c.masters], "--read-from", "replica",
                    "--threads", "1", "--topology-refresh-interval", "300")
    pc = p.client()
    lo, hi = 16384 // 3, 2 * (16384 // 3) - 1
    keys = [k for k in ("rr:%d" % i for i in range(400))
            if lo <= master.client().execute_command("CLUSTER", "KEYSLOT",
                                                     k) <= hi][:60]
    for k in keys:
        assert pc.set(k, k)
    extra = Node(cluster_tmp, kind=c.kind,
                 extra=("--cluster-node-timeout", "1000"))
    c.nodes.append(extra)       # stopped with the cluster
    try:
        master.client().execute_command("CLUSTER", "MEET", HOST, extra.port)
        mid = master.node_id
        wait_for(lambda: extra.client().execute_command(
            "CLUSTER", "REPLICATE", mid), timeout=20, what="replicate")
        # in sync: the new replica has the last key (READONLY: it serves
        # its master's slots instead of redirecting)
        direct = redis.Redis(host=HOST, port=extra.port, socket_timeout=5,
                             single_connection_client=True)
        direct.execute_command("READONLY")
        wait_for(lambda: direct.get(keys[-1]) == keys[-1].encode(),
                 timeout=60, interval=0.1, what="second replica in sync")
        direct.close()
        wait_for(lambda: p.client().execute_command("PROXY").decode().count(
            "127.0.0.1:%d" % extra.port) > 0, timeout=10,
            what="the proxy to see the new replica")
        reset_stats(c)
        for k in keys:
            assert pc.get(k) == k.encode()
        old = calls(c.replicas[1], "get")
        new = calls(extra, "get")
        assert old + new == len(keys) and abs(old - new) <= 2, (old, new)
    finally:
        extra.stop()
