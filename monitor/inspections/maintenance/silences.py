"""Alertmanager's silence API (v2), the only place trunkwatch writes to Alertmanager: create a
silence, find one by the marker in its comment, expire one.

``AlertmanagerSilences`` speaks HTTP with the standard library (its callers run in worker
threads and in the command line, never on the event loop) to one Alertmanager or to the peers
of a cluster, tried in order until one answers: a cluster gossips silences to every peer, so
any one of them is enough. Every failure is a ``SilenceError`` whose message names the
Alertmanager by host and port only, and the HTTP status or network reason.

``SilenceApi`` is what the maintenance service needs; a unit test gives it a fake.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from monitor.core.errors import TrunkwatchError

__all__ = [
    "AlertmanagerSilences",
    "Matcher",
    "Silence",
    "SilenceApi",
    "SilenceError",
    "SilenceSpec",
    "format_time",
    "parse_time",
]

#: A list of every silence is the largest answer read; Alertmanager keeps expired ones for
#: days, and more than this is no Alertmanager.
MAX_BODY_BYTES = 16 * 1024 * 1024


class SilenceError(TrunkwatchError):
    """Alertmanager could not be reached, or refused or garbled an answer."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }


@dataclass(frozen=True, slots=True)
class SilenceSpec:
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence as Alertmanager holds it; ``state`` is pending, active or expired."""

    id: str
    state: str
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    matchers: tuple[Matcher, ...]


def format_time(t: float) -> str:
    """RFC 3339 in UTC with milliseconds, as Alertmanager writes its own times."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> float:
    """Alertmanager's RFC 3339 time (fractions of up to nanoseconds) → seconds."""
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _silence(data: Any) -> Silence:
    try:
        return Silence(
            id=str(data["id"]),
            state=str(data["status"]["state"]),
            starts_at=parse_time(data["startsAt"]),
            ends_at=parse_time(data["endsAt"]),
            created_by=str(data.get("createdBy", "")),
            comment=str(data.get("comment", "")),
            matchers=tuple(
                Matcher(
                    str(m["name"]),
                    str(m["value"]),
                    bool(m.get("isRegex", False)),
                    bool(m.get("isEqual", True)),
                )
                for m in data["matchers"]
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SilenceError(f"Alertmanager answered a silence that cannot be read ({exc})") from exc


class SilenceApi(Protocol):
    def create(self, spec: SilenceSpec) -> str:
        """A new silence; returns its id."""
        ...

    def expire(self, silence_id: str) -> None:
        """End a silence now; one already expired or forgotten is left as it is."""
        ...

    def find(self, marker: str, matchers: Sequence[Matcher]) -> Silence | None:
        """A silence not yet expired, with ``matchers`` among its own, whose comment holds
        ``marker``."""
        ...


class _NotFound(SilenceError):
    pass


class AlertmanagerSilences:
    """The v2 silence API of one Alertmanager, or of the peers of a cluster in order."""

    def __init__(self, urls: Sequence[str], *, timeout: float = 5.0) -> None:
        if not urls:
            raise ValueError("no Alertmanager URL")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self.timeout = timeout

    @staticmethod
    def describe(url: str) -> str:
        """An Alertmanager as messages name it: host and port, nothing else of the URL."""
        parts = urllib.parse.urlsplit(url)
        return parts.netloc.rpartition("@")[2] or url

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """The decoded answer of the first Alertmanager that answers. One that cannot be
        reached or fails (5xx) hands over to the next; a refusal (4xx) is final."""
        failures: list[str] = []
        data = None if body is None else json.dumps(body).encode()
        for base in self.urls:
            where = self.describe(base)
            request = urllib.request.Request(  # noqa: S310 - http(s) checked in the config
                base + path, data=data, method=method
            )
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    raw = response.read(MAX_BODY_BYTES + 1)
            except urllib.error.HTTPError as exc:
                detail = _reason(exc)
                if exc.code == 404:
                    raise _NotFound(f"{where}: not found ({detail})") from None
                if 400 <= exc.code < 500:
                    raise SilenceError(
                        f"Alertmanager {where} refused: {exc.code} {detail}"
                    ) from None
                failures.append(f"{where}: HTTP {exc.code} {detail}")
                continue
            except (OSError, ValueError) as exc:
                failures.append(f"{where}: {_network_reason(exc)}")
                continue
            if len(raw) > MAX_BODY_BYTES:
                raise SilenceError(
                    f"Alertmanager {where} answered more than {MAX_BODY_BYTES} bytes"
                )
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                raise SilenceError(f"Alertmanager {where} answered something not JSON") from None
        raise SilenceError("cannot reach Alertmanager (" + "; ".join(failures) + ")")

    def create(self, spec: SilenceSpec) -> str:
        answer = self._call(
            "POST",
            "/api/v2/silences",
            {
                "matchers": [m.as_json() for m in spec.matchers],
                "startsAt": format_time(spec.starts_at),
                "endsAt": format_time(spec.ends_at),
                "createdBy": spec.created_by,
                "comment": spec.comment,
            },
        )
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise SilenceError("Alertmanager created a silence without saying its id")
        return silence_id

    def get(self, silence_id: str) -> Silence | None:
        try:
            answer = self._call("GET", f"/api/v2/silence/{urllib.parse.quote(silence_id)}")
        except _NotFound:
            return None
        return _silence(answer)

    def expire(self, silence_id: str) -> None:
        try:
            self._call("DELETE", f"/api/v2/silence/{urllib.parse.quote(silence_id)}")
        except _NotFound:
            return  # forgotten after its retention: it silences nothing
        except SilenceError:
            # Expiring an expired silence is an error to Alertmanager (500 "already
            # expired"); it is what was wanted, so ask what state it is in.
            found = self.get(silence_id)
            if found is None or found.state == "expired":
                return
            raise

    def find(self, marker: str, matchers: Sequence[Matcher]) -> Silence | None:
        query = urllib.parse.urlencode(
            [("filter", f'{m.name}="{m.value}"') for m in matchers if m.is_equal and not m.is_regex]
        )
        answer = self._call("GET", "/api/v2/silences" + (f"?{query}" if query else ""))
        if not isinstance(answer, list):
            raise SilenceError("Alertmanager's list of silences is not a list")
        wanted = set(matchers)
        for item in answer:
            silence = _silence(item)
            if (
                silence.state != "expired"
                and marker in silence.comment
                and wanted <= set(silence.matchers)
            ):
                return silence
        return None


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(500).decode("utf-8", "replace")
    except OSError:
        text = ""
    text = " ".join(text.split()).strip('"')
    return text[:200] or str(exc.reason)


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text)[:200]
