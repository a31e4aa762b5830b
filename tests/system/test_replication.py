"""Master/replica replication (Redis 7.0 protocol, PSYNC2).

Real processes only: tessera masters and replicas, and Debian's
redis-server 7.0 on either side, compared key by key.  Full syncs use
repl-diskless-sync-delay 0 so that no test waits the default 5 s.
"""

import os
import signal
import threading
import time

import pytest
import redis

from conftest import HOST, IS_REDIS, REDIS_SERVER_BIN, wait_for
from rdbutil import assert_same, populate, snapshot, start_reference

FAST = ("--repl-diskless-sync-delay", "0")


@pytest.fixture
def node(start_server):
    """node(*args) -> a server under test tuned for quick full syncs."""

    def start(*args):
        return start_server(*(FAST + tuple(args)))

    return start


@pytest.fixture
def reference():
    """reference(*args) -> Debian's redis-server 7.0 (always Redis)."""
    if not os.path.exists(REDIS_SERVER_BIN):
        pytest.skip("redis-server is not installed")
    started = []

    def start(*args):
        s = start_reference(name="ref", extra=FAST + tuple(args))
        started.append(s)
        return s

    yield start
    for s in started:
        s.cleanup()


def info(srv, section="replication"):
    return srv.info(section)


def attach(replica, master):
    replica.client().replicaof(master.host, master.port)
    wait_synced(master, replica)


def wait_synced(master, replica, timeout=10.0):
    """Wait until the replica's link is up and it applied everything the
    master has streamed so far."""

    def ok():
        r = info(replica)
        if r.get("master_link_status") != "up":
            return False
        return r["slave_repl_offset"] == info(master)["master_repl_offset"]

    wait_for(ok, timeout=timeout, what="replica in sync")


def write_every_type(c, tag):
    p = c.pipeline(transaction=False)
    p.set("w:%s:str" % tag, "v")
    p.incrby("w:%s:cnt" % tag, 5)
    p.set("w:%s:ex" % tag, "e", ex=1000)
    p.rpush("w:%s:list" % tag, *range(50))
    p.lpop("w:%s:list" % tag)
    p.hset("w:%s:hash" % tag, mapping={"a": 1, "b": "x" * 80})
    p.hdel("w:%s:hash" % tag, "a")
    p.sadd("w:%s:set" % tag, 1, 2, 3, "x")
    p.srem("w:%s:set" % tag, 2)
    p.zadd("w:%s:zset" % tag, {"a": 1, "b": 2})
    p.zincrby("w:%s:zset" % tag, 3, "a")
    p.delete("s:short")
    p.append("s:empty", "more")
    p.expire("l:small", 5000)
    p.persist("h:ttl")
    p.execute()
    # a transaction travels as MULTI ... EXEC
    t = c.pipeline(transaction=True)
    t.set("w:%s:tx1" % tag, 1)
    t.incr("w:%s:tx1" % tag)
    t.execute()


def test_full_sync_every_type_then_stream(node):
    m = node()
    populate(m.client())
    rep = node()
    attach(rep, m)
    assert_same(snapshot(m.client()), snapshot(rep.client()))
    write_every_type(m.client(), "a")
    wait_synced(m, rep)
    assert_same(snapshot(m.client()), snapshot(rep.client()))
    assert info(m, "stats")["sync_full"] == 1


def info_field(text, name):
    for ln in text.decode().splitlines():
        if ln.startswith(name + ":"):
            return int(ln.split(":")[1])
    raise AssertionError("%s not in INFO" % name)


