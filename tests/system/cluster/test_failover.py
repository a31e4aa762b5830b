"""Automatic failover: kill -9 of a master under writes; its replica wins
the election, takes the slots, writes succeed again; the old master comes
back as a replica of the new one."""

import subprocess
import threading
import time

import pytest
import redis

from .clusterlib import (IS_REDIS, NODE_TIMEOUT, REDIS_CLI_BIN,
                         wait_cluster_ok, wait_for)


def write_through(nodes, key, value, timeout=0.3):
    """One SET sent to any live node, following one MOVED; True if OK."""
    for n in nodes:
        if not n.alive():
            continue
        try:
            return n.client(socket_timeout=timeout,
                            socket_connect_timeout=timeout).set(key, value)
        except redis.ResponseError as e:
            if not str(e).startswith("MOVED"):
                continue
            host, port = str(e).split()[2].rsplit(":", 1)
            try:
                return redis.Redis(host=host, port=int(port),
                                   socket_timeout=timeout,
                                   socket_connect_timeout=timeout).set(key,
                                                                       value)
            except (redis.RedisError, OSError):
                continue
        except (redis.RedisError, OSError):
            continue
    return False


def role(n):
    """n's own CLUSTER NODES line, split."""
    return [l for l in n.nodes() if l[0] == n.myid()][0]


def cluster_with_replicas(make_cluster):
    """3 masters + 3 replicas, every node knowing the three replicas;
    (nodes, {node id: node})."""
    nodes = make_cluster(6, extra=["--repl-diskless-sync-delay", "0"],
                         replicas=1)
    for n in nodes:
        wait_for(lambda: sum("slave" in l[2] for l in n.nodes()) == 3, 10,
                 what="roles known")
    return nodes, {n.myid(): n for n in nodes}


def last_shard(nodes, by_id):
    """(master of slots 10923-16383, its replica)."""
    lines = nodes[0].nodes()
    master = by_id[[l for l in lines if "16383" in " ".join(l[8:])][0][0]]
    replica = by_id[[l[0] for l in lines if l[3] == master.myid()][0]]
    return master, replica


def test_kill9_master_failover(make_cluster):
    nodes, by_id = cluster_with_replicas(make_cluster)
    victim, replica = last_shard(nodes, by_id)
    key = "{x}k"     # slot 16287: served by the victim
    assert write_through(nodes, key, "before")
    wait_for(lambda: replica.client().dbsize() == victim.client().dbsize(), 10,
             what="replica in sync")

    t0 = time.monotonic()
    victim.kill9()
    i = 0
    while not write_through(nodes, key, "after-%d" % i):
        i += 1
        assert time.monotonic() - t0 < 10, "writes never resumed"
        time.sleep(0.01)
    window = time.monotonic() - t0
    # PFAIL after node-timeout, FAIL, a ~0.1 s election
    assert window < NODE_TIMEOUT / 1000 * 3.5, window
    me = role(replica)
    assert me[2] == "myself,master" and me[8:] == ["10923-16383"]
    assert replica.client().get(key).startswith(b"after-")
    epochs = [int(l[6]) for l in replica.nodes()]
    assert int(me[6]) == max(epochs)        # the new config epoch is highest

    # the old master returns as a replica of its replacement
    victim.start(keep_port=True)
    wait_for(lambda: role(victim)[3] == replica.myid(), 10,
             what="old master follows the new one")
    wait_for(lambda: victim.client().info("replication")["master_link_status"]
             == "up", 10, what="old master syncing")
    wait_cluster_ok(nodes)
    c = victim.client(single_connection_client=True)
    c.execute_command("READONLY")
    wait_for(lambda: c.get(key) == replica.client().get(key), 5)
    c.close()


