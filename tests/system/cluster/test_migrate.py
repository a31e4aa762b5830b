"""MIGRATE and RESTORE-ASKING, standalone and in cluster mode.

Standalone: MIGRATE from the server under test into Debian's redis-server
7.0 and into another server under test, and from redis-server into the
server under test (DUMP payloads move both ways); single key and KEYS
form, COPY, REPLACE, AUTH/AUTH2, NOKEY, BUSYKEY (wrapped in "Target
instance replied with error"), TTLs kept, IOERR on a dead port, the
deletion reaching a replica as DEL, Redis's argument errors.

Cluster: `redis-cli --cluster reshard` of 100 slots holding keys between
two masters of a 3-master cluster while a redis-py RedisCluster client
keeps writing and reading them, then `redis-cli --cluster check` clean and
every key on exactly one node; then an empty master joins with
`--cluster add-node` and `--cluster rebalance --cluster-use-empty-masters`
leaves every master within redis-cli's threshold.
"""

import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from redis.cluster import ClusterNode as PyClusterNode
from redis.cluster import RedisCluster
from redis.crc import key_slot

from pathlib import Path

from .clusterlib import (HOST, REDIS_CLI_BIN, REDIS_SERVER_BIN, ClusterNode,
                         cluster_create, free_cluster_port, wait_cluster_ok,
                         wait_for)


# ---- standalone ---------------------------------------------------------------

