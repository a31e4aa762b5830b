"""Blocking commands through tessera-proxy: each runs on a backend link of
the client's own, to the owner of its keys, with the client's timeout;
other clients (and the shared links) are never held up by it."""

import threading
import time

import pytest
import redis

from .proxy_cluster import wait_for


def test_blpop_woken_by_lpush_from_another_client(pr, proxy, cluster):
    got = {}

    def waiter():
        c = proxy.client(socket_timeout=20)
        got["v"] = c.blpop(["bq"], timeout=10)
        got["t"] = time.monotonic()
        c.close()
    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.3)
    # the blocked client holds no shared link: others run meanwhile
    assert pr.set("other", "1") and pr.get("other") == b"1"
    t0 = time.monotonic()
    cluster.node_for_key("bq").client().lpush("bq", "hello")
    th.join(15)
    assert got["v"] == (b"bq", b"hello")
    assert got["t"] - t0 < 2.0


def test_blocking_timeout_and_order(pr, proxy):
    c = proxy.client(socket_timeout=10)
    t0 = time.monotonic()
    assert c.brpop(["empty{b}"], timeout=0.3) is None
    assert 0.25 < time.monotonic() - t0 < 3
    # a pipeline with a blocking command in the middle keeps its order
    pr.rpush("{b}l", "a", "b")
    pipe = c.pipeline(transaction=False)
    pipe.set("x1", "1").blpop(["{b}l"], timeout=1).get("x1")
    pipe.bzpopmin(["zz"], timeout=0.1).rpop("{b}l")
    assert pipe.execute() == [True, (b"{b}l", b"a"), b"1", None, b"b"]
    c.close()


def test_blocking_family(pr):
    pr.rpush("{f}src", "1", "2", "3")
    assert pr.blmove("{f}src", "{f}dst", 1, "LEFT", "RIGHT") == b"1"
    assert pr.brpoplpush("{f}src", "{f}dst", 1) == b"3"
    assert pr.execute_command("BLMPOP", 1, 1, "{f}dst", "LEFT") == \
        [b"{f}dst", [b"3"]]
    pr.zadd("{f}z", {"a": 1, "b": 2, "c": 3})
    assert pr.bzpopmax(["{f}z"], 1) == (b"{f}z", b"c", 3.0)
    assert pr.bzpopmin(["{f}z"], 1) == (b"{f}z", b"a", 1.0)
    assert pr.execute_command("BZMPOP", 1, 1, "{f}z", "MIN") == \
        [b"{f}z", [[b"b", b"2"]]]
    with pytest.raises(redis.ResponseError, match="CROSSSLOT"):
        pr.blmove("{f}a", "{g}b", 1, "LEFT", "RIGHT")
    with pytest.raises(redis.ResponseError, match="numkeys"):
        pr.execute_command("BLMPOP", 1, 0, "k", "LEFT")
    assert pr.ping()


def test_client_closing_while_blocked(proxy, pr, cluster):
    c = proxy.client(socket_timeout=1)
    with pytest.raises(redis.TimeoutError):
        c.blpop(["never"], timeout=0)
    c.close()
    # the proxy drops the closed client's blocked backend link; until the
    # node has seen that, an LPUSH would still wake the dead BLPOP (as
    # with a client of the node itself that closes while blocked)
    owner = cluster.node_for_key("never")
    wait_for(lambda: owner.client().info("clients")["blocked_clients"] == 0,
             timeout=5, what="the node to see the blocked link closed")
    # the proxy and a new blocking client still work
    pr.lpush("never", "x")
    assert pr.blpop(["never"], timeout=1) == (b"never", b"x")
    assert proxy.alive()
