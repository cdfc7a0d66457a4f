"""A net-snmp ``pass_persist`` helper serving a fixed table of OIDs, for integration tests.

snmpd starts it once per ``pass_persist`` line and talks to it over stdin/stdout (snmpd.conf(5),
"pass_persist"): ``PING`` → ``PONG``; ``get`` + OID → OID, type, value or ``NONE``; ``getnext``
+ OID → the next served OID after it, or ``NONE``; ``set`` is refused. The objects come from a
JSON file (argv[1]) mapping dotted OIDs to ``[type, value]`` with net-snmp's pass types
(integer, gauge, counter, counter64, timeticks, string, octet, objectid, ipaddress); the file
is read again whenever it changes, so a test can move values between polls.

Run as ``python3 pass_persist_agent.py objects.json``.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
from typing import Any

Oid = tuple[int, ...]


def parse(text: str) -> Oid:
    return tuple(int(part) for part in text.strip().strip(".").split(".") if part)


class Objects:
    def __init__(self, path: str) -> None:
        self.path = path
        self.stamp = 0
        self.table: dict[Oid, tuple[str, Any]] = {}
        self.keys: list[Oid] = []

    def refresh(self) -> None:
        stamp = os.stat(self.path).st_mtime_ns
        if stamp == self.stamp:
            return
        with open(self.path, encoding="utf-8") as handle:
            raw = json.load(handle)
        self.table = {parse(k): (v[0], v[1]) for k, v in raw.items()}
        self.keys = sorted(self.table)
        self.stamp = stamp

    def get(self, oid: Oid) -> Oid | None:
        return oid if oid in self.table else None

    def next(self, oid: Oid) -> Oid | None:
        i = bisect.bisect_right(self.keys, oid)
        return self.keys[i] if i < len(self.keys) else None


def answer(objects: Objects, oid: Oid | None) -> str:
    if oid is None:
        return "NONE\n"
    kind, value = objects.table[oid]
    return "." + ".".join(map(str, oid)) + f"\n{kind}\n{value}\n"


def main() -> None:
    objects = Objects(sys.argv[1])
    stdin, stdout = sys.stdin, sys.stdout
    while True:
        line = stdin.readline()
        if not line:
            return
        command = line.strip().lower()
        if command == "ping":
            stdout.write("PONG\n")
        elif command in ("get", "getnext"):
            oid = parse(stdin.readline())
            objects.refresh()
            found = objects.get(oid) if command == "get" else objects.next(oid)
            stdout.write(answer(objects, found))
        elif command == "set":
            stdin.readline()
            stdin.readline()
            stdout.write("not-writable\n")
        elif command:
            stdout.write("NONE\n")
        stdout.flush()


if __name__ == "__main__":
    main()
