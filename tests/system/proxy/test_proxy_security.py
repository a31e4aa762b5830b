"""tessera-proxy's users and passwords (Redis ACL syntax, a subset).

Every reply text is compared byte for byte with a real redis-server 7.0
given the same `requirepass` and `user` lines in the same test: the same
script of commands runs on fresh connections to both.  The proxy fronts a
plain (non-cluster) Redis here, so these tests need no cluster.
"""

import re
import subprocess

import pytest
import redis

from .proxy_cluster import Node, free_port, proxy_binary
from .test_proxy_connection import Raw

USERS = [
    ["foo", "on", ">fp", ">fp2", "~*", "&*", "+@all"],
    ["dis", "off", ">dp", "~*", "&*", "+@all"],
    ["np", "on", "nopass", "allkeys", "allchannels", "allcommands"],
    ["k", "on", ">kp", "+@all"],                 # no keys, no channels
    ["nc", "on", ">ncp", "~*", "&*"],            # no commands
    ["rp", "on", ">a", ">b", "<a", "~*", "&*", "+@all"],
]


def user_args(users):
    out = []
    for u in users:
        out += ["--user"] + u
    return out


def normalise(reply):
    # HELLO's map carries the connection id, which differs
    return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:ID\r\n", reply)


def run_script(host, port, script):
    """script: list of connections, each a list of commands; returns the
    replies, one list per connection."""
    out = []
    for conn in script:
        c = Raw(host, port)
        try:
            out.append([normalise(c.cmd(*cmd)) for cmd in conn])
        finally:
            c.close()
    return out


@pytest.fixture
def redis_ref(cluster_tmp):
    started = []

    def start(args, password=None):
        n = Node(cluster_tmp, cluster=False, extra=args, password=password)
        started.append(n)
        return n
    yield start
    for n in started:
        n.stop()


@pytest.fixture
def backend(cluster_tmp):
    n = Node(cluster_tmp, cluster=False)
    yield n
    n.stop()


SCRIPT_REQUIREPASS = [
    # before AUTH: unknown command and arity errors come first, as Redis
    [("GET", "a"), ("FOO",), ("GET",), ("PING",), ("CLIENT", "INFO"),
     ("AUTH", "a", "b", "c"), ("AUTH", "wrong"), ("AUTH", "foo", "wrong"),
     ("AUTH", "dis", "dp"), ("AUTH", "nobody", "x"), ("HELLO", "3"),
     ("HELLO", "3", "AUTH", "foo"), ("HELLO", "4"),
     ("HELLO", "3", "AUTH", "foo", "bad"), ("GET", "a"),
     ("AUTH", "pw"), ("SET", "a", "1"), ("GET", "a"),
     ("AUTH", "wrong"), ("GET", "a")],        # a failed AUTH keeps the user
    [("AUTH", "foo", "fp2"), ("PING",), ("GET", "a")],
    [("AUTH", "default", "pw"), ("PING",)],
    [("AUTH", "np", "anything"), ("PING",), ("GET", "a")],
    [("AUTH", "k", "kp"), ("PING",), ("GET", "a"), ("PUBLISH", "ch", "m"),
     ("MULTI",), ("GET", "a"), ("PING",), ("EXEC",)],
    [("AUTH", "nc", "ncp"), ("PING",), ("CLIENT", "INFO"), ("GET", "a"),
     ("HELLO", "2"), ("QUIT",)],
    [("AUTH", "nc", "ncp"), ("AUTH", "foo", "fp"), ("PING",)],
    [("AUTH", "rp", "a"), ("AUTH", "rp", "b"), ("PING",)],
    [("HELLO", "3", "AUTH", "foo", "fp", "SETNAME", "x"), ("GET", "a"),
     ("CLIENT", "GETNAME",)],
    [("HELLO", "2", "AUTH", "dis", "dp"), ("PING",)],
]


def test_auth_and_users_read_like_redis(redis_ref, backend, start_proxy):
    args = ["--requirepass", "pw"] + user_args(USERS)
    ref = redis_ref(args, password="pw")
    p = start_proxy([backend.addr], *args)
    want = run_script(ref.host, ref.port, SCRIPT_REQUIREPASS)
    got = run_script(p.host, p.port, SCRIPT_REQUIREPASS)
    for conn, w, g in zip(SCRIPT_REQUIREPASS, want, got):
        for cmd, wr, gr in zip(conn, w, g):
            assert gr == wr, "%r: proxy %r, redis %r" % (cmd, gr, wr)
    # the proxy's client list names the user
    c = Raw(p.host, p.port)
    assert c.cmd("AUTH", "foo", "fp") == b"+OK\r\n"
    assert b" user=foo " in c.cmd("CLIENT", "INFO")
    c.close()


