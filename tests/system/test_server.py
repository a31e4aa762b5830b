"""Connection, server and introspection commands as Redis 7.0 answers them.

PING/ECHO/QUIT, AUTH and requirepass, CLIENT *, INFO, CONFIG *, COMMAND *,
SLOWLOG, TIME/LASTSAVE, SHUTDOWN, MONITOR, DEBUG, rename-command and
protected mode.
"""

import os
import re
import time

import pytest

from conftest import lpush_or_skip, make_list

from conftest import encode_command, wait_for
from respwire import OK, NIL, SYNTAX, bulk, integer

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
DEBUG_DENIED = (
    b"-ERR DEBUG command not allowed. If the enable-debug-command option is "
    b"set to \"local\", you can run it from a local connection, otherwise "
    b"you need to set this option in the configuration file, and then "
    b"restart the server.\r\n")
PROTECTED = (
    b"-DENIED Redis is running in protected mode because protected mode is "
    b"enabled and no password is set for the default user. In this mode "
    b"connections are only accepted from the loopback interface. If you want "
    b"to connect from external computers to Redis you may adopt one of the "
    b"following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by "
    b"connecting to Redis from the same host the server is running, however "
    b"MAKE SURE Redis is not publicly accessible from internet if you do so. "
    b"Use CONFIG REWRITE to make this change permanent. 2) Alternatively you "
    b"can just disable the protected mode by editing the Redis configuration "
    b"file, and setting the protected mode option to 'no', and then "
    b"restarting the server. 3) If you started the server manually just for "
    b"testing, restart it with the '--protected-mode no' option. 4) Setup a "
    b"an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n")

CLIENT_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags",
                 "db", "sub", "psub", "ssub", "multi", "qbuf", "qbuf-free",
                 "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem",
                 "tot-mem", "events", "cmd", "user", "redir", "resp"]


def body(reply):
    """Payload of a bulk reply."""
    assert reply.startswith(b"$"), reply
    return reply[reply.index(b"\r\n") + 2:-2]


def parse_client_line(line):
    fields = []
    for part in line.decode().split(" "):
        k, _, v = part.partition("=")
        fields.append((k, v))
    return fields


def info_dict(text):
    out = {}
    for line in text.decode().split("\r\n"):
        if line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k] = v
    return out


def info_sections(text):
    return [line[2:] for line in text.decode().split("\r\n")
            if line.startswith("# ")]


# -- PING / ECHO / QUIT ----------------------------------------------------------


def test_ping_echo(c):
    assert c.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("PING", "hello world") == bulk("hello world")
    assert c.cmd("PING", "") == bulk("")
    assert c.cmd("PING", "a", "b") == \
        b"-ERR wrong number of arguments for 'ping' command\r\n"
    assert c.cmd("ECHO", "x\r\ny") == bulk("x\r\ny")
    assert c.cmd("ECHO") == b"-ERR wrong number of arguments for 'echo' command\r\n"
    assert c.cmd("ECHO", "a", "b") == \
        b"-ERR wrong number of arguments for 'echo' command\r\n"


def test_ping_resp3(c):
    c.cmd("HELLO", "3")
    assert c.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("PING", "x") == bulk("x")


def test_quit(shared_server, raw):
    c = raw(shared_server)
    c.send(encode_command("QUIT") + encode_command("PING"))
    # The reply to QUIT is sent, then the connection is closed; commands
    # after QUIT are never executed.
    assert c.read_until_close() == OK


# -- AUTH ------------------------------------------------------------------------


