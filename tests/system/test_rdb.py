"""RDB snapshots: files that move both ways between Tessera and Redis 7.0,
corrupt files refused with a message and a non-zero exit, BGSAVE as a
point-in-time image, save points, SAVE/BGSAVE/LASTSAVE, SHUTDOWN
SAVE/NOSAVE, SIGTERM with save points, -MISCONF after a failed BGSAVE,
DEBUG RELOAD and INFO persistence.

The reference (redis-server 7.0 from Debian) is started by the tests
themselves (rdbutil.start_reference) whatever TESSERA_SERVER says.
"""

import shutil
import struct
import subprocess
import threading
import time

import pytest
import redis

from conftest import Server, ServerStartError, wait_for
from rdbutil import (assert_same, intset, listpack, populate,
                     rdb_file, rdb_len, rdb_str, snapshot, start_reference,
                     ziplist)

CHECK_RDB = "/usr/bin/redis-check-rdb"


def save_and_read(srv):
    c = srv.client()
    assert c.save() is True
    c.close()
    return (srv.dir / "dump.rdb").read_bytes()


def start_with_rdb(data, *extra):
    """A server of the kind under test that loads `data` at start."""
    s = Server(extra, name="load")
    (s.dir / "dump.rdb").write_bytes(data)
    s.start()
    return s


def refuse_to_start(data, *extra):
    """Start with `data` as dump.rdb; it must exit non-zero.  Returns the
    log text."""
    s = Server(extra, name="bad")
    (s.dir / "dump.rdb").write_bytes(data)
    try:
        with pytest.raises(ServerStartError):
            s.start()
        assert s.proc.returncode not in (0, None)
        return s.log_path.read_text(errors="replace")
    finally:
        s.cleanup()


# ---- both directions ----------------------------------------------------------


