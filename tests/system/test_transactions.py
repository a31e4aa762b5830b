"""Transactions: MULTI / EXEC / DISCARD / WATCH / UNWATCH, byte for byte as
Redis 7.0.15: queue-time errors abort with EXECABORT, runtime errors stay
inside EXEC's array (no rollback), WATCHed keys touched by another client,
by expiry, by FLUSHALL/FLUSHDB, RENAME or DEL make EXEC reply a null array.
"""

import time

import pytest

from conftest import wait_for

EXECABORT = (b"-EXECABORT Transaction discarded because of previous "
             b"errors.\r\n")


def client_line(r, cid):
    for line in r.execute_command("CLIENT", "LIST").decode().splitlines():
        if line.startswith("id=%d " % cid):
            return dict(f.split("=", 1) for f in line.split(" "))
    raise AssertionError("client %d not listed" % cid)


@pytest.fixture
def c(raw, shared_server):
    return raw(shared_server)


def cid_of(conn):
    return int(conn.cmd("CLIENT", "ID")[1:-2])


# -- MULTI / EXEC / DISCARD ---------------------------------------------------


def test_exec_returns_replies(c, r):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert c.cmd("INCR", "a") == b"+QUEUED\r\n"
    assert c.cmd("GET", "a") == b"+QUEUED\r\n"
    assert r.get("a") is None           # nothing ran yet
    assert c.cmd("EXEC") == b"*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"
    assert r.get("a") == b"2"


def test_empty_exec(c):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"


def test_nested_multi_is_an_error_but_not_fatal(c):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == b"*1\r\n+OK\r\n"


def test_exec_discard_without_multi(c):
    assert c.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert c.cmd("DISCARD") == b"-ERR DISCARD without MULTI\r\n"


def test_discard(c, r):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert c.cmd("DISCARD") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert r.get("a") is None


def test_watch_inside_multi(c):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("WATCH", "a") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"      # the error did not abort


def test_unknown_command_aborts(c, r):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert c.cmd("NOSUCH", "x") == (b"-ERR unknown command 'NOSUCH', with "
                                    b"args beginning with: 'x' \r\n")
    assert c.cmd("SET", "b", "1") == b"+QUEUED\r\n"   # still answered
    assert c.cmd("EXEC") == EXECABORT
    assert c.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert r.exists("a", "b") == 0


def test_arity_error_aborts(c, r):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("GET") == \
        b"-ERR wrong number of arguments for 'get' command\r\n"
    assert c.cmd("EXEC") == EXECABORT


def test_exec_arity_error_discards(c):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert c.cmd("EXEC", "x") == (
        b"-EXECABORT Transaction discarded because of: wrong number of "
        b"arguments for 'exec' command\r\n")
    assert c.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_no_multi_command(c, shared_server):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SHUTDOWN") == \
        b"-ERR Command not allowed inside a transaction\r\n"
    assert c.cmd("EXEC") == EXECABORT
    assert c.cmd("PING") == b"+PONG\r\n"
    assert shared_server.alive()


def test_runtime_error_no_rollback(c, r):
    r.set("s", "x")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "t", "1") == b"+QUEUED\r\n"
    assert c.cmd("INCR", "s") == b"+QUEUED\r\n"
    assert c.cmd("LPUSH", "s", "v") == b"+QUEUED\r\n"
    assert c.cmd("INCR", "t") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == (
        b"*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"
        b"-WRONGTYPE Operation against a key holding the wrong kind of "
        b"value\r\n:2\r\n")
    assert r.get("t") == b"2"


def test_queued_commands_are_copied(c, r):
    # Everything in one write: the query buffer is consumed long before
    # EXEC runs, so queued arguments must have been copied.
    big = b"v" * 100000
    cmds = [("MULTI",), ("SET", "k1", big), ("APPEND", "k1", "tail"),
            ("RPUSH", "l", "a", "b", "c"), ("MSET", "x", "1", "y", "2")]
    from conftest import encode_command
    c.send(b"".join(encode_command(*a) for a in cmds))
    assert c.read_reply() == b"+OK\r\n"
    for _ in cmds[1:]:
        assert c.read_reply() == b"+QUEUED\r\n"
    c.send(encode_command("PING") * 3)
    for _ in range(3):
        assert c.read_reply() == b"+QUEUED\r\n"
    reply = c.cmd("EXEC")
    assert reply == (b"*7\r\n+OK\r\n:100004\r\n:3\r\n+OK\r\n"
                     + b"+PONG\r\n" * 3)
    assert r.get("k1") == big + b"tail"
    assert r.lrange("l", 0, -1) == [b"a", b"b", b"c"]


