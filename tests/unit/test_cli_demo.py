"""The demo's wiring: ports that are taken move to free ones and say so, the monitor is
pointed at where the simulation really listens (in memory only), and the demo's tokens sign
in. Read-only inspection commands do not go looking for anyone's token."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import pytest

from monitor.app.demo import Banner, Moved, demo_tokens, format_banner, relocate
from monitor.cli import main
from monitor.config import load_config
from monitor.core.addresses import split_address
from monitor.core.listen import ListenError, open_listener, port_or_any
from monitor.inspections.plans import MIN_TOKEN_LENGTH, build_setup
from monitor.inventory import build_inventory
from monitor.simulator.fleet import DEFAULT_FLEET
from monitor.simulator.runtime import Simulation
from monitor.simulator.services import HTTP_PORT_OFFSET
from monitor.traps import TRAPS

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "monitor.yaml"
HOST = "127.0.0.1"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A private copy of the environment without anyone's token variable."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKWATCH_TOKEN")}
    monkeypatch.setattr(os, "environ", environ)


# -- sockets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_a_taken_port_fails_naming_the_address_or_moves_with_fallback(protocol: str) -> None:
    with open_listener(protocol, HOST, 0) as first:  # type: ignore[arg-type]
        port = first.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            open_listener(protocol, HOST, port)  # type: ignore[arg-type]
        assert str(caught.value) == f"cannot listen on {protocol} {HOST}:{port}: address in use"
        with open_listener(protocol, HOST, port, fallback=True) as moved:  # type: ignore[arg-type]
            assert moved.getsockname()[1] not in (0, port)
        assert port_or_any(protocol, HOST, port) == 0  # type: ignore[arg-type]
    assert port_or_any(protocol, HOST, port) == port  # type: ignore[arg-type]


def test_an_address_of_another_host_is_named_with_its_reason() -> None:
    with pytest.raises(ListenError) as caught:
        open_listener("tcp", "192.0.2.1", 9750, fallback=True)  # TEST-NET-1: not ours
    assert str(caught.value) == "cannot listen on tcp 192.0.2.1:9750: not an address of this host"


def _busy_base_port() -> tuple[int, list[socket.socket]]:
    """A base port whose first SNMP agent port (UDP) and first HTTP port (TCP) are taken."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((HOST, 0))
        base = udp.getsockname()[1]
        if base + HTTP_PORT_OFFSET > 65000:
            udp.close()
            continue
        try:
            tcp = open_listener("tcp", HOST, base + HTTP_PORT_OFFSET)
        except ListenError:
            udp.close()
            continue
        return base, [udp, tcp]
    raise AssertionError("no base port found")


async def test_the_simulation_moves_only_what_is_taken_and_says_where() -> None:
    base, held = _busy_base_port()
    control = open_listener("tcp", HOST, 0)
    held.append(control)
    config = {**DEFAULT_FLEET, "agent": {**DEFAULT_FLEET["agent"], "base_port": base}}
    try:
        with pytest.raises(ListenError, match=f"udp {HOST}:{base}: address in use"):
            await Simulation(config).start()
        busy_control = (HOST, control.getsockname()[1])
        async with Simulation(config, control=busy_control, fallback=True) as sim:
            moved = sim.relocated()
            first_agent = next(iter(sim.fleet.ports))
            assert moved[HOST, base] == sim.agent.endpoints[first_agent] != (HOST, base)
            first_server = next(iter(sim.http.configured))
            assert sim.http.configured[first_server] == (HOST, base + HTTP_PORT_OFFSET)
            assert moved[HOST, base + HTTP_PORT_OFFSET] == sim.http.endpoints[first_server]
            assert sim.control_port not in (None, busy_control[1])
            # Whatever did not move is served where the configuration says.
            for asset_id, port in sim.fleet.ports.items():
                if (HOST, port) not in moved:
                    assert sim.agent.endpoints[asset_id] == (HOST, port)
    finally:
        for sock in held:
            sock.close()


# -- the monitor pointed at the simulation ----------------------------------------------------


