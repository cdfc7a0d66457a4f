"""The web configuration file (``--web.config.file``): TLS and basic authentication for the
daemon's HTTP server, in the file format of the Prometheus exporter-toolkit, so one file and
one habit serve every exporter of the centre and Prometheus scrapes with its usual
``tls_config`` and ``basic_auth``::

    tls_server_config:
      cert_file: trunkwatch.crt        # relative paths are read beside this file
      key_file: trunkwatch.key
      client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file
      client_ca_file: tablets-ca.crt
      min_version: TLS12               # TLS12 (default) or TLS13; max_version likewise
    basic_auth_users:
      prometheus: $2b$12$…             # bcrypt hashes (htpasswd -nBC 12 USER, or python bcrypt)

As upstream: TLS is on when any of ``tls_server_config``'s certificate fields is given (then
both cert_file and key_file are required); basic authentication, when users are listed,
guards every path, ``/-/healthy`` and ``/metrics`` included; an unknown user costs the same
bcrypt comparison as a known one, so timing does not tell which user names exist; results are
cached per (user, password) so a scrape every 15 s pays bcrypt once. Requests that carry a
``Bearer`` token to a handler marked ``authenticates_itself`` (``monitor.web.guard``; the
inspection API, which refuses a wrong token with 401 before anything else) are left to that
handler, since one ``Authorization`` header cannot hold both schemes.

Differences, refused with a reason rather than ignored: TLS 1.0/1.1 (deprecated, RFC 8996);
client_auth_type RequestClientCert / RequireAnyClientCert (Python's ssl verifies every client
certificate it asks for); inline ``cert``/``key``/``client_ca``, cipher and curve lists,
``client_allowed_sans``, ``http_server_config`` and ``rate_limit``. The file is read at start:
restart the daemon to change users or certificates.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
import secrets
import ssl
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import bcrypt
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from monitor.core.sources import ConfigError, Problem, SourceMap, load_yaml
from monitor.web.guard import takes_bearer_requests

__all__ = [
    "BasicAuth",
    "TlsServerConfig",
    "WebConfig",
    "load_web_config",
]

TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = MappingProxyType(
    {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
)
#: client_auth_type → how the handshake treats a client certificate.
CLIENT_AUTH: Mapping[str, ssl.VerifyMode] = MappingProxyType(
    {
        "NoClientCert": ssl.CERT_NONE,
        "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
        "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    }
)
_TLS_FIELDS = {"cert_file", "key_file", "client_auth_type", "client_ca_file"}
_TLS_KNOWN = {*_TLS_FIELDS, "min_version", "max_version"}
_NOT_SUPPORTED = {
    "cert": "inline certificates are not supported: use cert_file",
    "key": "inline keys are not supported: use key_file",
    "client_ca": "inline CAs are not supported: use client_ca_file",
    "cipher_suites": "not supported: the TLS library's default suites are used",
    "curve_preferences": "not supported: the TLS library's default curves are used",
    "prefer_server_cipher_suites": "not supported: the TLS library's default order is used",
    "client_allowed_sans": "not supported: use a client CA that issues only allowed clients",
    "http_server_config": "not supported by trunkwatch (HTTP/1.1 only, headers are fixed)",
    "rate_limit": "not supported by trunkwatch",
}
_OLD_TLS = {"TLS10", "TLS11"}
_UNVERIFIED_CLIENT_AUTH = {"RequestClientCert", "RequireAnyClientCert", "RequireClientCert"}
# $2a$/$2b$/$2y$, a two-digit cost, 22 characters of salt and 31 of hash (bcrypt's base64).
_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
DEFAULT_COST = 10
CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class TlsServerConfig:
    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A checked web configuration; ``ssl_context`` was built (certificates read) on load."""

    source: Path
    tls: TlsServerConfig | None = None
    users: Mapping[str, bytes] = field(default_factory=dict)
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"

    def middlewares(self) -> list[Middleware]:
        """The aiohttp middlewares this configuration asks for (none without users)."""
        return [BasicAuth(self.users).middleware] if self.users else []


# -- loading ---------------------------------------------------------------------------------


class _EncryptedKey(Exception):
    pass


