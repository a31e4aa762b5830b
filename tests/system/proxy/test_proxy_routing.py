"""tessera-proxy in front of a 3-master Redis 7.0 Cluster: routing.

Every command family goes through the proxy to the node that owns the
key; multi-key commands with keys on all three masters are split and
merged; cluster-wide commands fan out; pipelines keep their order.
"""

import threading
import time

import pytest
import redis


def keys_on_all_masters(cluster, n=30, prefix="k"):
    """n keys that together hit every master (asserted)."""
    keys = ["%s:%d" % (prefix, i) for i in range(n)]
    owners = {cluster.node_for_key(k).port for k in keys}
    assert len(owners) == len(cluster.nodes)
    return keys


def test_topology_learned(pr, cluster):
    text = pr.execute_command("PROXY").decode()
    assert "topology_source:CLUSTER SHARDS" in text
    assert "masters:3" in text
    assert "slots_unassigned:0" in text
    for n in cluster.nodes:
        assert n.addr in text


def test_strings_go_to_the_owner(pr, cluster):
    for i in range(30):
        key = "str:%d" % i
        assert pr.set(key, "v%d" % i)
        assert pr.get(key) == b"v%d" % i
        # the owner really holds it
        assert cluster.node_for_key(key).client().get(key) == b"v%d" % i
    assert pr.incr("counter") == 1
    assert pr.incrby("counter", 10) == 11
    assert pr.append("str:0", "x") == 3
    assert pr.strlen("str:0") == 3
    assert pr.getrange("str:0", 0, 1) == b"v0"
    assert pr.setnx("str:0", "no") is False
    assert pr.getdel("str:1") == b"v1"
    assert pr.get("str:1") is None


def test_lists_hashes_sets_zsets(pr):
    assert pr.rpush("l", "a", "b", "c") == 3
    assert pr.lrange("l", 0, -1) == [b"a", b"b", b"c"]
    assert pr.lpop("l") == b"a"
    assert pr.hset("h", mapping={"f1": "1", "f2": "2"}) == 2
    assert pr.hgetall("h") == {b"f1": b"1", b"f2": b"2"}
    assert pr.hincrby("h", "f1", 5) == 6
    assert pr.sadd("s", "x", "y", "z") == 3
    assert pr.smembers("s") == {b"x", b"y", b"z"}
    assert pr.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert pr.zrange("z", 0, -1, withscores=True) == [
        (b"a", 1.0), (b"b", 2.0), (b"c", 3.0)]
    assert pr.zscore("z", "b") == 2.0
    assert pr.type("z") == b"zset"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        pr.lpush("h", "x")


def test_keys_and_expire(pr):
    pr.set("e1", "v")
    assert pr.expire("e1", 100)
    assert 0 < pr.ttl("e1") <= 100
    assert pr.persist("e1")
    assert pr.ttl("e1") == -1
    pr.set("e2", "v", px=50)
    assert pr.pttl("e2") > 0
    assert pr.exists("e1") == 1
    pr.set("{t}a", 1)
    assert pr.rename("{t}a", "{t}b")
    assert pr.get("{t}b") == b"1"


def test_mget_mset_across_masters(pr, cluster):
    keys = keys_on_all_masters(cluster)
    assert pr.mset({k: "val-" + k for k in keys})
    for k in keys:
        assert cluster.node_for_key(k).client().get(k) == ("val-" + k).encode()
    mixed = keys + ["missing:1"] + keys[::-1]
    got = pr.mget(mixed)
    want = [("val-" + k).encode() for k in keys] + [None] + \
        [("val-" + k).encode() for k in keys[::-1]]
    assert got == want


def test_big_mget_over_thousands_of_slots(pr):
    keys = ["big:%d" % i for i in range(5000)]
    half = {k: "v" + k for k in keys[::2]}
    assert pr.mset(half)
    t0 = time.monotonic()
    got = pr.mget(keys + keys[:10])
    assert time.monotonic() - t0 < 10
    assert got == [half.get(k, None) and half[k].encode()
                   for k in keys + keys[:10]]
    assert pr.delete(*keys) == len(half)


def test_mset_with_a_missing_value(pr, cluster):
    keys = keys_on_all_masters(cluster, prefix="odd")
    for args in ((keys[0], "1", keys[1]), (keys[0], "1", keys[1], "2", keys[2])):
        with pytest.raises(redis.ResponseError) as e:
            pr.execute_command("MSET", *args)
        assert str(e.value) == "wrong number of arguments for 'mset' command"
    # same slot: forwarded, the node answers the same
    with pytest.raises(redis.ResponseError) as e:
        pr.execute_command("MSET", "{o}a", "1", "{o}b")
    assert str(e.value) == "wrong number of arguments for 'mset' command"
    assert pr.exists(*keys) == 0


def test_del_exists_touch_unlink_sum(pr, cluster):
    keys = keys_on_all_masters(cluster)
    pr.mset({k: "1" for k in keys})
    assert pr.exists(*keys) == len(keys)
    assert pr.exists(*(keys + keys)) == 2 * len(keys)  # duplicates count
    assert pr.touch(*keys, "nokey") == len(keys)
    assert pr.delete(*keys[:10], "nokey") == 10
    assert pr.unlink(*keys) == len(keys) - 10
    assert pr.exists(*keys) == 0