def test_auth_required(start_server, raw):
    s = start_server("--requirepass", "s3cret")
    c = raw(s)
    assert c.cmd("GET", "a") == NOAUTH
    assert c.cmd("PING") == NOAUTH
    assert c.cmd("SET", "a", "1") == NOAUTH
    # Unknown commands and arity errors are reported before NOAUTH.
    assert c.cmd("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.cmd("NOSUCH") == \
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    assert c.cmd("AUTH", "wrong") == WRONGPASS
    assert c.cmd("AUTH", "default", "wrong") == WRONGPASS
    assert c.cmd("AUTH", "nouser", "s3cret") == WRONGPASS
    assert c.cmd("GET", "a") == NOAUTH
    assert c.cmd("AUTH", "s3cret") == OK
    assert c.cmd("GET", "a") == NIL
    c2 = raw(s)
    assert c2.cmd("AUTH", "default", "s3cret") == OK
    assert c2.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("AUTH", "a", "b", "c") == SYNTAX
    assert c.cmd("AUTH") == b"-ERR wrong number of arguments for 'auth' command\r\n"


def test_auth_quit_allowed_without_auth(start_server, raw):
    s = start_server("--requirepass", "pw")
    c = raw(s)
    c.send(encode_command("QUIT"))
    assert c.read_until_close() == OK


def test_auth_counts_failures_in_stats(start_server, raw):
    s = start_server("--requirepass", "pw")
    admin = raw(s)
    assert admin.cmd("AUTH", "pw") == OK
    before = int(info_dict(body(admin.cmd("INFO", "stats")))
                 ["total_error_replies"])
    c = raw(s)
    assert c.cmd("AUTH", "bad") == WRONGPASS
    assert c.cmd("GET", "k") == NOAUTH
    assert c.cmd("AUTH", "pw") == OK
    info = info_dict(body(c.cmd("INFO", "stats")))
    assert int(info["total_error_replies"]) == before + 2


def test_auth_without_password_configured(c):
    assert c.cmd("AUTH", "x") == (
        b"-ERR AUTH <password> called without any password configured for "
        b"the default user. Are you sure your configuration is correct?\r\n")
    # The two-argument form succeeds: the default user is "nopass".
    assert c.cmd("AUTH", "default", "anything") == OK
    assert c.cmd("AUTH", "nouser", "anything") == WRONGPASS


def test_requirepass_at_runtime(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "requirepass", "newpw") == OK
    # Already-connected clients stay authenticated ...
    assert c.cmd("PING") == b"+PONG\r\n"
    # ... new ones must AUTH.
    c2 = raw(server)
    assert c2.cmd("PING") == NOAUTH
    assert c2.cmd("AUTH", "newpw") == OK
    assert c.cmd("CONFIG", "GET", "requirepass") == \
        b"*2\r\n$11\r\nrequirepass\r\n$5\r\nnewpw\r\n"
    assert c.cmd("CONFIG", "SET", "requirepass", "") == OK
    c3 = raw(server)
    assert c3.cmd("PING") == b"+PONG\r\n"


# -- CLIENT ----------------------------------------------------------------------


def test_client_id_setname_getname(shared_server, raw):
    c1, c2 = raw(shared_server), raw(shared_server)
    id1 = c1.call("CLIENT", "ID")
    id2 = c2.call("CLIENT", "ID")
    assert isinstance(id1, int) and id2 > id1
    assert c1.cmd("CLIENT", "GETNAME") == NIL
    assert c1.cmd("CLIENT", "SETNAME", "worker-1") == OK
    assert c1.cmd("CLIENT", "GETNAME") == bulk("worker-1")
    assert c2.cmd("CLIENT", "GETNAME") == NIL
    bad = (b"-ERR Client names cannot contain spaces, newlines or special "
           b"characters.\r\n")
    assert c1.cmd("CLIENT", "SETNAME", "a b") == bad
    assert c1.cmd("CLIENT", "SETNAME", "a\nb") == bad
    assert c1.cmd("CLIENT", "GETNAME") == bulk("worker-1")
    # An empty name removes the name.
    assert c1.cmd("CLIENT", "SETNAME", "") == OK
    assert c1.cmd("CLIENT", "GETNAME") == NIL


def test_client_list_fields(shared_server, raw):
    c = raw(shared_server)
    other = raw(shared_server)
    assert other.cmd("CLIENT", "SETNAME", "other") == OK
    my_id = c.call("CLIENT", "ID")
    listing = body(c.cmd("CLIENT", "LIST"))
    assert listing.endswith(b"\n")
    lines = listing.split(b"\n")[:-1]
    assert len(lines) >= 2
    mine = None
    for line in lines:
        fields = parse_client_line(line)
        assert [k for k, _ in fields] == CLIENT_FIELDS, line
        d = dict(fields)
        if d["id"] == str(my_id):
            mine = d
    assert mine is not None
    host, port = c.sock.getsockname()
    assert mine["addr"] == "%s:%d" % (host, port)
    assert mine["laddr"] == "%s:%d" % (shared_server.host, shared_server.port)
    assert mine["name"] == ""
    assert mine["flags"] == "N"
    assert mine["db"] == "0"
    assert mine["multi"] == "-1"
    assert mine["cmd"] == "client|list"
    assert mine["user"] == "default"
    assert mine["resp"] == "2"
    assert b" name=other " in listing


def test_client_info(shared_server, raw):
    c = raw(shared_server)
    my_id = c.call("CLIENT", "ID")
    assert c.cmd("CLIENT", "SETNAME", "me") == OK
    line = body(c.cmd("CLIENT", "INFO"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    fields = parse_client_line(line[:-1])
    assert [k for k, _ in fields] == CLIENT_FIELDS
    d = dict(fields)
    assert d["id"] == str(my_id)
    assert d["name"] == "me"
    assert d["cmd"] == "client|info"
    assert d["resp"] == "2"


def test_client_info_list_resp3_verbatim(shared_server, raw):
    # Under RESP3, CLIENT INFO and CLIENT LIST are verbatim strings ("txt").
    c = raw(shared_server)
    c.cmd("HELLO", "3")
    for sub in ("INFO", "LIST"):
        reply = c.cmd("CLIENT", sub)
        m = re.fullmatch(rb"=(\d+)\r\ntxt:(.*)\r\n", reply, re.S)
        assert m, reply
        assert int(m.group(1)) == len(m.group(2)) + 4
        assert m.group(2).endswith(b"\n")
        assert b" resp=3\n" in m.group(2)


def test_client_list_filters(shared_server, raw):
    c = raw(shared_server)
    other = raw(shared_server)
    other_id = other.call("CLIENT", "ID")
    listing = body(c.cmd("CLIENT", "LIST", "ID", str(other_id)))
    assert listing.startswith(b"id=%d " % other_id)
    assert listing.count(b"\n") == 1
    assert c.cmd("CLIENT", "LIST", "ID", "999999999") == bulk("")
    assert body(c.cmd("CLIENT", "LIST", "TYPE", "normal")).count(b"\n") >= 2
    assert c.cmd("CLIENT", "LIST", "TYPE", "foo") == \
        b"-ERR Unknown client type 'foo'\r\n"
    assert c.cmd("CLIENT", "LIST", "ID", "x") == b"-ERR Invalid client ID\r\n"
    assert c.cmd("CLIENT", "LIST", "foo") == SYNTAX


def test_client_kill_by_id(shared_server, raw):
    c, victim = raw(shared_server), raw(shared_server)
    vid = victim.call("CLIENT", "ID")
    assert c.cmd("CLIENT", "KILL", "ID", str(vid)) == integer(1)
    assert victim.read_until_close() == b""
    assert c.cmd("CLIENT", "KILL", "ID", str(vid)) == integer(0)
    assert c.cmd("CLIENT", "KILL", "ID", "x") == \
        b"-ERR client-id should be greater than 0\r\n"
    assert c.cmd("CLIENT", "KILL", "ID", "0") == \
        b"-ERR client-id should be greater than 0\r\n"


def test_client_kill_by_addr(shared_server, raw):
    c = raw(shared_server)
    v1, v2 = raw(shared_server), raw(shared_server)
    a1 = "%s:%d" % v1.sock.getsockname()
    a2 = "%s:%d" % v2.sock.getsockname()
    assert v1.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("CLIENT", "KILL", "ADDR", a1) == integer(1)
    assert v1.read_until_close() == b""
    # Old style: CLIENT KILL ip:port answers +OK or an error.
    assert c.cmd("CLIENT", "KILL", a2) == OK
    assert v2.read_until_close() == b""
    assert c.cmd("CLIENT", "KILL", a2) == b"-ERR No such client\r\n"
    assert c.cmd("CLIENT", "KILL", "ADDR", a2) == integer(0)
    assert c.cmd("PING") == b"+PONG\r\n"


def test_client_kill_filters(shared_server, raw):
    c = raw(shared_server)
    laddr = "%s:%d" % (shared_server.host, shared_server.port)
    v = raw(shared_server)
    assert v.cmd("PING") == b"+PONG\r\n"
    # LADDR matches every client of this listener; SKIPME yes spares us.
    killed = c.call("CLIENT", "KILL", "LADDR", laddr, "SKIPME", "yes")
    assert killed >= 1
    assert v.read_until_close() == b""
    assert c.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("CLIENT", "KILL", "TYPE", "foo") == \
        b"-ERR Unknown client type 'foo'\r\n"
    assert c.cmd("CLIENT", "KILL", "USER", "nouser") == \
        b"-ERR No such user 'nouser'\r\n"
    assert c.cmd("CLIENT", "KILL", "SKIPME", "x") == SYNTAX
    assert c.cmd("CLIENT", "KILL", "ID", "1", "SKIPME") == SYNTAX
    # With a single argument it is the old ip:port form.
    assert c.cmd("CLIENT", "KILL", "ID") == b"-ERR No such client\r\n"


def test_client_pause_unpause(shared_server, raw):
    admin, writer, reader = (raw(shared_server), raw(shared_server),
                             raw(shared_server))
    assert admin.cmd("SET", "k", "v") == OK
    try:
        assert admin.cmd("CLIENT", "PAUSE", "10000", "WRITE") == OK
        writer.send(encode_command("SET", "k", "w"))
        # Reads are served while writes wait.
        assert reader.cmd("GET", "k") == bulk("v")
        assert writer.read_available(0.3) == b""
        assert admin.cmd("CLIENT", "UNPAUSE") == OK
        assert writer.read_reply() == OK
        assert reader.cmd("GET", "k") == bulk("w")
    finally:
        admin.cmd("CLIENT", "UNPAUSE")


def test_client_pause_all(shared_server, raw):
    admin, reader = raw(shared_server), raw(shared_server)
    assert admin.cmd("SET", "k", "v") == OK
    assert admin.cmd("CLIENT", "PAUSE", "700") == OK
    start = time.monotonic()
    reader.send(encode_command("GET", "k"))
    # ALL (the default) holds every command, reads too -- even the pausing
    # client's own CLIENT UNPAUSE, so only the timeout ends it.
    admin.send(encode_command("CLIENT", "UNPAUSE"))
    assert reader.read_available(0.3) == b""
    assert admin.read_available(0.01) == b""
    assert reader.read_reply() == bulk("v")
    assert admin.read_reply() == OK
    assert time.monotonic() - start >= 0.6


def test_client_pause_expires(shared_server, raw):
    admin, writer = raw(shared_server), raw(shared_server)
    assert admin.cmd("CLIENT", "PAUSE", "300", "WRITE") == OK
    start = time.monotonic()
    assert writer.cmd("SET", "k", "v") == OK
    assert time.monotonic() - start >= 0.2


def test_client_pause_errors(c):
    assert c.cmd("CLIENT", "PAUSE", "abc") == \
        b"-ERR timeout is not an integer or out of range\r\n"
    assert c.cmd("CLIENT", "PAUSE", "10", "foo") == \
        b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    assert c.cmd("CLIENT", "PAUSE") == \
        b"-ERR wrong number of arguments for 'client|pause' command\r\n"
    assert c.cmd("CLIENT", "UNPAUSE", "x") == \
        b"-ERR wrong number of arguments for 'client|unpause' command\r\n"


def test_client_reply(shared_server, raw):
    c = raw(shared_server)
    c.send(encode_command("CLIENT", "REPLY", "OFF")
           + encode_command("SET", "k", "1")
           + encode_command("GET", "k")
           + encode_command("CLIENT", "REPLY", "ON")
           + encode_command("GET", "k"))
    # Nothing for REPLY OFF, SET and GET; +OK for REPLY ON.
    assert c.read_reply() == OK
    assert c.read_reply() == bulk("1")
    c.send(encode_command("CLIENT", "REPLY", "SKIP")
           + encode_command("INCR", "k")
           + encode_command("INCR", "k"))
    assert c.read_reply() == integer(3)
    assert c.read_available(0.2) == b""
    assert c.cmd("CLIENT", "REPLY", "x") == SYNTAX


def test_client_no_evict(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("CLIENT", "NO-EVICT", "on") == OK
    flags = dict(parse_client_line(body(c.cmd("CLIENT", "INFO"))[:-1]))["flags"]
    assert "e" in flags
    assert c.cmd("CLIENT", "NO-EVICT", "off") == OK
    flags = dict(parse_client_line(body(c.cmd("CLIENT", "INFO"))[:-1]))["flags"]
    assert flags == "N"
    assert c.cmd("CLIENT", "NO-EVICT", "foo") == SYNTAX


def test_client_errors(c):
    assert c.cmd("CLIENT", "foo") == \
        b"-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
    assert c.cmd("CLIENT") == \
        b"-ERR wrong number of arguments for 'client' command\r\n"
    assert c.cmd("CLIENT", "KILL", "127.0.0.1:1") == b"-ERR No such client\r\n"


# -- INFO ------------------------------------------------------------------------


INFO_FIELDS = {
    "server": ["redis_version", "redis_mode", "process_id", "tcp_port",
               "uptime_in_seconds"],
    "clients": ["connected_clients", "blocked_clients"],
    "memory": ["used_memory", "used_memory_human", "used_memory_rss",
               "mem_fragmentation_ratio", "mem_allocator", "maxmemory",
               "maxmemory_policy"],
    "persistence": ["loading", "rdb_changes_since_last_save"],
    "stats": ["total_connections_received", "total_commands_processed",
              "instantaneous_ops_per_sec", "expired_keys", "evicted_keys",
              "keyspace_hits", "keyspace_misses"],
    "replication": ["role"],
    "cpu": ["used_cpu_sys", "used_cpu_user"],
}


def test_info_default_sections_and_fields(shared_server, c):
    assert c.cmd("SET", "k", "v") == OK
    text = body(c.cmd("INFO"))
    assert b"\r\n" in text
    sections = info_sections(text)
    for name in ("Server", "Clients", "Memory", "Persistence", "Stats",
                 "Replication", "CPU", "Keyspace"):
        assert name in sections
    # Commandstats is not in the default set.
    assert "Commandstats" not in sections
    info = info_dict(text)
    for fields in INFO_FIELDS.values():
        for f in fields:
            assert f in info, f
    assert info["redis_mode"] == "standalone"
    assert info["tcp_port"] == str(shared_server.port)
    assert info["process_id"] == str(shared_server.proc.pid)
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["redis_version"])
    assert info["role"] == "master"
    assert info["loading"] == "0"
    assert info["maxmemory"] == "0"
    assert info["maxmemory_policy"] == "noeviction"
    assert int(info["used_memory"]) > 0
    assert re.fullmatch(r"\d+(\.\d+)?[BKMG]", info["used_memory_human"])
    assert re.fullmatch(r"\d+\.\d+", info["mem_fragmentation_ratio"])
    assert re.fullmatch(r"\d+\.\d+", info["used_cpu_sys"])
    assert int(info["connected_clients"]) >= 1
    assert info["db0"] == "keys=1,expires=0,avg_ttl=0"


@pytest.mark.redis_only
def test_info_mem_allocator_redis(c):
    # Tessera also uses jemalloc, but may report its own build string.
    info = info_dict(body(c.cmd("INFO", "memory")))
    assert info["mem_allocator"].startswith("jemalloc-")


def test_info_single_section(c):
    text = body(c.cmd("INFO", "clients"))
    assert info_sections(text) == ["Clients"]
    assert text.startswith(b"# Clients\r\nconnected_clients:")
    assert info_sections(body(c.cmd("INFO", "SERVER"))) == ["Server"]
    # Several sections at once (7.0).
    assert info_sections(body(c.cmd("INFO", "server", "clients"))) == \
        ["Server", "Clients"]
    # Unknown sections give an empty reply, not an error.
    assert c.cmd("INFO", "nosuchsection") == bulk("")


def test_info_all_and_everything(c):
    everything = info_sections(body(c.cmd("INFO", "everything")))
    all_ = info_sections(body(c.cmd("INFO", "all")))
    for s in ("Server", "Clients", "Memory", "Stats", "Commandstats",
              "Keyspace"):
        assert s in everything
        assert s in all_


def test_info_keyspace(c):
    assert c.cmd("INFO", "keyspace") == bulk("# Keyspace\r\n")
    assert c.cmd("MSET", "a", "1", "b", "2") == OK
    assert c.cmd("SET", "t", "v", "EX", "100") == OK
    text = body(c.cmd("INFO", "keyspace"))
    assert re.fullmatch(rb"# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=\d+\r\n",
                        text), text


def test_info_commandstats(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("GET", "k") == bulk("v")
    assert c.cmd("GET", "nokey") == NIL
    assert make_list(c, "l", "x") == integer(1)
    assert c.cmd("GET", "l").startswith(b"-WRONGTYPE")
    assert c.cmd("GET").startswith(b"-ERR wrong number")
    text = body(c.cmd("INFO", "commandstats"))
    assert text.startswith(b"# Commandstats\r\n")
    m = re.search(rb"\r\ncmdstat_get:calls=(\d+),usec=(\d+),"
                  rb"usec_per_call=(\d+\.\d\d),rejected_calls=(\d+),"
                  rb"failed_calls=(\d+)\r\n", text)
    assert m, text
    assert int(m.group(1)) == 3      # the WRONGTYPE one ran and failed
    assert int(m.group(4)) == 1      # arity error: rejected before running
    assert int(m.group(5)) == 1
    # Subcommands are reported as container|sub; RESETSTAT is counted
    # after it ran, so it shows up in the fresh statistics.
    assert re.search(rb"\r\ncmdstat_config\|resetstat:calls=1,", text)
    assert re.search(rb"cmdstat_set:calls=1,usec=\d+,usec_per_call=\d+\.\d\d,"
                     rb"rejected_calls=0,failed_calls=0\r\n", text)
    text = body(c.cmd("INFO", "commandstats"))
    assert b"\r\ncmdstat_info:calls=1," in text


def test_info_stats_counters(server, raw):
    c = raw(server)
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    assert c.cmd("GET", "k") == bulk("v")
    assert c.cmd("GET", "k") == bulk("v")
    assert c.cmd("GET", "nokey") == NIL
    info = info_dict(body(c.cmd("INFO", "stats")))
    assert info["keyspace_hits"] == "2"
    assert info["keyspace_misses"] == "1"
    assert info["expired_keys"] == "0"
    assert info["evicted_keys"] == "0"
    # RESETSTAT, 3 GETs; the INFO being served is not counted yet.
    assert info["total_commands_processed"] == "4"
    assert info["total_connections_received"] == "0"
    raw(server).cmd("PING")
    info = info_dict(body(c.cmd("INFO", "stats")))
    assert info["total_connections_received"] == "1"


def test_info_clients_counts(shared_server, raw):
    c = raw(shared_server)
    n = int(info_dict(body(c.cmd("INFO", "clients")))["connected_clients"])
    extra = [raw(shared_server) for _ in range(3)]
    for e in extra:
        assert e.cmd("PING") == b"+PONG\r\n"
    info = info_dict(body(c.cmd("INFO", "clients")))
    assert int(info["connected_clients"]) == n + 3
    assert info["blocked_clients"] == "0"


# -- CONFIG ----------------------------------------------------------------------


def test_config_get(c):
    d = c.call("CONFIG", "GET", "maxmemory*")
    assert isinstance(d, list) and len(d) % 2 == 0
    d = dict(zip(d[0::2], d[1::2]))
    assert d[b"maxmemory"] == b"0"
    assert d[b"maxmemory-policy"] == b"noeviction"
    assert d[b"maxmemory-samples"] == b"5"
    assert all(k.startswith(b"maxmemory") for k in d)
    pairs = c.call("CONFIG", "GET", "maxmemory", "port", "nosuchparam")
    assert dict(zip(pairs[0::2], pairs[1::2])) == {
        b"maxmemory": b"0", b"port": str(c.sock.getpeername()[1]).encode()}
    assert c.cmd("CONFIG", "GET", "nosuchparam") == b"*0\r\n"
    assert c.cmd("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    assert c.cmd("CONFIG", "GET", "bind") == \
        b"*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
    # A non-glob name is echoed back as it was typed.
    assert c.cmd("CONFIG", "GET", "MAXMEMORY") == \
        b"*2\r\n$9\r\nMAXMEMORY\r\n$1\r\n0\r\n"
    assert c.cmd("CONFIG", "GET") == \
        b"-ERR wrong number of arguments for 'config|get' command\r\n"


def test_config_set(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "maxmemory", "10mb",
                 "maxmemory-policy", "allkeys-lru") == OK
    pairs = c.call("CONFIG", "GET", "maxmemory", "maxmemory-policy")
    assert dict(zip(pairs[0::2], pairs[1::2])) == {
        b"maxmemory": b"10485760", b"maxmemory-policy": b"allkeys-lru"}
    assert c.cmd("CONFIG", "SET", "maxmemory", "2gb") == OK
    assert c.cmd("CONFIG", "GET", "maxmemory") == \
        b"*2\r\n$9\r\nmaxmemory\r\n$10\r\n2147483648\r\n"
    assert c.cmd("CONFIG", "SET", "MAXMEMORY", "1000") == OK
    assert c.cmd("CONFIG", "GET", "maxmemory") == \
        b"*2\r\n$9\r\nmaxmemory\r\n$4\r\n1000\r\n"
    # hz is clamped to 500.
    assert c.cmd("CONFIG", "SET", "hz", "1000") == OK
    assert c.cmd("CONFIG", "GET", "hz") == b"*2\r\n$2\r\nhz\r\n$3\r\n500\r\n"
    info = info_dict(body(c.cmd("INFO", "memory")))
    assert info["maxmemory"] == "1000"
    assert info["maxmemory_policy"] == "allkeys-lru"


def test_config_set_errors(server, raw):
    c = raw(server)

    def failed(param, why):
        return (b"-ERR CONFIG SET failed (possibly related to argument '%s') "
                b"- %s\r\n" % (param.encode(), why.encode()))

    assert c.cmd("CONFIG", "SET", "nosuch", "x") == \
        b"-ERR Unknown option or number of arguments for CONFIG SET - " \
        b"'nosuch'\r\n"
    assert c.cmd("CONFIG", "SET", "maxmemory", "foo") == \
        failed("maxmemory", "argument must be a memory value")
    assert c.cmd("CONFIG", "SET", "maxmemory", "-1") == \
        failed("maxmemory", "argument must be a memory value")
    assert c.cmd("CONFIG", "SET", "maxmemory-policy", "bad") == failed(
        "maxmemory-policy", "argument(s) must be one of the following: "
        "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
        "allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    assert c.cmd("CONFIG", "SET", "timeout", "-1") == \
        failed("timeout", "argument must be between 0 and 2147483647 inclusive")
    assert c.cmd("CONFIG", "SET", "maxclients", "foo") == \
        failed("maxclients", "argument couldn't be parsed into an integer")
    assert c.cmd("CONFIG", "SET", "appendonly", "maybe") == \
        failed("appendonly", "argument must be 'yes' or 'no'")
    assert c.cmd("CONFIG", "SET", "daemonize", "yes") == \
        failed("daemonize", "can't set immutable config")
    assert c.cmd("CONFIG", "SET", "maxmemory", "1", "maxmemory", "2") == \
        failed("maxmemory", "duplicate parameter")
    assert c.cmd("CONFIG", "SET", "maxmemory") == \
        b"-ERR wrong number of arguments for 'config|set' command\r\n"
    assert c.cmd("CONFIG", "SET", "maxmemory", "1", "hz") == SYNTAX
    # Multiple pairs are all-or-nothing.
    assert c.cmd("CONFIG", "SET", "maxmemory", "5mb",
                 "maxmemory-policy", "bad").startswith(b"-ERR CONFIG SET failed")
    assert c.cmd("CONFIG", "GET", "maxmemory") == \
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"


def test_config_resetstat(server, raw):
    c = raw(server)
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("GET", "k") == bulk("v")
    assert c.cmd("GET", "nokey") == NIL
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    info = info_dict(body(c.cmd("INFO", "stats")))
    assert info["keyspace_hits"] == "0"
    assert info["keyspace_misses"] == "0"
    assert info["total_commands_processed"] == "1"
    assert b"cmdstat_get" not in body(c.cmd("INFO", "commandstats"))
    assert c.cmd("CONFIG", "RESETSTAT", "x") == \
        b"-ERR wrong number of arguments for 'config|resetstat' command\r\n"


def test_config_rewrite_without_file(c):
    assert c.cmd("CONFIG", "REWRITE") == \
        b"-ERR The server is running without a config file\r\n"


def test_config_rewrite(start_server, raw):
    conf = ("# Tessera test config\n"
            "maxmemory 1mb\n"
            "# keep this comment\n"
            "timeout 0\n")
    s = start_server(conf=conf)
    c = raw(s)
    info = info_dict(body(c.cmd("INFO", "server")))
    assert info["config_file"] == str(s.conf_path)
    assert c.cmd("CONFIG", "GET", "maxmemory") == \
        b"*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
    assert c.cmd("CONFIG", "SET", "maxmemory", "2mb",
                 "maxmemory-policy", "allkeys-lru", "timeout", "300") == OK
    assert c.cmd("CONFIG", "REWRITE") == OK
    text = s.conf_path.read_text()
    lines = text.splitlines()
    assert lines[0] == "# Tessera test config"
    assert "# keep this comment" in lines
    # Existing lines are rewritten in place, new ones appended.
    assert lines[1] == "maxmemory 2mb"
    assert lines[3] == "timeout 300"
    assert "maxmemory-policy allkeys-lru" in lines
    assert lines.index("maxmemory-policy allkeys-lru") > 3
    c.close()
    s.stop()
    s.start(keep_port=True)
    c = raw(s)
    pairs = c.call("CONFIG", "GET", "maxmemory", "maxmemory-policy", "timeout")
    assert dict(zip(pairs[0::2], pairs[1::2])) == {
        b"maxmemory": b"2097152", b"maxmemory-policy": b"allkeys-lru",
        b"timeout": b"300"}


# -- COMMAND ---------------------------------------------------------------------


def test_command_count_and_list(c):
    count = c.call("COMMAND", "COUNT")
    names = c.call("COMMAND", "LIST")
    assert len(names) == len(set(names))
    # COMMAND and COMMAND COUNT cover top-level commands; COMMAND LIST
    # also names every subcommand as container|sub.
    top = [n for n in names if b"|" not in n]
    assert count == len(top) == len(c.call("COMMAND"))
    for n in (b"get", b"set", b"mset", b"ping", b"config", b"client",
              b"command", b"info", b"scan", b"lcs", b"getex", b"config|get",
              b"client|kill", b"command|docs", b"object|encoding"):
        assert n in names
    assert c.cmd("COMMAND", "COUNT", "x") == \
        b"-ERR wrong number of arguments for 'command|count' command\r\n"


def test_command_list_filterby(c):
    names = c.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "get*")
    assert all(n.startswith(b"get") for n in names)
    for n in (b"get", b"getex", b"getdel", b"getset", b"getrange"):
        assert n in names
    names = c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string")
    for n in (b"get", b"set", b"incr", b"append", b"lcs", b"mget"):
        assert n in names
    assert b"del" not in names
    assert c.cmd("COMMAND", "LIST", "FILTERBY", "MODULE", "x") == b"*0\r\n"
    assert c.cmd("COMMAND", "LIST", "FILTERBY", "foo", "x") == SYNTAX
    assert c.cmd("COMMAND", "LIST", "foo") == SYNTAX


def test_command_info(c):
    info = c.call("COMMAND", "INFO", "get", "nosuch", "SET", "mset")
    assert len(info) == 4
    get, nosuch, set_, mset = info
    assert nosuch is None
    # name, arity, flags, first key, last key, step, ACL categories, tips,
    # key specs, subcommands.
    assert len(get) == 10
    assert get[:7] == [b"get", 2, [b"readonly", b"fast"], 1, 1, 1,
                       [b"@read", b"@string", b"@fast"]]
    assert set_[:7] == [b"set", -3, [b"write", b"denyoom"], 1, 1, 1,
                        [b"@write", b"@string", b"@slow"]]
    assert mset[:7] == [b"mset", -3, [b"write", b"denyoom"], 1, -1, 2,
                        [b"@write", b"@string", b"@slow"]]
    assert get[9] == []
    cfg = c.call("COMMAND", "INFO", "config")[0]
    assert cfg[:6] == [b"config", -2, [], 0, 0, 0]
    subs = {s[0] for s in cfg[9]}
    assert {b"config|get", b"config|set", b"config|resetstat",
            b"config|rewrite"} <= subs


def test_command_getkeys(c):
    assert c.cmd("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == \
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "GET", "k") == b"*1\r\n$1\r\nk\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "SET", "a", "b", "GET") == \
        b"*1\r\n$1\r\na\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "DEL", "a", "b", "c") == \
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "LCS", "k1", "k2", "LEN") == \
        b"*2\r\n$2\r\nk1\r\n$2\r\nk2\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "nosuch", "a") == \
        b"-ERR Invalid command specified\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "PING", "x") == \
        b"-ERR The command has no key arguments\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "GET", "a", "b") == \
        b"-ERR Invalid number of arguments specified for command\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "MSET", "a") == \
        b"-ERR Invalid number of arguments specified for command\r\n"
    assert c.cmd("COMMAND", "GETKEYS", "GET") == \
        b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"


def test_command_docs(c):
    reply = c.call("COMMAND", "DOCS", "get")
    assert isinstance(reply, list) and len(reply) == 2
    assert reply[0] == b"get"
    doc = dict(zip(reply[1][0::2], reply[1][1::2]))
    assert doc[b"summary"] == b"Get the value of a key"
    assert doc[b"since"] == b"1.0.0"
    assert doc[b"group"] == b"string"
    assert doc[b"complexity"] == b"O(1)"
    args = doc[b"arguments"]
    assert len(args) == 1
    arg = dict(zip(args[0][0::2], args[0][1::2]))
    assert arg[b"name"] == b"key"
    assert arg[b"type"] == b"key"
    assert c.cmd("COMMAND", "DOCS", "nosuch") == b"*0\r\n"
    # RESP3: a map of maps.
    c.cmd("HELLO", "3")
    m = c.call("COMMAND", "DOCS", "set")
    assert set(m) == {b"set"}
    assert m[b"set"][b"group"] == b"string"
    assert {a[b"name"] for a in m[b"set"][b"arguments"]} >= {b"key", b"value"}


# -- SLOWLOG ---------------------------------------------------------------------


def test_slowlog(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0") == OK
    assert c.cmd("CLIENT", "SETNAME", "slowpoke") == OK
    assert c.cmd("SLOWLOG", "RESET") == OK
    assert c.cmd("SET", "a", "1") == OK
    # Commands are logged after they run, so RESET logs itself.
    assert c.cmd("SLOWLOG", "LEN") == integer(2)
    entries = c.call("SLOWLOG", "GET")
    # Arguments are logged as sent (case included).
    assert [e[3] for e in entries] == [[b"SLOWLOG", b"LEN"],
                                       [b"SET", b"a", b"1"],
                                       [b"SLOWLOG", b"RESET"]]
    newest = entries[0]
    assert len(newest) == 6
    entry_id, ts, duration, args, addr, name = newest
    assert entries[1][0] == entry_id - 1
    assert abs(ts - time.time()) < 10
    assert duration >= 0
    assert addr == ("%s:%d" % c.sock.getsockname()).encode()
    assert name == b"slowpoke"
    assert len(c.call("SLOWLOG", "GET", "1")) == 1
    assert len(c.call("SLOWLOG", "GET", "-1")) == 5
    assert c.cmd("SLOWLOG", "GET", "x") == \
        b"-ERR count should be greater than or equal to -1\r\n"
    assert c.cmd("SLOWLOG", "GET", "-2") == \
        b"-ERR count should be greater than or equal to -1\r\n"
    assert c.cmd("SLOWLOG", "RESET", "x") == \
        b"-ERR wrong number of arguments for 'slowlog|reset' command\r\n"


def test_slowlog_truncation_and_max_len(server, raw):
    c = raw(server)
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0",
                 "slowlog-max-len", "3") == OK
    assert c.cmd("SLOWLOG", "RESET") == OK
    assert c.cmd(*["DEL"] + ["k%d" % i for i in range(40)]) == integer(0)
    assert c.cmd("ECHO", "x" * 200) == bulk("x" * 200)
    entries = c.call("SLOWLOG", "GET")
    echo_args = entries[0][3]
    assert echo_args == [b"ECHO", b"x" * 128 + b"... (72 more bytes)"]
    del_args = entries[1][3]
    assert len(del_args) == 32
    assert del_args[:31] == [b"DEL"] + [b"k%d" % i for i in range(30)]
    assert del_args[31] == b"... (10 more arguments)"
    for _ in range(5):
        c.cmd("PING")
    assert c.cmd("SLOWLOG", "LEN") == integer(3)
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "-1") == OK
    assert c.cmd("SLOWLOG", "RESET") == OK
    c.cmd("PING")
    assert c.cmd("SLOWLOG", "LEN") == integer(0)


# -- TIME / LASTSAVE / DBSIZE / SHUTDOWN -------------------------------------


def test_time(c):
    secs, usecs = c.call("TIME")
    now = time.time()
    t = int(secs) + int(usecs) / 1e6
    assert abs(t - now) < 2
    assert 0 <= int(usecs) < 1000000
    assert c.cmd("TIME", "x") == b"-ERR wrong number of arguments for 'time' command\r\n"


def test_lastsave(c):
    last = c.call("LASTSAVE")
    assert isinstance(last, int)
    assert last <= time.time() + 1


def test_dbsize(c):
    assert c.cmd("DBSIZE") == integer(0)
    assert c.cmd("MSET", "a", "1", "b", "2") == OK
    assert c.cmd("DBSIZE") == integer(2)
    assert c.cmd("DBSIZE", "x") == \
        b"-ERR wrong number of arguments for 'dbsize' command\r\n"


def test_shutdown_nosave(server, raw):
    c = raw(server)
    assert c.cmd("SET", "k", "v") == OK
    c.send(encode_command("SHUTDOWN", "NOSAVE"))
    # No reply on success: the connection just closes.
    assert c.read_until_close(10) == b""
    assert server.wait_exit(10) == 0


def test_shutdown_errors(c):
    assert c.cmd("SHUTDOWN", "foo") == SYNTAX
    assert c.cmd("SHUTDOWN", "NOSAVE", "SAVE") == SYNTAX
    assert c.cmd("PING") == b"+PONG\r\n"


def test_sigterm_exits_cleanly(server):
    assert server.stop() == 0


# -- MONITOR ---------------------------------------------------------------------


def test_monitor(shared_server, raw):
    m = raw(shared_server)
    assert m.cmd("MONITOR") == OK
    c = raw(shared_server)
    assert c.cmd("SET", "a b", "x\"y\n\x01") == OK
    assert c.cmd("GET", "a b") == bulk("x\"y\n\x01")
    c.send(b"PING\r\n")
    assert c.read_reply() == b"+PONG\r\n"
    assert c.cmd("AUTH", "secret").startswith(b"-ERR AUTH <password>")
    addr = ("%s:%d" % c.sock.getsockname()).encode()
    prefix = rb"\+\d{10}\.\d{6} \[0 " + re.escape(addr) + rb"\] "
    # Arguments as sent (case kept), quoted and escaped; AUTH redacted.
    expected = [rb'"SET" "a b" "x\\"y\\n\\x01"', rb'"GET" "a b"', rb'"PING"',
                rb'"AUTH" "\(redacted\)"']
    for exp in expected:
        line = m.read_line()
        assert re.fullmatch(prefix + exp + rb"\r\n", line), line
    # A monitoring connection cannot run keyspace commands.
    assert m.cmd("GET", "a") == b"-ERR Replica can't interact with the keyspace\r\n"


# -- DEBUG -------------------------------------------------------------------------


def test_debug_basic(c):
    assert c.cmd("DEBUG", "SLEEP", "0") == OK
    start = time.monotonic()
    assert c.cmd("DEBUG", "SLEEP", "0.2") == OK
    assert time.monotonic() - start >= 0.18
    assert c.cmd("SET", "a", "1") == OK
    assert c.cmd("SET", "s", "hello") == OK
    assert re.fullmatch(
        rb"\+Value at:0x[0-9a-f]+ refcount:2147483647 encoding:int "
        rb"serializedlength:2 lru:\d+ lru_seconds_idle:\d+\r\n",
        c.cmd("DEBUG", "OBJECT", "a"))
    assert re.fullmatch(
        rb"\+Value at:0x[0-9a-f]+ refcount:1 encoding:embstr "
        rb"serializedlength:6 lru:\d+ lru_seconds_idle:\d+\r\n",
        c.cmd("DEBUG", "OBJECT", "s"))
    assert c.cmd("DEBUG", "OBJECT", "nokey") == b"-ERR no such key\r\n"


def test_debug_populate(c):
    assert c.cmd("DEBUG", "POPULATE", "1000") == OK
    assert c.cmd("DBSIZE") == integer(1000)
    assert c.cmd("GET", "key:0") == bulk("value:0")
    assert c.cmd("GET", "key:999") == bulk("value:999")
    assert c.cmd("EXISTS", "key:1000") == integer(0)
    # Custom prefix and value size; existing keys are left alone.
    assert c.cmd("SET", "p:1", "mine") == OK
    assert c.cmd("DEBUG", "POPULATE", "3", "p", "5") == OK
    assert c.cmd("MGET", "p:0", "p:1", "p:2") == \
        b"*3\r\n$5\r\nvalue\r\n$4\r\nmine\r\n$5\r\nvalue\r\n"
    assert c.cmd("DEBUG", "POPULATE", "2", "p", "10") == OK
    assert c.cmd("GET", "p:0") == bulk("value")
    assert c.cmd("DEBUG", "POPULATE", "1", "q", "10") == OK
    assert c.cmd("GET", "q:0") == bulk(b"value:0\x00\x00\x00")
    assert c.cmd("DEBUG", "POPULATE", "-1") == \
        b"-ERR value is out of range, must be positive\r\n"
    assert c.cmd("DEBUG", "POPULATE", "x") == \
        b"-ERR value is out of range, must be positive\r\n"


def test_debug_set_active_expire(server, raw):
    c = raw(server)
    assert c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0") == OK
    for i in range(50):
        assert c.cmd("SET", "t:%d" % i, "v", "PX", "10") == OK
    time.sleep(0.4)
    assert c.cmd("DBSIZE") == integer(50)
    assert c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1") == OK
    wait_for(lambda: c.cmd("DBSIZE") == integer(0), timeout=3,
             what="active expiry after re-enabling")


def test_debug_disabled_by_default(start_server, raw):
    s = start_server(debug=False)
    c = raw(s)
    assert c.cmd("DEBUG", "SLEEP", "0") == DEBUG_DENIED
    assert c.cmd("DEBUG", "POPULATE", "10") == DEBUG_DENIED
    assert c.cmd("DBSIZE") == integer(0)
    assert c.cmd("CONFIG", "SET", "enable-debug-command", "yes") == (
        b"-ERR CONFIG SET failed (possibly related to argument "
        b"'enable-debug-command') - can't set immutable config\r\n")


def test_debug_local(start_server, raw):
    s = start_server("--enable-debug-command", "local", "--protected-mode",
                     "no", debug=False)
    assert raw(s).cmd("DEBUG", "SLEEP", "0") == OK
    # "local" means 127.0.0.1 / ::1 exactly: 127.0.0.2 is remote.
    assert raw(s, source="127.0.0.2").cmd("DEBUG", "SLEEP", "0") == DEBUG_DENIED


# -- rename-command ------------------------------------------------------------


def test_rename_command(start_server, raw):
    s = start_server("--rename-command", "FLUSHALL", "",
                     "--rename-command", "GET", "MYGET")
    c = raw(s)
    assert c.cmd("SET", "a", "1") == OK
    assert c.cmd("FLUSHALL") == \
        b"-ERR unknown command 'FLUSHALL', with args beginning with: \r\n"
    assert c.cmd("GET", "a") == \
        b"-ERR unknown command 'GET', with args beginning with: 'a' \r\n"
    assert c.cmd("MYGET", "a") == bulk("1")
    assert c.cmd("myget", "a") == bulk("1")
    assert c.cmd("DBSIZE") == integer(1)
    # The command keeps its original name in COMMAND INFO.
    assert c.call("COMMAND", "INFO", "myget")[0][0] == b"get"
    assert c.call("COMMAND", "INFO", "get") == [None]


# -- protected mode --------------------------------------------------------------


def test_protected_mode(start_server, raw):
    s = start_server("--protected-mode", "yes")
    # 127.0.0.1 is loopback: served.
    assert raw(s).cmd("PING") == b"+PONG\r\n"
    # Any other source (127.0.0.2 is on lo, but is not "127.0.0.1") is
    # refused with the long DENIED text, sent as soon as it connects.
    c = raw(s, source="127.0.0.2")
    assert c.read_until_close() == PROTECTED
    # Turning it off lets the same source in.
    assert raw(s).cmd("CONFIG", "SET", "protected-mode", "no") == OK
    assert raw(s, source="127.0.0.2").cmd("PING") == b"+PONG\r\n"


def test_protected_mode_with_password(start_server, raw):
    s = start_server("--protected-mode", "yes", "--requirepass", "pw")
    c = raw(s, source="127.0.0.2")
    assert c.cmd("PING") == NOAUTH
    assert c.cmd("AUTH", "pw") == OK
    assert c.cmd("PING") == b"+PONG\r\n"


def _cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        return sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])


