"""Protobuf wire-format pieces for hand-built cluster-bus frames.

Tests that forge or hand-craft bus messages (tests/system/cluster/
test_bus_security.py, tests/system/proxy/test_proxy_bus_observer.py) build
them field by field with these, so they do not depend on a protobuf
library and can produce malformed encodings on purpose.
"""


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_int(num, v):
    """Field `num` as a varint."""
    return varint(num << 3) + varint(v)


def f_bytes(num, b):
    """Field `num` as length-delimited bytes (str is UTF-8 encoded)."""
    if isinstance(b, str):
        b = b.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b
