"""Real client programs against the server: redis-cli (one-shot,
interactive via stdin, --pipe mass insertion, --scan, -x), redis-benchmark
and redis-py (plain commands, RESP2 pipelines, threads).
"""

import re
import subprocess
import threading

import pytest

from conftest import NO_LISTS, lpush_or_skip, make_list
import redis

from conftest import REDIS_BENCHMARK_BIN


# -- redis-cli ------------------------------------------------------------------


def test_cli_one_shot(server, cli):
    p = cli(server, "SET", "a", "1")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"OK\n", b"")
    assert cli(server, "GET", "a").stdout == b"1\n"
    assert cli(server, "INCR", "a").stdout == b"2\n"
    # Not a terminal: raw output, nil is an empty line.
    assert cli(server, "GET", "nokey").stdout == b"\n"
    assert cli(server, "MGET", "a", "nokey").stdout == b"2\n\n"
    assert cli(server, "--no-raw", "MGET", "a", "nokey").stdout == \
        b'1) "2"\n2) (nil)\n'
    assert cli(server, "--no-raw", "GET", "a").stdout == b'"2"\n'
    assert cli(server, "--no-raw", "INCR", "a").stdout == b"(integer) 3\n"
    assert cli(server, "PING").stdout == b"PONG\n"
    assert cli(server, "DBSIZE").stdout == b"1\n"


def test_cli_errors(server, cli):
    p = cli(server, "GET", "a", "b")
    assert p.stdout == b"ERR wrong number of arguments for 'get' command\n\n"
    p = cli(server, "--no-raw", "GET", "a", "b")
    assert p.stdout == \
        b"(error) ERR wrong number of arguments for 'get' command\n"
    out = cli(server, "LPUSH", "l", "x").stdout
    if out.startswith(b"ERR unknown command"):
        pytest.skip(NO_LISTS)
    assert out == b"1\n"
    assert cli(server, "GET", "l").stdout == \
        b"WRONGTYPE Operation against a key holding the wrong kind of value\n\n"


def test_cli_interactive_stdin(server, cli):
    p = cli(server, input="set a 1\nget a\nincr a\n"
                          "set \"key with space\" \"v 1\"\n"
                          "get \"key with space\"\nfoo bar\n")
    assert p.returncode == 0
    assert p.stdout == (b"OK\n1\n2\nOK\nv 1\n"
                        b"ERR unknown command 'foo', with args beginning "
                        b"with: 'bar' \n\n")


def test_cli_value_from_stdin(server, cli):
    data = bytes(range(256)) * 10
    p = cli(server, "-x", "SET", "blob", input=data)
    assert p.stdout == b"OK\n"
    r = server.client()
    assert r.get("blob") == data
    r.close()


def test_cli_pipe_mass_insertion(server, cli):
    n = 100000
    payload = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
        % (len(k), k, len(v), v)
        for k, v in ((b"key:%d" % i, b"value:%d" % i) for i in range(n)))
    p = cli(server, "--pipe", input=payload, timeout=120)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "All data transferred. Waiting for the last reply..." in out
    assert "Last reply received from server." in out
    assert out.rstrip().endswith("errors: 0, replies: %d" % n)
    r = server.client()
    assert r.dbsize() == n
    assert r.get("key:0") == b"value:0"
    assert r.get("key:99999") == b"value:99999"
    r.close()


def test_cli_pipe_counts_errors(server, cli):
    payload = (b"SET a 1\r\nINCR a\r\nGET\r\nFOO\r\n"
               b"*2\r\n$4\r\nINCR\r\n$1\r\na\r\n")
    p = cli(server, "--pipe", input=payload)
    assert p.stdout.decode().rstrip().endswith("errors: 2, replies: 5")
    assert p.returncode == 1


def test_cli_scan(server, cli):
    r = server.client()
    r.mset({"user:%d" % i: i for i in range(300)})
    r.mset({"other:%d" % i: i for i in range(50)})
    r.close()
    p = cli(server, "--scan", "--pattern", "user:*")
    assert p.returncode == 0
    keys = p.stdout.split()
    assert len(keys) == len(set(keys)) == 300
    assert all(k.startswith(b"user:") for k in keys)


