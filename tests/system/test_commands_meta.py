"""COMMAND INFO and COMMAND DOCS byte for byte against redis-server 7.0.15.

Cluster-aware clients read the command tips (request_policy,
response_policy) and key specs from COMMAND INFO, and redis-cli reads
COMMAND DOCS for its hints, so for every command Tessera lists that Redis
also has, both replies must be Redis's own bytes, in RESP2 and RESP3.
Commands Redis lacks (TESSERA ...) are skipped.
"""
import os

import pytest

from conftest import IS_REDIS, REDIS_SERVER_BIN, Server, parse_reply

pytestmark = pytest.mark.skipif(
    IS_REDIS or not os.path.exists(REDIS_SERVER_BIN),
    reason="compares tessera-node with redis-server 7.0")


@pytest.fixture(scope="module")
def reference():
    s = Server(name="cmdref")
    s.binary = REDIS_SERVER_BIN
    s.start()
    yield s
    s.cleanup()


def command_names(conn):
    """COMMAND LIST: every command and subcommand ("client|kill")."""
    return sorted(n.decode() for n in parse_reply(conn.cmd("COMMAND", "LIST")))


def split(data, pos=0):
    """(raw bytes, raw elements or None, end) of the reply at data[pos:]."""
    end = data.index(b"\r\n", pos) + 2
    t, n = data[pos:pos + 1], data[pos + 1:end - 2]
    if t in b"$=!" and int(n) >= 0:
        end += int(n) + 2
        return data[pos:end], None, end
    if t not in b"*~%>" or int(n) < 0:
        return data[pos:end], None, end
    elems = []
    for _ in range(int(n) * (2 if t == b"%" else 1)):
        raw, _, end = split(data, end)
        elems.append(raw)
    return data[pos:end], elems, end


def bulk(raw):
    return raw.split(b"\r\n")[1].decode()


def normal(data, what, shared):
    """A reply with a container's subcommands put in a fixed order (Redis
    keeps them in a dict hashed with a per-process random seed) and cut
    to those both servers have (Tessera lacks CLIENT TRACKING and a few
    more; those are not compared)."""
    outer = split(data)[1]
    if not outer:
        return data
    if what == "INFO":
        fields = split(outer[0])[1]
        subs = [s for s in split(fields[9])[1]
                if bulk(split(s)[1][0]) in shared]
        return (data[:4], fields[:9], sorted(subs))
    doc = split(outer[1])[1]
    subs = []
    if doc[-2].endswith(b"subcommands\r\n"):
        subs = split(doc[-1])[1]
        subs = sorted((k, v) for k, v in zip(subs[0::2], subs[1::2])
                      if bulk(k) in shared)
        doc = doc[:-1]
    return (data[:4], outer[0], doc, subs)


def differing(ours, theirs, names, what):
    shared = set(names)
    return [n for n in names
            if normal(ours.cmd("COMMAND", what, n), what, shared) !=
            normal(theirs.cmd("COMMAND", what, n), what, shared)]


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("what", ["INFO", "DOCS"])
def test_command_meta_matches_redis(shared_server, reference, raw, proto,
                                    what):
    ours, theirs = raw(shared_server), raw(reference)
    if proto == 3:
        ours.cmd("HELLO", "3")
        theirs.cmd("HELLO", "3")
    redis_has = set(command_names(theirs))
    names = [n for n in command_names(ours) if n in redis_has]
    assert len(names) > 200
    bad = differing(ours, theirs, names, what)
    assert not bad, "COMMAND %s differs from Redis (RESP%d) for %d of %d: %s" \
        % (what, proto, len(bad), len(names), " ".join(bad))
