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


def assert_same(script, want, got):
    """Every reply of `got` (the proxy) is the one in `want` (Redis)."""
    for conn, w, g in zip(script, want, got):
        for cmd, wr, gr in zip(conn, w, g):
            assert gr == wr, "%r: proxy %r, redis %r" % (cmd, gr, wr)


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
    assert_same(SCRIPT_REQUIREPASS,
                run_script(ref.host, ref.port, SCRIPT_REQUIREPASS),
                run_script(p.host, p.port, SCRIPT_REQUIREPASS))
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
    for rule in ["+nosuch", "-@nosuch", "+get|x|y"]:
        out = start_fails(["--user", "foo", "on", rule])
        assert ("Error in user declaration 'foo': Unknown command or "
                "category name in ACL") in out, (rule, out)
    out = start_fails(["--user", "foo", "on", "~*", "~a"])
    assert "Adding a pattern after the * pattern (or the 'allkeys'" in out
    out = start_fails(["--user", "foo", "on", "&*", "&a"])
    assert "(or the 'allchannels' flag)" in out
    out = start_fails(["--user", "foo", "on", "+config|get|x"])
    assert "Allowing first-arg of a subcommand is not supported" in out
    out = start_fails(["--user", "foo", "on", "%X~a"])
    assert "Error in user declaration 'foo': Syntax error" in out
    # selectors: refused, named (the proxy would grant more otherwise)
    out = start_fails(["--user", "foo", "on", ">p", "(~x +get)"])
    assert "does not support ACL selectors ('(~x +get)')" in out, out
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


# ---- finer ACL rules and the ACL command ------------------------------------

FINE_USERS = [
    ["app", "on", ">apw", "~cache:*", "%R~ro:*", "%W~wo:*", "&news", "&n*",
     "+@all", "-@dangerous"],
    ["reader", "on", ">rpw", "allkeys", "-@all", "+@read", "+ping"],
    ["nostr", "on", ">npw", "~*", "&*", "+@all", "-@string", "+get"],
    ["cfg", "on", ">cpw", "~*", "&*", "+@all", "-flushall"],
    ["cfgset", "on", ">spw", "~*", "&*", "+@all", "-config|set"],
    ["sel", "on", ">lpw", "~*", "-@all", "+@read", "+select|0"],
    ["off1", "off", "resetchannels", "-@all"],
]

SCRIPT_FINE = [
    [("AUTH", "app", "apw"), ("GET", "cache:1"), ("GET", "other"),
     ("MGET", "cache:1", "other"), ("SET", "wo:1", "x"), ("GET", "wo:1"),
     ("GET", "ro:1"), ("SET", "ro:1", "x"), ("SET", "wo:1", "y", "GET"),
     ("INCR", "wo:2"), ("EXISTS", "wo:1"), ("DEL", "ro:1"),
     ("PUBLISH", "news", "m"), ("PUBLISH", "nx", "m"),
     ("PUBLISH", "other", "m"), ("SPUBLISH", "other", "m"),
     ("FLUSHALL",), ("CONFIG", "GET", "x"), ("ACL", "WHOAMI"),
     ("ACL", "LIST"), ("SUBSCRIBE", "other"), ("PSUBSCRIBE", "n?"),
     ("PSUBSCRIBE", "n*")],
    [("AUTH", "reader", "rpw"), ("GET", "x"), ("SET", "x", "1"), ("PING",),
     ("ACL", "WHOAMI"), ("CLIENT", "ID"), ("HGETALL", "h")],
    [("AUTH", "nostr", "npw"), ("GET", "a"), ("SET", "a", "1"),
     ("APPEND", "a", "1"), ("LPUSH", "l", "1"), ("DEL", "l")],
    [("AUTH", "cfg", "cpw"), ("FLUSHALL",), ("DBSIZE",)],
    [("AUTH", "cfgset", "spw"), ("CONFIG", "SET", "a", "b")],
    [("AUTH", "sel", "lpw"), ("SELECT", "0"), ("SELECT", "1"), ("GET", "k")],
    [("ACL", "WHOAMI"), ("ACL", "USERS"), ("ACL", "LIST"),
     ("ACL", "GETUSER", "app"), ("ACL", "GETUSER", "off1"),
     ("ACL", "GETUSER", "nosuch"), ("ACL", "DRYRUN", "app", "get", "other"),
     ("ACL", "DRYRUN", "app", "get", "cache:1"),
     ("ACL", "DRYRUN", "app", "mget", "cache:1", "x", "y"),
     ("ACL", "DRYRUN", "app", "publish", "other", "m"),
     ("ACL", "DRYRUN", "app", "subscribe", "news", "zz"),
     ("ACL", "DRYRUN", "app", "flushall"),
     ("ACL", "DRYRUN", "cfgset", "config", "set", "a", "b"),
     ("ACL", "DRYRUN", "nosuch", "get", "x"),
     ("ACL", "DRYRUN", "app", "nosuchcmd"), ("ACL", "DRYRUN", "app", "get"),
     ("ACL", "CAT"), ("ACL", "CAT", "nosuch"), ("ACL", "CAT", "a", "b"),
     ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "x"), ("ACL", "FOO"),
     ("ACL",),
     ("ACL", "WHOAMI", "x"), ("ACL", "GETUSER"), ("ACL", "LOG", "RESET"),
     ("ACL", "LOG", "x"), ("ACL", "HELP")],
    [("HELLO", "3"), ("ACL", "GETUSER", "app"), ("ACL", "GETUSER", "nosuch"),
     ("ACL", "DRYRUN", "reader", "set", "k", "v")],
]


