"""MULTI/EXEC in cluster mode, as Redis 7.0 (run against redis-server too):
a queued command for another node gets -MOVED and dooms the transaction;
EXEC checks the queued keys again as one request, so keys of different
slots give -CROSSSLOT and a slot that moved between queueing and EXEC
gives -MOVED; both discard the transaction (not EXECABORT)."""

import socket

import pytest

from .clusterlib import HOST


def conn(node):
    s = socket.create_connection((HOST, node.port), timeout=5)
    return s, s.makefile("rb")


def call(sock, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    line = f.readline()
    if line[:1] == b"*":
        return [f.readline() for _ in range(int(line[1:]))]
    if line[:1] == b"$" and line != b"$-1\r\n":
        return f.readline()
    return line


@pytest.mark.parametrize("kind", ["tessera", "redis"])
def test_multi_exec_slots(make_cluster, tessera_kind, kind):
    nodes = make_cluster(3, kind=tessera_kind if kind == "tessera"
                         else "redis")
    n0, n1 = nodes[0], nodes[1]
    c = n0.client()
    slot = {k: c.execute_command("CLUSTER", "KEYSLOT", k) for k in "abcdefgh"}
    local = [k for k in slot if slot[k] <= 5460]      # n0: 0-5460
    remote = [k for k in slot if slot[k] > 5460]
    s, f = conn(n0)

    # queued for another node: -MOVED, then EXECABORT
    assert call(s, f, "MULTI") == b"+OK\r\n"
    assert call(s, f, "SET", remote[0], 1).startswith(b"-MOVED ")
    assert call(s, f, "SET", local[0], 1) == b"+QUEUED\r\n"
    assert call(s, f, "EXEC") == (b"-EXECABORT Transaction discarded "
                                  b"because of previous errors.\r\n")

    # two local slots: each queues, EXEC is one request -> CROSSSLOT
    call(s, f, "MULTI")
    assert call(s, f, "SET", local[0], 1) == b"+QUEUED\r\n"
    assert call(s, f, "SET", local[1], 1) == b"+QUEUED\r\n"
    assert call(s, f, "EXEC") == (b"-CROSSSLOT Keys in request don't hash "
                                  b"to the same slot\r\n")
    assert call(s, f, "EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert c.get(local[0]) is None      # nothing ran

    # the slot moves between queueing and EXEC -> MOVED, discarded
    call(s, f, "MULTI")
    assert call(s, f, "SET", local[0], 2) == b"+QUEUED\r\n"
    c.execute_command("CLUSTER", "SETSLOT", slot[local[0]], "NODE",
                      n1.myid())
    moved = b"-MOVED %d 127.0.0.1:%d\r\n" % (slot[local[0]], n1.port)
    assert call(s, f, "EXEC") == moved
    assert call(s, f, "EXEC") == b"-ERR EXEC without MULTI\r\n"

    # keyless and same-slot transactions still run
    call(s, f, "MULTI")
    call(s, f, "PING")
    assert call(s, f, "EXEC") == [b"+PONG\r\n"]
    call(s, f, "MULTI")
    call(s, f, "SET", "{%s}x" % local[1], "v")
    call(s, f, "GET", "{%s}x" % local[1])
    assert call(s, f, "EXEC") == [b"+OK\r\n", b"$1\r\n"]
    stats = c.info("commandstats")["cmdstat_exec"]
    assert stats["rejected_calls"] == 2 and stats["failed_calls"] == 3
    s.close()