@pytest.mark.tessera_only
def test_busy_poll_serves_pipelines_blocking_and_idles(start_server):
    """busy-poll-us spins only after input: commands, pipelines, blocking
    pops woken by another client and timers all behave as without it, and
    an idle server does not spin (its CPU time stays near zero)."""
    s = start_server("--busy-poll-us", "200")
    c = s.client()
    assert c.config_get("busy-poll-us") == {"busy-poll-us": "200"}
    p = c.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"k{i}", i)
    p.execute()
    assert c.mget("k0", "k999") == [b"0", b"999"]
    other = s.client()
    c.lpush("q", "x")
    assert other.blpop("q", timeout=1) == (b"q", b"x")
    c.set("e", "v", px=50)
    wait_for(lambda: c.exists("e") == 0, timeout=2, what="expiry under busy-poll")
    before = _cpu_ticks(s.proc.pid)
    time.sleep(1.0)
    # clock ticks are 10 ms: an idle server spinning would burn ~100 ticks
    assert _cpu_ticks(s.proc.pid) - before <= 10
    assert c.config_set("busy-poll-us", "0")
    assert c.ping()


def _ticks_for_pings(s, seconds=1.5):
    c = s.client()
    before = _cpu_ticks(s.proc.pid)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        assert c.ping()
        n += 1
        time.sleep(0.001)
    return n, _cpu_ticks(s.proc.pid) - before


