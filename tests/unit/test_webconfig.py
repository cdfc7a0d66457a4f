"""The web configuration file (exporter-toolkit format): what it turns on, every problem as
file:line: field: reason (never a hash), and basic authentication with bcrypt."""

from __future__ import annotations

import base64
import ssl
import textwrap
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from aiohttp import test_utils, web

from monitor.app.webconfig import CACHE_SIZE, BasicAuth, WebConfig, load_web_config
from monitor.core.sources import ConfigError
from monitor.web.guard import authenticates_itself
from tests.tlscerts import TlsFiles, make_key, make_tls_files

# Cost 4, the least bcrypt allows: these tests check the logic, not bcrypt's strength.
HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def write(directory: Path, text: str) -> Path:
    path = directory / "web.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    return [str(p) for p in caught.value.problems]


def basic(user: str, password: str | bytes) -> str:
    raw = password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(user.encode() + b":" + raw).decode()


# -- loading ---------------------------------------------------------------------------------


def test_tls_and_users_are_loaded_with_paths_beside_the_file(
    tmp_path: Path, certs: TlsFiles
) -> None:
    (tmp_path / "pki").mkdir()
    for source in (certs.cert, certs.key, certs.ca_cert):
        (tmp_path / "pki" / source.name).write_bytes(source.read_bytes())
    path = write(
        tmp_path,
        f"""\
        tls_server_config:
          cert_file: pki/server.crt
          key_file: {tmp_path / "pki" / "server.key"}
          client_auth_type: VerifyClientCertIfGiven
          client_ca_file: pki/ca.crt
          min_version: TLS13
        basic_auth_users:
          prometheus: {HASH}
          李娜: {HASH}
        """,
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.cert_file == tmp_path / "pki" / "server.crt"
    assert config.tls.client_ca_file == tmp_path / "pki" / "ca.crt"
    assert config.scheme == "https"
    context = config.ssl_context
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert context.verify_mode == ssl.CERT_OPTIONAL
    assert set(config.users) == {"prometheus", "李娜"}
    assert len(config.middlewares()) == 1


def test_an_empty_file_turns_nothing_on(tmp_path: Path) -> None:
    config = load_web_config(write(tmp_path, "# nothing yet\n"))
    assert config == WebConfig(config.source)
    assert (config.scheme, config.ssl_context, config.middlewares()) == ("http", None, [])


def test_users_without_tls_is_basic_auth_over_http(tmp_path: Path) -> None:
    config = load_web_config(write(tmp_path, f"basic_auth_users:\n  prometheus: {HASH}\n"))
    assert (config.scheme, config.tls, list(config.users)) == ("http", None, ["prometheus"])


def test_every_problem_is_reported_with_its_line_and_no_hash(
    tmp_path: Path, certs: TlsFiles
) -> None:
    path = write(
        tmp_path,
        f"""\
        tls_server_config:
          cert_file: {certs.cert}
          client_auth_type: RequireAnyClientCert
          min_version: TLS11
          cipher_suites: [TLS_AES_128_GCM_SHA256]
          colour: blue
        basic_auth_users:
          prometheus: $2b$04$notabcrypthash
          "a:b": {HASH}
          grafana: 12
        http_server_config:
          http2: false
        unexpected: 1
        """,
    )
    found = problems(path)
    assert found == [
        f"{path}:11: http_server_config: not supported by trunkwatch (HTTP/1.1 only, "
        "headers are fixed)",
        f"{path}:13: unexpected: unknown field",
        f"{path}:5: tls_server_config.cipher_suites: not supported: the TLS library's default "
        "suites are used",
        f"{path}:6: tls_server_config.colour: unknown field",
        f"{path}:1: tls_server_config: key_file is required when TLS is configured",
        f"{path}:4: tls_server_config.min_version: TLS11 is not offered (deprecated, RFC 8996)",
        f"{path}:3: tls_server_config.client_auth_type: RequireAnyClientCert is not supported "
        "(client certificates are always verified): use VerifyClientCertIfGiven or "
        "RequireAndVerifyClientCert",
        f"{path}:8: basic_auth_users.prometheus: expected a bcrypt hash ($2b$COST$…, 60 "
        "characters)",
        f"{path}:9: basic_auth_users['a:b']: a user name cannot contain ':'",
        f"{path}:10: basic_auth_users.grafana: expected a bcrypt hash ($2b$COST$…, 60 characters)",
    ]
    assert not any("notabcrypt" in p or HASH in p for p in found)


@pytest.mark.parametrize(
    ("tls", "expected"),
    [
        (
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
            "client_ca_file",
        ),
        (
            "  client_ca_file: ca.crt\n",
            "4: tls_server_config.client_ca_file: a client CA without a client_auth_type that "
            "verifies client certificates",
        ),
        (
            "  client_auth_type: Sometimes\n",
            "4: tls_server_config.client_auth_type: expected one of NoClientCert, "
            "VerifyClientCertIfGiven, RequireAndVerifyClientCert",
        ),
        (
            "  min_version: TLS13\n  max_version: TLS12\n",
            "4: tls_server_config.min_version: is above max_version",
        ),
        ("  max_version: SSL3\n", "4: tls_server_config.max_version: expected TLS12 or TLS13"),
    ],
    ids=["verify-without-ca", "ca-without-verify", "unknown-auth", "min-above-max", "version"],
)
def test_tls_settings_that_cannot_work_are_refused(
    tmp_path: Path, certs: TlsFiles, tls: str, expected: str
) -> None:
    path = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {certs.cert}\n  key_file: {certs.key}\n" + tls,
    )
    assert problems(path) == [f"{path}:{expected}"]