def test_acl_rules_read_like_redis(redis_ref, backend, start_proxy):
    """Command, category, key (%R~ / %W~) and channel rules, the NOPERM
    texts they give, and ACL WHOAMI / USERS / LIST / GETUSER / DRYRUN /
    CAT, compared byte for byte with a redis-server 7.0 given the same
    user lines."""
    args = user_args(FINE_USERS)
    ref = redis_ref(args)
    p = start_proxy([backend.addr], *args)
    assert_same(SCRIPT_FINE, run_script(ref.host, ref.port, SCRIPT_FINE),
                run_script(p.host, p.port, SCRIPT_FINE))
    # ACL CAT <category>: the proxy's commands of it (Redis has more, in
    # its hash table's order)
    pc, rc = p.client(), ref.client()
    mine = set(pc.acl_cat("read"))
    assert "get" in mine and "set" not in mine
    assert mine <= set(rc.acl_cat("read"))
    assert "client|list" in set(pc.acl_cat("dangerous"))
    # users are the config file's: changing them is refused, clearly
    for cmd in (("ACL", "SETUSER", "x", "on"), ("ACL", "DELUSER", "app"),
                ("ACL", "SAVE"), ("ACL", "LOAD")):
        with pytest.raises(redis.ResponseError,
                           match="users are configured with `user` lines"):
            pc.execute_command(*cmd)
    assert len(pc.acl_genpass()) == 64
    assert len(pc.execute_command("ACL", "GENPASS", "10")) == 3
    assert pc.acl_log() == []       # the proxy keeps no log


def test_acl_rules_through_cluster(cluster, start_proxy):
    """The same checks in front of a cluster, on the split paths: MGET and
    DEL over several masters, a pipeline, pub/sub."""
    p = start_proxy([n.addr for n in cluster.nodes],
                    "--user", "app", "on", ">apw", "~app:*", "%R~shared:*",
                    "&app.*", "+@all", "-@dangerous",
                    "--user", "default", "on", "nopass", "~*", "&*", "+@all")
    d = p.client()
    keys = ["app:%d" % i for i in range(20)]
    d.mset({k: k for k in keys})
    d.set("shared:1", "s")
    c = p.client(username="app", password="apw")
    assert c.mget(keys) == [k.encode() for k in keys]
    assert c.get("shared:1") == b"s"
    noperm = "no permissions to access one of the keys"
    with pytest.raises(redis.exceptions.NoPermissionError, match=noperm):
        c.mget(keys + ["other"])
    with pytest.raises(redis.exceptions.NoPermissionError, match=noperm):
        c.set("shared:1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError,
                       match="run the 'keys' command"):
        c.keys("*")
    pipe = c.pipeline(transaction=False)
    pipe.set("app:x", 1).get("nope").incr("app:x")
    out = pipe.execute(raise_on_error=False)
    assert out[0] is True and out[2] == 2
    assert isinstance(out[1], redis.exceptions.NoPermissionError)
    assert c.delete(*keys) == 20
    with pytest.raises(redis.exceptions.NoPermissionError,
                       match="one of the channels"):
        c.execute_command("SUBSCRIBE", "news")
    ps = c.pubsub()
    ps.subscribe("app.news")
    assert ps.get_message(timeout=5)["type"] == "subscribe"
    d.publish("app.news", "hi")     # counts only that node's subscribers
    msg = ps.get_message(timeout=5)
    assert msg["type"] == "message" and msg["data"] == b"hi"
    ps.close()
