"""What the ``inspections.labels`` section of monitor.yaml says: the URL the tablets reach this
server at (checked: http or https, a host, no credentials, query or fragment), and the CJK font
of the PDF sheet."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from monitor.core.sources import Strict

__all__ = ["MAX_BASE_URL", "BaseUrl", "LabelSettings", "check_base_url"]

#: Characters of a base URL: with the asset's path it stays a QR code a phone reads at 30 mm.
MAX_BASE_URL = 120


def check_base_url(value: str) -> str:
    """An http(s) URL the tablets reach this server at: no credentials, query or fragment; a
    path is the prefix a reverse proxy serves it under."""
    text = value.strip()
    if len(text) > MAX_BASE_URL:
        raise ValueError(f"longer than {MAX_BASE_URL} characters: too long for a QR label")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL such as https://trunkwatch.example")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not accepted")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("expected the base URL, without ?query or #fragment")
    if any(c.isspace() or ord(c) < 0x20 for c in text):
        raise ValueError("the URL has a space or a control character")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    return text.rstrip("/")


BaseUrl = Annotated[str, AfterValidator(check_base_url)]


class LabelSettings(Strict):
    """The QR labels on the equipment (``trunkwatch inspections labels``): the URL the tablets
    reach this server at, and the CJK font the PDF sheet embeds (default: Noto Sans CJK from
    Debian's fonts-noto-cjk)."""

    base_url: BaseUrl | None = None
    font: str | None = None
    #: Which font of a collection (.ttc) ``font`` names; 0 for a single font.
    font_index: Annotated[int, Field(ge=0, le=63)] = 0
