"""SIP probe: an OPTIONS "ping" over UDP, TCP or TLS, and optionally a digest-authenticated
REGISTER that proves a trunk's credentials still work.

Outcome (RFC 3261 §11): a 2xx final response is available (success); any other final response
is reachable but unavailable (``ServiceUnavailable``, reason ``unavailable``: 503, 404 …) unless
listed in ``accept``; no final response within the timeout is down (``timeout``), an ICMP port
unreachable or a refused connection is ``refused``. Replies that cannot be parsed are
``malformed``; well-formed replies that do not belong to our transaction are ``unexpected``.

The REGISTER carries no Contact header: RFC 3261 §10.2.3 makes that a query of the current
bindings, so the check authenticates against the registrar without touching the
registration the trunk's own equipment keeps. A rejection after authenticating is ``auth``.
Passwords come from the target's secrets (``user``, ``password``) and appear in no message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from probes.base import (
    AuthError,
    ConnectionRefused,
    Family,
    MalformedReply,
    ProbeConfigError,
    ProbeError,
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

__all__ = [
    "Challenge",
    "SipParams",
    "SipProbe",
    "SipResponse",
    "SipUri",
    "create",
    "digest_authorization",
    "parse_challenge",
    "parse_response",
    "parse_uri",
    "server_label",
]

RESPONSE_CODE = Family(
    "trunkwatch_sip_response_code", "gauge", "Status code of the final response to OPTIONS."
)
RTT = Family(
    "trunkwatch_sip_rtt_seconds",
    "gauge",
    "Time from sending OPTIONS (first transmission) to its final response.",
)
SERVER_INFO = Family(
    "trunkwatch_sip_server_info",
    "gauge",
    "The peer's Server (else User-Agent) header, printable ASCII cut to 64 characters.",
)
REGISTER_SECONDS = Family(
    "trunkwatch_sip_register_seconds",
    "gauge",
    "Time for the authenticated REGISTER, challenge round included.",
)

T1: Final = 0.5  # RFC 3261 timer T1: first UDP retransmission interval
T2: Final = 4.0  # cap of the retransmission interval for non-INVITE requests
MAX_MESSAGE: Final = 65_536
MAX_HEADERS: Final = 128
SERVER_LABEL_MAX: Final = 64
_TIMEOUT_MARGIN: Final = 0.95

#: RFC 3261 §7.3.3 compact header names.
_COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
}
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_STATUS = re.compile(r"^SIP/2\.0 ([1-6][0-9]{2})(?: (.*))?$")


class SipParams(BaseModel):
    """A SIP probe's parameters. The transport defaults to the URI's, else UDP."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    transport: Literal["udp", "tcp", "tls"] | None = None
    port: int | None = Field(None, ge=1, le=65535)
    request_uri: str | None = Field(None, description="default: sip:HOST[:PORT]")
    from_user: str = Field("trunkwatch", pattern=r"^[A-Za-z0-9._~-]{1,32}$")
    accept: tuple[int, ...] = Field((), description="final codes that also count as available")
    #: ``register: true`` in the configuration (the name pydantic reserves for itself).
    registration: bool = Field(False, alias="register")
    domain: str | None = Field(None, description="registrar domain, default the target host")
    tls_verify: bool = True
    ca_file: str | None = None
    server_name: str | None = None


# -- URIs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SipUri:
    scheme: Literal["sip", "sips"]
    host: str
    port: int | None = None
    user: str | None = None
    transport: str | None = None

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def parse_uri(text: str) -> SipUri:
    """``sip:[user@]host[:port][;params]`` (IPv6 in brackets); ValueError if it is not one."""
    scheme, sep, rest = text.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in ("sip", "sips"):
        raise ValueError(f"not a sip: or sips: URI: {text!r}")
    rest, _, params_text = rest.partition(";")
    rest = rest.split("?", 1)[0]
    user, at, hostport = rest.rpartition("@")
    if not at:
        user, hostport = "", rest
    if hostport.startswith("["):
        host, close, after = hostport[1:].partition("]")
        if not close or (after and not after.startswith(":")):
            raise ValueError(f"bad IPv6 reference in {text!r}")
        port_text = after[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise ValueError(f"no host in {text!r}")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"bad port in {text!r}")
        port = int(port_text)
    transport = None
    for param in params_text.split(";") if params_text else ():
        key, _, value = param.partition("=")
        if key.strip().lower() == "transport":
            transport = value.strip().lower()
    return SipUri("sips" if scheme == "sips" else "sip", host, port, user or None, transport)


