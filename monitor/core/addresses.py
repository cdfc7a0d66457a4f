"""Addresses as configuration and the command line give them.

``split_address`` reads where a device is (``host``, ``host:port``, ``[v6]:port``, a bare IPv6
address); ``parse_listen`` reads where a server of ours listens (``HOST:PORT``, port 0 for any
free port). Both raise ValueError with a message fit to show a person.
"""

from __future__ import annotations

__all__ = ["parse_listen", "split_address"]


def split_address(address: str) -> tuple[str, int | None]:
    """'host', 'host:port', '[v6]:port' or 'v6' → (host, port)."""
    text = address.strip()
    if not text:
        raise ValueError("empty address")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"bad address {address!r}")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"bad address {address!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in address {address!r}")
    return host, int(port_text)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT`` → (host, port); port 0 asks for any free port and an
    empty host means 127.0.0.1."""
    cleaned = text.strip()
    host, sep, port = cleaned.rpartition(":")
    if not sep:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9750, got {text!r}")
    if not port.isdigit():
        raise ValueError(f"the port in {text!r} is not a number")
    if int(port) > 65535:
        raise ValueError(f"port {int(port)} in {text!r} is above 65535")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if "[" in host or "]" in host:
        raise ValueError(f"expected HOST:PORT or [IPv6]:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)
