"""Partition: a master cut off from the majority (bus and client traffic to
the other nodes dropped by iptables) must refuse writes within
node-timeout + 1 s, the majority promotes its replica, and the two sides
never accept writes for the same slot at the same time.  Healed, the old
master becomes a replica of the new one.

How the partition is made on loopback, where every node is 127.0.0.1: the
isolated node runs under group ISOLATED_GID, the others under OTHERS_GID.
A dedicated chain TESSERA-TEST-<pid>, jumped to from OUTPUT (every loopback
packet passes it) before the nodes start, marks each new connection with
its opener's group (CONNMARK, by socket owner).  The partition drops

    connections the isolated node opened (to the others' bus/client ports)
    connections the others opened to the isolated node's ports

in both directions, established links (bus, the replica's replication
link) included, while the test's own clients, unmarked, reach every node.
The chain is removed in the fixture's teardown whatever happens.
"""

import os
import shutil
import subprocess
import threading
import time

import pytest
import redis

from .clusterlib import (IS_REDIS, NODE_TIMEOUT, ClusterNode, cluster_create,
                         wait_cluster_ok, wait_for)

ISOLATED_GID = 47001
OTHERS_GID = 47002
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"


def ipt(*args, check=True):
    return subprocess.run([IPTABLES, "-w", *args], capture_output=True,
                          text=True, timeout=10, check=check)


class Firewall:
    """One iptables chain, hooked into OUTPUT for the whole test.  From the
    start it marks each new connection with its opener (conntrack mark
    0x1: the isolated node, 0x2: the others); isolate() adds the drops,
    heal() removes them."""

    def __init__(self):
        self.chain = "TESSERA-TEST-%d" % os.getpid()
        self.made = self.hooked = False

    def setup(self):
        """None if iptables works here, else why it does not."""
        if os.geteuid() != 0:
            return "needs root for iptables (euid %d)" % os.geteuid()
        if not os.path.exists(IPTABLES):
            return "iptables is not installed (tests/lib.sh TEST_PKGS)"
        try:
            ipt("-N", self.chain)
            self.made = True
            self.add_marks()
            ipt("-I", "OUTPUT", "-j", self.chain)
            self.hooked = True
        except subprocess.CalledProcessError as e:
            self.remove()
            return "iptables unusable here: %s" % e.stderr.strip()
        return None

    def add_marks(self):
        for gid, mark in ((ISOLATED_GID, "0x1"), (OTHERS_GID, "0x2")):
            ipt("-A", self.chain, "-p", "tcp", "-m", "conntrack",
                "--ctstate", "NEW", "-m", "owner", "--gid-owner", str(gid),
                "-j", "CONNMARK", "--set-mark", mark)

    def isolate(self, node):
        """Cut every connection node opened (it only opens them to other
        nodes) and every one the others opened to node's ports; the test's
        own clients (unmarked) still reach it."""
        mine = "%d,%d" % (node.port, node.bus_port)
        ipt("-A", self.chain, "-p", "tcp", "-m", "connmark", "--mark", "0x1",
            "-j", "DROP")
        ipt("-A", self.chain, "-p", "tcp", "-m", "connmark", "--mark", "0x2",
            "-m", "multiport", "--ports", mine, "-j", "DROP")

    def heal(self):
        ipt("-F", self.chain, check=False)
        self.add_marks()

    def remove(self):
        if self.hooked:
            ipt("-D", "OUTPUT", "-j", self.chain, check=False)
            self.hooked = False
        if self.made:
            ipt("-F", self.chain, check=False)
            ipt("-X", self.chain, check=False)
            self.made = False


@pytest.fixture
def firewall():
    fw = Firewall()
    why = fw.setup()
    if why:
        pytest.skip(why)
    try:
        yield fw
    finally:
        fw.remove()


@pytest.fixture
def four_nodes(firewall, tessera_kind):
    """3 masters (node 0 will be isolated) and a replica of node 0."""
    gids = [ISOLATED_GID, OTHERS_GID, OTHERS_GID, OTHERS_GID]
    extra = [] if IS_REDIS else ["--repl-diskless-sync-delay", "0"]
    nodes = []
    try:
        for i, g in enumerate(gids):
            nodes.append(ClusterNode(tessera_kind, extra, "p%d" % i,
                                     gid=g).start())
        masters, replica = nodes[:3], nodes[3]
        cluster_create(masters)
        wait_cluster_ok(masters)
        replica.client().execute_command("CLUSTER", "MEET", "127.0.0.1",
                                         masters[0].port)
        wait_for(lambda: len(replica.nodes()) == 4 and
                 all(len(n.nodes()) == 4 for n in masters), 10,
                 what="replica known to all")
        mid = masters[0].myid()
        wait_for(lambda: replica.client().execute_command(
            "CLUSTER", "REPLICATE", mid), 10, what="CLUSTER REPLICATE")
        for n in nodes:
            wait_for(lambda: any("slave" in l[2] and l[3] == mid
                                 for l in n.nodes()), 10, what="role known")
        wait_for(lambda: replica.client().info("replication")
                 ["master_link_status"] == "up", 10, what="replica synced")
        wait_cluster_ok(nodes)
        yield nodes
    finally:
        for n in nodes:
            n.cleanup()