def test_relocate_points_addresses_and_probe_ports_at_the_moved_services() -> None:
    config = load_config(SHIPPED)
    moved = {
        (HOST, 16100): (HOST, 40100),  # bs-xingning's agent, shared with ups-xingning
        (HOST, 16300): (HOST, 40300),  # sip-110-telecom
        (HOST, 16400): (HOST, 40400),  # srv-cad-1's health page (a probe's port)
    }
    new = relocate(config, moved, traps_listen=f"{HOST}:0")
    address = {a.id: a.address for a in new.assets}
    assert address["bs-xingning"] == address["ups-xingning"] == f"{HOST}:40100"
    assert address["sip-110-telecom"] == f"{HOST}:40300"
    assert address["srv-cad-1"] == f"{HOST}:16116"  # its SNMP agent did not move
    assert address["bs-qingxiu"] == f"{HOST}:16101"
    cad = next(a for a in new.assets if a.id == "srv-cad-1")
    assert [p.params.get("port") for p in cad.probes] == [None, 40400]
    new_traps = TRAPS.of(new)
    assert new_traps is not None and new_traps.listen == f"{HOST}:0"
    # Only the addresses differ; the file and the loaded original are untouched.
    changed = {a.id for a, b in zip(config.assets, new.assets, strict=True) if a != b}
    assert changed == {"bs-xingning", "ups-xingning", "sip-110-telecom", "srv-cad-1"}
    traps = TRAPS.of(config)
    assert traps is not None and traps.listen == f"{HOST}:9162"
    assert load_config(SHIPPED).assets == config.assets
    targets = {a.id: (a.target.host, a.target.port) for a in build_inventory(new).assets.values()}
    assert targets["ups-xingning"] == (HOST, 40100)
    assert split_address(address["bs-shanglin"]) == (HOST, 16108)


def test_banner_names_every_port_taken_elsewhere() -> None:
    banner = Banner(
        fleet="12 base_station",
        base="http://127.0.0.1:41000",
        control="http://127.0.0.1:41001",
        traps=(HOST, 41002),
        devices={"bs-xingning": {"snmp": "127.0.0.1:41003"}},
        moved=[
            Moved("monitor HTTP tcp", (HOST, 9750), (HOST, 41000)),
            Moved("trap receiver udp", (HOST, 9162), (HOST, 41002)),
            Moved("device", (HOST, 16100), (HOST, 41003)),
        ],
    )
    text = format_banner(banner)
    assert "monitor HTTP tcp 127.0.0.1:9750 → 127.0.0.1:41000" in text
    assert "trap receiver udp 127.0.0.1:9162 → 127.0.0.1:41002" in text
    assert "127.0.0.1:16100 → 41003" in text
    assert "--monitor http://127.0.0.1:41000 --control-url http://127.0.0.1:41001" in text
    quiet = format_banner(
        Banner(
            fleet="12 base_station",
            base="http://127.0.0.1:9750",
            control="http://127.0.0.1:9751",
            traps=(HOST, 9162),
            devices={},
        )
    )
    assert "ports taken" not in quiet
    assert "trunkwatch drill mains_failure --site bs-xingning\n" in quiet


# -- tokens -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_environment")
def test_every_demo_token_signs_its_person_in() -> None:
    config = load_config(SHIPPED)
    tokens = demo_tokens(config)
    assert len(tokens) == 6
    roster = build_setup(config).roster
    for person, token in tokens.items():
        assert len(token) >= MIN_TOKEN_LENGTH
        signed_in = roster.authenticate(token)
        assert signed_in is not None and signed_in.id == person


@pytest.mark.usefixtures("clean_environment")
def test_a_token_set_by_the_operator_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    os.environ["TRUNKWATCH_TOKEN_LINA"] = "lina-own-token-0123456789"
    tokens = demo_tokens(load_config(SHIPPED))
    assert "lina" not in tokens
    assert os.environ["TRUNKWATCH_TOKEN_LINA"] == "lina-own-token-0123456789"


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("command", [["due"], ["list"], ["report", "-o", "{tmp}/r.html"]])
def test_read_only_inspection_commands_do_not_warn_about_tokens(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        SHIPPED.read_text(encoding="utf-8").replace("data_dir: var", f"data_dir: {tmp_path}"),
        encoding="utf-8",
    )
    caplog.set_level(logging.INFO)
    argv = [part.format(tmp=tmp_path) for part in command]
    assert main(["inspections", *argv, "-c", str(config)]) == 0
    assert [r.getMessage() for r in caplog.records if "token" in r.getMessage()] == []
    assert "token" not in capsys.readouterr().err