def test_exec_resp3(c):
    assert c.cmd("HELLO", "3").startswith(b"%")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert c.cmd("GET", "nokey") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == b"*2\r\n+OK\r\n_\r\n"


# -- WATCH ----------------------------------------------------------------------


def test_watch_untouched_key_execs(c, r):
    r.set("k", "1")
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("INCR", "k") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == b"*1\r\n:2\r\n"


def test_watch_modified_by_other_client(c, r):
    r.set("k", "1")
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    r.set("k", "2")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "k", "3") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"
    assert r.get("k") == b"2"


def test_watch_modified_while_queueing(c, r):
    assert c.cmd("WATCH", "k") == b"+OK\r\n"   # absent key
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "other", "1") == b"+QUEUED\r\n"
    r.set("k", "x")
    assert c.cmd("SET", "more", "1") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"
    assert r.exists("other", "more") == 0


def test_watch_null_resp3(c, r):
    c.cmd("HELLO", "3")
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    r.set("k", "2")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"_\r\n"


def test_watch_own_write_counts(c):
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    assert c.cmd("SET", "k", "1") == b"+OK\r\n"
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_watch_several_keys_and_clients(c, raw, shared_server, r):
    d = raw(shared_server)
    assert c.cmd("WATCH", "a", "b", "a") == b"+OK\r\n"
    assert d.cmd("WATCH", "b") == b"+OK\r\n"
    assert d.cmd("UNWATCH") == b"+OK\r\n"
    assert d.cmd("WATCH", "a") == b"+OK\r\n"
    r.set("b", "1")
    for conn, want in ((c, b"*-1\r\n"), (d, b"*0\r\n")):
        assert conn.cmd("MULTI") == b"+OK\r\n"
        assert conn.cmd("EXEC") == want


def test_unwatch_clears_dirty(c, r):
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    r.set("k", "1")
    assert c.cmd("UNWATCH") == b"+OK\r\n"
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"


def test_exec_and_discard_unwatch(c, r):
    for end in ("EXEC", "DISCARD"):
        assert c.cmd("WATCH", "k") == b"+OK\r\n"
        assert c.cmd("MULTI") == b"+OK\r\n"
        assert c.cmd(end) in (b"*0\r\n", b"+OK\r\n")
        r.set("k", end)             # no longer watched
        assert c.cmd("MULTI") == b"+OK\r\n"
        assert c.cmd("EXEC") == b"*0\r\n"


def test_failed_exec_unwatches(c, r):
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    r.set("k", "1")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"


