"""The trap receiver against net-snmp's own senders: ``snmptrap`` and ``snmpinform`` (v1, v2c
and v3 authPriv SHA/AES) on loopback.

The receiver is set up from a monitor.yaml through ``TrapService``, as the daemon does, on a
free port; the tools run as subprocesses while the receiver's loop keeps serving (so
``snmpinform`` gets its acknowledgement). A last test runs ``trunkwatch run`` itself and reads
the result from /metrics. Missing net-snmp tools fail the tests with an install hint: these
are the proof that real agents' traps are understood.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import load_config
from monitor.inventory import build_inventory
from monitor.traps import TrapService
from tests.helpers import free_tcp_port, http_get, scrape, select, wait_until

pytestmark = pytest.mark.integration

COMMUNITY = "tw-trap-test"
ENGINE_ID = "0x8000000001020304"
V3_USER = ["-v3", "-l", "authPriv", "-u", "tw-sha", "-a", "SHA", "-x", "AES"]
V3_KEYS = ["-A", "tw-auth-sha1-key", "-X", "tw-priv-aes128"]
TOOL_TIMEOUT_S = 15.0
SETTLE_TIMEOUT_S = 5.0

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
DSX1_LINE_STATUS_CHANGE = "1.3.6.1.2.1.10.18.15.0.1"
DSX1_LINE_STATUS = "1.3.6.1.2.1.10.18.6.1.10"
TSIM_NOTIFICATIONS = "1.3.6.1.4.1.32473.77.2"
TSIM_CARRIER_STATE = "1.3.6.1.4.1.32473.77.1.2.1.2"

SWITCH = {"site": "hq", "asset": "core-sw-1", "system": "network", "kind": "switch"}

CONFIG = f"""\
credentials:
  traps: {{community: {COMMUNITY}}}
  traps-v3: {{user: tw-sha, auth_key: tw-auth-sha1-key, priv_key: tw-priv-aes128}}
sites: [{{id: hq, name: HQ}}]
assets:
  - {{id: core-sw-1, site: hq, system: network, kind: switch, address: 127.0.0.1}}
traps:
  listen: 127.0.0.1:{{port}}
  credentials: traps
  v3_users:
    - {{credentials: traps-v3, auth_protocol: sha, priv_protocol: aes, engine_ids: ["{ENGINE_ID}"]}}
  profiles: [if_mib, ds1_mib, trunked_bs]