class RefRedis:
    """A plain redis-server 7.0 (the reference target/source)."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="tessera-migref-")
        self.port = free_cluster_port()
        self.host = HOST
        self.proc = subprocess.Popen(
            [REDIS_SERVER_BIN, "--port", str(self.port), "--bind", HOST,
             "--save", "", "--appendonly", "no", "--dir", self.dir] +
            list(extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.client().ping(), 10, what="redis-server up")

    def client(self, **kw):
        kw.setdefault("socket_timeout", 5)
        return redis.Redis(host=HOST, port=self.port, **kw)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def ref():
    made = []

    def make(*extra):
        made.append(RefRedis(*extra))
        return made[-1]

    yield make
    for s in made:
        s.stop()


def migrate(src, dst, key, *opts, timeout=2000):
    return src.client().execute_command(
        "MIGRATE", dst.host, dst.port, key, 0, timeout, *opts)


def fill(c):
    c.set("s", "v" * 100)
    c.set("n", 12345)
    c.rpush("l", *range(50))
    c.hset("h", mapping={"f%d" % i: i for i in range(20)})
    c.sadd("st", *range(10))
    c.zadd("z", {"m%d" % i: i for i in range(10)})
    c.pexpire("s", 100000)


def check_moved(dst):
    d = dst.client()
    assert d.get("s") == b"v" * 100
    assert 90000 < d.pttl("s") <= 100000
    assert d.get("n") == b"12345"
    assert d.ttl("n") == -1
    assert d.lrange("l", 0, -1) == [str(i).encode() for i in range(50)]
    assert d.hget("h", "f7") == b"7" and d.hlen("h") == 20
    assert d.smembers("st") == {str(i).encode() for i in range(10)}
    assert d.zscore("z", "m9") == 9


KEYS = ("s", "n", "l", "h", "st", "z")


@pytest.mark.parametrize("target", ["redis", "self"])
def test_migrate_single_and_keys(start_server, ref, target):
    src = start_server()
    dst = ref() if target == "redis" else start_server()
    s = src.client()
    fill(s)
    assert migrate(src, dst, "s") == b"OK"
    assert migrate(src, dst, "", "KEYS", "n", "l", "h", "st", "z",
                   "missing") == b"OK"
    assert s.dbsize() == 0
    check_moved(dst)
    assert migrate(src, dst, "s") == b"NOKEY"
    assert migrate(src, dst, "", "KEYS", "x", "y") == b"NOKEY"


def test_migrate_big_values_and_reconnect(start_server):
    """Payloads larger than one 64 KB write; a cached connection the target
    closed (restart) is replaced transparently; idle ones close in 10 s."""
    src, dst = start_server(), start_server()
    s = src.client()
    big = b"x" * 300000
    s.set("big", big)
    s.rpush("biglist", *[b"%d-%s" % (i, b"y" * 100) for i in range(5000)])
    assert migrate(src, dst, "", "KEYS", "big", "biglist", timeout=5000) \
        == b"OK"
    d = dst.client()
    assert d.get("big") == big and d.llen("biglist") == 5000
    dst.stop()
    dst.start(keep_port=True)
    s.set("k", "v")
    assert migrate(src, dst, "k") == b"OK"
    assert dst.client().get("k") == b"v"
    clients = lambda: dst.info("clients")["connected_clients"]  # noqa: E731
    assert clients() == 2           # the migrate link and this one
    wait_for(lambda: clients() == 1, 15, what="the idle link closed")


def test_migrate_from_redis_server(start_server, ref):
    src = ref()
    dst = start_server()
    fill(src.client())
    assert migrate(src, dst, "", "KEYS", *KEYS) == b"OK"
    assert src.client().dbsize() == 0
    check_moved(dst)
    # and back again
    assert migrate(dst, src, "", "KEYS", *KEYS) == b"OK"
    check_moved(src)


def test_migrate_copy_replace_busykey(start_server):
    src, dst = start_server(), start_server()
    s, d = src.client(), dst.client()
    s.set("k", "new")
    d.set("k", "old")
    with pytest.raises(redis.ResponseError) as e:
        migrate(src, dst, "k")
    assert str(e.value) == ("Target instance replied with error: BUSYKEY "
                            "Target key name already exists.")
    assert s.get("k") == b"new" and d.get("k") == b"old"
    assert migrate(src, dst, "k", "COPY", "REPLACE") == b"OK"
    assert s.get("k") == b"new" and d.get("k") == b"new"
    s.set("k", "newer")
    assert migrate(src, dst, "k", "REPLACE") == b"OK"
    assert s.exists("k") == 0 and d.get("k") == b"newer"
    # KEYS: the keys the target refused stay, the others move
    s.mset({"a": 1, "b": 2})
    d.set("b", "x")
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        migrate(src, dst, "", "KEYS", "a", "b")
    assert s.exists("a") == 0 and s.get("b") == b"2" and d.get("a") == b"1"


def test_migrate_auth(start_server):
    src = start_server("--slowlog-log-slower-than", 0)
    dst = start_server("--requirepass", "pw")
    s = src.client()
    s.set("k", "v")
    with pytest.raises(redis.ResponseError,
                       match="^Target instance replied with error: NOAUTH"):
        migrate(src, dst, "k")
    with pytest.raises(redis.ResponseError, match="WRONGPASS"):
        migrate(src, dst, "k", "AUTH", "bad")
    assert migrate(src, dst, "k", "COPY", "AUTH", "pw") == b"OK"
    assert migrate(src, dst, "k", "REPLACE", "AUTH2", "default", "pw") == b"OK"
    assert s.exists("k") == 0
    assert dst.client(password="pw").get("k") == b"v"
    # the passwords never reach the slow log
    logged = [e["command"] for e in src.client().slowlog_get(20)
              if e["command"].startswith(b"MIGRATE")]
    assert len(logged) == 4
    assert all(b"pw" not in c and b"bad" not in c for c in logged), logged
    assert logged[0].endswith(b"AUTH2 (redacted) (redacted)")


def test_migrate_ioerr_and_args(start_server):
    src = start_server()
    s = src.client()
    s.set("k", "v")
    dead = free_cluster_port()
    t0 = time.monotonic()
    with pytest.raises(redis.ResponseError) as e:
        s.execute_command("MIGRATE", HOST, dead, "k", 0, 200)
    assert str(e.value) == "IOERR error or timeout writing to target instance"
    assert time.monotonic() - t0 < 3
    assert s.get("k") == b"v"
    bad = [
        (("k", 0, 100, "KEYS", "k"),
         "When using MIGRATE KEYS option, the key argument must be set to "
         "the empty string"),
        (("k", 0, 100, "FOO"), "syntax error"),
        (("k", 0, 100, "AUTH"), "syntax error"),
        (("k", 0, 100, "AUTH2", "u"), "syntax error"),
        (("k", 0, "x"), "value is not an integer or out of range"),
        (("k", "x", 100), "value is not an integer or out of range"),
    ]
    for args, msg in bad:
        with pytest.raises(redis.ResponseError) as e:
            s.execute_command("MIGRATE", HOST, dead, *args)
        assert str(e.value) == msg, args
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        s.execute_command("MIGRATE", HOST, dead, "k", 0)
    assert s.command_getkeys("MIGRATE", HOST, dead, "", 0, 5, "KEYS", "a",
                             "b") == ["a", "b"]


def test_migrate_timeout_on_silent_target(start_server):
    """A target that accepts but never answers: IOERR after the timeout."""
    import socket
    src = start_server()
    ls = socket.socket()
    ls.bind((HOST, 0))
    ls.listen(1)
    try:
        s = src.client()
        s.set("k", "v")
        t0 = time.monotonic()
        with pytest.raises(redis.ResponseError) as e:
            s.execute_command("MIGRATE", HOST, ls.getsockname()[1], "k", 0,
                              300)
        took = time.monotonic() - t0
        assert str(e.value) == ("IOERR error or timeout reading to target "
                                "instance")
        assert 0.25 < took < 2.5
        assert s.get("k") == b"v"
    finally:
        ls.close()


def test_migrate_propagates_del(start_server, ref):
    master = start_server()
    replica = start_server()
    replica.client().replicaof(master.host, master.port)
    m = master.client()
    m.mset({"a": 1, "b": 2, "c": 3})
    wait_for(lambda: replica.client().dbsize() == 3, 10, what="replica sync")
    dst = ref()
    assert migrate(master, dst, "", "KEYS", "a", "b") == b"OK"
    assert migrate(master, dst, "c", "COPY") == b"OK"
    wait_for(lambda: replica.client().dbsize() == 1, 10,
             what="DEL on the replica")
    assert replica.client().get("c") == b"3"


# ---- cluster --------------------------------------------------------------------

def cli(*args, timeout=120):
    p = subprocess.run([REDIS_CLI_BIN] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def slot_owner_ports(nodes):
    """slot -> port, from CLUSTER SLOTS of the first node."""
    owners = {}
    for start, end, master, *_ in nodes[0].client().execute_command(
            "CLUSTER", "SLOTS"):
        for s in range(start, end + 1):
            owners[s] = master[1]
    return owners


def keys_for_slots(slots, per_slot):
    """per_slot key names hashing to each slot in slots."""
    want = {s: [] for s in slots}
    i = 0
    while any(len(v) < per_slot for v in want.values()):
        tag = "t%d" % i
        s = key_slot(tag.encode())
        if s in want and len(want[s]) < per_slot:
            want[s].append(tag)
        i += 1
    return ["{%s}:0" % t for v in want.values() for t in v]


def all_keys(nodes):
    out = []
    for n in nodes:
        out += n.client().keys("*")
    return out


def test_restore_asking_importing_slot(make_cluster):
    src, dst, _ = make_cluster(3)
    owners = slot_owner_ports([src])
    slot = min(s for s, p in owners.items() if p == src.port)
    key = keys_for_slots([slot], 1)[0]
    src.client().set(key, "v")
    payload = src.client().dump(key)
    d = dst.client()
    d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.myid())
    with pytest.raises(redis.ResponseError, match="^MOVED"):
        d.execute_command("RESTORE", key, 0, payload)
    assert d.execute_command("RESTORE-ASKING", key, 0, payload) == b"OK"
    assert d.execute_command("ASKING")
    assert d.get(key) == b"v"
    d.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")


def shm_node(kind, name):
    """A cluster node whose directory (nodes.conf) is on tmpfs when there is
    one: a reshard rewrites nodes.conf on every CLUSTER SETSLOT, and disk
    fsyncs would dominate the test's runtime."""
    n = ClusterNode(kind, (), name)
    if os.path.isdir("/dev/shm"):
        shutil.rmtree(n.dir, ignore_errors=True)
        n.dir = Path(tempfile.mkdtemp(prefix="tessera-mig-", dir="/dev/shm"))
        n.log_path = n.dir / "server.log"
    return n