@pytest.mark.parametrize("watched,touch", [
    ("k", ("DEL", "k")), ("k", ("UNLINK", "k")), ("k", ("GETDEL", "k")),
    ("k", ("RENAME", "src", "k")), ("k", ("RENAME", "k", "dst")),
    ("k", ("RENAMENX", "k", "dst")), ("k", ("COPY", "src", "k", "REPLACE")),
    ("k", ("EXPIRE", "k", "100")), ("k", ("EXPIRE", "k", "-1")),
    ("k", ("PERSIST", "k")), ("k", ("APPEND", "k", "x")),
    ("k", ("MSET", "a", "1", "k", "2")), ("k", ("SETRANGE", "k", "0", "x")),
    ("n", ("INCR", "n")), ("n", ("INCRBYFLOAT", "n", "1.5")),
    ("s", ("SMOVE", "s", "s2", "m")), ("s2", ("SMOVE", "s", "s2", "m")),
    ("s", ("SPOP", "s")), ("s3", ("SINTERSTORE", "s3", "s")),
    ("l", ("LMOVE", "l", "l2", "LEFT", "RIGHT")),
    ("l2", ("LMOVE", "l", "l2", "LEFT", "RIGHT")), ("l", ("LPOP", "l")),
    ("h", ("HDEL", "h", "f")), ("h", ("HSET", "h", "g", "1")),
    ("z", ("ZADD", "z", "2", "m")), ("z", ("ZPOPMIN", "z")),
    ("z2", ("ZUNIONSTORE", "z2", "1", "z")),
])
def test_watch_touched_by_commands(c, r, watched, touch):
    r.set("k", "1", ex=500)
    r.set("src", "2")
    r.set("n", "1")
    r.sadd("s", "m")
    r.rpush("l", "x")
    r.hset("h", "f", "v")
    r.zadd("z", {"m": 1})
    assert c.cmd("WATCH", watched) == b"+OK\r\n"
    r.execute_command(*touch)
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_watch_not_touched_by_reads_or_noops(c, r):
    r.set("k", "1")
    assert c.cmd("WATCH", "k", "absent") == b"+OK\r\n"
    r.get("k")
    r.exists("k")
    r.delete("absent")              # deletes nothing
    r.set("other", "1")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"


@pytest.mark.parametrize("flush", ["FLUSHALL", "FLUSHDB", "FLUSHALL ASYNC"])
def test_watch_flush(c, r, flush):
    r.set("k", "1")
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    r.execute_command(*flush.split())
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_watch_flush_of_absent_key_is_no_change(c, r):
    r.set("other", "1")
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    r.flushall()
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"


def test_watch_key_expiring_later(c, r):
    r.set("k", "1", px=100)
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    time.sleep(0.2)
    # Expired, maybe not deleted yet: Redis 7.0 still fails the EXEC.
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_watch_key_deleted_by_active_expiry(c, r):
    r.set("k", "1", px=50)
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    wait_for(lambda: r.dbsize() == 0, what="active expiry")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_watch_key_expiry_by_lazy_lookup(c, r):
    r.set("k", "1", px=50)
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    time.sleep(0.1)
    assert r.get("k") is None       # deleted by this lookup (or earlier)
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


@pytest.mark.parametrize("then", ["nothing", "get", "flushall"])
def test_watch_already_expired_key(server, raw, then):
    # A key already expired at WATCH time: its deletion is no change.
    cl = server.client()
    c = raw(server)
    cl.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    cl.set("k", "1", px=10)
    time.sleep(0.05)
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    if then == "get":
        assert cl.get("k") is None
    elif then == "flushall":
        cl.flushall()
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*0\r\n"
    # ... but setting it again is a change.
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    cl.set("k", "2")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_watch_key_evicted(server, raw):
    cl = server.client()
    c = raw(server)
    cl.config_set("maxmemory-policy", "allkeys-random")
    cl.set("k", "v")
    assert c.cmd("WATCH", "k") == b"+OK\r\n"
    cl.config_set("maxmemory", "1")
    cl.get("k")                     # evicts everything first
    cl.config_set("maxmemory", "0")
    assert cl.exists("k") == 0
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("EXEC") == b"*-1\r\n"


def test_client_disconnect_unwatches(raw, shared_server, r):
    for _ in range(3):
        d = raw(shared_server)
        assert d.cmd("WATCH", "k", "j") == b"+OK\r\n"
        assert d.cmd("MULTI") == b"+OK\r\n"
        assert d.cmd("SET", "k", "1") == b"+QUEUED\r\n"
        d.close()
    r.set("k", "2")                 # no dangling watcher to touch
    assert r.ping()


# -- CLIENT LIST, stats, MONITOR ------------------------------------------------


def test_client_list_multi_field(c, r):
    cid = cid_of(c)
    f = client_line(r, cid)
    assert (f["flags"], f["multi"], f["multi-mem"]) == ("N", "-1", "0")
    c.cmd("MULTI")
    f = client_line(r, cid)
    assert (f["flags"], f["multi"], f["cmd"]) == ("x", "0", "multi")
    c.cmd("SET", "a", "b")
    f = client_line(r, cid)
    assert (f["multi"], f["multi-mem"], f["cmd"]) == ("1", "29", "set")
    c.cmd("SET", "aa", "bbbb")
    f = client_line(r, cid)
    assert (f["multi"], f["multi-mem"]) == ("2", "62")
    c.cmd("EXEC")
    f = client_line(r, cid)
    assert (f["flags"], f["multi"], f["multi-mem"], f["cmd"]) == \
        ("N", "-1", "0", "exec")


