"""tessera-proxy's per-node multi-key split (docs/proxy.md, "Multi-key").

On every backend link the proxy sends TESSERA MULTISLOT ON.  A Tessera
node accepts it, and MGET / MSET / DEL / UNLINK / EXISTS / TOUCH with keys
on several masters then cost one sub-request per master, whatever the
number of slots; a Redis node refuses it and the split stays per slot.
While a slot moves, the node refuses a per-node sub-request with
CROSSSLOT and the proxy splits that one again per slot (following ASK as
usual), so clients still get the right answers.  Counted with the nodes'
own INFO commandstats."""

import pytest
import redis

from .proxy_cluster import observer_args


def migrate_slot(cluster, slot, src, dst, between):
    """Redis's resharding steps for one slot (MIGRATE ... KEYS; both kinds
    of node have it); `between` runs after the keys moved and before the
    ownership changes (the ASK window)."""
    dst.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING",
                                 src.node_id)
    src.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING",
                                 dst.node_id)
    while True:
        keys = src.client().execute_command("CLUSTER", "GETKEYSINSLOT",
                                            slot, 100)
        if not keys:
            break
        assert src.client().execute_command(
            "MIGRATE", dst.host, dst.port, "", 0, 5000, "KEYS", *keys) == b"OK"
    between()
    for n in [dst, src] + [n for n in cluster.nodes if n not in (src, dst)]:
        n.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                   dst.node_id)


def keys_by_master(cluster, n=60, prefix="ms"):
    """n keys of n distinct slots, spread over every master; returns
    (keys, {port: number of distinct slots of those keys})."""
    keys, slots, per = [], set(), {}
    i = 0
    while len(keys) < n:
        k = "%s:%d" % (prefix, i)
        i += 1
        s = cluster.slot(k)
        if s in slots:
            continue
        slots.add(s)
        keys.append(k)
        port = cluster.slot_owner(s).port
        per[port] = per.get(port, 0) + 1
    assert len(per) == len(cluster.nodes)
    return keys, per


def calls(cluster, cmd):
    """{port: cmdstat_<cmd> calls} on every node."""
    out = {}
    for n in cluster.nodes:
        st = n.client().info("commandstats").get("cmdstat_" + cmd)
        out[n.port] = st["calls"] if st else 0
    return out


def delta(before, after):
    return {p: after[p] - before[p] for p in after}


def proxy_stat(pr, name):
    return pr.info("proxy")[name]


def test_one_subrequest_per_master(pr, cluster):
    keys, per = keys_by_master(cluster)
    vals = {k: "v-" + k for k in keys}
    pr.mset(vals)           # warms every link (a Redis link says no)
    want = [vals[k].encode() for k in keys]
    checks = [("mget", lambda: pr.mget(keys), want),
              ("exists", lambda: pr.exists(*keys), len(keys)),
              ("touch", lambda: pr.touch(*keys), len(keys)),
              ("mset", lambda: pr.mset(vals), True)]
    for cmd, fn, expect in checks:
        before = calls(cluster, cmd)
        assert fn() == expect, cmd
        got = delta(before, calls(cluster, cmd))
        if cluster.kind == "tessera":
            assert got == {n.port: 1 for n in cluster.nodes}, cmd
        else:
            assert got == per, cmd
    for cmd, fn in (("del", lambda: pr.delete(*keys[:30])),
                    ("unlink", lambda: pr.unlink(*keys))):
        before = calls(cluster, cmd)
        assert fn() == 30
        got = delta(before, calls(cluster, cmd))
        if cluster.kind == "tessera":
            assert set(got.values()) == {1}, cmd
    assert pr.exists(*keys) == 0


def test_merge_keeps_the_order_of_the_keys(pr, cluster):
    keys, _ = keys_by_master(cluster, 40, "ord")
    pr.mset({k: k for k in keys[::2]})
    ask = keys[::-1] + ["ord:missing"] + keys[:5] + keys[:5]
    assert pr.mget(ask) == [k.encode() if k in keys[::2] else None
                            for k in ask]
    assert pr.exists(*ask) == sum(1 for k in ask if k in keys[::2])