def test_tessera_file_loads_in_redis(server):
    c = server.client()
    populate(c)
    want = snapshot(c)
    data = save_and_read(server)
    assert data.startswith(b"REDIS0010")
    p = subprocess.run([CHECK_RDB, str(server.dir / "dump.rdb")],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert b"RDB looks OK" in p.stdout
    ref = start_reference(rdb=data)
    try:
        assert_same(want, snapshot(ref.client()))
    finally:
        ref.cleanup()


def test_redis_file_loads_in_tessera():
    ref = start_reference()
    try:
        rc = ref.client()
        populate(rc, seed=2)
        want = snapshot(rc)
        data = save_and_read(ref)
    finally:
        ref.cleanup()
    s = start_with_rdb(data)
    try:
        assert_same(want, snapshot(s.client()))
        info = s.info("persistence")
        assert info["rdb_last_load_keys_loaded"] == len(want)
        assert info["rdb_last_load_keys_expired"] == 0
    finally:
        s.cleanup()


@pytest.mark.parametrize("opts", [("--rdbcompression", "no"),
                                  ("--rdbchecksum", "no")])
def test_options_round_trip(start_server, opts):
    s = start_server(*opts)
    c = s.client()
    populate(c)
    want = snapshot(c)
    data = save_and_read(s)
    if opts[0] == "--rdbchecksum":
        assert data[-8:] == b"\0" * 8
    else:
        assert b"abcdefgh" * 40 in data     # stored as is, not LZF
    ref = start_reference(rdb=data)
    try:
        assert_same(want, snapshot(ref.client()))
    finally:
        ref.cleanup()


def test_expired_keys_skipped_at_load():
    body = [b"\xfc" + struct.pack("<Q", 1000) + b"\x00" + rdb_str("old") +
            rdb_str("v"),
            b"\x00" + rdb_str("live") + rdb_str("v")]
    s = start_with_rdb(rdb_file(body))
    try:
        c = s.client()
        assert c.keys("*") == [b"live"]
        info = s.info("persistence")
        assert info["rdb_last_load_keys_expired"] == 1
        assert info["rdb_last_load_keys_loaded"] == 1
    finally:
        s.cleanup()


def test_lru_idle_and_lfu_freq_opcodes(start_server):
    s = start_server("--maxmemory-policy", "allkeys-lru")
    c = s.client()
    c.set("k", "v")
    data = save_and_read(s)
    k = data.index(b"\x00\x01k\x01v")      # type string, key, value
    assert data[k - 2] == 0xF8                # RDB_OPCODE_IDLE, 1-byte len
    s2 = start_server("--maxmemory-policy", "allkeys-lfu")
    c2 = s2.client()
    c2.set("k", "v")
    for _ in range(20):
        c2.get("k")
    data2 = save_and_read(s2)
    k = data2.index(b"\x00\x01k\x01v")
    assert data2[k - 2] == 0xF9               # RDB_OPCODE_FREQ, counter
    assert data2[k - 1] > 5
    body = [b"\xf9\x07\x00" + rdb_str("f") + rdb_str("v"),
            b"\xf8" + rdb_len(500) + b"\x00" + rdb_str("i") + rdb_str("v")]
    s3 = start_with_rdb(rdb_file(body), "--maxmemory-policy", "allkeys-lfu")
    try:
        assert s3.client().object("freq", "f") == 7
    finally:
        s3.cleanup()
    s4 = start_with_rdb(rdb_file(body))
    try:
        assert 499 <= s4.client().object("idletime", "i") <= 502
    finally:
        s4.cleanup()


# ---- corrupt files ------------------------------------------------------------


@pytest.fixture(scope="module")
def good_rdb():
    s = Server((), name="good")
    s.start()
    try:
        populate(s.client())
        return save_and_read(s)
    finally:
        s.cleanup()


def test_bad_checksum(good_rdb):
    bad = good_rdb[:-1] + bytes([good_rdb[-1] ^ 0xFF])
    log = refuse_to_start(bad)
    assert "checksum" in log.lower()


@pytest.mark.parametrize("cut", [5, 9, 30, 0.5, -9, -1])
def test_truncated(good_rdb, cut):
    n = int(len(good_rdb) * cut) if isinstance(cut, float) else cut
    log = refuse_to_start(good_rdb[:n])
    assert "Bad RDB" in log or "Short read" in log or "Unexpected EOF" in log


def test_bad_magic_and_version():
    assert "signature" in refuse_to_start(b"RUBBISH00" + b"\xff" + b"\0" * 8)
    log = refuse_to_start(rdb_file([], version=11)[:9] + b"\xff" + b"\0" * 8)
    assert "version" in log.lower()


BAD_OBJECTS = {
    # a string claiming 4 GB
    "huge_length": b"\x00" + rdb_str("k") + b"\x80\xff\xff\xff\xf0abc",
    # listpack whose header size disagrees with the blob
    "listpack_size": b"\x10" + rdb_str("h") +
    rdb_str(b"\x40\x00\x00\x00" + listpack(["a", "b"])[4:]),
    # listpack entry running past the end
    "listpack_entry": b"\x10" + rdb_str("h") +
    rdb_str(listpack(["a", "b"])[:7] + b"\x8f" + b"x" * 3 + b"\x04\xff"),
    # hash listpack with a duplicate field
    "hash_dup": b"\x10" + rdb_str("h") + rdb_str(listpack(["a", "1", "a", "2"])),
    # the same with more fields than are compared pairwise
    "hash_dup_big": b"\x10" + rdb_str("h") + rdb_str(listpack(
        sum((["f%d" % i, "v"] for i in range(40)), []) + ["f7", "x"])),
    # odd number of hash listpack entries
    "hash_odd": b"\x10" + rdb_str("h") + rdb_str(listpack(["a", "1", "b"])),
    # intset not sorted
    "intset_order": b"\x0b" + rdb_str("s") + rdb_str(intset([3, 1, 2])),
    # intset with a length that does not match its size
    "intset_len": b"\x0b" + rdb_str("s") +
    rdb_str(struct.pack("<II", 2, 5) + b"\x01\x00"),
    # zset listpack out of order
    "zset_order": b"\x11" + rdb_str("z") +
    rdb_str(listpack(["a", "2", "b", "1"])),
    # set with a duplicate member
    "set_dup": b"\x02" + rdb_str("s") + rdb_len(2) + rdb_str("x") +
    rdb_str("x"),
    # a stream: not supported
    "stream": b"\x0f" + rdb_str("x") + rdb_len(0),
    # unknown type
    "type": b"\x63" + rdb_str("x") + rdb_str("v"),
    # zset with a NaN score
    "zset_nan": b"\x05" + rdb_str("z") + rdb_len(1) + rdb_str("m") +
    struct.pack("<d", float("nan")),
    # quicklist node with a bad container
    "ql_container": b"\x12" + rdb_str("l") + rdb_len(1) + rdb_len(7) +
    rdb_str(listpack(["a"])),
    # the same key twice
    "dup_key": b"\x00" + rdb_str("k") + rdb_str("v") + b"\x00" +
    rdb_str("k") + rdb_str("w"),
}


# Redis 7.0 checks these only with sanitize-dump-payload yes (default no);
# Tessera always validates.
DEEP_ONLY = {"hash_dup", "hash_dup_big", "hash_odd", "intset_order", "listpack_entry",
             "zset_order"}


@pytest.mark.parametrize("name", sorted(BAD_OBJECTS))
def test_bad_object_refused(name, is_redis):
    if is_redis and name in DEEP_ONLY:
        pytest.skip("redis-server loads it without sanitize-dump-payload")
    # valid checksum: only the structure is wrong
    data = rdb_file([b"\x00" + rdb_str("before") + rdb_str("v"),
                     BAD_OBJECTS[name]])
    log = refuse_to_start(data)
    if not is_redis:
        assert "Bad RDB" in log and " at offset " in log, log[-2000:]


def test_hand_made_file_loads():
    """The writer in rdbutil is right: good objects of each kind load."""
    data = rdb_file([
        b"\x10" + rdb_str("h") + rdb_str(listpack(["a", "1", "b", "2"])),
        b"\x0b" + rdb_str("s") + rdb_str(intset([1, 2, 3])),
        b"\x11" + rdb_str("z") + rdb_str(listpack(["a", "1", "b", "2"])),
        b"\x12" + rdb_str("l") + rdb_len(1) + rdb_len(2) +
        rdb_str(listpack(["x", "y"])),
    ])
    s = start_with_rdb(data)
    try:
        c = s.client()
        assert c.hgetall("h") == {b"a": b"1", b"b": b"2"}
        assert c.smembers("s") == {b"1", b"2", b"3"}
        assert c.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0),
                                                         (b"b", 2.0)]
        assert c.lrange("l", 0, -1) == [b"x", b"y"]
    finally:
        s.cleanup()


