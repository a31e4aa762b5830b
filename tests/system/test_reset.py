"""RESET: the connection back to its state right after connecting, as
Redis 7.0 does it (+RESET reply)."""

import pytest

from conftest import encode_command


def test_reset_clears_connection_state(shared_server, raw):
    c = raw(shared_server)
    assert c.cmd("CLIENT", "SETNAME", "me") == b"+OK\r\n"
    c.cmd("HELLO", "3")
    assert c.cmd("MULTI") == b"+OK\r\n"
    assert c.cmd("SET", "k", "v") == b"+QUEUED\r\n"
    assert c.cmd("RESET") == b"+RESET\r\n"          # runs even inside MULTI
    assert c.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert c.cmd("GET", "k") == b"$-1\r\n"          # RESP2 again, not queued
    assert c.cmd("CLIENT", "GETNAME") == b"$-1\r\n"


def test_reset_leaves_subscriber_and_monitor_mode(shared_server, raw):
    c = raw(shared_server)
    c.send(encode_command("SUBSCRIBE", "ch"))
    c.read_reply()
    assert c.cmd("GET", "x").startswith(b"-ERR Can't execute 'get'")
    assert c.cmd("RESET") == b"+RESET\r\n"
    assert c.cmd("GET", "x") == b"$-1\r\n"
    m = raw(shared_server)
    assert m.cmd("MONITOR") == b"+OK\r\n"
    assert m.cmd("RESET") == b"+RESET\r\n"
    other = raw(shared_server)
    other.cmd("PING")
    assert m.read_available(0.2) == b""             # no longer a monitor
    assert m.cmd("GET", "x") == b"$-1\r\n"


def test_reset_reply_on_and_deauth(start_server, raw):
    srv = start_server("--requirepass", "pw")
    c = raw(srv)
    assert c.cmd("AUTH", "pw") == b"+OK\r\n"
    c.send(encode_command("CLIENT", "REPLY", "OFF"))
    assert c.cmd("RESET") == b"+RESET\r\n"          # replies are on again
    assert c.cmd("GET", "x") == b"-NOAUTH Authentication required.\r\n"
