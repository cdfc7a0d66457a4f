"""SIP probe pieces, and the probe against a hostile responder on loopback.

The responder is ours: it answers every request with whatever a test's behaviour writes,
from well-formed responses with a poisonous Server header to bytes that are not SIP at all.
Each case must end as a recorded failure with the right reason, never an exception of
another kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from probes.base import (
    AuthError,
    MalformedReply,
    ProbeError,
    ProbeTimeout,
    ServiceUnavailable,
    Target,
    UnexpectedReply,
)
from probes.sip import (
    Challenge,
    SipUri,
    create,
    digest_authorization,
    parse_challenge,
    parse_response,
    parse_uri,
    server_label,
)

# -- URIs, messages, digest ----------------------------------------------------------------


def test_uri_forms() -> None:
    assert parse_uri("sip:127.0.0.1:5060;transport=udp") == SipUri(
        "sip", "127.0.0.1", 5060, None, "udp"
    )
    assert parse_uri("sips:trunk@[fd00::1]:5061") == SipUri("sips", "fd00::1", 5061, "trunk")
    assert parse_uri("SIP:sbc.example.org") == SipUri("sip", "sbc.example.org")
    for bad in ("http://x", "sip:", "sip:[::1", "sip:host:99999", "sip:host:abc"):
        with pytest.raises(ValueError, match=r"URI|host|port|IPv6"):
            parse_uri(bad)


def test_response_with_compact_and_folded_headers() -> None:
    data = (
        b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc\r\n"
        b"i: call-1\r\nCSeq: 1 OPTIONS\r\nServer: Acme SBC\r\n  v2.1\r\nl: 0\r\n\r\n"
    )
    response, length = parse_response(data)
    assert response.code == 200 and length == 0
    assert response.first("call-id") == "call-1"
    assert response.first("via") == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc"
    assert server_label(response) == "Acme SBC v2.1"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"SIP/2.0 200 OK\r\n",  # no end of headers
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"SIP/2.0 999 Nope\r\n\r\n",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n",
        b"SIP/2.0 200 OK\r\n continuation first\r\n\r\n",
        b"SIP/2.0 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
        b"SIP/2.0 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
        b"\x00\xff\xfe\r\n\r\n",
        b"SIP/2.0 200 OK\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n",
    ],
)
def test_malformed_responses_raise_malformed(data: bytes) -> None:
    with pytest.raises(MalformedReply):
        parse_response(data)


def test_random_bytes_raise_only_malformed() -> None:
    rng = random.Random(5)
    pieces = [b"SIP/2.0 ", b"200", b" OK", b"\r\n", b"Via: ", b":", b"\r\n\r\n", b"\xff", b" "]
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        data += bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 8)))
        with contextlib.suppress(MalformedReply):
            parse_response(data)


def test_server_label_is_bounded_and_printable() -> None:
    evil = "Evil\x00\x1b[31m" + "\u202e" + "A" * 5000
    response, _ = parse_response(f"SIP/2.0 200 OK\r\nServer: {evil}\r\n\r\n".encode())
    label = server_label(response)
    assert len(label) == 64
    assert all(" " <= ch <= "~" for ch in label)
    bare, _ = parse_response(b"SIP/2.0 200 OK\r\n\r\n")
    assert server_label(bare) == "unknown"


def test_digest_matches_rfc2617_example() -> None:
    challenge = Challenge(
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop=("auth", "auth-int"),
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
    )
    value = digest_authorization(
        challenge, method="GET", uri="/dir/index.html", username="Mufasa",
        password="Circle Of Life", cnonce="0a4f113b",
    )  # fmt: skip
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert "Circle Of Life" not in value


def test_challenge_parsing() -> None:
    challenge = parse_challenge(
        'Digest realm="trunk \\"A\\"", nonce="n1", qop="auth,auth-int", algorithm=SHA-256, '
        'opaque="o", stale=FALSE'
    )
    assert challenge == Challenge('trunk "A"', "n1", "SHA-256", ("auth", "auth-int"), "o")
    for bad in ('Basic realm="x"', 'Digest realm="x"', 'Digest realm="x", nonce="unterminated'):
        with pytest.raises(MalformedReply):
            parse_challenge(bad)
    with pytest.raises(UnexpectedReply, match="algorithm"):
        digest_authorization(
            Challenge("r", "n", "SHA-1"), method="REGISTER", uri="sip:x", username="u",
            password="p", cnonce="c",
        )  # fmt: skip


# -- the hostile responder -------------------------------------------------------------------

Behaviour = Callable[[str], list[bytes]]


def reply(request: str, status: str = "200 OK", extra: str = "", *, call_id: str | None = None,
          branch: str | None = None) -> bytes:  # fmt: skip
    """A response that echoes the request's transaction headers (or poisons them)."""
    headers = dict(
        (name.lower(), value.strip())
        for name, _, value in (line.partition(":") for line in request.split("\r\n")[1:])
        if value
    )
    via = headers["via"]
    if branch is not None:
        via = re.sub(r"branch=[^;]+", f"branch={branch}", via)
    return (
        f"SIP/2.0 {status}\r\nVia: {via}\r\nFrom: {headers['from']}\r\nTo: {headers['to']};tag=x\r\n"
        f"Call-ID: {call_id or headers['call-id']}\r\nCSeq: {headers['cseq']}\r\n{extra}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.transport: asyncio.DatagramTransport | None = None
        self.requests: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode()
        self.requests.append(text)
        assert self.transport is not None
        for answer in self.behaviour(text):
            self.transport.sendto(answer, addr)


@pytest.fixture
async def udp_peer() -> AsyncIterator[Callable[[Behaviour], Awaitable[tuple[int, _Responder]]]]:
    transports: list[asyncio.DatagramTransport] = []

    async def start(behaviour: Behaviour) -> tuple[int, _Responder]:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Responder(behaviour), local_addr=("127.0.0.1", 0)
        )
        transports.append(transport)
        return int(transport.get_extra_info("sockname")[1]), protocol

    try:
        yield start
    finally:
        for transport in transports:
            transport.close()