# -- messages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SipResponse:
    code: int
    reason: str
    headers: Mapping[str, tuple[str, ...]]

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


def _split_head(data: bytes) -> tuple[bytes, bytes] | None:
    """Header block and the rest, or None if the blank line has not arrived yet."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = data.partition(sep)
        if found:
            return head, rest
    return None


def parse_response(data: bytes) -> tuple[SipResponse, int]:
    """Parse a response's start line and headers; also return the declared body length.

    Anything that is not a SIP/2.0 response raises ``MalformedReply`` with a short reason;
    no input, however hostile, raises anything else.
    """
    if len(data) > MAX_MESSAGE:
        raise MalformedReply(f"response larger than {MAX_MESSAGE} bytes")
    split = _split_head(data)
    if split is None:
        raise MalformedReply("response without an end of headers")
    head = split[0].decode("utf-8", errors="replace")
    lines = head.replace("\r\n", "\n").split("\n")
    match = _STATUS.match(lines[0].strip())
    if match is None:
        raise MalformedReply(f"not a SIP/2.0 status line: {_printable(lines[0], 40)!r}")
    headers: dict[str, list[str]] = {}
    last: str | None = None
    if len(lines) > MAX_HEADERS:
        raise MalformedReply(f"more than {MAX_HEADERS} header lines")
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            if last is None:
                raise MalformedReply("continuation line before any header")
            headers[last][-1] += " " + line.strip()  # obsolete line folding
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not _TOKEN.match(name):
            raise MalformedReply(f"bad header line: {_printable(line, 40)!r}")
        name = _COMPACT.get(name, name)
        headers.setdefault(name, []).append(value.strip())
        last = name
    length_text = (headers.get("content-length") or ["0"])[0]
    if not length_text.isdigit() or len(length_text) > 6:
        raise MalformedReply(f"bad Content-Length: {_printable(length_text, 20)!r}")
    response = SipResponse(
        int(match.group(1)),
        _printable(match.group(2) or "", 64),
        {k: tuple(v) for k, v in headers.items()},
    )
    return response, int(length_text)


def _printable(text: str, limit: int) -> str:
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return " ".join(cleaned.split())[:limit]


def server_label(response: SipResponse) -> str:
    """The bounded ``server`` label value: Server, else User-Agent, else "unknown"."""
    value = response.first("server") or response.first("user-agent") or ""
    return _printable(value, SERVER_LABEL_MAX) or "unknown"


def _via_branch(via: str) -> str | None:
    first = via.split(",", 1)[0]
    for param in first.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "branch":
            return value.strip()
    return None


# -- digest authentication -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None


_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^",\s]*)\s*(?:,|$)')
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data),
}


def parse_challenge(header: str) -> Challenge:
    """A ``Digest`` WWW-/Proxy-Authenticate value; MalformedReply if unusable."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise MalformedReply(f"unsupported authentication scheme {_printable(scheme, 20)!r}")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            raise MalformedReply("unparseable Digest challenge")
        key, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key] = value
        pos = match.end()
    if "realm" not in params or "nonce" not in params:
        raise MalformedReply("Digest challenge without realm or nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5"),
        qop=qop,
        opaque=params.get("opaque"),
    )