def _ask_no_password() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal and hang a service.
    raise _EncryptedKey


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check ``path``; build its TLS context. Raises ConfigError with every problem
    as ``file:line: field: reason`` (never a password hash)."""
    path = Path(path)
    document, smap = load_yaml(path)
    problems: list[Problem] = []
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([smap.problem((), "expected a mapping")])
    for key in document:
        if key in _NOT_SUPPORTED:
            problems.append(smap.problem((key,), _NOT_SUPPORTED[key]))
        elif key not in ("tls_server_config", "basic_auth_users"):
            problems.append(smap.problem((key,), "unknown field"))
    tls = _tls(document.get("tls_server_config"), smap, path.parent, problems)
    users = _users(document.get("basic_auth_users"), smap, problems)
    context = _ssl_context(tls, smap, problems) if tls is not None and not problems else None
    if problems:
        raise ConfigError(problems)
    return WebConfig(path, tls, MappingProxyType(users), context)


def _tls(raw: Any, smap: SourceMap, base: Path, problems: list[Problem]) -> TlsServerConfig | None:
    where = ("tls_server_config",)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(smap.problem(where, "expected a mapping"))
        return None
    before = len(problems)
    for key in raw:
        if key in _NOT_SUPPORTED:
            problems.append(smap.problem((*where, key), _NOT_SUPPORTED[key]))
        elif key not in _TLS_KNOWN:
            problems.append(smap.problem((*where, key), "unknown field"))
    text: dict[str, str] = {}
    for key in sorted(_TLS_KNOWN & raw.keys()):
        value = raw[key]
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            problems.append(smap.problem((*where, key), "expected a string"))
            continue
        text[key] = value
    if not _TLS_FIELDS & text.keys():
        return None
    for key in ("cert_file", "key_file"):
        if key not in text:
            problems.append(smap.problem(where, f"{key} is required when TLS is configured"))
    versions = {}
    for key, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        name = text.get(key, default)
        if name in _OLD_TLS:
            problems.append(
                smap.problem((*where, key), f"{name} is not offered (deprecated, RFC 8996)")
            )
        elif name not in TLS_VERSIONS:
            problems.append(smap.problem((*where, key), "expected TLS12 or TLS13"))
        else:
            versions[key] = TLS_VERSIONS[name]
    if len(versions) == 2 and versions["min_version"] > versions["max_version"]:
        problems.append(smap.problem((*where, "min_version"), "is above max_version"))
    client_auth = text.get("client_auth_type", "NoClientCert")
    if client_auth in _UNVERIFIED_CLIENT_AUTH:
        problems.append(
            smap.problem(
                (*where, "client_auth_type"),
                f"{client_auth} is not supported (client certificates are always verified): "
                "use VerifyClientCertIfGiven or RequireAndVerifyClientCert",
            )
        )
    elif client_auth not in CLIENT_AUTH:
        problems.append(
            smap.problem((*where, "client_auth_type"), f"expected one of {', '.join(CLIENT_AUTH)}")
        )
    elif client_auth == "NoClientCert" and "client_ca_file" in text:
        problems.append(
            smap.problem(
                (*where, "client_ca_file"),
                "a client CA without a client_auth_type that verifies client certificates",
            )
        )
    elif client_auth != "NoClientCert" and "client_ca_file" not in text:
        problems.append(
            smap.problem((*where, "client_auth_type"), f"{client_auth} needs client_ca_file")
        )
    if len(problems) > before:
        return None
    ca = text.get("client_ca_file")
    return TlsServerConfig(
        cert_file=base / text["cert_file"],
        key_file=base / text["key_file"],
        client_auth_type=client_auth,
        client_ca_file=base / ca if ca else None,
        min_version=versions["min_version"],
        max_version=versions["max_version"],
    )


def _users(raw: Any, smap: SourceMap, problems: list[Problem]) -> dict[str, bytes]:
    where = ("basic_auth_users",)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(smap.problem(where, "expected a mapping of user name → bcrypt hash"))
        return {}
    users: dict[str, bytes] = {}
    for key, value in raw.items():
        user = str(key)
        if ":" in user:
            # RFC 7617 §2: the user-id cannot contain a colon.
            problems.append(smap.problem((*where, key), "a user name cannot contain ':'"))
        elif not isinstance(value, str) or not _BCRYPT.fullmatch(value):
            problems.append(
                smap.problem((*where, key), "expected a bcrypt hash ($2b$COST$…, 60 characters)")
            )
        elif not 4 <= int(value[4:6]) <= 31:
            problems.append(smap.problem((*where, key), "bcrypt cost must be 4 to 31"))
        else:
            users[user] = value.encode("ascii")
    return users


def _read(path: Path, where: tuple[str, ...], smap: SourceMap, problems: list[Problem]) -> str:
    try:
        return path.read_text(encoding="ascii")
    except OSError as exc:
        problems.append(smap.problem(where, f"cannot read {path}: {exc.strerror}"))
    except UnicodeDecodeError:
        problems.append(smap.problem(where, f"{path} is not a PEM file"))
    return ""


def _ssl_context(
    tls: TlsServerConfig, smap: SourceMap, problems: list[Problem]
) -> ssl.SSLContext | None:
    where = ("tls_server_config",)
    before = len(problems)
    cert = _read(tls.cert_file, (*where, "cert_file"), smap, problems)
    key = _read(tls.key_file, (*where, "key_file"), smap, problems)
    if cert and "-----BEGIN CERTIFICATE-----" not in cert:
        problems.append(
            smap.problem((*where, "cert_file"), f"{tls.cert_file} holds no PEM certificate")
        )
    if key and not re.search(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----", key):
        problems.append(smap.problem((*where, "key_file"), f"{tls.key_file} holds no PEM key"))
    if len(problems) > before:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = tls.min_version
    context.maximum_version = tls.max_version
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file, password=_ask_no_password)
    except _EncryptedKey:
        problems.append(
            smap.problem(
                (*where, "key_file"),
                "the key is encrypted: give it unencrypted, readable by the daemon's user only",
            )
        )
        return None
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None)
        detail = "it does not match the certificate" if reason == "KEY_VALUES_MISMATCH" else exc
        problems.append(smap.problem((*where, "key_file"), f"cannot use the key: {detail}"))
        return None
    context.verify_mode = CLIENT_AUTH[tls.client_auth_type]
    if tls.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=tls.client_ca_file)
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            problems.append(
                smap.problem(
                    (*where, "client_ca_file"), f"cannot use {tls.client_ca_file}: {reason}"
                )
            )
            return None
    return context


# -- basic authentication ---------------------------------------------------------------------


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes, one bcrypt at a time, off the
    event loop, with recent answers remembered under a keyed digest (never the password)."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        self._users = dict(users)
        cost = max((int(h[4:6]) for h in self._users.values()), default=DEFAULT_COST)
        # What an unknown user's password is compared with: as slow as a real user's hash.
        self._decoy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost))
        self._key = secrets.token_bytes(32)
        self._answers: OrderedDict[bytes, bool] = OrderedDict()
        self._one_at_a_time = asyncio.Lock()

    async def check(self, authorization: str | None) -> bool:
        """Whether the header names a configured user with the right password."""
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return False
        user, password = credentials
        name = user.encode()
        # Length-prefixed, so no other split of the same bytes names the same pair.
        pair = len(name).to_bytes(4, "big") + name + password
        digest = hmac.digest(self._key, pair, "sha256")
        known = self._answers.get(digest)
        if known is not None:
            self._answers.move_to_end(digest)
            return known
        stored = self._users.get(user)
        async with self._one_at_a_time:
            matches = await asyncio.to_thread(_bcrypt_matches, password, stored or self._decoy)
        answer = matches and stored is not None
        self._answers[digest] = answer
        if len(self._answers) > CACHE_SIZE:
            self._answers.popitem(last=False)
        return answer

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme = request.headers.get("Authorization", "").partition(" ")[0].lower()
        if scheme == "bearer" and takes_bearer_requests(request.match_info.handler):
            return await handler(request)
        if await self.check(request.headers.get("Authorization")):
            return await handler(request)
        return web.Response(
            status=401,
            text="401 Unauthorized\n",
            headers={"WWW-Authenticate": 'Basic realm="trunkwatch", charset="UTF-8"'},
        )


def _basic_credentials(authorization: str | None) -> tuple[str, bytes] | None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
        user, sep, password = decoded.partition(b":")
        return (user.decode("utf-8"), password) if sep else None
    except (binascii.Error, UnicodeDecodeError):
        return None


def _bcrypt_matches(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:
        # bcrypt refuses passwords past 72 bytes: such a password cannot be right.
        return False
