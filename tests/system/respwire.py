"""Expected reply bytes for raw-connection tests: Redis 7.0's common error
lines and the RESP2 encodings of bulk strings, integers and arrays.

Shared by the type and key test files (test_strings.py, test_keys.py,
test_hashes.py, ...), which compare what the server sends byte for byte.
"""

OK = b"+OK\r\n"
NIL = b"$-1\r\n"
NILARR = b"*-1\r\n"
EMPTY = b"*0\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOTINT = b"-ERR value is not an integer or out of range\r\n"
NOTFLOAT = b"-ERR value is not a valid float\r\n"
POSITIVE = b"-ERR value is out of range, must be positive\r\n"
WRONGTYPE = (b"-WRONGTYPE Operation against a key holding the wrong kind "
             b"of value\r\n")


def bulk(v):
    """A bulk string; v may be bytes, str or int."""
    if isinstance(v, int):
        v = str(v)
    if isinstance(v, str):
        v = v.encode()
    return b"$%d\r\n%s\r\n" % (len(v), v)


def integer(n):
    return b":%d\r\n" % n


def array(*items, t=b"*"):
    """An array of bulk strings (t=b"~" for a RESP3 set)."""
    return t + b"%d\r\n" % len(items) + b"".join(bulk(i) for i in items)


def arity(cmd):
    return b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.encode()