SCRIPT_NOPASS = [
    [("AUTH", "x"), ("AUTH", "default", "x"), ("AUTH", "foo", "fp"),
     ("PING",), ("GET", "a"), ("HELLO", "2", "AUTH", "default", "zz"),
     ("PING",)],
]

SCRIPT_DEFAULT_LINE = [
    [("PING",), ("AUTH", "pw"), ("AUTH", "dpw"), ("PING",)],
    [("AUTH", "default", "dpw"), ("GET", "a")],
]


def test_no_password_and_default_user_line(redis_ref, backend, start_proxy):
    # no requirepass: AUTH <password> is refused with Redis's hint
    args = user_args(USERS[:1])
    ref = redis_ref(args)
    p = start_proxy([backend.addr], *args)
    assert (run_script(p.host, p.port, SCRIPT_NOPASS) ==
            run_script(ref.host, ref.port, SCRIPT_NOPASS))
    # a `user default` line wins over requirepass, as in Redis
    args = ["--requirepass", "pw",
            "--user", "default", "on", ">dpw", "~*", "&*", "+@all"]
    ref = redis_ref(args, password="dpw")
    p = start_proxy([backend.addr], *args)
    assert (run_script(p.host, p.port, SCRIPT_DEFAULT_LINE) ==
            run_script(ref.host, ref.port, SCRIPT_DEFAULT_LINE))


def start_fails(args):
    r = subprocess.run([proxy_binary(), "--port", str(free_port())] + args,
                       capture_output=True, timeout=10)
    assert r.returncode != 0
    return (r.stdout + r.stderr).decode()


def test_bad_user_lines_refused_at_start():
    out = start_fails(["--user", "foo", "on", "badrule"])
    assert "Error in user declaration 'foo': Syntax error" in out
    out = start_fails(["--user", "foo", "on", "#abc"])
    assert ("The password hash must be exactly 64 characters and contain "
            "only lowercase hexadecimal characters") in out
    out = start_fails(["--user", "foo", "on", "<nothere"])
    assert "does not exist" in out
    # rules Redis accepts but the proxy could not enforce: refused, named
    for rule in ["~cache:*", "+get", "-@dangerous", "&news", "%R~*"]:
        out = start_fails(["--user", "foo", "on", ">p", rule])
        assert "does not support the ACL rule '%s'" % rule in out, out
    with_file = ["--user", "foo", "on", "--user", "foo", "off"]
    assert "Duplicate user found" in start_fails(with_file)


def test_backend_user_and_password(cluster_tmp, start_proxy):
    node = Node(cluster_tmp, cluster=False,
                extra=["--user", "px", "on", ">ppw", "~*", "&*", "+@all"],
                password="not-the-proxys")
    try:
        p = start_proxy([node.addr], "--backend-user", "px",
                        "--backend-password", "ppw")
        c = p.client()
        assert c.set("k", "v") and c.get("k") == b"v"
        r3 = Raw(p.host, p.port)      # a RESP3 link says HELLO 3 AUTH px
        assert r3.cmd("HELLO", "3").startswith(b"%7")
        assert r3.cmd("GET", "k") == b"$1\r\nv\r\n"
        r3.close()
        who = redis.Redis(host=node.host, port=node.port, username="px",
                          password="ppw", socket_timeout=5)
        assert who.get("k") == b"v"
        # the proxy's links (and `who`) are logged in as px
        users = [cl["user"] for cl in who.client_list()]
        assert users.count("px") >= 3, users
        # a wrong backend password: the proxy says why it cannot start
        r = subprocess.run([proxy_binary(), "--port", str(free_port()),
                            "--cluster-nodes", node.addr,
                            "--backend-user", "px",
                            "--backend-password", "bad"],
                           capture_output=True, timeout=30)
        assert r.returncode != 0
        assert b"refused backend-password: WRONGPASS" in r.stdout + r.stderr
    finally:
        node.stop()


def test_acl_users_through_cluster(cluster, start_proxy):
    """Users work the same in front of a cluster, with pipelines."""
    p = start_proxy([n.addr for n in cluster.nodes],
                    "--user", "app", "on", ">apw", "~*", "&*", "+@all",
                    "--user", "default", "off")
    c = p.client()
    with pytest.raises(redis.AuthenticationError):
        c.ping()
    c = p.client(username="app", password="apw")
    pipe = c.pipeline(transaction=False)
    for i in range(100):
        pipe.set("key:%d" % i, i)
    assert all(pipe.execute())
    assert c.mget(["key:%d" % i for i in range(100)]) == [
        str(i).encode() for i in range(100)]