async def _options(port: int, within: float = 2.0, **params: object) -> object:
    return await create(params, timeout=within).run(Target("trunk", f"sip:127.0.0.1:{port}"))


async def test_request_carries_proper_transaction_fields(udp_peer) -> None:  # type: ignore[no-untyped-def]
    port, peer = await udp_peer(lambda req: [reply(req)])
    await _options(port)
    (request,) = peer.requests
    assert request.startswith(f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n")
    assert re.search(
        r"^Via: SIP/2\.0/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK\w+;rport\r$", request, re.M
    )
    assert "\r\nMax-Forwards: 70\r\n" in request
    assert re.search(r"^CSeq: 1 OPTIONS\r$", request, re.M)
    assert re.search(r"^Call-ID: \w+@trunkwatch\r$", request, re.M)
    assert re.search(r"^From: <sip:trunkwatch@127\.0\.0\.1>;tag=\w+\r$", request, re.M)


@pytest.mark.parametrize(
    ("behaviour", "error", "match"),
    [
        (lambda req: [b"\x00\x01garbage\xff"], MalformedReply, "end of headers"),
        (lambda req: [b"SIP/2.0 2OO OK\r\n\r\n"], MalformedReply, "status line"),
        (lambda req: [reply(req, extra="Content-Length: x\r\n")], MalformedReply, "Content-Length"),
        (lambda req: [reply(req, "503 Service Unavailable")], ServiceUnavailable, "503"),
        (lambda req: [reply(req, "404 Not Found")], ServiceUnavailable, "404"),
        (lambda req: [reply(req, "100 Trying")], ProbeTimeout, "OPTIONS"),
        (lambda req: [reply(req, call_id="someone-else")], UnexpectedReply, "none to this"),
        (lambda req: [reply(req, branch="z9hG4bKother")], UnexpectedReply, "none to this"),
        (lambda req: [reply(req, call_id=f"x{i}") for i in range(20)], UnexpectedReply, "match"),
        (lambda req: [], ProbeTimeout, "OPTIONS"),
    ],
)
async def test_hostile_udp_replies_are_recorded_failures(  # type: ignore[no-untyped-def]
    udp_peer, behaviour: Behaviour, error: type[ProbeError], match: str
) -> None:
    port, _ = await udp_peer(behaviour)
    with pytest.raises(error, match=match):
        await _options(port, within=1.2)


async def test_retransmits_until_answered(udp_peer) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def second_time_lucky(req: str) -> list[bytes]:
        seen.append(req)
        return [reply(req)] if len(seen) >= 2 else []

    port, _ = await udp_peer(second_time_lucky)
    result = await _options(port)
    assert len(seen) == 2 and seen[0] == seen[1]  # the same transaction, retransmitted (T1)
    rtt = next(s.value for s in result.samples if s.family.name == "trunkwatch_sip_rtt_seconds")  # type: ignore[attr-defined]
    assert 0.5 <= rtt < 0.8


async def test_accepted_codes_count_as_available(udp_peer) -> None:  # type: ignore[no-untyped-def]
    port, _ = await udp_peer(lambda req: [reply(req, "404 Not Found", "Server: \x1b[2Jx\r\n")])
    result = await _options(port, accept=[404])
    values = {(s.family.name, s.labels): s.value for s in result.samples}  # type: ignore[attr-defined]
    assert values[("trunkwatch_sip_response_code", ())] == 404
    assert values[("trunkwatch_sip_server_info", (("server", "?[2Jx"),))] == 1


def _registrar(challenge: str, after: str) -> Behaviour:
    def behaviour(req: str) -> list[bytes]:
        if req.startswith("OPTIONS"):
            return [reply(req)]
        if "Authorization:" in req:
            return [reply(req, after)]
        return [reply(req, "401 Unauthorized", challenge)]

    return behaviour


@pytest.mark.parametrize(
    ("challenge", "after", "error", "match"),
    [
        ("", "200 OK", MalformedReply, "without www-authenticate"),
        ('WWW-Authenticate: Basic realm="x"\r\n', "200 OK", MalformedReply, "scheme"),
        ('WWW-Authenticate: Digest realm="x", nonce="n", algorithm=FOO\r\n', "200 OK",
         UnexpectedReply, "algorithm"),
        ('WWW-Authenticate: Digest realm="x", nonce="n"\r\n', "401 Unauthorized", AuthError, "401"),
        ('WWW-Authenticate: Digest realm="x", nonce="n"\r\n', "403 Forbidden", AuthError, "403"),
        ('WWW-Authenticate: Digest realm="x", nonce="n"\r\n', "500 Oops", ServiceUnavailable, "500"),
    ],
)  # fmt: skip
async def test_register_failures(  # type: ignore[no-untyped-def]
    udp_peer, challenge: str, after: str, error: type[ProbeError], match: str
) -> None:
    port, _ = await udp_peer(_registrar(challenge, after))
    probe = create({"register": True}, timeout=2)
    secrets = {"user": "trunk1", "password": "Top-Secret-9"}
    with pytest.raises(error, match=match) as caught:
        await probe.run(Target("trunk", "127.0.0.1", port, secrets))
    assert "Top-Secret-9" not in str(caught.value)


async def test_register_sends_digest_without_a_contact(udp_peer) -> None:  # type: ignore[no-untyped-def]
    port, peer = await udp_peer(
        _registrar('WWW-Authenticate: Digest realm="r", nonce="n1", qop="auth"\r\n', "200 OK")
    )
    probe = create({"register": True, "domain": "trunks.example"}, timeout=2)
    await probe.run(Target("t", "127.0.0.1", port, {"user": "trunk1", "password": "pw"}))
    first, second = (r for r in peer.requests if r.startswith("REGISTER"))
    assert first.startswith("REGISTER sip:trunks.example SIP/2.0")
    assert "Contact:" not in first  # a query of bindings: the trunk's registration is untouched
    assert "\r\nCSeq: 2 REGISTER\r\n" in second
    assert re.search(r'Authorization: Digest username="trunk1", realm="r", nonce="n1"', second)
    assert "qop=auth, nc=00000001" in second
    assert "pw" not in second.split("response=")[0].split("Authorization")[0]


async def test_register_without_secrets_is_a_config_error(udp_peer) -> None:  # type: ignore[no-untyped-def]
    from probes.base import ProbeConfigError

    port, _ = await udp_peer(lambda req: [reply(req)])
    with pytest.raises(ProbeConfigError, match="secrets"):
        await create({"register": True}, timeout=2).run(Target("t", "127.0.0.1", port))


# -- hostile stream peers --------------------------------------------------------------------


async def _close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _endless_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SIP/2.0 200 OK\r\nX: " + b"a" * 100_000)
    await writer.drain()
    await asyncio.sleep(1)


async def _half_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SIP/2.0 200 OK\r\nVia: x")
    await writer.drain()
    writer.close()


async def _short_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = (await reader.readuntil(b"\r\n\r\n")).decode()
    writer.write(reply(request).replace(b"Content-Length: 0", b"Content-Length: 500") + b"abc")
    await writer.drain()
    writer.close()


async def _silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(2)


async def _wrong_transaction(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = (await reader.readuntil(b"\r\n\r\n")).decode()
    writer.write(reply(request, call_id="not-yours"))
    await writer.drain()


@pytest.mark.parametrize(
    ("handler", "error", "match"),
    [
        (_close_at_once, UnexpectedReply, "without a response|reset by the peer"),
        (_endless_header, MalformedReply, "beyond"),
        (_half_then_close, MalformedReply, "closed inside a response"),
        (_short_body, MalformedReply, "body"),
        (_silence, ProbeTimeout, "OPTIONS"),
        (_wrong_transaction, UnexpectedReply, "another transaction"),
    ],
)
async def test_hostile_tcp_peers_are_recorded_failures(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    error: type[ProbeError],
    match: str,
) -> None:
    peers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handler(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(error, match=match):
            await create({"transport": "tcp"}, timeout=1).run(Target("t", "127.0.0.1", port))
    finally:
        server.close()
        for writer in peers:
            writer.close()
        await asyncio.sleep(0)
