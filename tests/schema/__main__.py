"""``python -m tests.schema``: install the npm side of the dashboard schema check
(``@grafana/schema`` and ``typescript``, ``npm ci`` from the lock file) into its cache, and say
where and how long it took."""

from __future__ import annotations

import sys
import time

from tests.schema.typescript import TypeScriptError, install


def main() -> int:
    started = time.monotonic()
    try:
        root = install()
    except TypeScriptError as exc:
        print(f"tests.schema: {exc}", file=sys.stderr)
        return 1
    print(f"@grafana/schema and typescript in {root} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
