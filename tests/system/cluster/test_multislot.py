"""TESSERA MULTISLOT ON|OFF (Tessera only): the per-connection opt-in that
tessera-proxy sends on its backend links.  On such a connection MGET,
MSET, DEL, UNLINK, EXISTS and TOUCH may carry keys of several slots as
long as this node serves every one of them (master, or READONLY replica
for reads) and none is migrating or importing; otherwise -CROSSSLOT as
Redis.  Plain connections, MULTI/EXEC and other commands keep Redis's
one-slot rule byte for byte."""

import socket

import pytest

from .clusterlib import HOST, wait_for

CROSSSLOT = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"


@pytest.fixture(autouse=True)
def tessera_only(tessera_kind):
    if tessera_kind == "redis":
        pytest.skip("TESSERA MULTISLOT is Tessera's own command")


class Conn:
    """A raw RESP2 connection: replies as bytes (first line, or lists of
    them) so error texts are compared byte for byte."""

    def __init__(self, node):
        self.s = socket.create_connection((HOST, node.port), timeout=5)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        if line[:1] == b"*":
            return [self.read() for _ in range(int(line[1:]))]
        if line[:1] == b"$" and line != b"$-1\r\n":
            return self.f.readline()[:-2]
        return line

    def close(self):
        self.s.close()


def owner_ports(node):
    """slot -> client port of its master, from CLUSTER SLOTS."""
    owner = {}
    for lo, hi, master, *_ in node.client().execute_command("CLUSTER",
                                                            "SLOTS"):
        for s in range(lo, hi + 1):
            owner[s] = master[1]
    return owner


def keys_on(node, n, prefix="k", exclude=()):
    """n keys of n distinct slots served by node (none in `exclude`)."""
    owner = owner_ports(node)
    c = node.client()
    out, slots = [], set(exclude)
    i = 0
    while len(out) < n:
        k = "%s%d" % (prefix, i)
        i += 1
        s = c.execute_command("CLUSTER", "KEYSLOT", k)
        if owner[s] == node.port and s not in slots:
            slots.add(s)
            out.append(k)
    return out


def slot_of(node, key):
    return node.client().execute_command("CLUSTER", "KEYSLOT", key)


def test_plain_connection_keeps_crossslot(cluster3):
    n0 = cluster3[0]
    a, b = keys_on(n0, 2, "plain")
    c = Conn(n0)
    for cmd in (("MGET", a, b), ("MSET", a, 1, b, 2), ("DEL", a, b),
                ("UNLINK", a, b), ("EXISTS", a, b), ("TOUCH", a, b)):
        assert c.call(*cmd) == CROSSSLOT, cmd
    # ON, then OFF again: Redis's rule is back
    assert c.call("TESSERA", "MULTISLOT", "on") == b"+OK\r\n"
    assert c.call("TESSERA", "MULTISLOT", "OFF") == b"+OK\r\n"
    assert c.call("MGET", a, b) == CROSSSLOT
    # RESET turns it off too
    assert c.call("TESSERA", "MULTISLOT", "ON") == b"+OK\r\n"
    assert c.call("RESET") == b"+RESET\r\n"
    assert c.call("MGET", a, b) == CROSSSLOT
    assert c.call("TESSERA", "MULTISLOT", "maybe") == b"-ERR syntax error\r\n"
    assert c.call("TESSERA", "MULTISLOT") == (
        b"-ERR wrong number of arguments for 'tessera|multislot' command\r\n")
    assert c.call("TESSERA", "NOSUCH").startswith(
        b"-ERR unknown subcommand 'NOSUCH'. Try TESSERA HELP.")
    helptext = c.call("TESSERA", "HELP")
    assert helptext[0].startswith(b"+TESSERA <subcommand>")
    assert b"+MULTISLOT (ON|OFF)\r\n" in helptext
    c.close()


def pairs(keys, prefix):
    """MSET's arguments: each key with its value prefix + key."""
    return [x for k in keys for x in (k, prefix + k)]


def test_opted_in_connection_spans_local_slots(cluster3):
    n0 = cluster3[0]
    keys = keys_on(n0, 6, "on")
    c = Conn(n0)
    assert c.call("TESSERA", "MULTISLOT", "ON") == b"+OK\r\n"
    assert c.call("MSET", *pairs(keys, "v-")) == b"+OK\r\n"
    plain = n0.client()
    for k in keys:      # each key landed in its own slot's table
        assert plain.get(k) == ("v-" + k).encode()
        assert plain.execute_command("CLUSTER", "COUNTKEYSINSLOT",
                                     slot_of(n0, k)) == 1
    want = [("v-" + k).encode() for k in keys]
    assert c.call("MGET", *keys) == want
    missing = keys_on(n0, 1, "none")[0]
    assert c.call("MGET", keys[2], missing, keys[0], keys[2]) == [
        want[2], b"$-1\r\n", want[0], want[2]]
    assert c.call("EXISTS", *keys, keys[0]) == b":7\r\n"
    assert c.call("TOUCH", *keys) == b":6\r\n"
    assert c.call("DEL", keys[0], keys[1]) == b":2\r\n"
    assert c.call("UNLINK", *keys) == b":4\r\n"
    assert c.call("EXISTS", *keys) == b":0\r\n"
    s = n0.client().info("commandstats")
    assert s["cmdstat_mget"]["calls"] >= 2
    c.close()


