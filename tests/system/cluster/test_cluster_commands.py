"""CLUSTER commands and redirections, side by side with a Redis 7.0 cluster.

Both clusters are made the same way (three masters, `redis-cli --cluster
create`), so they own the same slots in the same order; replies are
compared after replacing node ids and ports by the node's index.
"""

import re
import subprocess

import pytest
import redis
from redis.cluster import RedisCluster, key_slot

from .clusterlib import HOST, IS_REDIS, REDIS_CLI_BIN


def norm(value, nodes):
    """Replace ids and ports of nodes by n0, n1, ... in a reply."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return [norm(v, nodes) for v in value]
    if isinstance(value, dict):
        return {norm(k, nodes): norm(v, nodes) for k, v in value.items()}
    if isinstance(value, Exception):
        value = "ERR! " + str(value)
    if isinstance(value, str):
        for i, n in enumerate(nodes):
            value = value.replace(n.myid(), "id%d" % i)
            value = value.replace(str(n.bus_port), "bus%d" % i)
            value = value.replace(str(n.port), "port%d" % i)
        return value
    if isinstance(value, int):
        for i, n in enumerate(nodes):
            if value == n.port:
                return "port%d" % i
    return value


def call(node, *args):
    try:
        return node.client().execute_command(*args)
    except redis.ResponseError as e:
        return e


def both(cluster, ref, idx, *args):
    """The same command on node idx of both clusters, normalised."""
    a = norm(call(cluster[idx], *args), cluster)
    b = norm(call(ref[idx], *args), ref)
    return a, b


def test_check_clean(cluster3):
    p = subprocess.run([REDIS_CLI_BIN, "--cluster", "check", cluster3[0].addr],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout
    assert "[OK] All nodes agree about slots configuration." in p.stdout
    assert "[OK] All 16384 slots covered." in p.stdout


def test_info_fields(cluster3, redis_cluster3):
    ours = cluster3[0].cluster_info()
    ref = redis_cluster3[0].cluster_info()
    for k in ("cluster_state", "cluster_slots_assigned", "cluster_slots_ok",
              "cluster_slots_pfail", "cluster_slots_fail",
              "cluster_known_nodes", "cluster_size"):
        assert ours[k] == ref[k], k
    assert set(ref) - set(ours) <= {"cluster_stats_messages_meet_received",
                                    "cluster_stats_messages_meet_sent"}
    assert int(ours["cluster_stats_messages_ping_sent"]) > 0
    assert (cluster3[0].client().info("clients")["cluster_connections"] ==
            redis_cluster3[0].client().info("clients")["cluster_connections"]
            == 4)
    if not IS_REDIS:
        assert ours["cluster_stats_messages_dropped"] == "0"
        assert ours["cluster_stats_messages_auth_failed"] == "0"


def test_nodes_slots_shards_shape(cluster3, redis_cluster3):
    a, b = both(cluster3, redis_cluster3, 0, "CLUSTER", "SLOTS")
    assert a == b
    a, b = both(cluster3, redis_cluster3, 1, "CLUSTER", "SHARDS")
    key = lambda shard: str(shard)
    assert sorted(a, key=key) == sorted(b, key=key)
    ours = sorted(cluster3[0].nodes(), key=lambda l: l[8])
    ref = sorted(redis_cluster3[0].nodes(), key=lambda l: l[8])
    for x, y in zip(ours, ref):
        assert len(x) == len(y)
        assert x[2] == y[2] and x[3] == y[3] and x[7] == y[7] and x[8:] == y[8:]
        assert re.fullmatch(r"127\.0\.0\.1:\d+@\d+", x[1])
    a, b = both(cluster3, redis_cluster3, 0, "CLUSTER", "LINKS")
    assert len(a) == len(b) == 4
    a = [dict(zip(l[::2], l[1::2])) for l in a]
    b = [dict(zip(l[::2], l[1::2])) for l in b]
    assert sorted(l["direction"] for l in a) == ["from", "from", "to", "to"]
    assert [sorted(l) for l in a] == [sorted(l) for l in b]


@pytest.mark.parametrize("args", [
    ("CLUSTER", "KEYSLOT", "foo"),
    ("CLUSTER", "KEYSLOT", "{user1000}.following"),
    ("CLUSTER", "MYID"),
    ("CLUSTER", "COUNTKEYSINSLOT", "99999"),
    ("CLUSTER", "COUNTKEYSINSLOT", "abc"),
    ("CLUSTER", "GETKEYSINSLOT", "0", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "16384", "1"),
    ("CLUSTER", "ADDSLOTS", "0"),
    ("CLUSTER", "ADDSLOTS", "abc"),
    ("CLUSTER", "ADDSLOTS", "16384"),
    ("CLUSTER", "ADDSLOTSRANGE", "1"),
    ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"),
    ("CLUSTER", "ADDSLOTSRANGE", "5", "3"),
    ("CLUSTER", "DELSLOTSRANGE", "9", "2"),
    ("CLUSTER", "SETSLOT", "0", "foo"),
    ("CLUSTER", "SETSLOT", "0", "NODE", "deadbeef"),
    ("CLUSTER", "SETSLOT", "6000", "MIGRATING", "deadbeef"),
    ("CLUSTER", "SETSLOT", "0", "MIGRATING", "deadbeef"),
    ("CLUSTER", "SETSLOT", "6000", "IMPORTING", "deadbeef"),
    ("CLUSTER", "SETSLOT", "99999", "STABLE"),
    ("CLUSTER", "FORGET", "xyz"),
    ("CLUSTER", "REPLICAS", "xyz"),
    ("CLUSTER", "SLAVES", "xyz"),
    ("CLUSTER", "COUNT-FAILURE-REPORTS", "xyz"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "5"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "-1"),
    ("CLUSTER", "MEET", "127.0.0.1", "abc"),
    ("CLUSTER", "MEET", "127.0.0.1", "7000", "xyz"),
    ("CLUSTER", "MEET", "nonsense", "7000"),
    ("CLUSTER", "MEET", "a", "1", "2", "3"),
    ("CLUSTER", "RESET", "bogus"),
    ("CLUSTER", "FOO"),
    ("CLUSTER",),
    ("CLUSTER", "HELP"),
    ("CLUSTER", "FAILOVER"),
    ("CLUSTER", "FAILOVER", "FORCE"),
    ("CLUSTER", "FAILOVER", "bogus"),
    ("CLUSTER", "FAILOVER", "FORCE", "x"),
    ("CLUSTER", "INFO", "extra"),
    ("READONLY",),
    ("READWRITE",),
    ("ASKING",),
])
def test_replies_match_redis(cluster3, redis_cluster3, args):
    a, b = both(cluster3, redis_cluster3, 0, *args)
    assert a == b


def test_node_id_commands_match_redis(cluster3, redis_cluster3):
    for args in (("CLUSTER", "FORGET", "{me}"), ("CLUSTER", "REPLICAS", "{me}"),
                 ("CLUSTER", "COUNT-FAILURE-REPORTS", "{other}"),
                 ("CLUSTER", "SETSLOT", "0", "IMPORTING", "{me}"),
                 ("CLUSTER", "REPLICATE", "{me}")):
        def fill(nodes):
            return [x.replace("{me}", nodes[0].myid())
                     .replace("{other}", nodes[1].myid()) for x in args]
        a = norm(call(cluster3[0], *fill(cluster3)), cluster3)
        b = norm(call(redis_cluster3[0], *fill(redis_cluster3)), redis_cluster3)
        assert a == b, args


def test_redirections_match_redis(cluster3, redis_cluster3):
    cases = [("GET", "foo"), ("SET", "foo", "1"), ("MSET", "a", "1", "b", "2"),
             ("MGET", "{t}a", "{t}b"), ("DEL", "x", "y"),
             ("ZUNIONSTORE", "d", "2", "a", "b"), ("SINTERCARD", "2", "p", "q"),
             ("EXISTS", "foo", "foo"), ("PING",), ("DBSIZE",)]
    for args in cases:
        for i in range(3):
            a, b = both(cluster3, redis_cluster3, i, *args)
            assert a == b, (i, args)


def _open_slot(nodes, slot, src, dst):
    """Slot slot: MIGRATING on src, IMPORTING on dst (indexes)."""
    s, d = nodes[src], nodes[dst]
    d.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING",
                               s.myid())
    s.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING",
                               d.myid())


def _close_slot(nodes, slot, src, dst):
    for i in (src, dst):
        nodes[i].client().execute_command("CLUSTER", "SETSLOT", slot, "STABLE")


def test_ask_and_tryagain_match_redis(cluster3, redis_cluster3):
    slot = key_slot(b"{m}x")   # 3 keys with one hash tag
    owner = [i for i in range(3) if slot <= [5460, 10922, 16383][i]][0]
    other = (owner + 1) % 3
    results = []
    for nodes in (cluster3, redis_cluster3):
        o, t = nodes[owner], nodes[other]
        o.client().set("{m}x", "1")
        _open_slot(nodes, slot, owner, other)
        try:
            out = [
                norm(call(o, "GET", "{m}x"), nodes),          # present: served
                norm(call(o, "GET", "{m}missing"), nodes),    # ASK
                norm(call(o, "MGET", "{m}x", "{m}y"), nodes),  # TRYAGAIN
                norm(call(t, "GET", "{m}x"), nodes),          # MOVED
                norm(call(o, "CLUSTER", "NODES"), nodes).count("->-"),
            ]
            c = t.client(single_connection_client=True)
            c.execute_command("ASKING")
            out.append(c.execute_command("GET", "{m}y"))     # served (nil)
            out.append(norm(call(t, "GET", "{m}y"), nodes))  # ASKING is gone
            c.execute_command("ASKING")
            try:
                c.execute_command("MGET", "{m}x", "{m}y")
            except redis.ResponseError as e:
                out.append(str(e))
            c.close()
        finally:
            _close_slot(nodes, slot, owner, other)
            o.client().delete("{m}x")
        results.append(out)
    assert results[0] == results[1]
    assert "ASK" in results[0][1] and "TRYAGAIN" in results[0][2]


def test_rediscluster_client_all_slots(cluster3):
    rc = RedisCluster(host=HOST, port=cluster3[0].port)
    rc.flushall()
    keys = {}
    i = 0
    while len(keys) < 16384:
        k = "k%d" % i
        keys.setdefault(key_slot(k.encode()), k)
        i += 1
    pipe = rc.pipeline()
    for slot, k in keys.items():
        pipe.set(k, slot)
    assert all(pipe.execute())
    pipe = rc.pipeline()
    for k in keys.values():
        pipe.get(k)
    got = pipe.execute()
    assert [int(v) for v in got] == list(keys.keys())
    sizes = [n.client().dbsize() for n in cluster3]
    assert sizes == [5461, 5462, 5461]
    c = cluster3[2].client()
    assert c.execute_command("CLUSTER", "COUNTKEYSINSLOT", 16383) == 1
    assert c.execute_command("CLUSTER", "GETKEYSINSLOT", 16383, 10) == [
        keys[16383].encode()]
    rc.flushall()
    rc.close()


def test_publish_reaches_every_node(cluster3):
    subs = []
    for n in cluster3:
        p = n.client().pubsub()
        p.subscribe("news")
        assert p.get_message(timeout=2)["type"] == "subscribe"
        subs.append(p)
    assert cluster3[1].client().publish("news", "hello") == 1
    for p in subs:
        m = p.get_message(timeout=3)
        assert m and m["type"] == "message" and m["data"] == b"hello", m
        p.close()


def test_spublish_stays_in_shard(cluster3):
    ch = "{m}shard"
    slot = key_slot(ch.encode())
    owner = [i for i in range(3) if slot <= [5460, 10922, 16383][i]][0]
    other = cluster3[(owner + 1) % 3]
    with pytest.raises(redis.ResponseError, match="MOVED %d" % slot):
        other.client().execute_command("SSUBSCRIBE", ch)
    sub = cluster3[owner].client(single_connection_client=True)
    assert sub.execute_command("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
    assert cluster3[owner].client().execute_command("SPUBLISH", ch, "x") == 1
    assert sub.connection.read_response() == [b"smessage", ch.encode(), b"x"]
    sub.close()