@pytest.mark.tessera_only
def test_busy_poll_yields_to_a_busy_machine(start_server):
    """The spin gate: with more runnable threads than CPUs, a node under
    steady input does not spin.  A 10 ms spin after each request would keep
    it busy the whole time; with the machine saturated it sleeps between
    requests."""
    import multiprocessing
    s = start_server("--busy-poll-us", "10000")
    stop = multiprocessing.Event()

    def burn():
        while not stop.is_set():
            pass

    burners = [multiprocessing.Process(target=burn, daemon=True)
               for _ in range(os.cpu_count() + 3)]
    for b in burners:
        b.start()
    try:
        time.sleep(1.0)  # the gate samples every 100 ms and averages
        n, used = _ticks_for_pings(s)
    finally:
        stop.set()
        for b in burners:
            b.join(5)
    # a spinning node would take its fair share of the CPUs (well over 30
    # ticks of 10 ms in 1.5 s); sleeping, it serves the pings in a few.
    assert n > 20
    assert used <= 15, f"node used {used} ticks for {n} pings"


class _CpuQuotaCgroup:
    """A cgroup of this machine with a CPU quota (v2 cpu.max, else v1
    cpu.cfs_quota_us), made for one test and removed after it; .enter()
    moves the calling process in (its children are born there), .leave()
    moves it back."""

    def __init__(self, cpus):
        self.v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        base = "/sys/fs/cgroup" if self.v2 else "/sys/fs/cgroup/cpu"
        if not os.path.isdir(base):
            pytest.skip("no cgroup cpu controller here")
        self.parent = base
        self.path = os.path.join(base, "tessera-test-%d" % os.getpid())
        try:
            if self.v2:
                with open(os.path.join(base, "cgroup.subtree_control"), "w") as f:
                    f.write("+cpu")
            os.mkdir(self.path)
            period = 100000
            if self.v2:
                self._write("cpu.max", "%d %d" % (int(cpus * period), period))
            else:
                self._write("cpu.cfs_period_us", str(period))
                self._write("cpu.cfs_quota_us", str(int(cpus * period)))
        except OSError as e:
            self.remove()
            pytest.skip("cannot make a cgroup with a CPU quota: %s" % e)

    def _write(self, name, text):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(text)

    def enter(self):
        self._write("cgroup.procs", str(os.getpid()))

    def leave(self):
        with open(os.path.join(self.parent, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def remove(self):
        if os.path.isdir(self.path):
            os.rmdir(self.path)


@pytest.mark.tessera_only
def test_busy_poll_respects_a_cgroup_cpu_quota(start_server):
    """Spinning inside a cgroup with a CPU quota would spend the quota and
    get the node throttled: with a 1-CPU quota the gate stays shut even
    on an idle CPU.  The control, the same node outside the cgroup, spins
    (else the machine is too busy for the test to show anything)."""
    if os.cpu_count() < 2:
        pytest.skip("needs 2 CPUs: the node on one, this client on the other")
    cg = _CpuQuotaCgroup(1.0)
    mask = os.sched_getaffinity(0)
    quota = None
    try:
        # both nodes inherit CPU 1 (their gates watch that CPU); the
        # client then moves to CPU 0
        os.sched_setaffinity(0, {1})
        cg.enter()
        try:
            quota = start_server("--busy-poll-us", "10000")
        finally:
            cg.leave()
        free = start_server("--busy-poll-us", "10000")
        os.sched_setaffinity(0, {0})
        time.sleep(0.5)                 # the gate samples every 100 ms
        # the quota node first: the free one, idle meanwhile, does not
        # spin and leaves CPU 1 to it
        n, used = _ticks_for_pings(quota)
        n_free, used_free = _ticks_for_pings(free)
    finally:
        os.sched_setaffinity(0, mask)
        if quota is not None:
            quota.stop()
        cg.remove()
    if used_free < 40:
        pytest.skip(f"control did not spin ({used_free} ticks): CPU 1 busy")
    assert n > 20 and n_free > 20
    assert used <= 15, f"node in a 1-CPU quota used {used} ticks for {n} pings"