def digest_authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The Authorization value answering ``challenge`` (RFC 2617 / RFC 7616, qop=auth)."""
    algorithm = challenge.algorithm.upper()
    session = algorithm.endswith("-SESS")
    base = algorithm.removesuffix("-SESS")
    hasher = _HASHES.get(base)
    if hasher is None:
        raise UnexpectedReply(f"unsupported digest algorithm {_printable(algorithm, 20)!r}")
    if challenge.qop and "auth" not in challenge.qop:
        raise UnexpectedReply("the server offers only qop=auth-int")

    def h(text: str) -> str:
        return str(hasher(text.encode()).hexdigest())

    ha1 = h(f"{username}:{challenge.realm}:{password}")
    if session:
        ha1 = h(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    nc_text = f"{nc:08x}"
    if challenge.qop:
        response = h(f"{ha1}:{challenge.nonce}:{nc_text}:{cnonce}:auth:{ha2}")
    else:
        response = h(f"{ha1}:{challenge.nonce}:{ha2}")
    parts = [
        f'username="{_quote(username)}"',
        f'realm="{_quote(challenge.realm)}"',
        f'nonce="{_quote(challenge.nonce)}"',
        f'uri="{_quote(uri)}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if challenge.qop:
        parts += [f'cnonce="{cnonce}"', "qop=auth", f"nc={nc_text}"]
    if challenge.opaque is not None:
        parts.append(f'opaque="{_quote(challenge.opaque)}"')
    return "Digest " + ", ".join(parts)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# -- transports ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Transaction:
    """What a response must carry to be ours."""

    branch: str
    call_id: str
    cseq: int
    method: str

    def matches(self, response: SipResponse) -> bool:
        via = response.first("via")
        cseq = (response.first("cseq") or "").split()
        return (
            via is not None
            and _via_branch(via) == self.branch
            and response.first("call-id") == self.call_id
            and len(cseq) == 2
            and cseq[0] == str(self.cseq)
            and cseq[1].upper() == self.method
        )


class _Channel:
    """One connection (or connected UDP socket) carrying one run's transactions."""

    local: tuple[str, int]
    name: str
    #: Well-formed responses seen that belonged to no transaction of ours.
    foreign: int = 0

    async def transact(self, request: bytes, txn: _Transaction) -> SipResponse:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.queue.put_nowait(exc)


class _UdpChannel(_Channel):
    name = "UDP"

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _UdpProtocol) -> None:
        self.transport = transport
        self.protocol = protocol
        sockname = transport.get_extra_info("sockname")
        self.local = (str(sockname[0]), int(sockname[1]))

    async def transact(self, request: bytes, txn: _Transaction) -> SipResponse:
        loop = asyncio.get_running_loop()
        interval = T1
        self.transport.sendto(request)
        resend_at = loop.time() + interval
        while True:
            try:
                async with asyncio.timeout_at(resend_at):
                    item = await self.protocol.queue.get()
            except TimeoutError:
                # RFC 3261 timer E: retransmit, doubling up to T2, until a final response.
                interval = min(interval * 2, T2)
                self.transport.sendto(request)
                resend_at = loop.time() + interval
                continue
            if isinstance(item, OSError):
                raise _os_error(item)
            if isinstance(item, Exception):
                raise Unreachable(f"UDP: {type(item).__name__}")
            response, _ = parse_response(item)
            if not txn.matches(response):
                # Perhaps a late answer to an earlier probe that used the same port: wait on,
                # but a peer that only ever answers something else is recorded as such.
                self.foreign += 1
                if self.foreign > 16:
                    raise UnexpectedReply("responses that do not match the transaction")
                continue
            if response.code >= 200:
                return response

    async def close(self) -> None:
        self.transport.close()


class _StreamChannel(_Channel):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str):
        self.reader, self.writer, self.name = reader, writer, name
        sockname = writer.get_extra_info("sockname")
        self.local = (str(sockname[0]), int(sockname[1]))

    async def _read_message(self) -> SipResponse:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError as exc:
            raise MalformedReply(f"response headers beyond {MAX_MESSAGE} bytes") from exc
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise MalformedReply("connection closed inside a response") from exc
            raise UnexpectedReply("connection closed without a response") from exc
        response, length = parse_response(head)
        if length:
            try:
                await self.reader.readexactly(length)
            except asyncio.IncompleteReadError as exc:
                raise MalformedReply("connection closed inside a response body") from exc
        return response

    async def transact(self, request: bytes, txn: _Transaction) -> SipResponse:
        self.writer.write(request)
        await self.writer.drain()
        while True:
            response = await self._read_message()
            if not txn.matches(response):
                # A stream carries only our requests: anything else is the peer's mistake.
                raise UnexpectedReply(f"response to another transaction ({response.code})")
            if response.code >= 200:
                return response

    async def close(self) -> None:
        await _close_stream(self.writer)


async def _close_stream(writer: asyncio.StreamWriter) -> None:
    """Close and wait (briefly) until the socket is gone: a TLS close_notify needs the loop."""
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()


def _os_error(exc: OSError) -> ProbeError:
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionRefused("port unreachable / connection refused")
    return Unreachable(exc.strerror or type(exc).__name__)