@pytest.fixture
def shm_cluster(tessera_kind):
    made = []

    def make(n):
        nodes = [shm_node(tessera_kind, "r%d" % i).start() for i in range(n)]
        made.extend(nodes)
        return nodes

    yield make
    for n in made:
        n.cleanup()


def test_reshard_and_rebalance_under_load(shm_cluster):
    nodes = shm_cluster(3)
    cluster_create(nodes)
    wait_cluster_ok(nodes)
    ids = {n.port: n.myid() for n in nodes}
    src, dst = nodes[0], nodes[1]
    owners = slot_owner_ports(nodes)
    src_slots = sorted(s for s, p in owners.items() if p == src.port)
    moving = src_slots[:100]            # what reshard takes first
    keys = keys_for_slots(moving, 10)   # 1000 keys in the moving slots
    keys += ["other:%d" % i for i in range(1000)]
    rc = RedisCluster(startup_nodes=[PyClusterNode(HOST, n.port)
                                     for n in nodes], socket_timeout=5)
    pipe = rc.pipeline()
    for i, k in enumerate(keys):
        if i % 10 == 0:
            pipe.rpush(k, "a", "b", i)
        elif i % 10 == 1:
            pipe.hset(k, mapping={"f": i})
        else:
            pipe.set(k, i)
            if i % 7 == 0:
                pipe.expire(k, 3600)
    pipe.execute()

    # a client keeps writing counters and reading keys in the moving slots
    stop = threading.Event()
    errors, done = [], {"writes": 0, "reads": 0}
    counters = ["{%s}:w" % k[1:k.index("}")] for k in keys[:1000:25]]
    last = {}

    def load():
        c = RedisCluster(startup_nodes=[PyClusterNode(HOST, n.port)
                                        for n in nodes], socket_timeout=5)
        i = 0
        try:
            while not stop.is_set():
                ck = counters[i % len(counters)]
                last[ck] = c.incr(ck)
                k = keys[(i * 7) % 1000]
                if c.exists(k) != 1:
                    errors.append("missing " + k)
                done["writes"] += 1
                done["reads"] += 1
                i += 1
        except Exception as e:          # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            c.close()

    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(0.3)
        code, out = cli("--cluster", "reshard", src.addr,
                        "--cluster-from", ids[src.port],
                        "--cluster-to", ids[dst.port],
                        "--cluster-slots", 100, "--cluster-yes",
                        "--cluster-pipeline", 10)
        assert code == 0, out
        time.sleep(0.3)
    finally:
        stop.set()
        t.join(30)
    assert not errors, errors[:5]
    assert done["writes"] > 50
    owners = slot_owner_ports(nodes)
    assert all(owners[s] == dst.port for s in moving)
    code, out = cli("--cluster", "check", src.addr)
    assert code == 0 and "[WARNING]" not in out and "[ERR]" not in out, out
    assert "[OK] All 16384 slots covered." in out, out
    found = all_keys(nodes)
    assert len(found) == len(set(found))
    assert set(found) == {k.encode() for k in keys} | \
        {k.encode() for k in last}
    for ck, v in last.items():
        assert rc.get(ck) == str(v).encode()
    assert rc.lrange(keys[0], 0, -1) == [b"a", b"b", b"0"]
    assert 3500 < rc.ttl(keys[7]) <= 3600
    moved_here = sum(dst.client().execute_command(
        "CLUSTER", "COUNTKEYSINSLOT", s) for s in moving)
    mset = set(moving)
    assert moved_here == sum(1 for k in list(keys) + list(last)
                             if key_slot(k.encode()) in mset)

    # an empty master joins; rebalance gives it its share
    extra = shm_cluster(1)[0]
    try:
        code, out = cli("--cluster", "add-node", extra.addr, src.addr)
        assert code == 0, out
        all4 = nodes + [extra]
        wait_for(lambda: all(len([l for l in n.nodes()
                                  if "handshake" not in l[2]]) == 4
                             for n in all4), 20, what="4 nodes known")
        wait_for(lambda: extra.cluster_info().get("cluster_state") == "ok",
                 20, what="the new node sees cluster_state:ok")
        code, out = cli("--cluster", "rebalance", src.addr,
                        "--cluster-use-empty-masters",
                        "--cluster-pipeline", 20)
        assert code == 0, out
        code, out = cli("--cluster", "check", src.addr)
        assert code == 0 and "[WARNING]" not in out, out
        code, out = cli("--cluster", "rebalance", src.addr)
        assert "No rebalancing needed" in out, out
        counts = {}
        for s, p in slot_owner_ports(all4).items():
            counts[p] = counts.get(p, 0) + 1
        assert len(counts) == 4
        assert all(abs(c - 4096) <= 4096 * 0.02 for c in counts.values()), \
            counts
        found = all_keys(all4)
        assert len(found) == len(set(found)) == len(keys) + len(last)
        assert extra.client().dbsize() > 0
    finally:
        rc.close()