def test_manual_force_and_takeover(make_cluster):
    nodes, by_id = cluster_with_replicas(make_cluster)
    replicas = [(by_id[l[0]], by_id[l[3]]) for l in nodes[0].nodes()
                if "slave" in l[2]]

    def shard(n):
        return n.client().execute_command("CLUSTER", "MYSHARDID")

    if not IS_REDIS:    # CLUSTER MYSHARDID is Redis 7.2's
        # a replica serves its master's shard; the three shards differ
        wait_for(lambda: all(shard(r) == shard(m) for r, m in replicas), 5,
                 what="replicas share their master's shard id")
        assert len({shard(m) for _, m in replicas}) == 3
        assert all(len(shard(n)) == 40 for n in nodes)
        before = {r.myid(): shard(r) for r, _ in replicas}

    for (replica, master), mode in zip(replicas[:2], ("FORCE", "TAKEOVER")):
        slots = role(master)[8:]
        epoch = int(role(master)[6])
        assert replica.client().execute_command("CLUSTER", "FAILOVER", mode)
        wait_for(lambda: role(replica)[2] == "myself,master", 5,
                 what="%s: replica promoted" % mode)
        assert role(replica)[8:] == slots
        assert int(role(replica)[6]) > epoch
        # the old master, alive, follows its replacement
        wait_for(lambda: role(master)[2] == "myself,slave" and
                 role(master)[3] == replica.myid(), 5,
                 what="%s: old master demoted" % mode)
        with pytest.raises(redis.ResponseError,
                           match="^You should send CLUSTER FAILOVER to a "
                                 "replica$"):
            replica.client().execute_command("CLUSTER", "FAILOVER")
        if not IS_REDIS:    # the shard keeps its id across the failover
            assert shard(replica) == before[replica.myid()]
            wait_for(lambda: shard(master) == before[replica.myid()], 5,
                     what="demoted master takes the shard id")
    wait_cluster_ok(nodes)
    p = subprocess.run([REDIS_CLI_BIN, "--cluster", "check", nodes[0].addr],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout


def test_manual_failover_default_no_lost_writes(make_cluster):
    """CLUSTER FAILOVER (default mode) under continuous writes: the master
    pauses writes until its replica caught up, so every acknowledged write
    is on the new master; the roles switch."""
    nodes, by_id = cluster_with_replicas(make_cluster)
    master, replica = last_shard(nodes, by_id)
    wait_for(lambda: replica.client().info("replication")
             ["master_link_status"] == "up" and
             master.client().info("replication")["slave0"]["state"] ==
             "online", 10, what="replica synced and streaming")

    acked, stop, ack_times = {}, threading.Event(), []

    def writer():
        i = 0
        while not stop.is_set():
            key = "{x}mf%d" % i      # slot 16287: the master's
            if write_through(nodes, key, "v%d" % i, timeout=2):
                acked[key] = b"v%d" % i
                ack_times.append(time.monotonic())
            i += 1

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    wait_for(lambda: len(acked) > 50, 10, what="writes flowing")
    epoch = int(role(master)[6])
    assert replica.client().execute_command("CLUSTER", "FAILOVER")
    wait_for(lambda: role(replica)[2] == "myself,master", 10,
             what="replica promoted")
    wait_for(lambda: role(master)[2] == "myself,slave" and
             role(master)[3] == replica.myid(), 10,
             what="old master demoted")
    n_at_switch = len(acked)
    wait_for(lambda: len(acked) > n_at_switch + 50, 10,
             what="writes resumed on the new master")
    stop.set()
    t.join(10)
    assert int(role(replica)[6]) > epoch
    assert role(replica)[8:] == ["10923-16383"]
    c = replica.client()
    lost = [k for k, v in acked.items() if c.get(k) != v]
    assert not lost, "%d acknowledged writes lost, e.g. %s" % (len(lost),
                                                              lost[:5])
    # the default mode's handshake ran: the master paused and told its
    # offset, the replica caught up with it before the election
    assert "Manual failover requested by replica" in \
        master.log_path.read_text()
    log = replica.log_path.read_text()
    assert "Received replication offset for paused master" in log
    assert "All master replication stream processed" in log
    gap = max(b - a for a, b in zip(ack_times, ack_times[1:]))
    print("%d acknowledged writes, none lost; longest write stall %.3f s"
          % (len(acked), gap))
    assert gap < 5.0        # the pause ends with the failover (MF timeout)