def test_role_and_info_fields(node, reference, raw):
    m = node()
    rep = node()
    attach(rep, m)
    role = m.client().execute_command("ROLE")
    assert role[0] == b"master"
    assert role[1] == info(m)["master_repl_offset"]
    assert role[2][0][:2] == [HOST.encode(), str(rep.port).encode()]
    rrole = rep.client().execute_command("ROLE")
    assert rrole[:4] == [b"slave", HOST.encode(), m.port, b"connected"]
    # the same fields, in the same order, as Redis 7.0 in the same setup
    rm = reference()
    rr = reference()
    attach(rr, rm)

    def names(srv):
        text = raw(srv).cmd("INFO", "replication").split(b"\r\n", 1)[1]
        return [ln.split(":")[0] for ln in text.decode().splitlines()[1:]
                if ln]

    assert names(m) == names(rm)
    assert names(rep) == names(rr)
    li = info(m)["slave0"]
    assert li["state"] == "online" and li["port"] == rep.port
    # connected_clients leaves the replica out (Redis: clients - slaves);
    # the replica counts its master link.  Same figures as the reference.
    for a, b in ((m, rm), (rep, rr)):
        c1, c2 = raw(a), raw(b)
        assert (info_field(c1.cmd("INFO", "clients"), "connected_clients") ==
                info_field(c2.cmd("INFO", "clients"), "connected_clients"))


def test_partial_resync_after_link_kill(node):
    m = node()
    rep = node()
    attach(rep, m)
    mc = m.client()
    for i in range(100):
        mc.set("k%d" % i, i)
    wait_synced(m, rep)
    before = info(m, "stats")
    assert mc.client_kill_filter(_type="slave") == 1
    for i in range(100, 200):
        mc.set("k%d" % i, i)   # goes to the backlog while the link is down
    wait_synced(m, rep)
    after = info(m, "stats")
    assert after["sync_partial_ok"] == before["sync_partial_ok"] + 1
    assert after["sync_full"] == before["sync_full"]
    assert rep.client().get("k199") == b"199"
    assert rep.client().dbsize() == 200


def test_full_resync_when_backlog_exceeded(node):
    m = node("--repl-backlog-size", "16kb")
    rep = node()
    attach(rep, m)
    mc = m.client()
    full = info(m, "stats")["sync_full"]
    os.kill(rep.proc.pid, signal.SIGSTOP)
    try:
        mc.client_kill_filter(_type="slave")
        for i in range(400):    # ~40 KB, more than the backlog holds
            mc.set("big%d" % i, "x" * 100)
    finally:
        os.kill(rep.proc.pid, signal.SIGCONT)
    wait_synced(m, rep)
    assert info(m, "stats")["sync_full"] == full + 1
    assert rep.client().dbsize() == 400


def test_redis_replica_of_tessera(node, reference):
    m = node()
    populate(m.client())
    rr = reference()
    attach(rr, m)
    assert_same(snapshot(m.client()), snapshot(rr.client()))
    write_every_type(m.client(), "b")
    wait_synced(m, rr)
    assert_same(snapshot(m.client()), snapshot(rr.client()))
    # and a partial resync with a real Redis replica
    m.client().client_kill_filter(_type="slave")
    m.client().set("after-kill", 1)
    wait_synced(m, rr)
    assert rr.client().get("after-kill") == b"1"
    assert info(m, "stats")["sync_partial_ok"] >= 1


def test_tessera_replica_of_redis(node, reference):
    rm = reference()
    populate(rm.client())
    rep = node()
    attach(rep, rm)
    assert_same(snapshot(rm.client()), snapshot(rep.client()))
    write_every_type(rm.client(), "c")
    wait_synced(rm, rep)
    assert_same(snapshot(rm.client()), snapshot(rep.client()))
    rm.client().client_kill_filter(_type="slave")
    rm.client().set("after-kill", 1)
    wait_synced(rm, rep)
    assert rep.client().get("after-kill") == b"1"
    assert info(rm, "stats")["sync_partial_ok"] >= 1


