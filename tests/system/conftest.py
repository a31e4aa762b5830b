"""System-test harness: real server processes on free loopback ports.

Every test talks to a real process, never to a mock.  Which process is
chosen by the environment:

    TESSERA_SERVER=redis     Debian's /usr/bin/redis-server (the reference;
                             the suite must pass against it unchanged)
    TESSERA_SERVER=tessera   (default) $TESSERA_NODE_BIN, or
                             <repo>/build/node/tessera-node

Both binaries take redis-server style arguments:

    <bin> --port N --bind 127.0.0.1 --save '' --appendonly no --dir <tmp>
          --enable-debug-command yes [extra args]

Fixtures provided here:

    server          function-scoped fresh server (a Server object)
    shared_server   module-scoped server shared by the tests of one file
    r               redis.Redis client (bytes replies) on shared_server,
                    FLUSHALL'd before each test
    start_server    factory: start_server("--requirepass", "x", ...) starts
                    an extra server with special config; stopped at teardown
    raw             factory: raw(server) -> RawConn, a plain socket for exact
                    bytes in and exact bytes out
    cli             runs /usr/bin/redis-cli against a server
    is_redis        True when the suite runs against redis-server

Markers: @pytest.mark.tessera_only (skipped on redis) and
@pytest.mark.redis_only (skipped on tessera) for the few places where the
behaviour intentionally differs; each use says why.

Server logs go to <tmpdir>/server.log; when a test fails, the tail of the
log of every server alive at that moment is attached to the report.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REPO = Path(__file__).resolve().parents[2]
SERVER_KIND = os.environ.get("TESSERA_SERVER", "tessera").strip().lower()
IS_REDIS = SERVER_KIND == "redis"
REDIS_SERVER_BIN = "/usr/bin/redis-server"
REDIS_CLI_BIN = "/usr/bin/redis-cli"
REDIS_BENCHMARK_BIN = "/usr/bin/redis-benchmark"
HOST = "127.0.0.1"

START_TIMEOUT = 10.0  # seconds until the server must answer PING
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
PORT_ATTEMPTS = 5  # fresh ports tried when the chosen one is taken

if SERVER_KIND not in ("redis", "tessera"):
    raise pytest.UsageError("TESSERA_SERVER must be 'redis' or 'tessera'")


def server_binary():
    """Path of the binary under test."""
    if IS_REDIS:
        return REDIS_SERVER_BIN
    env = os.environ.get("TESSERA_NODE_BIN")
    if env:
        return env
    return str(REPO / "build" / "node" / "tessera-node")


def free_port():
    """A port the kernel just handed out for 127.0.0.1 (may be raced)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# Servers alive right now, for attaching log tails to failure reports.
_LIVE_SERVERS = []


class ServerStartError(Exception):
    pass


