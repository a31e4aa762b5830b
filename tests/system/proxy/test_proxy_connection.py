"""tessera-proxy's own side of a connection: local commands, RESP3,
AUTH, refusals, protocol errors and limits (same texts as Redis)."""

import socket
import time

import pytest
import redis


class Raw:
    """Exact bytes to and from a host:port."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed; got %r" % self.buf)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def reply(self):
        ln = self.line()
        t = ln[:1]
        if t in b"+-:,_#(":
            return ln
        if t in b"$=!":
            n = int(ln[1:-2])
            return ln if n < 0 else ln + self.exact(n + 2)
        n = int(ln[1:-2])
        if n < 0:
            return ln
        if t in b"%|":
            n *= 2
        return ln + b"".join(self.reply() for _ in range(n))

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.send(out)
        return self.reply()

    def closed(self, wait=2.0):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not data:
                return True
            self.buf += data
        return False

    def close(self):
        self.sock.close()


@pytest.fixture
def raw_proxy(proxy):
    conns = []

    def make():
        c = Raw(proxy.host, proxy.port)
        conns.append(c)
        return c
    yield make
    for c in conns:
        c.close()


def node_raw(cluster):
    n = cluster.nodes[0]
    return Raw(n.host, n.port)


def test_local_commands(pr):
    assert pr.ping()
    assert pr.echo("hi") == b"hi"
    assert pr.execute_command("ECHO", "") == b""
    t = pr.time()
    assert abs(t[0] - time.time()) < 5
    assert pr.execute_command("SELECT", 0) is True
    with pytest.raises(redis.ResponseError,
                       match="SELECT is not allowed in cluster mode"):
        pr.execute_command("SELECT", 1)
    assert pr.client_setname("app-1")
    assert pr.client_getname() in ("app-1", b"app-1")
    cid = pr.client_id()
    assert isinstance(cid, int) and cid > 0
    info = pr.execute_command("CLIENT", "INFO").decode()
    assert "id=%d " % cid in info and "name=app-1" in info
    assert "resp=2" in info


def test_errors_read_like_a_node(cluster, raw_proxy):
    via, direct = raw_proxy(), node_raw(cluster)
    for args in (("NOSUCHCMD", "a", "b"), ("GET",), ("GET", "a", "b"),
                 ("CLIENT", "NOSUCH"), ("PING", "a", "b"),
                 ("HELLO", "4"), ("SELECT", "x")):
        assert via.cmd(*args) == direct.cmd(*args), args
    direct.close()


def test_quit_closes(raw_proxy):
    c = raw_proxy()
    assert c.cmd("QUIT") == b"+OK\r\n"
    assert c.closed()


def test_resp3_with_hello(pr, cluster, raw_proxy):
    pr.hset("h3", "f", "v")
    keys = ["r3:%d" % i for i in range(12)]
    pr.mset({k: k for k in keys[:6]})
    c, d = raw_proxy(), node_raw(cluster)
    hello = c.cmd("HELLO", "3")
    assert hello.startswith(b"%7\r\n")
    assert b"proto\r\n:3\r\n" in hello
    d.cmd("HELLO", "3")
    assert c.cmd("HGETALL", "h3") == b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert c.cmd("GET", "missing") == b"_\r\n"
    got = c.cmd("MGET", *keys)
    assert got.startswith(b"*12\r\n") and got.count(b"_\r\n") == 6
    # a RESP2 client on the same proxy is unaffected
    assert pr.hgetall("h3") == {b"f": b"v"}
    assert c.cmd("HELLO", "2").startswith(b"*14\r\n")
    assert c.cmd("GET", "missing") == b"$-1\r\n"
    d.close()


def test_unsupported_commands_say_so(pr):
    for args in (("SLOWLOG", "GET"), ("CLUSTER", "INFO"), ("MONITOR",),
                 ("CONFIG", "GET", "maxmemory")):
        with pytest.raises(redis.ResponseError) as e:
            pr.execute_command(*args)
        assert "tessera-proxy" in str(e.value) and "not supported" in str(
            e.value), args
    # the connection is still usable, nothing hangs
    assert pr.ping()
    assert pr.publish("ch", "m") == 0


def test_protocol_errors_as_node_and_close(cluster, raw_proxy):
    for bad in (b"*1\r\n$x\r\n", b"*abc\r\n", b"*1\r\n-x\r\n",
                b"*3000000000\r\n", b'SET "a b\r\n'):
        c, d = raw_proxy(), node_raw(cluster)
        c.send(bad)
        d.send(bad)
        assert c.reply() == d.reply(), bad
        assert c.closed(), bad
        d.close()


def test_requests_before_a_protocol_error_are_answered(raw_proxy):
    c = raw_proxy()
    c.send(b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
           b"$1\r\nv\r\n*1\r\n$x\r\n")
    assert c.reply() == b"$1\r\na\r\n"
    assert c.reply() == b"+OK\r\n"
    assert c.reply().startswith(b"-ERR Protocol error")
    assert c.closed()


def test_auth(cluster, start_proxy):
    p = start_proxy([cluster.nodes[0].addr], "--requirepass", "s3cret")
    c = Raw(p.host, p.port)
    assert c.cmd("GET", "a") == b"-NOAUTH Authentication required.\r\n"
    assert c.cmd("AUTH", "bad") == (
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    assert c.cmd("AUTH", "s3cret") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+OK\r\n"
    c.close()
    c = Raw(p.host, p.port)
    assert c.cmd("HELLO", "3", "AUTH", "default", "s3cret").startswith(b"%7")
    assert c.cmd("GET", "a") == b"$1\r\n1\r\n"
    c.close()
    # a big unauthenticated request is refused as by a node
    c = Raw(p.host, p.port)
    c.send(b"*20\r\n")
    assert c.reply() == (
        b"-ERR Protocol error: unauthenticated multibulk length\r\n")
    assert c.closed()
    c.close()


def test_output_buffer_limit_closes_slow_reader(pr, cluster, start_proxy):
    p = start_proxy([n.addr for n in cluster.nodes],
                    "--client-output-buffer-limit", "normal", "1mb", "0", "0")
    big = "x" * (2 * 1024 * 1024)
    pr.set("big", big)
    c = Raw(p.host, p.port)
    c.send(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
    assert c.closed(5)
    c.close()
    assert "output buffer limits" in p.log_tail()
    # other clients are fine
    assert p.client().get("k") is None


def used_memory(client):
    # the proxy's own allocation count (RSS is meaningless under ASan)
    return client.info("memory")["used_memory"]


def test_client_that_does_not_read_is_bounded(pr, proxy):
    pr.set("v50k", "y" * 50000)
    mem0 = used_memory(pr)
    c = Raw(proxy.host, proxy.port, timeout=30)
    n = 4000  # 200 MB of replies if all were buffered
    req = b"*2\r\n$3\r\nGET\r\n$4\r\nv50k\r\n"
    c.sock.setblocking(False)
    sent, data = 0, req * n
    deadline = time.monotonic() + 3
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += c.sock.send(data[sent:])
        except BlockingIOError:
            time.sleep(0.01)
    time.sleep(0.5)
    grown = used_memory(pr) - mem0
    print("proxy memory growth with a client not reading:", grown)
    assert grown < 120 * 1024 * 1024, grown
    c.sock.setblocking(True)
    c.sock.sendall(data[sent:])
    for _ in range(n):
        assert len(c.reply()) == len(b"$50000\r\n") + 50000 + 2
    c.close()
    assert pr.ping()


def test_command_is_answered(raw_proxy):
    c = raw_proxy()
    n = c.cmd("COMMAND", "COUNT")
    assert n.startswith(b":") and int(n[1:]) > 100
    assert c.cmd("COMMAND", "INFO", "get").startswith(b"*1\r\n*10\r\n$3\r\nget")


def test_idle_timeout(cluster, start_proxy):
    p = start_proxy([cluster.nodes[0].addr], "--timeout", "1")
    c = Raw(p.host, p.port)
    assert c.cmd("PING") == b"+PONG\r\n"
    assert c.closed(4)


def test_maxclients(cluster, start_proxy):
    p = start_proxy([cluster.nodes[0].addr], "--maxclients", "2")
    # the start-up probe's connection may still count until its worker
    # (maybe not the one accepting `a`) has seen it close
    time.sleep(0.3)
    a, b = Raw(p.host, p.port), Raw(p.host, p.port)
    assert a.cmd("PING") == b.cmd("PING") == b"+PONG\r\n"
    c = Raw(p.host, p.port)
    assert c.reply() == b"-ERR max number of clients reached\r\n"
    assert c.closed()
    a.close()
    time.sleep(0.2)
    d = Raw(p.host, p.port)
    assert d.cmd("PING") == b"+PONG\r\n"
    for x in (b, c, d):
        x.close()


def test_config_file_daemonize_pidfile(cluster, cluster_tmp):
    import os
    import signal
    import subprocess
    from pathlib import Path
    from .proxy_cluster import free_port, proxy_binary, wait_for
    d = Path(cluster_tmp)
    port = free_port()
    conf = d / ("proxy-%d.conf" % port)
    pidfile = d / ("proxy-%d.pid" % port)
    conf.write_text("# a proxy config\nport 1\nbind 127.0.0.1\n"
                    "cluster-nodes %s\nthreads 1\ndaemonize yes\n"
                    "pidfile %s\nlogfile %s\n"
                    % (cluster.nodes[1].addr, pidfile, d / "daemon.log"))
    # the command line overrides the file (port 1 -> port)
    rc = subprocess.run([proxy_binary(), str(conf), "--port", str(port)],
                        timeout=20).returncode
    assert rc == 0
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(),
             what="pidfile")
    pid = int(pidfile.read_text())
    try:
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        wait_for(c.ping, what="daemonized proxy")
        assert c.set("dk", "1") and c.get("dk") == b"1"
        assert c.info("server")["process_id"] == pid
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pidfile.exists(), what="pidfile removed at exit")


def test_bad_config_is_refused(cluster_tmp):
    import subprocess
    from .proxy_cluster import proxy_binary
    out = subprocess.run([proxy_binary(), "--no-such-option", "1"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert "FATAL CONFIG FILE ERROR" in out.stderr


def test_random_garbage_never_kills_the_proxy(proxy, pr):
    import random
    rnd = random.Random(6)
    pieces = [b"*", b"$", b"\r\n", b"-1", b"3", b"99999999999", b"GET",
              b"MGET", b"SCAN", b"MSET", b"{x}", b"\x00", b"\"", b"'", b" ",
              b"PROXY", b"HELLO", b"INFO", b"DEL", b"a", b"*2\r\n"]
    for _ in range(150):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 40)))
        s = socket.create_connection((proxy.host, proxy.port), timeout=2)
        try:
            s.sendall(data)
            s.settimeout(0.05)
            try:
                s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
    assert proxy.alive()
    assert pr.ping()
    assert pr.set("after-garbage", 1)


def test_protected_mode_refuses_non_loopback(cluster, start_proxy):
    p = start_proxy([cluster.nodes[0].addr])
    s = socket.socket()
    s.bind(("127.0.0.2", 0))        # not 127.0.0.1: not "local" for Redis
    s.settimeout(5)
    s.connect((p.host, p.port))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"-DENIED Redis is running in protected mode")
    # with a password, or protected-mode no, such clients are served
    p2 = start_proxy([cluster.nodes[0].addr], "--protected-mode", "no")
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    s.connect((p2.host, p2.port))
    s.sendall(b"PING\r\n")
    assert s.recv(64) == b"+PONG\r\n"
    s.close()


def _cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])      # utime + stime


def test_busy_poll_forwards_and_idles(cluster, start_proxy):
    """busy-poll-us: requests, pipelines and multi-key splits go through as
    without it, and an idle proxy does not spin."""
    p = start_proxy([n.addr for n in cluster.nodes], "--busy-poll-us", "300")
    c = redis.Redis(host=p.host, port=p.port, socket_timeout=10)
    pipe = c.pipeline(transaction=False)
    for i in range(500):
        pipe.set("bp:%d" % i, i)
    pipe.execute()
    assert c.mget(["bp:0", "bp:250", "bp:499"]) == [b"0", b"250", b"499"]
    time.sleep(0.2)
    before = _cpu_ticks(p.proc.pid)
    time.sleep(1.0)
    # clock ticks are 10 ms; a proxy spinning while idle burns ~100 per
    # worker thread per second
    assert _cpu_ticks(p.proc.pid) - before <= 10
    assert c.get("bp:1") == b"1"
