"""Forged and malformed cluster bus frames (Tessera's protobuf bus).

Frames are built here by hand -- a few lines of protobuf encoding, see
docs/cluster-bus.md -- and sent to a node's bus port:

    | length (4, big endian) | protobuf Message | HMAC-SHA256 (32) |

Wrong HMAC, truncated protobuf, a huge length and a stale epoch must leave
CLUSTER NODES unchanged and be counted; the same UPDATE correctly signed
and with a newer epoch does change the owner (so the test can fail).
"""

import hashlib
import hmac
import socket
import struct
import time

import pytest

from buswire import f_bytes, f_int

from .clusterlib import HOST, IS_REDIS, SECRET, wait_for

pytestmark = pytest.mark.skipif(IS_REDIS, reason="Tessera's own bus")

UPDATE, PING = 8, 1


def slot_range(start, end):
    return f_int(1, start) + f_int(2, end)


def header(sender, current_epoch, config_epoch, port=0, bus_port=0):
    return (f_int(1, 1) + f_bytes(2, sender) + f_int(3, current_epoch) +
            f_int(4, config_epoch) + f_int(5, 1) + f_int(10, port) +
            f_int(11, bus_port))


def update_msg(sender, about, epoch, start, end, current_epoch=None):
    body = f_bytes(1, about) + f_int(2, epoch) + f_bytes(3, slot_range(start, end))
    hdr = header(sender, current_epoch if current_epoch is not None else epoch,
                 1)
    return f_bytes(1, hdr) + f_int(2, UPDATE) + f_bytes(5, body)


def frame(pb, secret=SECRET, length=None):
    head = struct.pack(">I", len(pb) if length is None else length)
    key = hashlib.sha256(secret.encode()).digest()
    mac = hmac.new(key, head + pb, hashlib.sha256).digest()
    return head + pb + mac


def send(node, data, linger=0.3):
    with socket.create_connection((HOST, node.bus_port), 2) as s:
        s.sendall(data)
        time.sleep(linger)


def view(node):
    """CLUSTER NODES without the ping/pong times and link state."""
    return sorted(tuple(l[:4] + l[6:7] + l[8:]) for l in node.nodes())


def counters(node):
    i = node.cluster_info()
    return (int(i["cluster_stats_messages_dropped"]),
            int(i["cluster_stats_messages_auth_failed"]))


def test_forged_and_malformed_frames(make_cluster):
    a, b, c = make_cluster(3)
    before = view(a)
    dropped, auth = counters(a)
    steal = update_msg(b.myid(), b.myid(), 1000, 10923, 16383)

    # 1. wrong HMAC (another secret)
    send(a, frame(steal, secret="not-the-secret"))
    wait_for(lambda: counters(a) == (dropped + 1, auth + 1), 3)
    # 2. HMAC right, bit flipped in the body after signing
    bad = bytearray(frame(steal))
    bad[10] ^= 1
    send(a, bytes(bad))
    wait_for(lambda: counters(a) == (dropped + 2, auth + 2), 3)
    # 3. truncated protobuf, correctly signed
    send(a, frame(steal[:-5]))
    wait_for(lambda: counters(a)[0] == dropped + 3, 3)
    # 4. garbage that is not protobuf at all, correctly signed
    send(a, frame(b"\xff" * 40))
    wait_for(lambda: counters(a)[0] == dropped + 4, 3)
    # 5. huge length: the link is closed, nothing allocated
    with socket.create_connection((HOST, a.bus_port), 2) as s:
        s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"x" * 64)
        s.settimeout(3)
        assert s.recv(100) == b""      # closed by the node
    wait_for(lambda: counters(a)[0] == dropped + 5, 3)
    # 6. a sender id that is not 40 hex characters
    send(a, frame(update_msg("me", b.myid(), 1000, 10923, 16383)))
    wait_for(lambda: counters(a)[0] == dropped + 6, 3)
    # 7. stale epoch: signed, valid, but older than what the owner has
    send(a, frame(update_msg(b.myid(), b.myid(), 0, 10923, 16383,
                             current_epoch=0)))
    time.sleep(0.5)
    assert view(a) == before
    assert a.cluster_info()["cluster_state"] == "ok"
    assert counters(a) == (dropped + 6, auth + 2)
    # 8. the control: the same UPDATE, signed and newer, is obeyed
    send(a, frame(steal))
    wait_for(lambda: [l for l in a.nodes() if l[0] == b.myid()][0][8:] ==
             ["5461-16383"], 5, what="UPDATE applied")
    assert counters(a) == (dropped + 6, auth + 2)


def test_silent_inbound_link_is_closed(single_node):
    n = single_node()
    with socket.create_connection((HOST, n.bus_port), 2) as s:
        s.settimeout(5)
        t0 = time.monotonic()
        assert s.recv(10) == b""       # closed by the node, nothing sent
        assert time.monotonic() - t0 < 4
