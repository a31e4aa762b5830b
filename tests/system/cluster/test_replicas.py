"""Masters with replicas: `redis-cli --cluster create --cluster-replicas 1`,
CLUSTER REPLICATE through the replication module, READONLY reads."""

import subprocess

import redis
from redis.cluster import RedisCluster

from .clusterlib import HOST, REDIS_CLI_BIN, wait_for


def test_create_with_replicas(make_cluster):
    nodes = make_cluster(6, extra=["--repl-diskless-sync-delay", "0"],
                         replicas=1)
    p = subprocess.run([REDIS_CLI_BIN, "--cluster", "check", nodes[0].addr],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout
    assert "[OK] All 16384 slots covered." in p.stdout
    # roles spread by gossip: every node sees three replicas
    for n in nodes:
        wait_for(lambda: sum("slave" in l[2] for l in n.nodes()) == 3, 10,
                 what="replica roles known everywhere")
    lines = nodes[0].nodes()
    masters = {l[0]: l for l in lines if "master" in l[2]}
    replicas = [l for l in lines if "slave" in l[2]]
    assert len(masters) == 3 and len(replicas) == 3
    assert {r[3] for r in replicas} == set(masters)
    for r in replicas:
        assert r[8:] == []                     # replicas show no slots
        assert r[6] == masters[r[3]][6]        # and their master's epoch

    rc = RedisCluster(host=HOST, port=nodes[0].port)
    for i in range(200):
        rc.set("key:%d" % i, i)
    rc.close()
    by_id = {n.myid(): n for n in nodes}
    for r in replicas:
        replica = by_id[r[0]]
        master = by_id[r[3]]
        wait_for(lambda: replica.client().dbsize() == master.client().dbsize(),
                 15, what="replica caught up")
        assert (replica.client().info("replication")["master_port"]
                == master.port)
        c = replica.client(single_connection_client=True)
        key = master.client().randomkey()
        try:
            c.get(key)
            assert False, "a replica must redirect without READONLY"
        except redis.ResponseError as e:
            assert str(e) == "MOVED %d %s" % (
                c.execute_command("CLUSTER", "KEYSLOT", key), master.addr)
        assert c.execute_command("READONLY")
        assert c.get(key) == master.client().get(key)
        try:
            c.set(key, "x")
            assert False, "writes go to the master"
        except redis.ResponseError as e:
            assert str(e).startswith("MOVED ")
        c.close()
    shards = nodes[0].client().execute_command("CLUSTER", "SHARDS")
    assert sorted(len(dict(zip(s[::2], s[1::2]))[b"nodes"]) for s in shards) == [2, 2, 2]