def test_unusable_certificate_and_key_files_name_the_field(tmp_path: Path, certs: TlsFiles) -> None:
    other = make_key(tmp_path, "other.key")
    locked = make_key(tmp_path, "locked.key", passphrase="do-not-print-me")

    def tls(cert: Path | str, key: Path | str) -> list[str]:
        path = write(tmp_path, f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
        return [p.removeprefix(f"{path}:") for p in problems(path)]

    assert tls(tmp_path / "missing.crt", certs.key) == [
        f"2: tls_server_config.cert_file: cannot read {tmp_path / 'missing.crt'}: "
        "No such file or directory"
    ]
    assert tls(certs.key, certs.key) == [
        f"2: tls_server_config.cert_file: {certs.key} holds no PEM certificate"
    ]
    assert tls(certs.cert, certs.cert) == [
        f"3: tls_server_config.key_file: {certs.cert} holds no PEM key"
    ]
    assert tls(certs.cert, other) == [
        "3: tls_server_config.key_file: cannot use the key: it does not match the certificate"
    ]
    encrypted = tls(certs.cert, locked)
    assert encrypted == [
        "3: tls_server_config.key_file: the key is encrypted: give it unencrypted, readable by "
        "the daemon's user only"
    ]


def test_malformed_yaml_and_unreadable_files_are_one_line_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "basic_auth_users:\n  a: [\n")
    assert problems(path)[0].startswith(f"{path}:3: (syntax): ")
    assert problems(tmp_path / "absent.yml") == [
        f"{tmp_path / 'absent.yml'}:1: (file): cannot read: No such file or directory"
    ]
    listed = write(tmp_path, "- tls_server_config\n")
    assert problems(listed) == [f"{listed}:1: (document): expected a mapping"]


# -- basic authentication --------------------------------------------------------------------


@pytest.fixture
def auth() -> BasicAuth:
    return BasicAuth({"prometheus": HASH.encode(), "李娜": HASH.encode()})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("prometheus", "s3cret"), True),
        (basic("李娜", "s3cret"), True),
        (basic("prometheus", "s3cret "), False),
        (basic("prometheus", ""), False),
        (basic("nobody", "s3cret"), False),
        (basic("prometheus", "s3cret" * 20), False),  # past bcrypt's 72 bytes
        (basic("prometheus", b"\xff\xfe"), False),
        ("Basic " + base64.b64encode(b"\xffprometheus:s3cret").decode(), False),
        ("Basic " + base64.b64encode(b"prometheus").decode(), False),
        ("Basic not*base64", False),
        ("Bearer s3cret", False),
        ("", False),
        (None, False),
    ],
    ids=[
        "right", "non-ascii-user", "trailing-space", "empty-password", "unknown-user",
        "too-long", "binary-password", "user-not-utf8", "no-colon", "not-base64", "bearer",
        "empty", "absent",
    ],
)  # fmt: skip
async def test_basic_credentials_are_checked_against_bcrypt(
    auth: BasicAuth, header: str | None, expected: bool
) -> None:
    assert await auth.check(header) is expected
    # The remembered answer is the same answer.
    assert await auth.check(header) is expected


async def test_remembered_answers_are_bounded(auth: BasicAuth) -> None:
    for i in range(CACHE_SIZE + 5):
        assert not await auth.check(basic("prometheus", f"guess-{i}"))
    assert len(auth._answers) == CACHE_SIZE
    assert await auth.check(basic("prometheus", "s3cret"))


async def test_a_remembered_answer_is_for_that_user_and_password_only() -> None:
    auth = BasicAuth({"a": bcrypt.hashpw(b"\0b", bcrypt.gensalt(rounds=4))})
    assert await auth.check(basic("a", b"\0b"))
    # The same bytes split elsewhere are another user: not the remembered "yes".
    assert not await auth.check(basic("a\0", "b"))


async def test_middleware_guards_every_route_and_leaves_bearer_to_marked_handlers(
    auth: BasicAuth,
) -> None:
    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="plain")

    @authenticates_itself
    async def own(request: web.Request) -> web.Response:
        return web.Response(text=f"own {request.headers['Authorization']}")

    app = web.Application(middlewares=[auth.middleware])
    app.add_routes([web.get("/-/healthy", plain), web.get("/api/own", own)])
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        statuses: dict[str, Any] = {}
        for name, path, header in (
            ("healthy-anonymous", "/-/healthy", None),
            ("healthy-bearer", "/-/healthy", "Bearer x"),
            ("healthy-basic", "/-/healthy", basic("prometheus", "s3cret")),
            ("own-anonymous", "/api/own", None),
            ("own-bearer", "/api/own", "Bearer tok"),
            ("own-basic", "/api/own", basic("prometheus", "s3cret")),
            ("missing-route", "/nowhere", basic("prometheus", "wrong")),
        ):
            response = await client.get(path, headers={"Authorization": header} if header else {})
            statuses[name] = (response.status, await response.text())
            if response.status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert statuses == {
        "healthy-anonymous": (401, "401 Unauthorized\n"),
        "healthy-bearer": (401, "401 Unauthorized\n"),
        "healthy-basic": (200, "plain"),
        "own-anonymous": (401, "401 Unauthorized\n"),
        "own-bearer": (200, "own Bearer tok"),
        "own-basic": (200, f"own {basic('prometheus', 's3cret')}"),
        "missing-route": (401, "401 Unauthorized\n"),
    }