def key_in_slots_of(node):
    """A key whose slot node serves."""
    mine = [l for l in node.nodes() if l[0] == node.myid()][0]
    lo, hi = (int(x) for x in mine[8].split("-"))
    c = node.client()
    for i in range(10000):
        k = "part:%d" % i
        if lo <= c.execute_command("CLUSTER", "KEYSLOT", k) <= hi:
            return k
    raise AssertionError("no key found")


def role_line(node):
    return [l for l in node.nodes() if l[0] == node.myid()][0]


class Writer(threading.Thread):
    """SETs to one node, no redirects followed; records every attempt as
    (start, end, accepted, error)."""

    def __init__(self, node, key, stop):
        super().__init__(daemon=True)
        self.node, self.key, self.stop = node, key, stop
        self.log = []

    def run(self):
        c = self.node.client(socket_timeout=0.5, socket_connect_timeout=0.5)
        i = 0
        while not self.stop.is_set():
            t = time.monotonic()
            err = None
            try:
                ok = c.set(self.key, "w%d" % i) is True
            except redis.RedisError as e:
                ok, err = False, str(e)
            self.log.append((t, time.monotonic(), ok, err))
            i += 1
            time.sleep(0.005)


def test_isolated_master_stops_writes(firewall, four_nodes):
    isolated, m1, m2, replica = four_nodes
    key = key_in_slots_of(isolated)
    assert isolated.client().set(key, "before")
    timeout_s = NODE_TIMEOUT / 1000

    stop = threading.Event()
    w_iso = Writer(isolated, key, stop)
    w_maj = Writer(replica, key, stop)
    firewall.isolate(isolated)   # in force on return
    t0 = time.monotonic()
    w_iso.start()
    w_maj.start()
    try:
        wait_for(lambda: role_line(replica)[2] == "myself,master", 10,
                 what="replica promoted on the majority side")
        wait_for(lambda: any(not ok for _, _, ok, _ in w_iso.log[-3:]) and
                 w_maj.log and w_maj.log[-1][2], 5,
                 what="isolated refusing, majority accepting")
        time.sleep(0.3)
    finally:
        stop.set()
        w_iso.join(5)
        w_maj.join(5)

    iso_ok = [(s, e) for s, e, ok, _ in w_iso.log if ok]
    iso_refused = [(s, err) for s, _, ok, err in w_iso.log if not ok]
    maj_ok = [(s, e) for s, e, ok, _ in w_maj.log if ok]
    assert iso_refused and maj_ok
    last_iso_ok = max(e for _, e in iso_ok) if iso_ok else t0
    first_refused = min(s for s, _ in iso_refused)
    first_maj_ok = min(s for s, _ in maj_ok)
    print("isolated refuses writes %.3f s after the partition; "
          "majority accepts after %.3f s" % (first_refused - t0,
                                               first_maj_ok - t0))
    # the isolated master refuses within node-timeout + 1 s, and for good.
    # (Redis 7.0 measured 1.8-2.2 s here: PFAIL only a node timeout after
    # a PING that goes out up to timeout/2 after the cut; so its bound is
    # looser.)
    limit = timeout_s * 2 + 0.5 if IS_REDIS else timeout_s + 1
    assert last_iso_ok - t0 <= limit, (last_iso_ok - t0,
                                               isolated.log_tail(15))
    assert all(s < last_iso_ok or s >= first_refused
               for s, _ in iso_refused)
    assert all(err.startswith("CLUSTERDOWN") for s, err in iso_refused
               if s >= last_iso_ok), iso_refused[-1]
    # one writer per slot: the majority's first accepted write begins after
    # the isolated side's last accepted write was acknowledged
    assert last_iso_ok < first_maj_ok, (last_iso_ok - t0, first_maj_ok - t0)

    # heal: the old master follows the new one and resyncs from it
    firewall.heal()
    wait_for(lambda: role_line(isolated)[2] == "myself,slave" and
             role_line(isolated)[3] == replica.myid(), 15,
             what="old master demoted to replica of the new one")
    wait_for(lambda: isolated.client().info("replication")
             ["master_link_status"] == "up", 15, what="old master syncing")
    wait_cluster_ok(four_nodes)
    final = replica.client().get(key)
    last_maj = max(i for i, (_, _, ok, _) in enumerate(w_maj.log) if ok)
    assert final == ("w%d" % last_maj).encode()
    c = isolated.client(single_connection_client=True)
    c.execute_command("READONLY")
    wait_for(lambda: c.get(key) == final, 5, what="old master has new data")
    c.close()