# -- the probe -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    host: str
    port: int
    transport: Literal["udp", "tcp", "tls"]
    request_uri: str
    stats: dict[str, float] = field(default_factory=dict)


class SipProbe:
    def __init__(self, params: SipParams, timeout: float) -> None:
        self.params = params
        self.timeout = timeout
        self._tls: ssl.SSLContext | None = None

    def _plan(self, target: Target) -> _Plan:
        p = self.params
        uri: SipUri | None = None
        if target.host.lower().startswith(("sip:", "sips:")):
            try:
                uri = parse_uri(target.host)
            except ValueError as exc:
                raise ProbeConfigError(str(exc)) from exc
            host = uri.host
            port_hint = uri.port
            transport = p.transport or uri.transport or ("tls" if uri.scheme == "sips" else "udp")
        else:
            host, port_hint = target.host.strip("[]"), target.port
            transport = p.transport or "udp"
        if transport not in ("udp", "tcp", "tls"):
            raise ProbeConfigError(f"unsupported SIP transport {transport!r}")
        port = p.port or port_hint or (5061 if transport == "tls" else 5060)
        if p.request_uri:
            request_uri = p.request_uri
        else:
            scheme = "sips" if transport == "tls" else "sip"
            request_uri = f"{scheme}:{SipUri('sip', host, port).hostport}"
        return _Plan(host, port, transport, request_uri)  # type: ignore[arg-type]

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = client_tls_context(self.params.ca_file, self.params.tls_verify)
        return self._tls

    async def _open(self, plan: _Plan) -> _Channel:
        loop = asyncio.get_running_loop()
        try:
            if plan.transport == "udp":
                transport, protocol = await loop.create_datagram_endpoint(
                    _UdpProtocol, remote_addr=(plan.host, plan.port)
                )
                return _UdpChannel(transport, protocol)
            reader, writer = await asyncio.open_connection(plan.host, plan.port, limit=MAX_MESSAGE)
        except OSError as exc:
            raise _os_error(exc) from exc
        if plan.transport == "tls":
            # TLS upgraded on an open stream, so that a failed handshake still leaves us the
            # writer to close (a failed ``open_connection(ssl=…)`` leaks its socket).
            try:
                await writer.start_tls(
                    self._tls_context(), server_hostname=self.params.server_name or plan.host
                )
            except ssl.SSLCertVerificationError as exc:
                await _close_stream(writer)
                raise AuthError(f"TLS certificate rejected: {exc.verify_message}") from exc
            except (ssl.SSLError, OSError) as exc:
                await _close_stream(writer)
                raise MalformedReply(f"TLS handshake failed: {type(exc).__name__}") from exc
            except BaseException:  # cancelled by the timeout: still release the socket
                writer.close()
                raise
        return _StreamChannel(reader, writer, plan.transport.upper())

    async def run(self, target: Target) -> ProbeResult:
        plan = self._plan(target)
        stage = "connect"
        channel: _Channel | None = None
        # What OPTIONS measured stays true when REGISTER fails after it.
        samples: list[Sample] = []
        try:
            async with asyncio.timeout(self.timeout * _TIMEOUT_MARGIN):
                channel = await self._open(plan)
                try:
                    stage = "OPTIONS"
                    samples = await self._options(channel, plan)
                    if self.params.registration:
                        stage = "REGISTER"
                        samples.append(await self._register(channel, plan, target))
                finally:
                    await channel.close()
        except ProbeError as exc:
            exc.samples = (*samples, *exc.samples)
            raise
        except TimeoutError as exc:
            if channel is not None and channel.foreign:
                raise UnexpectedReply(
                    f"{stage}: {channel.foreign} response(s), none to this transaction",
                    samples=samples,
                ) from exc
            raise ProbeTimeout(
                f"no final response to {stage} within {self.timeout * _TIMEOUT_MARGIN:g}s",
                samples=samples,
            ) from exc
        except ssl.SSLError as exc:
            raise MalformedReply(
                f"{stage}: TLS failed: {type(exc).__name__}", samples=samples
            ) from exc
        except ConnectionError as exc:
            raise UnexpectedReply(
                f"{stage}: connection reset by the peer", samples=samples
            ) from exc
        return ProbeResult(samples)

    def _request(
        self,
        channel: _Channel,
        plan: _Plan,
        method: str,
        *,
        request_uri: str,
        to: str,
        from_uri: str,
        call_id: str,
        tag: str,
        cseq: int,
        extra: tuple[str, ...] = (),
        contact: bool = True,
    ) -> tuple[bytes, _Transaction]:
        branch = "z9hG4bK" + secrets.token_hex(10)
        host, port = channel.local
        via_host = f"[{host}]" if ":" in host else host
        lines = [
            f"{method} {request_uri} SIP/2.0",
            f"Via: SIP/2.0/{channel.name} {via_host}:{port};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <{from_uri}>;tag={tag}",
            f"To: <{to}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
        ]
        if contact:
            lines.append(f"Contact: <sip:{self.params.from_user}@{via_host}:{port}>")
        lines += [*extra, "User-Agent: trunkwatch", "Content-Length: 0", "", ""]
        return "\r\n".join(lines).encode(), _Transaction(branch, call_id, cseq, method)

    async def _options(self, channel: _Channel, plan: _Plan) -> list[Sample]:
        local = channel.local[0]
        local_host = f"[{local}]" if ":" in local else local
        request, txn = self._request(
            channel,
            plan,
            "OPTIONS",
            request_uri=plan.request_uri,
            to=plan.request_uri,
            from_uri=f"sip:{self.params.from_user}@{local_host}",
            call_id=f"{secrets.token_hex(12)}@trunkwatch",
            tag=secrets.token_hex(6),
            cseq=1,
            extra=("Accept: application/sdp",),
        )
        started = time.perf_counter()
        response = await channel.transact(request, txn)
        rtt = time.perf_counter() - started
        measured = [
            Sample(RESPONSE_CODE, response.code),
            Sample(RTT, rtt),
            Sample(SERVER_INFO, 1, (("server", server_label(response)),)),
        ]
        if not (200 <= response.code < 300 or response.code in self.params.accept):
            # Reachable but refusing service: the code and the round trip are measurements.
            raise ServiceUnavailable(
                f"OPTIONS answered {response.code} {response.reason}".strip(), samples=measured
            )
        return measured

    async def _register(self, channel: _Channel, plan: _Plan, target: Target) -> Sample:
        username, password = target.secret("user"), target.secret("password")
        if not username or password is None:
            raise ProbeConfigError("REGISTER needs the secrets user and password")
        domain = self.params.domain or plan.host
        domain_host = f"[{domain}]" if ":" in domain and not domain.startswith("[") else domain
        scheme = "sips" if plan.transport == "tls" else "sip"
        registrar = f"{scheme}:{domain_host}"
        aor = f"{scheme}:{username}@{domain_host}"
        call_id, tag = f"{secrets.token_hex(12)}@trunkwatch", secrets.token_hex(6)
        started = time.perf_counter()
        extra: tuple[str, ...] = ()
        for cseq in (1, 2):
            request, txn = self._request(
                channel,
                plan,
                "REGISTER",
                request_uri=registrar,  # a REGISTER addresses the registrar's domain
                to=aor,
                from_uri=aor,
                call_id=call_id,
                tag=tag,
                cseq=cseq,
                extra=extra,
                contact=False,
            )
            response = await channel.transact(request, txn)
            if 200 <= response.code < 300:
                return Sample(REGISTER_SECONDS, time.perf_counter() - started)
            if response.code in (401, 407) and cseq == 1:
                header = "www-authenticate" if response.code == 401 else "proxy-authenticate"
                value = response.first(header)
                if value is None:
                    raise MalformedReply(f"{response.code} without {header}")
                challenge = parse_challenge(value)
                answer = digest_authorization(
                    challenge,
                    method="REGISTER",
                    uri=registrar,
                    username=username,
                    password=password,
                    cnonce=secrets.token_hex(8),
                )
                name = "Authorization" if response.code == 401 else "Proxy-Authorization"
                extra = (f"{name}: {answer}",)
                continue
            if response.code in (401, 403, 407):
                raise AuthError(f"REGISTER rejected the credentials: {response.code}")
            raise ServiceUnavailable(f"REGISTER answered {response.code} {response.reason}".strip())
        raise AuthError("REGISTER rejected the credentials")


def create(params: Mapping[str, Any], *, timeout: float) -> SipProbe:
    return SipProbe(validate_params(SipParams, params), timeout)