def test_opted_in_connection_still_redirects(cluster3):
    n0, n1 = cluster3[0], cluster3[1]
    local = keys_on(n0, 2, "loc")
    remote = keys_on(n1, 2, "rem")
    c = Conn(n0)
    assert c.call("TESSERA", "MULTISLOT", "ON") == b"+OK\r\n"
    # a slot of another node among them: CROSSSLOT, whatever the order
    assert c.call("MGET", local[0], remote[0]) == CROSSSLOT
    assert c.call("MGET", remote[0], local[0]) == CROSSSLOT
    assert c.call("MSET", local[0], 1, local[1], 2, remote[0], 3) == CROSSSLOT
    assert c.call("EXISTS", local[0]) == b":0\r\n"     # nothing ran
    # keys of one remote slot: MOVED exactly as before
    moved = b"-MOVED %d 127.0.0.1:%d\r\n" % (slot_of(n0, remote[0]), n1.port)
    assert c.call("MGET", remote[0]) == moved
    # other multi-key commands keep the one-slot rule
    assert c.call("MSETNX", local[0], 1, local[1], 2) == CROSSSLOT
    assert c.call("SUNION", local[0], local[1]) == CROSSSLOT
    assert c.call("RENAME", local[0], local[1]) == CROSSSLOT
    # and so does a transaction, even of MGET
    assert c.call("MULTI") == b"+OK\r\n"
    assert c.call("MGET", local[0], local[1]) == CROSSSLOT
    assert c.call("EXEC") == (b"-EXECABORT Transaction discarded because "
                              b"of previous errors.\r\n")
    c.close()


@pytest.mark.parametrize("state", ["MIGRATING", "IMPORTING"])
def test_moving_slot_gives_crossslot(cluster3, state):
    n0, n1 = cluster3[0], cluster3[1]
    a, b = keys_on(n0, 2, "mv" + state)
    c = Conn(n0)
    assert c.call("TESSERA", "MULTISLOT", "ON") == b"+OK\r\n"
    assert c.call("MSET", a, 1, b, 2) == b"+OK\r\n"
    sb = slot_of(n0, b)
    plain = n0.client()
    if state == "MIGRATING":
        plain.execute_command("CLUSTER", "SETSLOT", sb, "MIGRATING",
                              n1.myid())
        moving = b
    else:
        # n0 importing one of n1's slots
        moving = keys_on(n1, 1, "imp")[0]
        plain.execute_command("CLUSTER", "SETSLOT", slot_of(n0, moving),
                              "IMPORTING", n1.myid())
    try:
        assert c.call("MGET", a, moving) == CROSSSLOT
        assert c.call("MGET", moving, a) == CROSSSLOT
        assert c.call("DEL", a, moving) == CROSSSLOT
        assert c.call("MGET", a) == [b"1"]      # a's slot alone is fine
    finally:
        plain.execute_command("CLUSTER", "SETSLOT", slot_of(n0, moving),
                              "STABLE")
    assert c.call("MGET", a, b) == [b"1", b"2"]
    assert c.call("DEL", a, b) == b":2\r\n"
    c.close()


def test_replica_applies_and_serves_multislot(make_cluster):
    nodes = make_cluster(6, replicas=1)
    by_port = {n.port: n for n in nodes}
    wait_for(lambda: sum("slave" in l[2] for l in nodes[0].nodes()) == 3,
             what="replica roles known")
    roles = {}
    for line in nodes[0].nodes():
        port = int(line[1].split(":")[1].split("@")[0])
        roles[port] = line
    master = next(n for n in nodes if "master" in roles[n.port][2] and
                  roles[n.port][8:])
    mid = roles[master.port][0]
    replica = next(by_port[p] for p, l in roles.items() if l[3] == mid)
    wait_for(lambda: master.client().info("replication").get(
        "slave0", {}).get("state") == "online", what="replica online")
    keys = keys_on(master, 5, "rep")
    c = Conn(master)
    assert c.call("TESSERA", "MULTISLOT", "ON") == b"+OK\r\n"
    assert c.call("MSET", *pairs(keys, "r-")) == b"+OK\r\n"
    assert c.call("WAIT", 1, 5000) == b":1\r\n"
    want = [("r-" + k).encode() for k in keys]
    wait_for(lambda: replica.client().dbsize() == 5, what="replica synced")
    # the replica applied the stream as is (no slot checks on it)
    r = Conn(replica)
    assert r.call("READONLY") == b"+OK\r\n"
    for k in keys:
        assert r.call("GET", k) == ("r-" + k).encode()
    # a READONLY replica with the opt-in serves reads of its master's slots
    assert r.call("MGET", *keys) == CROSSSLOT
    assert r.call("TESSERA", "MULTISLOT", "ON") == b"+OK\r\n"
    assert r.call("MGET", *keys) == want
    assert r.call("EXISTS", *keys) == b":5\r\n"
    # writes are the master's
    assert r.call("DEL", *keys) == CROSSSLOT
    assert c.call("DEL", *keys) == b":5\r\n"
    wait_for(lambda: r.call("EXISTS", *keys) == b":0\r\n",
             what="replica applied the multi-slot DEL")
    c.close()
    r.close()