def test_wait(node):
    m = node()
    mc = m.client()
    # no replicas: WAIT 0 answers at once, WAIT 1 after its timeout
    assert mc.execute_command("WAIT", 0, 0) == 0
    t0 = time.monotonic()
    assert mc.execute_command("WAIT", 1, 150) == 0
    assert 0.13 <= time.monotonic() - t0 < 2
    r1, r2 = node(), node()
    attach(r1, m)
    attach(r2, m)
    mc.set("x", 1)
    t0 = time.monotonic()
    assert mc.execute_command("WAIT", 2, 5000) == 2
    assert time.monotonic() - t0 < 2     # woken by the ACKs, not the timeout
    mc.set("y", 1)
    t0 = time.monotonic()
    assert mc.execute_command("WAIT", 3, 300) == 2
    assert 0.28 <= time.monotonic() - t0 < 3
    # what was pipelined behind WAIT runs after it, in order
    p = mc.pipeline(transaction=False)
    p.set("z", 1)
    p.execute_command("WAIT", 2, 5000)
    p.get("z")
    assert p.execute() == [True, 2, b"1"]
    with pytest.raises(redis.ResponseError, match="WAIT cannot be used with "
                       "replica instances"):
        r1.client().execute_command("WAIT", 1, 10)
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        mc.execute_command("WAIT", 1, -1)


def test_readonly_replica(node, raw):
    m = node()
    rep = node()
    attach(rep, m)
    c = raw(rep)
    assert c.cmd("SET", "k", "v") == (
        b"-READONLY You can't write against a read only replica.\r\n")
    assert c.cmd("GET", "k") == b"$-1\r\n"
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "k", "v").startswith(b"-READONLY")
    assert c.cmd("EXEC").startswith(b"-EXECABORT")
    rep.client().config_set("replica-read-only", "no")
    assert c.cmd("SET", "k", "v") == b"+OK\r\n"


