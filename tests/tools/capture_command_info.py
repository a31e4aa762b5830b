#!/usr/bin/python3
"""Regenerate common/command_info.def from a running redis-server 7.0.15.

    redis-server --port 6399 --save '' --appendonly no --daemonize yes
    tests/tools/capture_command_info.py 6399 > common/command_info.def
    redis-cli -p 6399 shutdown nosave

For every CMD(...) line of common/commands.def (subcommands as
"parent|sub") it sends COMMAND INFO <name> in RESP3 and keeps the raw
bytes of the reply's tips (element 8) and key specs (element 9), as
INFO(id, tips, key_specs, docs), docs being the doc_flags,
deprecated_since, replaced_by and history of COMMAND DOCS <name> (those
present) as one RESP3 map.  Names Redis does not know (TESSERA ...) get
no line, so the node keeps generating theirs.  Run it again whenever a
command is added to commands.def.
"""
import re
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# COMMAND DOCS fields, in Redis's order, that commands.def does not hold.
DOC_EXTRA = (b"doc_flags", b"deprecated_since", b"replaced_by", b"history")


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            self.buf += self.sock.recv(65536)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def reply(self):
        """(raw bytes, list of raw elements for aggregates)."""
        line = self.line()
        t = line[:1]
        if t in b"$=!":
            n = int(line[1:-2])
            return (line if n < 0 else line + self.exact(n + 2)), None
        if t in b"*~>%|":
            n = int(line[1:-2])
            if n < 0:
                return line, None
            if t in b"%|":
                n *= 2
            elems = [self.reply()[0] for _ in range(n)]
            return line + b"".join(elems), elems
        return line, None

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.reply()


def c_string(b):
    out = []
    for ch in b:
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F and ch != 0x3F:  # '?' avoids trigraphs
            out.append(chr(ch))
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    conn = Conn(port)
    conn.cmd("HELLO", "3")
    defs = (REPO / "common" / "commands.def").read_text()
    print("/*\n"
          " * command_info.def: per command, the tips and key specs of\n"
          " * COMMAND INFO and the doc_flags, deprecated_since, replaced_by\n"
          " * and history of COMMAND DOCS, as Redis 7.0.15 answers them\n"
          " * (captured from Debian's redis-server in RESP3 by\n"
          " * tests/tools/capture_command_info.py).\n"
          " * INFO(id, tips_resp3, key_specs_resp3, docs_resp3), docs_resp3\n"
          " * being a map of those COMMAND DOCS fields Redis has.  The node\n"
          " * writes them as is to RESP3 clients and converts them for RESP2.\n"
          " * Commands without a line (Tessera's own) get generated ones.\n"
          " * Regenerate when commands.def grows.\n"
          " */")
    for m in re.finditer(r'^CMD\((\w+), "([^"]+)"', defs, re.M):
        cid, name = m.group(1), m.group(2)
        conn.sock.sendall(b"*3\r\n$7\r\nCOMMAND\r\n$4\r\nINFO\r\n"
                          b"$%d\r\n%s\r\n" % (len(name), name.encode()))
        assert conn.line() == b"*1\r\n"
        _, fields = conn.reply()
        if fields is None:  # null: Redis lacks it
            continue
        # COMMAND DOCS: the fields between "complexity" and "arguments"
        # that commands.def does not hold, as one RESP3 map.
        conn.sock.sendall(b"*3\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n"
                          b"$%d\r\n%s\r\n" % (len(name), name.encode()))
        assert conn.line() == b"%1\r\n"
        conn.reply()  # the name
        _, doc = conn.reply()
        extra = [(doc[i], doc[i + 1]) for i in range(0, len(doc), 2)
                 if doc[i].split(b"\r\n")[1] in DOC_EXTRA]
        docs = b"%%%d\r\n" % len(extra) + b"".join(k + v for k, v in extra)
        print("INFO(%s, %s, %s, %s)" % (cid, c_string(fields[7]),
                                       c_string(fields[8]), c_string(docs)))


if __name__ == "__main__":
    main()
