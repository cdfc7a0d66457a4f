"""HTTP(S) probe: status code, optional body match, timings, and the TLS certificate's expiry.

For the emergency platform, the SMS callback service and the dispatch servers. The request is
made with aiohttp (a fresh session per run, no connection reuse, so each run measures a real
connect); for ``https`` the certificate is read on a separate TLS connection first, so its
expiry is known even when the HTTP exchange then fails. An unexpected status is
``unavailable`` for 5xx and ``unexpected`` otherwise; a body that does not match is
``unexpected``; a certificate that does not verify is ``auth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from probes.base import (
    AuthError,
    ConnectionRefused,
    Family,
    MalformedReply,
    ProbeConfigError,
    ProbeError,
    ProbeParamsError,
    ProbeResult,
    ProbeTimeout,
    Sample,
    ServiceUnavailable,
    Target,
    UnexpectedReply,
    Unreachable,
    client_tls_context,
    validate_params,
)

__all__ = ["HttpParams", "HttpProbe", "certificate_not_after", "create"]

STATUS = Family("trunkwatch_http_status_code", "gauge", "HTTP status of the final response.")
DURATION = Family(
    "trunkwatch_http_duration_seconds",
    "gauge",
    "From sending the request to the end of the body read (redirects included).",
)
CONNECT = Family(
    "trunkwatch_http_connect_seconds", "gauge", "Time to open the connection (TLS included)."
)
CERT_EXPIRY = Family(
    "trunkwatch_tls_cert_expiry_seconds",
    "gauge",
    "Seconds until the server certificate's notAfter (negative once expired).",
)

_TIMEOUT_MARGIN: Final = 0.95


class HttpParams(BaseModel):
    """An HTTP probe's parameters. Without ``url`` the target becomes ``scheme://host:port/path``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    scheme: Literal["http", "https"] | None = Field(None, description="default: https on 443")
    port: int | None = Field(None, ge=1, le=65535, description="default: the address's port")
    path: str = "/"
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: tuple[int, ...] = Field((), description="default: any 2xx")
    body_regex: str | None = None
    max_body: int = Field(1 << 20, ge=0, le=16 << 20, description="bytes read for the match")
    headers: dict[str, str] = Field(default_factory=dict)
    follow_redirects: bool = True
    tls_verify: bool = True
    ca_file: str | None = None
    server_name: str | None = None
    cert_expiry: bool = True

    @field_validator("body_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


# -- certificates --------------------------------------------------------------------------


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def certificate_not_after(der: bytes) -> datetime:
    """The notAfter of a DER X.509 certificate (read without verifying anything)."""
    try:
        _, cert, _ = _der_item(der, 0)
        _, pos, _ = _der_item(der, cert)  # tbsCertificate
        tag, _, end = _der_item(der, pos)
        if tag == 0xA0:  # explicit version
            pos = end
        for _ in range(3):  # serialNumber, signature algorithm, issuer
            _, _, pos = _der_item(der, pos)
        tag, validity, _ = _der_item(der, pos)
        if tag != 0x30:
            raise ValueError("no validity")
        _, _, after = _der_item(der, validity)  # skip notBefore
        tag, start, end = _der_item(der, after)
        text = der[start:end].decode("ascii")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedReply(f"unreadable certificate: {exc}") from exc
    try:
        if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY < 50 is 20YY
            year = int(text[:2])
            text = f"{2000 + year if year < 50 else 1900 + year}{text[2:]}"
        elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
            raise ValueError("notAfter is not a time")
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise MalformedReply(f"unreadable certificate time: {exc}") from exc


# -- the probe -----------------------------------------------------------------------------


class HttpProbe:
    def __init__(self, params: HttpParams, timeout: float) -> None:
        self.params = params
        self.timeout = timeout
        self._regex = re.compile(params.body_regex) if params.body_regex else None
        self._ssl: ssl.SSLContext | None = None

    def _url(self, target: Target) -> str:
        if self.params.url:
            return self.params.url
        if "://" in target.host:
            return target.host
        host = f"[{target.host}]" if ":" in target.host else target.host
        number = self.params.port or target.port
        port = f":{number}" if number else ""
        scheme = self.params.scheme or ("https" if number == 443 else "http")
        return f"{scheme}://{host}{port}{self.params.path}"

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = client_tls_context(self.params.ca_file, self.params.tls_verify)
        return self._ssl

    async def run(self, target: Target) -> ProbeResult:
        url = self._url(target)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProbeConfigError(f"not an http(s) URL: {url!r}")
        # The certificate's expiry, once read, stays true whatever the request then meets.
        samples: list[Sample] = []
        try:
            async with asyncio.timeout(self.timeout * _TIMEOUT_MARGIN):
                if parts.scheme == "https" and self.params.cert_expiry:
                    port = parts.port or 443
                    expires = await self._certificate_expiry(parts.hostname, port)
                    samples.append(Sample(CERT_EXPIRY, expires))
                samples += await self._request(url)
        except ProbeError as exc:
            exc.samples = (*samples, *exc.samples)
            raise
        except TimeoutError as exc:
            raise ProbeTimeout(
                f"no complete response within {self.timeout * _TIMEOUT_MARGIN:g}s",
                samples=samples,
            ) from exc
        return ProbeResult(samples)

    async def _certificate_expiry(self, host: str, port: int) -> float:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except ConnectionRefusedError as exc:
            raise ConnectionRefused("connection refused") from exc
        except OSError as exc:
            raise Unreachable(exc.strerror or type(exc).__name__) from exc
        try:
            # Upgraded on an open stream: a failed handshake then still closes the socket.
            await writer.start_tls(self._context(), server_hostname=self.params.server_name or host)
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        except ssl.SSLCertVerificationError as exc:
            raise AuthError(f"TLS certificate rejected: {exc.verify_message}") from exc
        except (ssl.SSLError, OSError) as exc:
            raise MalformedReply(f"TLS handshake failed: {type(exc).__name__}") from exc
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
        del reader
        if not der:
            raise MalformedReply("the server sent no certificate")
        return (certificate_not_after(der) - datetime.now(UTC)).total_seconds()

    async def _request(self, url: str) -> list[Sample]:
        p = self.params
        connect = {"seconds": 0.0}

        async def on_start(*_: Any) -> None:
            connect["started"] = time.perf_counter()

        async def on_end(*_: Any) -> None:
            connect["seconds"] = time.perf_counter() - connect["started"]

        trace = aiohttp.TraceConfig()
        trace.on_connection_create_start.append(on_start)
        trace.on_connection_create_end.append(on_end)
        connector = aiohttp.TCPConnector(ssl=self._context(), force_close=True)
        started = time.perf_counter()
        try:
            async with (
                aiohttp.ClientSession(
                    connector=connector,
                    trace_configs=[trace],
                    headers={"User-Agent": "trunkwatch", **p.headers},
                ) as session,
                session.request(
                    p.method, url, allow_redirects=p.follow_redirects, max_redirects=5
                ) as response,
            ):
                body = await _read_body(response, p.max_body) if p.method != "HEAD" else b""
                status = response.status
                charset = response.charset or "utf-8"
        except aiohttp.ClientConnectorCertificateError as exc:
            raise AuthError(f"TLS certificate rejected: {exc.certificate_error}") from exc
        except aiohttp.ClientSSLError as exc:
            raise MalformedReply("TLS handshake failed") from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ConnectionRefusedError):
                raise ConnectionRefused("connection refused") from exc
            raise Unreachable(exc.os_error.strerror or "cannot connect") from exc
        except aiohttp.TooManyRedirects as exc:
            raise UnexpectedReply("too many redirects") from exc
        except aiohttp.InvalidURL as exc:
            raise ProbeConfigError(f"invalid URL {url!r}") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise UnexpectedReply("server closed the connection without a response") from exc
        except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError) as exc:
            raise MalformedReply(f"bad HTTP response: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise UnexpectedReply(f"HTTP failed: {type(exc).__name__}") from exc
        elapsed = time.perf_counter() - started
        # An answer, wanted or not, is a measurement: status and timings stay with a failure.
        measured = [
            Sample(STATUS, status),
            Sample(DURATION, elapsed),
            Sample(CONNECT, connect["seconds"]),
        ]
        expected = status in p.expect_status if p.expect_status else 200 <= status < 300
        if not expected:
            if status >= 500:
                raise ServiceUnavailable(f"HTTP {status}", samples=measured)
            raise UnexpectedReply(f"HTTP {status}", samples=measured)
        if self._regex is not None:
            try:
                text = body.decode(charset, errors="replace")
            except LookupError:  # a charset Python does not know
                text = body.decode("utf-8", errors="replace")
            if self._regex.search(text) is None:
                raise UnexpectedReply(
                    f"body does not match /{self._regex.pattern}/", samples=measured
                )
        return measured


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body; to its end if shorter, so truncation is noticed."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def create(params: Mapping[str, Any], *, timeout: float) -> HttpProbe:
    parsed = validate_params(HttpParams, params)
    if parsed.url is not None:
        parts = urlsplit(parsed.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProbeParamsError([("url", "expected an http:// or https:// URL")])
    return HttpProbe(parsed, timeout)