def test_min_replicas_to_write(node, raw):
    m = node("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    c = raw(m)
    assert c.cmd("SET", "k", "v") == (
        b"-NOREPLICAS Not enough good replicas to write.\r\n")
    assert c.cmd("GET", "k") == b"$-1\r\n"       # reads still work
    rep = node()
    attach(rep, m)
    wait_for(lambda: c.cmd("SET", "k", "v") == b"+OK\r\n", timeout=5,
             what="writes accepted with one good replica")
    assert info(m)["min_slaves_good_slaves"] == 1


def test_promotion_keeps_data_and_psync2(node):
    m = node()
    r1, r2 = node(), node()
    attach(r1, m)
    attach(r2, m)
    mc = m.client()
    for i in range(50):
        mc.set("p%d" % i, i)
    wait_synced(m, r1)
    wait_synced(m, r2)
    old_id = info(m)["master_replid"]
    m.stop()
    r1c = r1.client()
    assert r1c.replicaof("NO", "ONE")
    i1 = info(r1)
    assert i1["role"] == "master"
    assert i1["master_replid2"] == old_id
    assert r1c.dbsize() == 50
    assert r1c.set("new", "1")
    # the other replica follows the promoted one without a full sync
    r2.client().replicaof(r1.host, r1.port)
    wait_synced(r1, r2)
    assert r2.client().get("new") == b"1"
    st = info(r1, "stats")
    assert st["sync_partial_ok"] == 1 and st["sync_full"] == 0


def test_replica_does_not_expire_keys(node):
    m = node()
    rep = node()
    attach(rep, m)
    mc = m.client()
    mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    mc.set("gone", "v", px=200)
    wait_synced(m, rep)
    time.sleep(0.5)
    rc = rep.client()
    assert rc.get("gone") is None        # logically expired on reads
    assert rc.dbsize() == 1              # but only the master deletes it
    assert mc.get("gone") is None        # the master expires it: DEL
    wait_synced(m, rep)
    assert rc.dbsize() == 0


def test_kill9_replica_under_write_load(node):
    m = node()
    rep = node()
    attach(rep, m)
    stop = threading.Event()
    written = [0]

    def writer():
        c = m.client()
        while not stop.is_set():
            c.set("load%d" % written[0], written[0])
            written[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.3)
        os.kill(rep.proc.pid, signal.SIGKILL)
        rep.proc.wait()
        time.sleep(0.2)
        rep.start(keep_port=True)
        rep.client().replicaof(m.host, m.port)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    wait_synced(m, rep)
    assert written[0] > 100
    assert rep.client().dbsize() == written[0]
    assert rep.client().get("load%d" % (written[0] - 1)) == str(
        written[0] - 1).encode()


def test_replicaof_errors(node, raw):
    m = node()
    c = raw(m)
    assert c.cmd("REPLICAOF", "127.0.0.1", "x") == (
        b"-ERR Invalid master port\r\n")
    assert c.cmd("REPLICAOF", "127.0.0.1", "70000") == (
        b"-ERR Invalid master port\r\n")
    assert c.cmd("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
    assert c.cmd("REPLCONF", "foo", "bar") == (
        b"-ERR Unrecognized REPLCONF option: foo\r\n")
    assert c.cmd("REPLCONF", "listening-port") == b"-ERR syntax error\r\n"
    rep = node()
    attach(rep, m)
    assert raw(rep).cmd("REPLICAOF", m.host, str(m.port)) == (
        b"+OK Already connected to specified master\r\n")


@pytest.mark.tessera_only  # min-replicas-ack is Tessera's (durable writes)
def test_durable_writes_min_replicas_ack(node, raw):
    m = node("--min-replicas-ack", "1")
    c = raw(m, timeout=0.5)
    # no replica: the write is done but its reply is held
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n")
    assert c.read_available(0.4) == b""
    rep = node()
    rep.client().replicaof(m.host, m.port)
    c.sock.settimeout(10)
    assert c.read_reply() == b"+OK\r\n"   # released by the replica's ACK
    assert c.read_reply() == b"+PONG\r\n"  # and what followed it, in order
    assert rep.client().get("k") == b"v"
    # every acknowledged write is on the replica when its reply arrives
    mc, rc = m.client(), rep.client()
    for i in range(50):
        assert mc.set("d%d" % i, i)
        assert rc.get("d%d" % i) == str(i).encode()
    assert mc.get("d0") == b"0"           # reads are not held


def test_chained_replica(node):
    a = node()
    b = node()
    attach(b, a)
    c = node()
    attach(c, b)     # a replica of a replica
    populate(a.client())
    a.client().set("chained", "yes")
    wait_synced(a, b)
    wait_synced(b, c)
    assert_same(snapshot(a.client()), snapshot(c.client()))
    assert info(c)["master_replid"] == info(a)["master_replid"]


def test_masterauth_and_stale_data(node, raw):
    m = node("--requirepass", "s3cret")
    rep = node("--replica-serve-stale-data", "no")
    c = raw(rep)
    c.cmd("REPLICAOF", m.host, str(m.port))
    time.sleep(0.5)       # no masterauth: the master refuses the sync
    assert info(rep)["master_link_status"] == "down"
    assert c.cmd("GET", "k") == (
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
        b"is set to 'no'.\r\n")
    assert c.cmd("PING").startswith(b"-MASTERDOWN")
    assert c.cmd("INFO", "server").startswith(b"$")     # flagged stale
    m.client(password="s3cret").set("k", "v")
    assert c.cmd("CONFIG", "SET", "masterauth", "s3cret") == b"+OK\r\n"
    wait_for(lambda: info(rep)["master_link_status"] == "up", timeout=5,
             what="link up with masterauth")
    assert c.cmd("GET", "k") == b"$1\r\nv\r\n"


def test_length_framed_sync(node, reference, raw):
    """repl-diskless-sync no and SYNC: the RDB comes as $<len>."""
    m = node("--repl-diskless-sync", "no")
    populate(m.client())
    rep = node()
    attach(rep, m)
    rr = reference()
    attach(rr, m)
    snap = snapshot(m.client())
    assert_same(snap, snapshot(rep.client()))
    assert_same(snap, snapshot(rr.client()))
    c = raw(m, timeout=10)
    c.send(b"SYNC\r\n")
    line = c.read_line().lstrip(b"\n")   # keepalive newlines may come first
    assert line.startswith(b"$") and not line.startswith(b"$EOF:")
    rdb = c.read_exact(int(line[1:-2]))
    assert rdb.startswith(b"REDIS0010")


def test_wait_uses_the_clients_own_writes(node):
    m = node()
    rep = node()
    attach(rep, m)
    a, b = m.client(), m.client()
    a.set("mine", 1)
    assert a.execute_command("WAIT", 1, 5000) == 1
    os.kill(rep.proc.pid, signal.SIGSTOP)
    try:
        b.set("theirs", 1)           # another client's write, not acked
        t0 = time.monotonic()
        assert a.execute_command("WAIT", 1, 2000) == 1   # a's are acked
        assert time.monotonic() - t0 < 1
        assert b.execute_command("WAIT", 1, 200) == 0
    finally:
        os.kill(rep.proc.pid, signal.SIGCONT)


def _fake_master_session(lsock, payload_fn):
    """Serve one replica connection: answer PING and the two REPLCONFs,
    wait for PSYNC, send what payload_fn() returns, then close."""
    import socket as _s
    lsock.settimeout(5)
    conn, _ = lsock.accept()
    conn.settimeout(5)
    buf = b""

    def until(token):
        nonlocal buf
        while token not in buf:
            data = conn.recv(4096)
            if not data:
                raise OSError("closed")
            buf += data
        buf = buf[buf.index(token) + len(token):]

    try:
        until(b"PING\r\n")
        conn.sendall(b"+PONG\r\n")
        until(b"psync2\r\n")       # listening-port, then capa
        conn.sendall(b"+OK\r\n+OK\r\n")
        until(b"PSYNC\r\n")
        conn.sendall(payload_fn())
        time.sleep(0.2)
    except (OSError, _s.timeout):
        pass
    finally:
        conn.close()


@pytest.mark.tessera_only  # a hostile fake master; Redis is not under test
def test_bad_master_input_never_crashes(node):
    import socket as _s
    from rdbutil import rdb_file, rdb_str
    good = rdb_file([b"\x00" + rdb_str("k") + rdb_str("v")])
    rid = b"a" * 40
    mark = b"m" * 40
    cases = [
        b"+FULLRESYNC short 0\r\n",
        b"+FULLRESYNC " + rid + b" -5\r\n",
        b"-ERR no\r\n",
        b"+WHAT\r\n",
        b"x" * 5000,                                   # no newline, too long
        b"+FULLRESYNC " + rid + b" 0\r\n$-1\r\n",
        b"+FULLRESYNC " + rid + b" 0\r\n$abc\r\n",
        b"+FULLRESYNC " + rid + b" 0\r\n$99999999999\r\n" + good,  # short
        b"+FULLRESYNC " + rid + b" 0\r\n$EOF:" + mark + b"\r\n" + b"junk" +
        mark,                                           # not an RDB
        b"+FULLRESYNC " + rid + b" 0\r\n$%d\r\n" % len(good) +
        good[:-3] + b"xyz",                             # bad checksum
        b"+FULLRESYNC " + rid + b" 0\r\n$%d\r\n" % len(good) + good +
        b"*1\r\n$999999999999\r\n",                     # bad stream
    ]
    lsock = _s.socket()
    lsock.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEADDR, 1)
    lsock.bind((HOST, 0))
    lsock.listen(4)
    port = lsock.getsockname()[1]
    rep = node()
    rc = rep.client()
    rc.set("mine", "1")
    rc.replicaof(HOST, port)
    try:
        for payload in cases:
            _fake_master_session(lsock, lambda: payload)
            assert rep.alive(), "replica died on %r" % payload[:60]
            assert rc.ping()
        # a good image after all that: loaded, then streaming
        _fake_master_session(lsock, lambda: b"+FULLRESYNC " + rid +
                             b" 0\r\n$%d\r\n" % len(good) + good +
                             b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n")
        wait_for(lambda: rc.get("x") == b"y", timeout=5, what="streamed SET")
        assert rc.get("k") == b"v"
    finally:
        lsock.close()
    assert rep.alive()
    log = rep.log_path.read_text()
    assert "bad +FULLRESYNC reply" in log
    assert "unexpected reply to PSYNC: -ERR no" in log
    assert "bad bulk length from master" in log
    assert "Failed trying to load the MASTER synchronization DB" in log
    assert "Connection with master lost." in log   # bad stream: dropped