def test_client_list_dirty_flags(c, r):
    cid = cid_of(c)
    c.cmd("WATCH", "k")
    r.set("k", "1")
    assert client_line(r, cid)["flags"] == "d"
    c.cmd("MULTI")
    c.cmd("SET", "q", "1")          # doomed: answered, not kept
    f = client_line(r, cid)
    assert (f["flags"], f["multi"]) == ("xd", "0")
    assert c.cmd("EXEC") == b"*-1\r\n"
    assert client_line(r, cid)["flags"] == "N"


def test_client_list_after_queue_error(c, r):
    cid = cid_of(c)
    c.cmd("MULTI")
    c.cmd("SET", "a", "1")
    c.cmd("NOSUCH")
    c.cmd("SET", "b", "1")
    f = client_line(r, cid)
    assert (f["flags"], f["multi"]) == ("x", "1")
    assert c.cmd("EXEC") == EXECABORT


def test_commandstats(server, raw):
    cl = server.client()
    c = raw(server)
    cl.config_resetstat()
    c.cmd("MULTI")
    c.cmd("SET", "a", "1")
    c.cmd("INCR", "a")
    c.cmd("SET", "b")               # arity: rejected
    c.cmd("MULTI")                  # nested: failed
    assert c.cmd("EXEC") == EXECABORT
    st = cl.info("commandstats")
    assert "cmdstat_incr" not in st     # queued, never called
    assert st["cmdstat_set"]["calls"] == 0
    assert st["cmdstat_set"]["rejected_calls"] == 1
    assert st["cmdstat_multi"]["calls"] == 2
    assert st["cmdstat_multi"]["failed_calls"] == 1
    assert st["cmdstat_exec"]["failed_calls"] == 1
    c.cmd("SET", "s", "x")
    c.cmd("MULTI")
    c.cmd("INCR", "s")
    c.cmd("GET", "s")
    assert c.cmd("EXEC").startswith(b"*2\r\n-ERR")
    st = cl.info("commandstats")
    assert st["cmdstat_incr"]["calls"] == 1
    assert st["cmdstat_incr"]["failed_calls"] == 1
    assert st["cmdstat_get"]["calls"] == 1
    assert st["cmdstat_exec"]["calls"] == 2
    assert st["cmdstat_exec"]["failed_calls"] == 1   # inner errors: no


def test_monitor_sees_exec_after_its_commands(server, raw):
    m = raw(server)
    c = raw(server)
    assert m.cmd("MONITOR") == b"+OK\r\n"
    c.cmd("MULTI")
    c.cmd("SET", "a", "1")
    c.cmd("GET", "a")
    c.cmd("EXEC")
    c.cmd("PING")
    seen = []
    while not seen or seen[-1] != '"PING"':
        line = m.read_line().decode().rstrip("\r\n")
        seen.append(line.split("] ", 1)[1])
    assert seen == ['"MULTI"', '"SET" "a" "1"', '"GET" "a"', '"EXEC"',
                    '"PING"']


def test_monitor_inside_exec_refused(c):
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("MONITOR") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == \
        b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    assert c.cmd("PING") == b"+PONG\r\n"


def has_command(c, name):
    return c.call("COMMAND", "INFO", name)[0] is not None


def test_blocking_commands_do_not_block_inside_exec(c):
    if not has_command(c, "blpop"):
        pytest.skip("no blocking commands yet")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("BLPOP", "nolist", "0") == b"+QUEUED\r\n"
    assert c.cmd("RPUSH", "l", "a") == b"+QUEUED\r\n"
    assert c.cmd("BLPOP", "l", "0") == b"+QUEUED\r\n"
    assert c.cmd("EXEC") == \
        b"*3\r\n*-1\r\n:1\r\n*2\r\n$1\r\nl\r\n$1\r\na\r\n"


