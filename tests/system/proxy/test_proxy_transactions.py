"""MULTI / EXEC / DISCARD / WATCH / UNWATCH through tessera-proxy: a link
pinned to the owner of the transaction's slot, CROSSSLOT for keys in
other slots (EXECABORT at EXEC, as Redis Cluster), WATCH conflicts made by
another client, replies in request order, redis-py pipelines."""

import socket
import time

import pytest
import redis


def raw(proxy):
    s = socket.create_connection((proxy.host, proxy.port), timeout=10)

    def cmd(*args, nreplies=1):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
    return s, cmd


def test_pipeline_transaction_on_one_slot(pr, cluster):
    pipe = pr.pipeline(transaction=True)
    pipe.set("{u1}a", "1").incr("{u1}n").incrby("{u1}n", 5).get("{u1}a")
    pipe.lpush("{u1}l", "x", "y").lrange("{u1}l", 0, -1)
    assert pipe.execute() == [True, 1, 6, b"1", 2, [b"y", b"x"]]
    # the writes are on the slot's owner
    owner = cluster.node_for_key("{u1}a").client()
    assert owner.get("{u1}n") == b"6"


def test_transactions_on_every_master(pr, cluster):
    # three hash tags, one per master
    tags, owners = [], set()
    for i in range(200):
        t = "{t%d}" % i
        o = cluster.node_for_key(t + "k").port
        if o not in owners:
            owners.add(o)
            tags.append(t)
    assert len(tags) == 3
    for t in tags:
        pipe = pr.pipeline(transaction=True)
        pipe.set(t + "k", t).get(t + "k").exists(t + "k", t + "other")
        assert pipe.execute() == [True, t.encode(), 1]


def test_crossslot_inside_multi_aborts_exec(pr):
    pr.set("{a}x", "old")
    pipe = pr.pipeline(transaction=True)
    pipe.set("{a}x", "new").set("{b}y", "1")
    with pytest.raises(redis.ResponseError) as e:
        pipe.execute()
    assert "CROSSSLOT" in str(e.value) or "EXECABORT" in str(e.value)
    assert pr.get("{a}x") == b"old"
    assert pr.get("{b}y") is None
    # keys of two slots in one command
    pipe = pr.pipeline(transaction=True)
    pipe.mget("{a}x", "{b}y")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert pr.ping()


def test_error_texts_and_order_raw(proxy, cluster):
    s, cmd = raw(proxy)
    f = s.makefile("rb")
    for a in (("EXEC",), ("DISCARD",), ("MULTI",), ("MULTI",),
              ("WATCH", "k"), ("PING",), ("SET", "{o}k", "v"),
              ("INCR", "{o}c"), ("EXEC",), ("UNWATCH",)):
        cmd(*a)
    got = [f.readline() for _ in range(9)]
    assert got[:7] == [b"-ERR EXEC without MULTI\r\n",
                       b"-ERR DISCARD without MULTI\r\n",
                       b"+OK\r\n",
                       b"-ERR MULTI calls can not be nested\r\n",
                       b"-ERR WATCH inside MULTI is not allowed\r\n",
                       b"+QUEUED\r\n", b"+QUEUED\r\n"]
    assert got[7] == b"+QUEUED\r\n"
    assert got[8] == b"*3\r\n"
    assert [f.readline() for _ in range(3)] == [b"+PONG\r\n", b"+OK\r\n",
                                                b":1\r\n"]
    assert f.readline() == b"+OK\r\n"      # UNWATCH
    # DISCARD drops what was queued
    cmd("MULTI"), cmd("SET", "{o}k", "other"), cmd("DISCARD"), cmd("GET", "{o}k")
    assert [f.readline() for _ in range(4)] == [b"+OK\r\n", b"+QUEUED\r\n",
                                                b"+OK\r\n", b"$1\r\n"]
    assert f.readline() == b"v\r\n"
    # MULTI EXEC with nothing queued
    cmd("MULTI"), cmd("EXEC")
    assert [f.readline() for _ in range(2)] == [b"+OK\r\n", b"*0\r\n"]
    s.close()


