"""The command line as a careless person types it: every bad argument is one line on standard
error and exit 2, a failed probe says why on standard error, and no secret is ever printed."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from monitor.app.probe_once import failure_lines
from monitor.cli import main
from monitor.core.addresses import parse_listen
from monitor.inventory import Asset, Job
from monitor.results import Result
from monitor.traps import TRAPS
from probes import available_modules
from probes.base import Target
from probes.snmp.profiles import library
from probes.snmp.usm import usm_protocol

REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's exit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def closed_tcp_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "--listen", "9750"], "expected HOST:PORT such as 127.0.0.1:9750, got '9750'"),
        (["run", "--listen", "localhost:abc"], "the port in 'localhost:abc' is not a number"),
        (["run", "--listen", "127.0.0.1:99999"], "port 99999 in '127.0.0.1:99999' is above 65535"),
        (["demo", "--listen", "9750"], "argument --listen: expected HOST:PORT"),
        (["demo", "--speed", "0"], "argument --speed: must be a number above 0, got '0'"),
        (["demo", "--speed", "fast"], "argument --speed: expected a number, got 'fast'"),
        (["demo", "--control", "nonsense"], "argument --control: expected HOST:PORT"),
        (["demo", "--status-every", "-1"], "argument --status-every: must be a number of at"),
        (["simulate", "--speed", "-2"], "argument --speed: must be a number above 0"),
        (["simulate", "--control", "host:port"], "the port in 'host:port' is not a number"),
        (["drill", "mains_failure"], "the following arguments are required: --site"),
        (["drill", "flood", "--site", "bs-xingning"], "argument fault: invalid choice: 'flood'"),
        (["drill", "site_down", "--site", "x", "--timeout", "0"], "argument --timeout"),
        (["probe", "--target", "127.0.0.1:1", "--module", "tcp", "--timeout", "nan"], "--timeout"),
        (["probe", "--target", "h", "--module", "if_mib", "--v3-auth-proto", "SHA3"], "SHA-256"),
        (["probe", "--target", "h", "--module", "if_mib", "--v3-priv-proto", "3DES"], "AES-256"),
        (["inspections", "report", "--month", "2017-13"], "there is no month 13"),
        (["inspections", "audit", "--last", "-5"], "at least 1, got '-5'"),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
    ],
)
def test_a_mistyped_argument_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert says in err
    assert "Traceback" not in err


def test_listen_addresses_accept_ipv6_any_port_and_a_default_host() -> None:
    assert parse_listen("[::1]:9750") == ("::1", 9750)
    assert parse_listen(":9750") == ("127.0.0.1", 9750)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)


@pytest.mark.parametrize(
    ("kind", "spelling", "ours"),
    [
        ("auth", "SHA", "sha"),
        ("auth", "sha-1", "sha"),
        ("auth", "SHA-256", "sha256"),
        ("auth", "SHA256", "sha256"),
        ("auth", "Sha-512", "sha512"),
        ("auth", "MD5", "md5"),
        ("auth", "NOAUTH", "none"),
        ("priv", "AES", "aes"),
        ("priv", "AES-128", "aes"),
        ("priv", "aes-256", "aes256"),
        ("priv", "AES192", "aes192"),
        ("priv", "DES", "des"),
        ("priv", "none", "none"),
    ],
)
def test_usm_protocols_are_accepted_as_net_snmp_spells_them(
    kind: str, spelling: str, ours: str
) -> None:
    assert usm_protocol(kind, spelling) == ours  # type: ignore[arg-type]


def test_an_unknown_usm_protocol_lists_the_accepted_ones_without_echoing_the_value() -> None:
    with pytest.raises(ValueError, match="MD5, SHA, SHA-224") as caught:
        usm_protocol("auth", "s3cret-typed-here")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ValueError, match="Cisco"):
        usm_protocol("priv", "AES-256-C")


def test_monitor_yaml_takes_net_snmp_protocol_names(tmp_path: Path) -> None:
    from monitor.config import load_config

    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            credentials:
              v3: {user: noc, auth_key: auth-key-123, priv_key: priv-key-123}
            sites: [{id: hq, name: HQ}]
            assets:
              - id: sw
                site: hq
                system: network
                kind: switch
                address: 127.0.0.1:1161
                credentials: v3
                probes:
                  - {module: snmp, profile: system, version: 3,
                     auth_protocol: SHA-256, priv_protocol: AES-256}
            traps:
              v3_users: [{credentials: v3, auth_protocol: sha512, priv_protocol: AES}]
            """
        ),
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.assets[0].probes[0].params["auth_protocol"] == "SHA-256"
    from probes.snmp import create

    probe = create(config.assets[0].probes[0].params, timeout=2)
    assert (probe.params.auth_protocol, probe.params.priv_protocol) == ("sha256", "aes256")
    traps = TRAPS.of(config)
    assert traps is not None
    user = traps.v3_users[0]
    assert (user.auth_protocol, user.priv_protocol) == ("sha512", "aes")


def test_probe_tcp_without_a_port_is_a_usage_error_saying_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "probe", "--target", "127.0.0.1", "--module", "tcp")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "no port" in err and "--target HOST:PORT" in err


def test_probe_unknown_module_lists_every_module_and_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "probe", "--target", "127.0.0.1", "--module", "bogus")
    assert code == 2
    assert err.count("\n") == 1
    for name in [*available_modules(), *library().available()]:
        assert name in err


def test_probe_v3_without_a_key_variable_says_which_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys,
        "probe", "--target", "127.0.0.1:1", "--module", "system", "--snmp-version", "3",
        "--v3-user", "noc", "--v3-auth-proto", "SHA-256",
    )  # fmt: skip
    assert code == 2
    assert "--v3-auth-proto sha256 needs --v3-auth-key-env VAR" in err


def test_failed_probe_prints_samples_and_the_why_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = closed_tcp_port()
    code, out, err = run(
        capsys, "probe", "--target", f"127.0.0.1:{port}", "--module", "tcp", "--timeout", "2"
    )
    assert code == 1
    assert 'trunkwatch_probe_failure_info{site="adhoc"' in out
    assert 'reason="refused"' in out
    assert err.startswith("# 127.0.0.1/tcp: refused: ")
    assert err.count("\n") == 1


def test_failure_lines_blank_the_targets_secrets() -> None:
    secret = "community-Zq81"
    target = Target("sw", "127.0.0.1", 161, {"community": secret})
    asset = Asset("sw", "hq", "network", "switch", "sw", target, None)
    job = Job(asset, "snmp:if_mib", "snmp", 5.0, 5.0, probe=None)  # type: ignore[arg-type]
    failed = Result(
        job, False, 1.0, 0.0, reason="internal", message=f"ValueError: bad {secret} seen"
    )
    partly = Result(job, True, 1.0, 0.0, partial=(("ifXTable", "timeout"),))
    assert failure_lines([failed, partly]) == [
        "# sw/snmp:if_mib: internal: ValueError: bad *** seen",
        "# sw/snmp:if_mib: partly failed: ifXTable: timeout",
    ]


def test_run_names_the_address_it_cannot_listen_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "sites: [{id: hq, name: HQ}]\n"
        "assets: [{id: sw, site: hq, system: network, kind: switch, address: 127.0.0.1,"
        " probes: [{module: tcp, port: 1}]}]\n"
        f"server: {{data_dir: {tmp_path}}}\n",
        encoding="utf-8",
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "run", "-c", str(config), "--listen", f"127.0.0.1:{port}")
    assert code == 1
    assert f"cannot listen on tcp 127.0.0.1:{port}: address in use" in err
    assert "Traceback" not in err