class Server:
    """One running server process in its own temporary directory."""

    def __init__(self, extra_args=(), debug=True, name="server", conf=None):
        self.extra_args = [str(a) for a in extra_args]
        self.debug = debug
        self.host = HOST
        self.port = None
        self.proc = None
        self.dir = Path(tempfile.mkdtemp(prefix="tessera-%s-" % name))
        self.log_path = self.dir / "server.log"
        self.binary = server_binary()
        # Optional config file (text), passed as the first argument the way
        # redis-server expects; command-line options override it.
        self.conf_path = None
        if conf is not None:
            self.conf_path = self.dir / "server.conf"
            self.conf_path.write_text(conf)

    # -- lifecycle ---------------------------------------------------------

    def args(self, port):
        a = [self.binary]
        if self.conf_path is not None:
            a.append(str(self.conf_path))
        a += ["--port", str(port), "--bind", HOST,
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        if self.debug:
            a += ["--enable-debug-command", "yes"]
        return a + self.extra_args

    def start(self, keep_port=False):
        """Start the process; keep_port=True restarts on the same port."""
        if not os.path.exists(self.binary):
            raise ServerStartError(
                "server binary %s not found (build it, set TESSERA_NODE_BIN, "
                "or run with TESSERA_SERVER=redis)" % self.binary)
        last = None
        for _ in range(PORT_ATTEMPTS):
            port = self.port if keep_port and self.port else free_port()
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    self.args(port), cwd=self.dir, stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            finally:
                log.close()
            self.port = port
            ok, last = self._wait_ready()
            if ok:
                _LIVE_SERVERS.append(self)
                return self
            self._kill()
            # Retry only when the port was taken under our feet; any other
            # failure is the server's and is reported right away.
            if ("in use" not in self.log_tail(20).lower()
                    and "another process" not in last):
                break
        raise ServerStartError("server did not start (%s); log tail:\n%s"
                               % (last, self.log_tail()))

    def _wait_ready(self):
        """(True, None) once *our* process answers PING on self.port."""
        deadline = time.monotonic() + START_TIMEOUT
        last = "timeout"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, "exited with %s" % self.proc.returncode
            try:
                with socket.create_connection((HOST, self.port), 0.5) as s:
                    s.settimeout(1.0)
                    s.sendall(b"PING\r\n")
                    reply = s.recv(64)
                    # -NOAUTH (requirepass) also proves it is serving.
                    if reply.startswith((b"+PONG", b"-NOAUTH")):
                        return self._check_owner(s, reply)
                    last = "PING answered %r" % reply
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        return False, last

    def _check_owner(self, sock, ping_reply):
        # Between free_port() and the server's bind another process may
        # take the port; make sure the process answering is ours.
        pid = None
        if ping_reply.startswith(b"+PONG"):
            try:
                sock.sendall(b"INFO server\r\n")
                data = b""
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                m = re.search(rb"\r\nprocess_id:(\d+)\r\n", data)
                pid = int(m.group(1)) if m else None
            except OSError:
                pass
        if pid is not None and pid != self.proc.pid:
            return False, "port %d answered by another process (pid %d)" % (
                self.port, pid)
        time.sleep(0.02)
        if self.proc.poll() is not None:
            return False, "exited with %s" % self.proc.returncode
        return True, None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout.  Returns the exit code."""
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_exit(self, timeout=10.0):
        """Wait for the process to exit on its own; returns the exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    # -- helpers -----------------------------------------------------------

    def log_tail(self, lines=40):
        try:
            data = self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(data.splitlines()[-lines:])

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def info(self, section=None, **client_kw):
        """INFO as a dict (redis-py parser), via a short-lived connection."""
        c = self.client(**client_kw)
        try:
            return c.info(section) if section else c.info()
        finally:
            c.close()

    def __repr__(self):
        return "<%s %s:%s pid=%s dir=%s>" % (
            SERVER_KIND, self.host, self.port,
            self.proc.pid if self.proc else None, self.dir)


# -- raw sockets ----------------------------------------------------------


class RawConn:
    """A plain TCP connection for exact bytes.

    read_reply() returns the exact bytes of one complete RESP2/RESP3 reply
    (nested aggregates included), so tests can compare with == against
    what Redis sends.
    """

    def __init__(self, server, timeout=5.0, source=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((server.host, server.port))
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, *args):
        """Send one command as a RESP multibulk and read its reply."""
        self.send(encode_command(*args))
        return self.read_reply()

    def call(self, *args):
        """Like cmd() but returns the parsed reply (see parse_reply)."""
        return parse_reply(self.cmd(*args))

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by server; got %r"
                                  % self.buf)
        self.buf += data

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        """One line including its CRLF."""
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_reply(self):
        line = self.read_line()
        t = line[:1]
        if t in (b"+", b"-", b":", b",", b"_", b"#", b"("):
            return line
        if t in (b"$", b"=", b"!"):
            n = int(line[1:-2])
            if n < 0:
                return line
            return line + self.read_exact(n + 2)
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(line[1:-2])
            if n < 0:
                return line
            if t in (b"%", b"|"):
                n *= 2
            out = line
            for _ in range(n):
                out += self.read_reply()
            if t == b"|":  # attribute: the real reply follows
                out += self.read_reply()
            return out
        raise AssertionError("not a RESP reply: %r" % (line,))

    def read_available(self, wait=0.2):
        """Whatever arrives within `wait` seconds (plus the buffer)."""
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
        except socket.timeout:
            pass
        except ConnectionResetError:
            pass
        finally:
            self.sock.settimeout(self.timeout)
        out, self.buf = self.buf, b""
        return out

    def read_until_close(self, timeout=None):
        """All bytes until the server closes; AssertionError if it doesn't.

        A reset (RST because our unread data was discarded) counts as a
        close: the bytes received before it are returned.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        out, self.buf = self.buf, b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("server did not close the connection; "
                                     "got %r" % out[:500])
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return out
            if not data:
                return out
            out += data

    def is_closed(self, wait=1.0):
        """True if the server closed the connection within `wait` seconds."""
        try:
            self.read_until_close(wait)
            return True
        except AssertionError:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class ReplyError(Exception):
    """An error reply (-ERR ...) met by parse_reply."""


def parse_reply(data):
    """Parse exactly one RESP2/RESP3 reply (bytes) into Python values.

    Simple strings and bulks -> bytes, integers -> int, nulls -> None,
    doubles -> float, arrays/sets/pushes -> list, maps -> dict (keys
    bytes), errors -> ReplyError instance (returned, not raised).
    """
    value, rest = _parse(data)
    if rest:
        raise ValueError("trailing bytes after reply: %r" % rest[:80])
    return value


def _parse(data):
    i = data.index(b"\r\n")
    t, line, rest = data[:1], data[1:i], data[i + 2:]
    if t == b"+":
        return line, rest
    if t in (b"-", b"!"):
        if t == b"!":
            n = int(line)
            line, rest = rest[:n], rest[n + 2:]
        return ReplyError(line.decode("utf-8", "replace")), rest
    if t == b":":
        return int(line), rest
    if t == b",":
        return float(line), rest
    if t == b"_":
        return None, rest
    if t == b"#":
        return line == b"t", rest
    if t == b"(":
        return int(line), rest
    if t in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, rest
        return rest[:n], rest[n + 2:]
    if t in (b"*", b"~", b">"):
        n = int(line)
        if n < 0:
            return None, rest
        out = []
        for _ in range(n):
            v, rest = _parse(rest)
            out.append(v)
        return out, rest
    if t == b"%":
        out = {}
        for _ in range(int(line)):
            k, rest = _parse(rest)
            v, rest = _parse(rest)
            out[k] = v
        return out, rest
    raise ValueError("not a RESP reply: %r" % data[:80])


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# -- pytest hooks -----------------------------------------------------------


def pytest_addoption(parser, pluginmanager):
    # `-n0` is accepted even without pytest-xdist so one command line works
    # on every machine.
    if not pluginmanager.hasplugin("xdist"):
        # pytest reserves lowercase short options for itself and its
        # plugins; _addoption is what pytest-xdist uses for the same flag.
        parser.getgroup("tessera")._addoption(
            "-n", "--numprocesses", dest="numprocesses", default=None,
            help="ignored: pytest-xdist is not installed")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "tessera_only: Tessera-specific behaviour; skipped "
        "when TESSERA_SERVER=redis")
    config.addinivalue_line(
        "markers", "redis_only: behaviour Tessera intentionally does not "
        "share; skipped on tessera")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_report_header(config):
    return "server under test: %s (%s)" % (SERVER_KIND, server_binary())


def pytest_runtest_setup(item):
    if IS_REDIS and item.get_closest_marker("tessera_only"):
        pytest.skip("tessera-only behaviour")
    if not IS_REDIS and item.get_closest_marker("redis_only"):
        pytest.skip("redis-only behaviour")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in list(_LIVE_SERVERS):
            rep.sections.append(("server log tail %r" % s, s.log_tail()))


# -- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="session")
def is_redis():
    return IS_REDIS


def _start(extra_args=(), **kw):
    s = Server(extra_args, **kw)
    try:
        s.start()
    except ServerStartError as e:
        s.cleanup()
        pytest.fail(str(e), pytrace=False)
    return s


@pytest.fixture
def server():
    s = _start()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def shared_server():
    s = _start(name="shared")
    yield s
    s.cleanup()


@pytest.fixture
def r(shared_server):
    if not shared_server.alive():
        pytest.fail("shared server died; log:\n" + shared_server.log_tail())
    c = shared_server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def c(shared_server, raw):
    """A RawConn on the shared server, FLUSHALL'd first (test files may
    override it, e.g. to restore settings afterwards)."""
    conn = raw(shared_server)
    assert conn.cmd("FLUSHALL") == b"+OK\r\n"
    return conn


@pytest.fixture
def start_server():
    """start_server(*extra_args, debug=True, conf=None) -> Server.

    A single list/tuple argument is also accepted:
    start_server(["--requirepass", "x"]).  debug=False leaves out
    --enable-debug-command; conf="text" writes a config file and passes it
    as the first argument.  Every server started is stopped at teardown.
    """
    started = []

    def start(*extra_args, debug=True, conf=None):
        if len(extra_args) == 1 and isinstance(extra_args[0], (list, tuple)):
            extra_args = tuple(extra_args[0])
        s = _start(extra_args, debug=debug, conf=conf)
        started.append(s)
        return s

    yield start
    for s in reversed(started):
        s.cleanup()


@pytest.fixture
def raw():
    """raw(server, timeout=5.0, source=None) -> RawConn, closed at teardown."""
    conns = []

    def connect(srv, timeout=5.0, source=None):
        c = RawConn(srv, timeout=timeout, source=source)
        conns.append(c)
        return c

    yield connect
    for c in conns:
        c.close()


@pytest.fixture
def cli():
    """cli(server, *args, input=None, timeout=60) -> CompletedProcess.

    Runs redis-cli -h HOST -p PORT args...; stdout/stderr are bytes.
    """

    def run(srv, *args, input=None, timeout=60):
        cmd = [REDIS_CLI_BIN, "-h", srv.host, "-p", str(srv.port)]
        cmd += [str(a) for a in args]
        if isinstance(input, str):
            input = input.encode()
        return subprocess.run(cmd, input=input, capture_output=True,
                              timeout=timeout)

    return run


def wait_for(predicate, timeout=5.0, interval=0.02, what="condition"):
    """Poll predicate() until it is truthy; return its value or fail."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


@pytest.fixture
def wait():
    return wait_for


# ---- keys of another type (WRONGTYPE checks) ---------------------------------
#
# Tests reach WRONGTYPE by creating a list.  A server without the list type
# (tessera before issue 3) answers "unknown command": the test is skipped at
# that point, after everything it checked before, with the reason spelled
# out, and runs in full by itself once LPUSH exists.  Any other reply fails.

NO_LISTS = "needs LPUSH (the list type, issue 3) to make a WRONGTYPE key"


def make_list(conn, key, *values):
    """LPUSH through a RawConn; returns the raw reply."""
    reply = conn.cmd("LPUSH", key, *(values or ("x",)))
    if reply.startswith(b"-ERR unknown command"):
        pytest.skip(NO_LISTS)
    return reply


def lpush_or_skip(client, key, *values):
    """LPUSH through redis-py (client or pipeline-free connection)."""
    import redis
    try:
        return client.lpush(key, *(values or ("x",)))
    except redis.exceptions.ResponseError as e:
        if str(e).startswith("unknown command"):
            pytest.skip(NO_LISTS)
        raise