def test_blocked_client_served_after_exec(c, raw, shared_server, r):
    if not has_command(c, "blpop"):
        pytest.skip("no blocking commands yet")
    w = raw(shared_server)
    w.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n")
    wait_for(lambda: r.info("clients")["blocked_clients"] == 1,
             what="blocked client")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("RPUSH", "l", "a") == b"+QUEUED\r\n"
    assert c.cmd("LLEN", "l") == b"+QUEUED\r\n"
    assert c.cmd("RPUSH", "l", "b") == b"+QUEUED\r\n"
    # The waiter is served once EXEC is over, not between its commands.
    assert c.cmd("EXEC") == b"*3\r\n:1\r\n:1\r\n:2\r\n"
    assert w.read_reply() == b"*2\r\n$1\r\nl\r\n$1\r\na\r\n"
    assert r.lrange("l", 0, -1) == [b"b"]


# -- maxmemory, CLIENT PAUSE ------------------------------------------------------


def test_oom_while_queueing_aborts(server, raw):
    cl = server.client()
    c = raw(server)
    assert c.cmd("MULTI") == b"+OK\r\n"
    cl.config_set("maxmemory", "1")
    # In MULTI even reads are refused over maxmemory (queueing grows
    # memory), and that dooms the transaction; DISCARD still works.
    assert c.cmd("GET", "a") == \
        b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    assert c.cmd("EXEC") == EXECABORT
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("GET", "a").startswith(b"-OOM")
    assert c.cmd("DISCARD") == b"+OK\r\n"
    cl.config_set("maxmemory", "0")


def test_oom_at_exec_with_denyoom_command(server, raw):
    cl = server.client()
    c = raw(server)
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    cl.config_set("maxmemory", "1")
    assert c.cmd("EXEC") == (
        b"-EXECABORT Transaction discarded because of: OOM command not "
        b"allowed when used memory > 'maxmemory'.\r\n")
    assert c.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    # Only reads queued: EXEC runs.
    cl.config_set("maxmemory", "0")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("GET", "a") == b"+QUEUED\r\n"
    cl.config_set("maxmemory", "1")
    assert c.cmd("EXEC") == b"*1\r\n$-1\r\n"
    cl.config_set("maxmemory", "0")


def test_pause_write_holds_exec_with_writes(server, raw):
    cl = server.client()
    c = raw(server)
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("GET", "a") == b"+QUEUED\r\n"
    cl.execute_command("CLIENT", "PAUSE", "400", "WRITE")
    t0 = time.monotonic()
    assert c.cmd("EXEC") == b"*1\r\n$-1\r\n"     # reads only: not held
    assert time.monotonic() - t0 < 0.3
    cl.execute_command("CLIENT", "UNPAUSE")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    cl.execute_command("CLIENT", "PAUSE", "400", "WRITE")
    t0 = time.monotonic()
    assert c.cmd("EXEC") == b"*1\r\n+OK\r\n"
    assert time.monotonic() - t0 >= 0.3


# -- command table ----------------------------------------------------------------


@pytest.mark.parametrize("name,info", [
    ("multi", [1, [b"noscript", b"loading", b"stale", b"fast",
                   b"allow_busy"], 0, 0, 0, [b"@fast", b"@transaction"]]),
    ("exec", [1, [b"noscript", b"loading", b"stale", b"skip_slowlog"],
              0, 0, 0, [b"@slow", b"@transaction"]]),
    ("discard", [1, [b"noscript", b"loading", b"stale", b"fast",
                     b"allow_busy"], 0, 0, 0, [b"@fast", b"@transaction"]]),
    ("watch", [-2, [b"noscript", b"loading", b"stale", b"fast",
                    b"allow_busy"], 1, -1, 1, [b"@fast", b"@transaction"]]),
    ("unwatch", [1, [b"noscript", b"loading", b"stale", b"fast",
                     b"allow_busy"], 0, 0, 0, [b"@fast", b"@transaction"]]),
])
def test_command_info(c, name, info):
    got = c.call("COMMAND", "INFO", name)[0]
    assert got[0] == name.encode()
    assert got[1:7] == info