"""


def require_net_snmp_tools() -> None:
    missing = [tool for tool in ("snmptrap", "snmpinform") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: install Debian's net-snmp tools "
            "(apt-get install -y snmp)"
        )


@dataclass
class Receiver:
    service: TrapService
    registry: CollectorRegistry
    port: int
    workdir: Path

    def env(self) -> dict[str, str]:
        # No MIB loading (Debian ships none); the tools' state stays in the test's folder.
        return {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(self.workdir / "tools")}

    async def run(
        self, tool: str, options: Sequence[str], operands: Sequence[str]
    ) -> tuple[int, str]:
        """Run ``tool OPTIONS ADDRESS OPERANDS`` while this loop keeps serving the receiver."""
        proc = await asyncio.create_subprocess_exec(
            tool,
            *options,
            f"udp:127.0.0.1:{self.port}",
            *operands,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(),
        )
        async with asyncio.timeout(TOOL_TIMEOUT_S):
            _, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, err.decode(errors="replace")

    def value(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)

    async def until(self, check: Callable[[], Any], what: str) -> None:
        """Traps are fire-and-forget: wait until the receiver has read the datagram."""
        deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT_S
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[Receiver]:
    require_net_snmp_tools()
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG.replace("{port}", "0"))
    config = load_config(path)
    registry = CollectorRegistry()
    service = TrapService(registry)
    await service.apply(config, build_inventory(config).assets.values())
    assert service.receiver is not None and service.receiver.address is not None
    try:
        yield Receiver(service, registry, service.receiver.address[1], tmp_path)
    finally:
        await service.close()


def link_down(index: int) -> dict[str, str]:
    return {
        **SWITCH,
        "alarm": "link_down",
        "severity": "warning",
        "trap": "linkDown",
        "index": str(index),
    }


V2C = ["-v2c", "-c", COMMUNITY]
ACKED = ["-t", "2", "-r", "1"]  # snmpinform exits 0 only once it has the RESPONSE
UNANSWERED = ["-t", "0.5", "-r", "0"]


async def test_v2c_link_down_is_counted_and_raises_its_alarm_and_link_up_clears_it(
    receiver: Receiver,
) -> None:
    down = ["", LINK_DOWN, f"{IF_INDEX}.3", "i", "3", "1.3.6.1.2.1.2.2.1.8.3", "i", "2"]
    rc, err = await receiver.run("snmptrap", V2C, down)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_trap_alarm", **link_down(3)) == 1, "link_down"
    )
    received = {**SWITCH, "trap": "linkDown"}
    assert receiver.value("trunkwatch_snmp_traps_received_total", **received) == 1
    assert receiver.value("trunkwatch_snmp_trap_last_received_timestamp_seconds", **received)

    up = ["", LINK_UP, f"{IF_INDEX}.3", "i", "3", "1.3.6.1.2.1.2.2.1.8.3", "i", "1"]
    rc, err = await receiver.run("snmptrap", V2C, up)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_trap_alarm", **link_down(3)) is None, "clear"
    )
    assert receiver.value("trunkwatch_snmp_traps_received_total", **SWITCH, trap="linkUp") == 1


async def test_an_inform_is_acknowledged_so_snmpinform_succeeds(receiver: Receiver) -> None:
    status = ["", DSX1_LINE_STATUS_CHANGE, f"{DSX1_LINE_STATUS}.1", "i", "96"]
    rc, err = await receiver.run("snmpinform", V2C + ACKED, status)
    assert rc == 0, err
    alarm = {**SWITCH, "alarm": "ds1_line_alarm", "severity": "critical"}
    alarm.update(trap="dsx1LineStatusChange", line="1")
    assert receiver.value("trunkwatch_snmp_trap_alarm", **alarm) == 1

    cleared = ["", DSX1_LINE_STATUS_CHANGE, f"{DSX1_LINE_STATUS}.1", "i", "1"]
    rc, err = await receiver.run("snmpinform", V2C + ACKED, cleared)
    assert rc == 0, err
    assert receiver.value("trunkwatch_snmp_trap_alarm", **alarm) is None
    received = {**SWITCH, "trap": "dsx1LineStatusChange"}
    assert receiver.value("trunkwatch_snmp_traps_received_total", **received) == 2


async def test_a_wrong_community_is_counted_and_its_inform_goes_unanswered(
    receiver: Receiver,
) -> None:
    trap = ["", LINK_DOWN, f"{IF_INDEX}.7", "i", "7"]
    rc, err = await receiver.run("snmptrap", ["-v2c", "-c", "public"], trap)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_traps_dropped_total", reason="bad_community") == 1,
        "bad_community",
    )
    rc, _ = await receiver.run("snmpinform", ["-v2c", "-c", "public", *UNANSWERED], trap)
    assert rc != 0
    assert receiver.value("trunkwatch_snmp_traps_dropped_total", reason="bad_community") == 2
    assert receiver.value("trunkwatch_snmp_trap_alarm", **link_down(7)) is None
    assert receiver.value("trunkwatch_snmp_traps_received_total", **SWITCH, trap="linkDown") is None


async def test_v1_traps_are_converted_generic_and_enterprise_specific(receiver: Receiver) -> None:
    # ENTERPRISE AGENT-ADDR GENERIC SPECIFIC UPTIME VARBINDS…: generic 2 is linkDown.
    generic = ["1.3.6.1.4.1.8072.3.2.10", "127.0.0.1", "2", "0", "", f"{IF_INDEX}.4", "i", "4"]
    rc, err = await receiver.run("snmptrap", ["-v1", "-c", COMMUNITY], generic)
    assert rc == 0, err
    # Enterprise tsimNotifications, specific 1: tsimCarrierFail (…77.2.0.1) in the v2 form.
    specific = [TSIM_NOTIFICATIONS, "127.0.0.1", "6", "1", "", f"{TSIM_CARRIER_STATE}.2", "i", "2"]
    rc, err = await receiver.run("snmptrap", ["-v1", "-c", COMMUNITY], specific)
    assert rc == 0, err
    carrier = {**SWITCH, "alarm": "carrier_down", "severity": "critical"}
    carrier.update(trap="tsimCarrierFail", carrier="2")
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_trap_alarm", **carrier) == 1, "carrier_down"
    )
    assert receiver.value("trunkwatch_snmp_trap_alarm", **link_down(4)) == 1


async def test_v3_authpriv_traps_and_informs_are_received_and_wrong_keys_are_auth(
    receiver: Receiver,
) -> None:
    trap = ["", LINK_DOWN, f"{IF_INDEX}.5", "i", "5"]
    rc, err = await receiver.run("snmptrap", [*V3_USER, *V3_KEYS, "-e", ENGINE_ID], trap)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_trap_alarm", **link_down(5)) == 1, "v3 trap"
    )
    inform = ["", LINK_UP, f"{IF_INDEX}.5", "i", "5"]
    rc, err = await receiver.run("snmpinform", [*V3_USER, *V3_KEYS, *ACKED], inform)
    assert rc == 0, err
    assert receiver.value("trunkwatch_snmp_trap_alarm", **link_down(5)) is None
    assert receiver.value("trunkwatch_snmp_traps_received_total", **SWITCH, trap="linkUp") == 1

    wrong = ["-A", "not-the-auth-key", "-X", "tw-priv-aes128"]
    rc, err = await receiver.run("snmptrap", [*V3_USER, *wrong, "-e", ENGINE_ID], trap)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_traps_dropped_total", reason="auth") == 1, "auth"
    )
    rc, _ = await receiver.run("snmpinform", [*V3_USER, *wrong, *UNANSWERED], inform)
    assert rc != 0
    # A sender engine id the receiver was not told about: its trap keys cannot be checked.
    other_engine = [*V3_USER, *V3_KEYS, "-e", "0x80000000010203ff"]
    rc, err = await receiver.run("snmptrap", other_engine, trap)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_traps_dropped_total", reason="auth") == 3, "auth"
    )
    assert receiver.value("trunkwatch_snmp_traps_received_total", **SWITCH, trap="linkDown") == 1


async def test_traps_from_an_address_no_asset_has_are_dropped(receiver: Receiver) -> None:
    trap = ["", LINK_DOWN, f"{IF_INDEX}.6", "i", "6"]
    rc, err = await receiver.run("snmptrap", ["--clientaddr=127.0.0.2", *V2C], trap)
    assert rc == 0, err
    await receiver.until(
        lambda: receiver.value("trunkwatch_snmp_traps_dropped_total", reason="unknown_source") == 1,
        "unknown_source",
    )
    assert receiver.value("trunkwatch_snmp_trap_alarm", **link_down(6)) is None


DAEMON = [sys.executable, "-m", "monitor.cli", "run"]


def test_the_daemon_serves_trap_counts_and_alarms_on_metrics(tmp_path: Path) -> None:
    require_net_snmp_tools()
    from tests.integration.snmpd import free_udp_port

    trap_port = free_udp_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(CONFIG.replace("{port}", str(trap_port)))
    http_port = free_tcp_port()
    log_path = tmp_path / "daemon.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*DAEMON, "-c", str(config), "--listen", f"127.0.0.1:{http_port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_until(lambda: http_get(url + "/-/ready", 1)[0] == 200, 30, "daemon ready")
        link_down_9 = ["", LINK_DOWN, f"{IF_INDEX}.9", "i", "9"]
        tool_env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(tmp_path / "tools")}
        subprocess.run(
            ["snmpinform", *V2C, *ACKED, f"udp:127.0.0.1:{trap_port}", *link_down_9],
            env=tool_env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        series = scrape(url + "/metrics")
        assert select(series, "trunkwatch_snmp_traps_received_total", **SWITCH, trap="linkDown")
        alarms = select(series, "trunkwatch_snmp_trap_alarm", **link_down(9))
        assert list(alarms.values()) == [1.0], textwrap.shorten(log_path.read_text(), 2000)
        assert select(series, "trunkwatch_snmp_traps_dropped_total", reason="auth")
    finally:
        process.terminate()
        process.wait(10)
