"""``python -m monitor.cli``: the same as the ``trunkwatch`` command."""

from monitor.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
