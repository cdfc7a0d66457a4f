"""``trunkwatch probe`` over SNMPv3 against a real net-snmp snmpd, with the protocol names
written exactly as snmpd's ``createUser`` and net-snmp's ``-a``/``-x`` take them.

What the probe prints must match what ``snmpget`` reads with the same user; a wrong key fails
with a reason and a message on standard error, and no key ever appears in the output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.snmpd import SnmpdInstance, V3User

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SYS_NAME = "1.3.6.1.2.1.1.5.0"


def probe_v3(
    agent: SnmpdInstance, user: V3User, *, auth_key: str | None = None, spell: str = "as-is"
) -> subprocess.CompletedProcess[str]:
    auth, priv = user.auth_protocol, user.priv_protocol
    if spell == "lower":
        auth, priv = auth.lower(), priv.lower()
    elif spell == "no-hyphen":
        auth, priv = auth.replace("-", ""), priv.replace("-", "")
    argv = [
        sys.executable, "-m", "monitor.cli", "probe",
        "--target", f"{agent.host}:{agent.port}", "--module", "system",
        "--snmp-version", "3", "--v3-user", user.name,
        "--v3-auth-proto", auth, "--v3-auth-key-env", "TW_TEST_AUTH",
        "--v3-priv-proto", priv, "--v3-priv-key-env", "TW_TEST_PRIV",
        "--timeout", "5",
    ]  # fmt: skip
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={
            **os.environ,
            "TW_TEST_AUTH": auth_key if auth_key is not None else user.auth_key,
            "TW_TEST_PRIV": user.priv_key,
        },
        check=False,
    )


@pytest.mark.parametrize(
    ("auth", "spell"),
    [("SHA", "as-is"), ("SHA-256", "as-is"), ("SHA-256", "lower"), ("SHA-512", "no-hyphen")],
)
def test_probe_v3_auth_priv_with_net_snmp_protocol_names(
    snmpd_agent: SnmpdInstance, auth: str, spell: str
) -> None:
    user = snmpd_agent.v3_user(auth)
    done = probe_v3(snmpd_agent, user, spell=spell)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # The oracle: net-snmp's own snmpget, authenticated as the same user.
    theirs = snmpd_agent.run_tool(
        "snmpget", SYS_NAME, options=[*user.cli_args(), "-On", "-Oqv"]
    ).strip()
    theirs = theirs.strip('"')  # -Oqv prints a string value quoted
    assert theirs == "tw-snmpd"
    assert f'name="{theirs}"' in done.stdout
    assert 'trunkwatch_probe_success{site="adhoc"' in done.stdout
    assert user.auth_key not in done.stdout and user.priv_key not in done.stdout


def test_probe_v3_wrong_key_says_why_without_the_key(snmpd_agent: SnmpdInstance) -> None:
    user = snmpd_agent.v3_user("SHA-256")
    wrong = "not-the-auth-key-31"
    done = probe_v3(snmpd_agent, user, auth_key=wrong)
    assert done.returncode == 1
    assert 'reason="auth"' in done.stdout
    assert done.stderr.startswith(f"# {snmpd_agent.host}/system: auth: ")
    assert "wrong digest" in done.stderr
    for secret in (wrong, user.auth_key, user.priv_key):
        assert secret not in done.stdout + done.stderr