def test_ziplist_encodings_load():
    """What Redis < 7.0 wrote and 7.0 still loads: ziplist lists, hashes,
    sorted sets and ziplist quicklists."""
    data = rdb_file([
        b"\x0a" + rdb_str("l1") + rdb_str(ziplist(["a", 7, -100, 5000,
                                                   100000, 2**40, "b"])),
        b"\x0e" + rdb_str("l2") + rdb_len(2) + rdb_str(ziplist(["x", "y"])) +
        rdb_str(ziplist([1, 2])),
        b"\x0d" + rdb_str("h") + rdb_str(ziplist(["f", "v", "n", 12])),
        b"\x0c" + rdb_str("z") + rdb_str(ziplist(["m", 1, "n", "2.5"])),
    ])
    s = start_with_rdb(data)
    try:
        c = s.client()
        assert c.lrange("l1", 0, -1) == [b"a", b"7", b"-100", b"5000",
                                         b"100000", b"1099511627776", b"b"]
        assert c.lrange("l2", 0, -1) == [b"x", b"y", b"1", b"2"]
        assert c.hgetall("h") == {b"f": b"v", b"n": b"12"}
        assert c.zrange("z", 0, -1, withscores=True) == [(b"m", 1.0),
                                                         (b"n", 2.5)]
        assert c.object("encoding", "h") == b"listpack"
    finally:
        s.cleanup()
    # a broken ziplist (wrong prevlen) is refused
    zl = bytearray(ziplist(["a", "b"]))
    zl[13] = 9
    log = refuse_to_start(rdb_file([b"\x0a" + rdb_str("l") + rdb_str(bytes(zl))]))
    assert "ziplist" in log or "Bad" in log or "Internal" in log


