"""Secrets written as references: ``${ENV}``, ``${ENV:-default}`` or ``file:PATH``.

A secret file is read only when it is a regular file of at most 64 KiB of UTF-8 text
(``monitor.core.sources.read_secret_file``); no message ever carries the secret itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from monitor.core.sources import read_secret_file

__all__ = ["resolve_secret"]

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\}$")


def resolve_secret(value: str | int, base: Path) -> str:
    """Resolve ``${ENV}``, ``${ENV:-default}`` or ``file:PATH``; a plain value is itself.

    A relative ``file:`` path is read from ``base`` (the configuration file's folder).
    Raises ValueError whose message never contains the secret.
    """
    text = str(value)
    if m := _ENV_REF.match(text):
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ValueError(f"environment variable {name} is not set")
    if text.startswith("file:"):
        path = Path(text[5:]).expanduser()
        if not path.is_absolute():
            path = base / path
        return read_secret_file(path)
    return text