def test_watch_conflict_and_success(pr, proxy):
    other = proxy.client()
    pr.set("{w}bal", 100)
    # no conflict: the transaction runs
    with pr.pipeline(transaction=True) as pipe:
        pipe.watch("{w}bal")
        bal = int(pipe.get("{w}bal"))
        pipe.multi()
        pipe.set("{w}bal", bal - 10)
        assert pipe.execute() == [True]
    assert pr.get("{w}bal") == b"90"
    # another client changes the watched key: EXEC answers nil
    with pr.pipeline(transaction=True) as pipe:
        pipe.watch("{w}bal")
        bal = int(pipe.get("{w}bal"))
        other.incrby("{w}bal", 1000)
        pipe.multi()
        pipe.set("{w}bal", bal - 10)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert pr.get("{w}bal") == b"1090"
    # redis-py's transaction() helper retries until it wins
    def debit(pipe):
        v = int(pipe.get("{w}bal"))
        pipe.multi()
        pipe.set("{w}bal", v - 1)
    pr.transaction(debit, "{w}bal")
    assert pr.get("{w}bal") == b"1089"
    # WATCH keys of different slots: CROSSSLOT, as Redis Cluster
    with pytest.raises(redis.ResponseError, match="CROSSSLOT"):
        pr.execute_command("WATCH", "{w}a", "{v}b")
    other.close()


def test_unwatch_releases_and_connection_reused(pr):
    pr.set("{r}k", "1")
    assert pr.execute_command("WATCH", "{r}k")
    assert pr.execute_command("UNWATCH")
    assert pr.execute_command("UNWATCH")        # without WATCH: +OK
    # after release, keys of any slot route normally on the same client
    assert pr.mset({"{x}1": 1, "{y}2": 2, "{z}3": 3})
    assert pr.mget("{x}1", "{y}2", "{z}3") == [b"1", b"2", b"3"]
    # transactions on changing nodes from one connection (the pin moves)
    for i in range(4):
        pr.set("{r%d}k" % i, i)
    for i in range(20):
        t = "{r%d}" % (i % 4)
        pipe = pr.pipeline(transaction=True)
        pipe.incr(t + "c").get(t + "k")
        assert pipe.execute() == [i // 4 + 1, str(i % 4).encode()]


def test_resp3_transaction(proxy):
    s, cmd = raw(proxy)
    f = s.makefile("rb")
    cmd("HELLO", "3")
    hello = f.readline()
    assert hello.startswith(b"%")
    for _ in range(int(hello[1:]) * 2):     # flat map of simple fields
        line = f.readline()
        if line.startswith(b"*"):
            for _ in range(int(line[1:])):
                f.readline()
        elif line.startswith(b"$"):
            f.readline()
    cmd("MULTI"), cmd("HSET", "{h}m", "a", "1"), cmd("HGETALL", "{h}m")
    cmd("GET", "{h}nil"), cmd("EXEC")
    want = [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n",
            b"*3\r\n", b":1\r\n", b"%1\r\n", b"$1\r\n", b"a\r\n",
            b"$1\r\n", b"1\r\n", b"_\r\n"]
    assert [f.readline() for _ in range(len(want))] == want
    s.close()


def test_client_closing_mid_transaction(proxy, pr):
    s, cmd = raw(proxy)
    cmd("MULTI"), cmd("SET", "{c}k", "v")
    f = s.makefile("rb")
    assert f.readline() == b"+OK\r\n" and f.readline() == b"+QUEUED\r\n"
    s.close()
    assert pr.get("{c}k") is None
    assert pr.ping()


def test_pinned_link_lost_mid_transaction(cluster_tmp, start_proxy):
    import subprocess
    from .proxy_cluster import Node
    node = Node(cluster_tmp, cluster=False)
    port = node.port
    p = start_proxy([node.addr], "--failover-wait", "200")
    s, cmd = raw(p)
    f = s.makefile("rb")
    cmd("WATCH", "k"), cmd("MULTI"), cmd("SET", "k", "v")
    assert [f.readline() for _ in range(3)] == [b"+OK\r\n", b"+OK\r\n",
                                                b"+QUEUED\r\n"]
    node.proc.kill()
    node.proc.wait()
    proc = subprocess.Popen(["/usr/bin/redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        # the transaction died with its link: never half-run elsewhere
        cmd("SET", "k2", "v2"), cmd("EXEC")
        assert f.readline().startswith(b"-ERR tessera-proxy: ")
        assert f.readline() == (b"-EXECABORT Transaction discarded because "
                                b"of previous errors.\r\n")
        # a new transaction on the same client runs
        cmd("MULTI"), cmd("SET", "k", "new"), cmd("EXEC")
        assert [f.readline() for _ in range(4)] == [
            b"+OK\r\n", b"+QUEUED\r\n", b"*1\r\n", b"+OK\r\n"]
        c = redis.Redis(host="127.0.0.1", port=port)
        assert c.get("k") == b"new" and c.get("k2") is None
    finally:
        s.close()
        proc.terminate()
        proc.wait()