# ---- BGSAVE ------------------------------------------------------------------


def wait_bgsave_done(c, timeout=30):
    wait_for(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 0,
             timeout=timeout, what="BGSAVE to finish")


def test_bgsave_point_in_time(server):
    """4 clients keep incrementing pairs of counters in MULTI; the
    snapshot must hold every pair equal (a point-in-time image)."""
    c = server.client()
    c.set("filler", "x" * 1000)
    for i in range(20000):
        if i % 1000 == 0:
            p = c.pipeline(transaction=False)
        p.set("pad:%d" % i, i)
        if i % 1000 == 999:
            p.execute()
    stop = threading.Event()
    errors = []

    def worker(n):
        cl = server.client()
        try:
            while not stop.is_set():
                p = cl.pipeline(transaction=True)
                p.incr("a:%d" % n)
                p.incr("b:%d" % n)
                p.execute()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.3)
    c.bgsave()
    wait_bgsave_done(c)
    time.sleep(0.1)
    stop.set()
    for t in ts:
        t.join()
    assert not errors
    info = c.info("persistence")
    assert info["rdb_last_bgsave_status"] == "ok"
    finals = {n: int(c.get("a:%d" % n)) for n in range(4)}
    data = (server.dir / "dump.rdb").read_bytes()
    ref = start_reference(rdb=data)
    try:
        rc = ref.client()
        for n in range(4):
            a, b = rc.get("a:%d" % n), rc.get("b:%d" % n)
            assert a == b
            assert a is None or int(a) <= finals[n]
        assert rc.dbsize() >= 20001
    finally:
        ref.cleanup()


def test_bgsave_replies(server, raw):
    c = server.client()
    rc = raw(server)
    c.set("k", "v")
    assert rc.cmd("BGSAVE") == b"+Background saving started\r\n"
    wait_bgsave_done(c)
    assert rc.cmd("BGSAVE", "foo") == b"-ERR syntax error\r\n"
    assert rc.cmd("BGSAVE", "SCHEDULE") in (
        b"+Background saving started\r\n",
        b"+Background saving scheduled\r\n")
    wait_bgsave_done(c)
    assert rc.cmd("MULTI") == b"+OK\r\n"
    assert rc.cmd("BGSAVE") == b"+QUEUED\r\n"
    assert rc.cmd("EXEC") == b"*1\r\n+Background saving scheduled\r\n"
    wait_for(lambda: c.info("persistence")["rdb_saves"] >= 3, timeout=15,
             what="the scheduled BGSAVE")
    wait_bgsave_done(c)
    info = c.info("persistence")
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == 0


def test_save_and_lastsave(server):
    c = server.client()
    before = c.lastsave()
    time.sleep(1.1)
    c.set("k", "v")
    # 0 in Redis 7.0.15; Tessera counts FLUSHALL itself as a change so that
    # it is always propagated (db.c)
    assert c.info("persistence")["rdb_changes_since_last_save"] <= 1
    assert c.save() is True
    assert c.lastsave() > before
    assert c.info("persistence")["rdb_changes_since_last_save"] == 0
    with pytest.raises(redis.ResponseError,
                       match="not allowed inside a transaction"):
        p = c.pipeline(transaction=True)
        p.execute_command("SAVE")
        p.execute()


def test_save_points(start_server):
    s = start_server("--save", "1", "3")
    c = s.client()
    assert c.config_get("save") == {"save": "1 3"}
    c.set("a", 1)
    time.sleep(2.2)
    assert c.info("persistence")["rdb_saves"] == 0    # 1 change < 3
    c.set("b", 2)
    c.set("c", 3)
    wait_for(lambda: c.info("persistence")["rdb_saves"] >= 1, timeout=10,
             what="the save point to fire")
    wait_bgsave_done(c)
    assert (s.dir / "dump.rdb").exists()
    c.config_set("save", "")
    assert c.config_get("save") == {"save": ""}
    with pytest.raises(redis.ResponseError, match="Invalid save parameters"):
        c.config_set("save", "1")