def test_crossslot_for_other_multikey_commands(pr, cluster):
    keys = keys_on_all_masters(cluster, prefix="x")
    with pytest.raises(redis.ResponseError) as e:
        pr.msetnx({keys[0]: 1, keys[1]: 2, keys[2]: 3})
    assert str(e.value) == ("CROSSSLOT Keys in request don't hash to the "
                            "same slot")
    with pytest.raises(redis.ResponseError, match="same slot"):
        pr.sunion(keys[0], keys[1], keys[2])
    with pytest.raises(redis.ResponseError, match="same slot"):
        pr.rename(keys[0], keys[1])


def test_same_slot_multikey_passes_unchanged(pr):
    assert pr.msetnx({"{u}1": "a", "{u}2": "b"})
    assert pr.sadd("{u}s1", "a", "b") and pr.sadd("{u}s2", "b", "c")
    assert pr.sunion("{u}s1", "{u}s2") == {b"a", b"b", b"c"}
    assert pr.zunionstore("{u}z", ["{u}s1", "{u}s2"]) == 3
    assert pr.lmove("{u}l1", "{u}l2") is None


def test_pipeline_1000_mixed_in_order(pr, cluster):
    pipe = pr.pipeline(transaction=False)
    expect = []
    for i in range(1000):
        k = "p:%d" % (i % 97)
        m = i % 5
        if m == 0:
            pipe.set(k, i); expect.append(True)
        elif m == 1:
            pipe.get(k); expect.append(None)       # checked below
        elif m == 2:
            pipe.incr("pc:%d" % (i % 7)); expect.append(None)
        elif m == 3:
            pipe.echo("e%d" % i); expect.append(b"e%d" % i)
        else:
            pipe.mget(k, "p:%d" % ((i + 1) % 97)); expect.append(None)
    got = pipe.execute()
    assert len(got) == 1000
    model, counters = {}, {}
    for i in range(1000):
        k = "p:%d" % (i % 97)
        m = i % 5
        if m == 0:
            model[k] = b"%d" % i
            assert got[i] is True
        elif m == 1:
            assert got[i] == model.get(k), i
        elif m == 2:
            c = "pc:%d" % (i % 7)
            counters[c] = counters.get(c, 0) + 1
            assert got[i] == counters[c], i
        elif m == 3:
            assert got[i] == expect[i]
        else:
            assert got[i] == [model.get(k), model.get("p:%d" % ((i + 1) % 97))]


def test_concurrent_pipelining_clients(proxy, pr):
    errors = []

    def worker(t):
        try:
            c = proxy.client()
            for rnd in range(5):
                pipe = c.pipeline(transaction=False)
                for i in range(200):
                    pipe.set("c%d:%d" % (t, i), "%d-%d" % (rnd, i))
                    pipe.get("c%d:%d" % (t, i))
                res = pipe.execute()
                for i in range(200):
                    assert res[2 * i + 1] == b"%d-%d" % (rnd, i)
            c.close()
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_scan_visits_every_key(pr, cluster):
    keys = {("sc:%d" % i).encode() for i in range(500)}
    pipe = pr.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, "1")
    pipe.execute()
    seen = []
    cursor = 0
    calls = 0
    while True:
        cursor, batch = pr.scan(cursor=cursor, count=50)
        seen += batch
        calls += 1
        if cursor == 0:
            break
    assert set(seen) == keys
    assert calls > 3
    # MATCH and TYPE pass through
    pr.sadd("sc-set", "a")
    assert set(pr.scan_iter(match="sc:1*", count=100)) == \
        {k for k in keys if k.startswith(b"sc:1")}
    assert list(pr.scan_iter(_type="set", count=1000)) == [b"sc-set"]
    with pytest.raises(redis.ResponseError, match="invalid cursor"):
        pr.scan(cursor="abc")


def test_keys_dbsize_randomkey_flushall(pr, cluster):
    keys = keys_on_all_masters(cluster, prefix="kd")
    assert pr.randomkey() is None
    pr.mset({k: 1 for k in keys})
    assert pr.dbsize() == len(keys)
    assert sorted(pr.keys("kd:*")) == sorted(k.encode() for k in keys)
    assert pr.randomkey() in {k.encode() for k in keys}
    assert pr.flushall()
    assert pr.dbsize() == 0
    for n in cluster.nodes:
        assert n.client().dbsize() == 0
    pr.set("a", 1)
    assert pr.flushdb() and pr.dbsize() == 0


def test_info_aggregates_keyspace(pr, cluster):
    keys = keys_on_all_masters(cluster, prefix="inf")
    pr.mset({k: 1 for k in keys})
    pr.expire(keys[0], 100)
    info = pr.info()
    assert info["db0"]["keys"] == len(keys)
    assert info["db0"]["expires"] == 1
    assert info["masters"] == 3
    assert "connected_clients" in info
    assert "db0" not in pr.info("server")


def test_redis_benchmark_through_proxy(proxy):
    import subprocess
    out = subprocess.run(
        ["/usr/bin/redis-benchmark", "-h", proxy.host, "-p", str(proxy.port),
         "-t", "set,get,mset", "-n", "3000", "-c", "10", "-P", "4", "-q",
         "-r", "1000"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "requests per second" in out.stdout
    assert "ERR" not in out.stdout + out.stderr
    for line in ("SET", "GET", "MSET"):
        assert line in out.stdout


def test_connections_spread_over_worker_threads(proxy, pr):
    clients = [proxy.client() for _ in range(24)]
    for i, c in enumerate(clients):
        assert c.set("spread:%d" % i, i)
    text = pr.execute_command("PROXY").decode()
    workers = {ln.split("worker=")[1].split(",")[0]
               for ln in text.splitlines() if ln.startswith("backend:")}
    assert workers == {"0", "1"}, text
    for c in clients:
        c.close()
