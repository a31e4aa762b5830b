"""Copy-on-write accounting of fork children (INFO persistence and stats).

A BGSAVE or BGREWRITEAOF child reports its Private_Dirty memory and the keys
it wrote through a pipe; the parent shows them as current_* while the child
runs and as rdb_last_cow_size / aof_last_cow_size (the peak) afterwards.
The child is slowed down with rdb-key-save-delay (a negative -N sleeps 1 us
for one key in N, as in Redis's own tests) so that it lives a few seconds
while the parent overwrites values, which copies the pages they live on.

Runs unchanged against redis-server 7.0 (TESSERA_SERVER=redis).
"""

import time

from conftest import wait_for
from rdbutil import start_reference

KEYS = 200_000
OVERWRITE = 100_000
DELAY = -5  # ~1 us sleep per 5 keys: the child lives about 2-4 s


def _populate(c):
    c.execute_command("DEBUG", "POPULATE", KEYS, "key", 32)
    assert c.dbsize() == KEYS


def _overwrite(c):
    p = c.pipeline(transaction=False)
    for i in range(OVERWRITE):
        p.set("key:%d" % i, "y" * 32)
        if i % 10_000 == 9_999:
            p.execute()
    p.execute()


def _watch_child(c, flag, timeout=30.0):
    """INFO persistence samples taken every 50 ms until `flag` is 0."""
    samples = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = c.info("persistence")
        if not info[flag]:
            return samples
        samples.append(info)
        time.sleep(0.05)
    raise AssertionError("the fork child did not finish in %.0f s" % timeout)


def _check_running_samples(samples):
    assert samples, "the child ended before the first INFO"
    assert all(s["current_save_keys_total"] == KEYS for s in samples)
    cows = [s["current_cow_size"] for s in samples]
    assert max(cows) > 0, cows
    assert all(s["current_cow_peak"] >= s["current_cow_size"]
               for s in samples)
    processed = [s["current_save_keys_processed"] for s in samples]
    assert processed == sorted(processed), processed
    assert len(set(p for p in processed if p > 0)) >= 2, processed
    for s in samples:
        want = 100.0 * s["current_save_keys_processed"] / KEYS
        assert abs(s["current_fork_perc"] - want) < 0.01, s
        assert 0 <= s["current_cow_size_age"] <= 5


def _check_idle(info):
    for f in ("current_cow_peak", "current_cow_size", "current_cow_size_age",
              "current_save_keys_processed", "current_save_keys_total"):
        assert info[f] == 0, (f, info[f])
    assert info["current_fork_perc"] == 0


def test_bgsave_reports_cow_and_progress(server):
    c = server.client()
    _populate(c)
    stats = c.info("stats")
    assert stats["total_forks"] == 0
    assert c.info("persistence")["rdb_last_cow_size"] == 0
    c.config_set("rdb-key-save-delay", DELAY)
    c.bgsave()
    _overwrite(c)
    samples = _watch_child(c, "rdb_bgsave_in_progress")
    _check_running_samples(samples)
    info = c.info("persistence")
    assert info["rdb_last_bgsave_status"] == "ok"
    # 100k rewritten values of 32 bytes: their old pages (and the table
    # slots pointing to them) are copied; well above 1 MB
    assert info["rdb_last_cow_size"] > 1 << 20, info["rdb_last_cow_size"]
    assert info["rdb_last_cow_size"] >= max(
        s["current_cow_peak"] for s in samples)
    assert info["aof_last_cow_size"] == 0
    _check_idle(info)
    stats = c.info("stats")
    assert stats["total_forks"] == 1
    assert stats["latest_fork_usec"] > 0


def test_bgrewriteaof_reports_cow(server):
    c = server.client()
    _populate(c)
    c.config_set("rdb-key-save-delay", DELAY)
    c.bgrewriteaof()
    _overwrite(c)
    samples = _watch_child(c, "aof_rewrite_in_progress")
    _check_running_samples(samples)
    info = c.info("persistence")
    assert info["aof_last_bgrewrite_status"] == "ok"
    assert info["aof_last_cow_size"] > 1 << 20, info["aof_last_cow_size"]
    assert info["rdb_last_cow_size"] == 0
    _check_idle(info)
    assert c.info("stats")["total_forks"] == 1


def test_small_bgsave_still_reports_cow(server):
    """Even a child that finishes at once sends its final report: its own
    stack and buffers are private dirty pages."""
    c = server.client()
    c.set("a", "1")
    c.bgsave()
    _watch_child(c, "rdb_bgsave_in_progress")
    info = c.info("persistence")
    assert info["rdb_last_cow_size"] > 0
    _check_idle(info)
    c.bgsave()
    _watch_child(c, "rdb_bgsave_in_progress")
    assert c.info("stats")["total_forks"] == 2


def test_diskless_full_sync_reports_cow(start_server):
    """The child of a diskless full sync (repl-diskless-sync yes, the
    default) reports like BGSAVE's: rdb_last_cow_size on the master."""
    master = start_server("--repl-diskless-sync-delay", "0")
    replica = start_server()
    mc = master.client()
    mc.execute_command("DEBUG", "POPULATE", 1000, "key", 32)
    replica.client().replicaof(master.host, master.port)
    wait_for(lambda: replica.info("replication").get("master_link_status")
             == "up", timeout=10.0, what="replica link up")
    wait_for(lambda: master.info("stats")["total_forks"] == 1 and
             master.info("persistence")["rdb_last_cow_size"] > 0,
             timeout=10.0, what="the sync child's CoW report")
    _check_idle(master.info("persistence"))
    assert replica.client().dbsize() == 1000


def test_key_save_delay_config(server):
    c = server.client()
    assert c.config_get("rdb-key-save-delay") == {"rdb-key-save-delay": "0"}
    c.config_set("rdb-key-save-delay", -100)
    assert c.config_get("rdb-key-save-delay") == {
        "rdb-key-save-delay": "-100"}
    # hidden from patterns, as in Redis
    assert "rdb-key-save-delay" not in c.config_get("rdb-*")
    c.config_set("rdb-key-save-delay", 0)


def _fields(c, section, keep):
    # redis-py parses INFO into a dict, which keeps the order of the lines
    return [name for name in c.info(section) if keep(name)]


def test_info_fields_match_redis(server):
    ref = start_reference(name="cow-ref")
    try:
        rc = ref.client()
        c = server.client()
        for section, keep in (("persistence", lambda n: True),
                              ("stats", lambda n: "fork" in n)):
            assert _fields(c, section, keep) == _fields(rc, section, keep)
        assert _fields(c, "stats", lambda n: "fork" in n) == [
            "latest_fork_usec", "total_forks"]
    finally:
        ref.cleanup()