def test_flushall_saves_with_save_points(start_server):
    s = start_server("--save", "3600", "1")
    c = s.client()
    c.set("k", "v")
    c.flushall()
    data = (s.dir / "dump.rdb").read_bytes()
    assert data.startswith(b"REDIS0010") and b"\xfe\x00" not in data[:200]
    # 0 in Redis 7.0.15; Tessera counts FLUSHALL itself as a change so that
    # it is always propagated (db.c)
    assert c.info("persistence")["rdb_changes_since_last_save"] <= 1


# ---- shutdown ------------------------------------------------------------------


def test_shutdown_save_and_nosave(start_server):
    s = start_server()
    c = s.client()
    c.set("k", "v1")
    c.shutdown(save=True)       # redis-py: the connection closes
    assert s.wait_exit() == 0
    assert (s.dir / "dump.rdb").exists()
    s.start(keep_port=True)
    c = s.client()
    assert c.get("k") == b"v1"
    # save points configured, but NOSAVE: nothing written
    c.config_set("save", "3600 1")
    c.set("k", "v2")
    c.shutdown(nosave=True)
    assert s.wait_exit() == 0
    s.start(keep_port=True)
    assert s.client().get("k") == b"v1"


def test_sigterm_saves_with_save_points(start_server):
    s = start_server("--save", "3600", "1")
    c = s.client()
    c.set("k", "sig")
    assert s.stop() == 0
    s.start(keep_port=True)
    assert s.client().get("k") == b"sig"


def block_dump(srv):
    """Make saving fail: a directory where dump.rdb must go (rename()
    cannot replace it, even as root, where chmod would not stop us)."""
    d = srv.dir / "dump.rdb"
    d.mkdir()
    (d / "x").write_text("x")
    return d


def test_shutdown_save_fails_keeps_running(start_server):
    s = start_server()
    c = s.client()
    block_dump(s)
    with pytest.raises(redis.ResponseError,
                       match="Errors trying to SHUTDOWN. Check logs."):
        c.shutdown(save=True)
    assert c.ping()


# ---- MISCONF ---------------------------------------------------------------------


def test_misconf_after_failed_bgsave(start_server, raw):
    s = start_server("--save", "3600", "1")
    c = s.client()
    blocked = block_dump(s)
    c.set("k", "v")
    c.bgsave()
    wait_bgsave_done(c)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "err"
    with pytest.raises(redis.ResponseError) as e:
        c.set("k", "w")
    assert str(e.value) == (
        "MISCONF Redis is configured to save RDB snapshots, but it's "
        "currently unable to persist to disk. Commands that may modify the "
        "data set are disabled, because this instance is configured to "
        "report errors during writes if RDB snapshotting fails "
        "(stop-writes-on-bgsave-error option). Please check the Redis logs "
        "for details about the RDB error.")
    assert c.get("k") == b"v"           # reads still work
    assert raw(s).cmd("PING").startswith(b"-MISCONF ")   # as Redis 7.0
    c.config_set("stop-writes-on-bgsave-error", "no")
    c.set("k", "w")
    c.config_set("stop-writes-on-bgsave-error", "yes")
    with pytest.raises(redis.ResponseError, match="MISCONF"):
        c.set("k", "x")
    shutil.rmtree(blocked)
    c.bgsave()
    wait_bgsave_done(c)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    c.set("k", "y")


# ---- DEBUG RELOAD, INFO ------------------------------------------------------------


def test_debug_reload(server):
    c = server.client()
    populate(c)
    want = snapshot(c)
    assert c.execute_command("DEBUG", "RELOAD") == b"OK"
    assert_same(want, snapshot(c))


def test_info_persistence_fields(server):
    ref = start_reference()
    try:
        want = list(ref.info("persistence"))
    finally:
        ref.cleanup()
    got = list(server.info("persistence"))
    rdb_fields = [f for f in want if not f.startswith(("aof_", "module_"))]
    assert [f for f in got if f in rdb_fields] == rdb_fields