def test_cli_with_password(start_server, cli):
    s = start_server("--requirepass", "pw")
    assert cli(s, "--no-auth-warning", "-a", "pw", "SET", "k", "v").stdout \
        == b"OK\n"
    assert cli(s, "GET", "k").stdout == b"NOAUTH Authentication required.\n\n"


# -- redis-benchmark --------------------------------------------------------------


def test_benchmark_quick(server):
    p = subprocess.run(
        [REDIS_BENCHMARK_BIN, "-h", server.host, "-p", str(server.port),
         "-n", "10000", "-t", "set,get", "-q"],
        capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # -q still writes progress lines ending in \r before the final ones.
    text = p.stdout.decode().replace("\r", "\n")
    rates = {}
    for name in ("SET", "GET"):
        m = re.findall(r"^%s: ([\d.]+) requests per second, "
                       r"p50=([\d.]+) msec\s*$" % name, text, re.M)
        assert m, text
        rates[name] = float(m[-1][0])
    assert rates["SET"] > 0 and rates["GET"] > 0
    r = server.client()
    # Without -r every SET hits the same key; the value is 3 bytes (-d 3).
    assert r.strlen("key:__rand_int__") == 3
    r.close()


def test_benchmark_pipelined_csv(server):
    p = subprocess.run(
        [REDIS_BENCHMARK_BIN, "-h", server.host, "-p", str(server.port),
         "-n", "20000", "-P", "16", "-c", "4", "-t", "incr", "--csv"],
        capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith('"test","rps"')
    assert re.match(r'"INCR","[\d.]+",', lines[1])
    r = server.client()
    assert r.get("counter:__rand_int__") == b"20000"
    r.close()


# -- redis-py ----------------------------------------------------------------------


def test_redis_py_basics(r):
    assert r.ping() is True
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.set("k", "w", nx=True) is None
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.mset({"a": 1, "b": 2}) is True
    assert r.mget("a", "b", "nokey") == [b"1", b"2", None]
    assert r.expire("k", 100) is True
    assert r.ttl("k") == 100
    assert r.exists("k", "a", "nokey") == 2
    assert r.type("k") == b"string"
    assert sorted(r.scan_iter(match="[ab]")) == [b"a", b"b"]
    assert r.delete("a", "b") == 2
    assert r.dbsize() == 3


def test_redis_py_errors(r):
    lpush_or_skip(r, "l", "x")
    with pytest.raises(redis.ResponseError) as e:
        r.get("l")
    assert str(e.value) == \
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError) as e:
        r.incr("s")
    assert str(e.value) == "value is not an integer or out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("NOSUCH", "x")
    assert str(e.value) == \
        "unknown command 'NOSUCH', with args beginning with: 'x' "


def test_redis_py_pipeline_resp2(r):
    lpush_or_skip(r, "probe", "x")     # the pipeline below needs lists
    r.delete("probe")
    p = r.pipeline(transaction=False)
    p.set("a", "1")
    p.incr("a")
    p.get("a")
    p.lpush("l", "x")
    p.get("l")            # fails: errors come back in place
    p.mget("a", "nokey")
    p.delete("a")
    res = p.execute(raise_on_error=False)
    assert res[:4] == [True, 2, b"2", 1]
    assert isinstance(res[4], redis.ResponseError)
    assert res[5:] == [[b"2", None], 1]


def test_redis_py_big_pipeline(r):
    n = 20000
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set("k%d" % i, i)
    assert p.execute() == [True] * n
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.get("k%d" % i)
    assert p.execute() == [str(i).encode() for i in range(n)]


def test_redis_py_threads_share_pool(shared_server, r):
    pool = redis.ConnectionPool(host=shared_server.host,
                                port=shared_server.port, max_connections=8)
    errors = []

    def work(t):
        try:
            c = redis.Redis(connection_pool=pool)
            for i in range(300):
                c.incr("counter")
                c.set("t%d:%d" % (t, i), i)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.disconnect()
    assert errors == []
    assert r.get("counter") == b"2400"
    assert r.dbsize() == 2401