def test_multislot_counters(pr, cluster):
    keys, _ = keys_by_master(cluster, 30, "cnt")
    pr.mget(keys)       # warm the links
    subs0 = proxy_stat(pr, "multislot_subrequests")
    pr.mget(keys)
    subs = proxy_stat(pr, "multislot_subrequests") - subs0
    if cluster.kind == "tessera":
        assert subs == len(cluster.nodes)
    else:
        assert subs == 0
    # PROXY shows what each link answered to TESSERA MULTISLOT ON
    links = [ln for ln in pr.execute_command("PROXY").decode().splitlines()
             if ln.startswith("backend:") and "connected=1" in ln]
    want = "multislot=yes" if cluster.kind == "tessera" else "multislot=no"
    assert links and all(want in ln for ln in links), links


def test_tessera_command_is_not_routed(pr):
    with pytest.raises(redis.ResponseError, match="tessera-proxy"):
        pr.execute_command("TESSERA", "MULTISLOT", "ON")


def test_multislot_no_splits_per_slot(cluster, start_proxy):
    if cluster.kind != "tessera":
        pytest.skip("the option only matters with Tessera nodes")
    p = start_proxy([n.addr for n in cluster.nodes], "--multislot", "no",
                    *observer_args(cluster.kind))
    c = p.client()
    keys, per = keys_by_master(cluster, 30, "off")
    c.mset({k: "1" for k in keys})
    before = calls(cluster, "mget")
    assert c.mget(keys) == [b"1"] * len(keys)
    assert delta(before, calls(cluster, "mget")) == per
    assert c.info("proxy")["multislot_subrequests"] == 0
    c.close()


def test_slot_moving_falls_back_per_slot(pr, cluster):
    """During a migration, a per-node sub-request over the moving slot is
    refused (CROSSSLOT) and split per slot; ASK is followed."""
    keys, _ = keys_by_master(cluster, 45, "mig")
    moving = keys[0]
    slot = cluster.slot(moving)
    src = cluster.slot_owner(slot)
    dst = next(n for n in cluster.nodes if n is not src)
    vals = {k: "m-" + k for k in keys}
    pr.mset(vals)
    want = [vals[k].encode() for k in keys]
    # big: a refused per-node part of over 64 keys (the split's heap path)
    big = ["bigmig:%d" % i for i in range(400)]
    pr.mset({k: k for k in big})
    pr.mget(keys)
    resplits0 = proxy_stat(pr, "multislot_resplits")
    seen = {}

    def during():
        # `moving` is on dst now; its slot is still src's (MIGRATING)
        seen["mget"] = pr.mget(keys)
        seen["big"] = pr.mget(big + [moving] + big[:3])
        seen["exists"] = pr.exists(*keys)
        seen["mset"] = pr.mset({k: "n-" + k for k in keys[:20]})
        seen["del"] = pr.delete(*keys[20:30])
    migrate_slot(cluster, slot, src, dst, between=during)
    assert seen["mget"] == want
    assert seen["big"] == [k.encode() for k in big] + [want[0]] + \
        [k.encode() for k in big[:3]]
    assert seen["exists"] == len(keys)
    assert seen["mset"] is True
    assert seen["del"] == 10
    assert pr.mget(keys[:20]) == [("n-" + k).encode() for k in keys[:20]]
    assert pr.exists(*keys[20:30]) == 0
    assert dst.client().get(moving) == ("n-" + moving).encode()
    if cluster.kind == "tessera":
        assert proxy_stat(pr, "multislot_resplits") > resplits0
    # after the move (the proxy's map may still be stale: the refusal
    # and a MOVED are followed): per node again
    after = [("n-" + k).encode() for k in keys[:20]] + [None] * 10 + want[30:]
    assert pr.mget(keys) == after
    assert pr.mget(keys) == after
