"""A running simulation: the fleet, its SNMP agents, SIP and HTTP services, the background tick
and the control API through which drills inject and clear faults.

Control API (JSON, loopback only)::

    GET    /api/v1/devices                 every device, its services and whether it answers
    GET    /api/v1/faults                  faults in force
    POST   /api/v1/faults                  {"fault": "mains_failure", "target": "bs-xingning",
                                            "params": {…}}  → 201 with the fault in force
    POST   /api/v1/faults/clear            {"fault": …, "target": …, "params": {…}}
                                           (without "fault": clear everything)

Every service binds the port the configuration gives it; with ``fallback=True`` (the demo) a
port that is taken is replaced by a free one, and ``relocated()`` says which moved where.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from monitor.core.listen import open_listener
from monitor.simulator.agent import SnmpAgent
from monitor.simulator.fleet import ActiveFault, Fault, FaultError, Fleet, UnknownAsset
from monitor.simulator.services import HttpServices, SipResponders

__all__ = ["DEFAULT_CONTROL", "Simulation"]

log = logging.getLogger("trunkwatch.simulator")

DEFAULT_CONTROL = "127.0.0.1:9751"
TICK_SECONDS = 15.0


def fault_json(fault: ActiveFault) -> dict[str, Any]:
    return {
        "fault": str(fault.fault),
        "target": fault.target,
        "params": dict(fault.params),
        "since": fault.since,
        "affected": list(fault.affected),
    }


class Simulation:
    """Everything the simulated fleet serves, started and stopped together."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        ephemeral: bool = False,
        control: tuple[str, int] | None = None,
        speed: float | None = None,
        fallback: bool = False,
    ) -> None:
        self.fleet = Fleet(config)
        if speed is not None:
            self.fleet.clock.speed = speed
        self.agent = SnmpAgent(self.fleet, ephemeral=ephemeral, fallback=fallback)
        self.sip = SipResponders(self.fleet, ephemeral=ephemeral, fallback=fallback)
        self.http = HttpServices(self.fleet, ephemeral=ephemeral, fallback=fallback)
        self.fallback = fallback
        self.control_address = control
        self.control_port: int | None = None
        self._runner: web.AppRunner | None = None
        self._tick: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.agent.start()
            await self.sip.start()
            await self.http.start()
            if self.control_address is not None:
                await self._start_control(*self.control_address)
        except BaseException:
            await self.close()
            raise
        self._tick = asyncio.create_task(self.agent.run_ticks(TICK_SECONDS), name="sim tick")

    async def close(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
            self._tick = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.agent.close()
        self.sip.close()
        await self.http.close()

    async def __aenter__(self) -> Simulation:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what is where ----------------------------------------------------------------------

    def endpoints(self) -> dict[str, dict[str, str]]:
        """asset id → {service: "host:port"} for every service the simulation serves."""
        out: dict[str, dict[str, str]] = {}
        for service, table in (
            ("snmp", self.agent.endpoints),
            ("sip", self.sip.endpoints),
            ("http", self.http.endpoints),
        ):
            for asset_id, (host, port) in table.items():
                out.setdefault(asset_id, {})[service] = f"{host}:{port}"
        return out

    def relocated(self) -> dict[tuple[str, int], tuple[str, int]]:
        """Configured address → bound address of every device service that is not served
        where the configuration puts it (all of them when ephemeral)."""
        host = self.agent.host
        configured = {
            "snmp": {asset_id: (host, port) for asset_id, port in self.fleet.ports.items()},
            "sip": self.sip.configured,
            "http": self.http.configured,
        }
        out: dict[tuple[str, int], tuple[str, int]] = {}
        for service, bound in (
            ("snmp", self.agent.endpoints),
            ("sip", self.sip.endpoints),
            ("http", self.http.endpoints),
        ):
            for asset_id, address in bound.items():
                wanted = configured[service].get(asset_id)
                if wanted is not None and wanted != address:
                    out[wanted] = address
        return out

    def devices(self) -> list[dict[str, Any]]:
        endpoints = self.endpoints()
        return [
            {
                "id": device.asset_id,
                "name": device.name,
                "kind": device.kind,
                "parent": device.parent,
                "reachable": self.fleet.reachable(device.asset_id),
                "services": endpoints.get(device.asset_id, {}),
            }
            for device in self.fleet
        ]

    # -- control API ------------------------------------------------------------------------

    async def _start_control(self, host: str, port: int) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.get("/api/v1/devices", self._api_devices),
                web.get("/api/v1/faults", self._api_faults),
                web.post("/api/v1/faults", self._api_inject),
                web.post("/api/v1/faults/clear", self._api_clear),
            ]
        )
        sock = open_listener("tcp", host, port, fallback=self.fallback)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.control_port = int(sock.getsockname()[1])
        log.info("simulator control API on http://%s:%d/api/v1/faults", host, self.control_port)

    async def _api_devices(self, request: web.Request) -> web.Response:
        return web.json_response({"devices": self.devices()})

    async def _api_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"faults": [fault_json(f) for f in self.fleet.active_faults()]})

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text="body is not JSON") from exc
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        params = body.get("params", {})
        if not isinstance(params, dict):
            raise web.HTTPBadRequest(text="params must be an object")
        return body

    def _refusal(self, exc: Exception, body: Mapping[str, Any]) -> web.Response:
        """400 with the reason in words a drill can print as it is."""
        if isinstance(exc, UnknownAsset):
            devices = ", ".join(sorted(d.asset_id for d in self.fleet))
            text = f"no simulated device {body.get('target')!r} (the devices: {devices})"
        elif isinstance(exc, FaultError):
            text = str(exc)
        elif not isinstance(body.get("fault"), str) or body["fault"] not in set(Fault):
            faults = ", ".join(f.value for f in Fault)
            text = f"no fault {body.get('fault')!r} (the faults: {faults})"
        else:
            text = f"{body['fault']} on {body.get('target')}: bad parameters ({exc})"
        return web.json_response({"error": text}, status=400)

    async def _api_inject(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            active = self.fleet.inject(
                Fault(str(body.get("fault"))), str(body.get("target")), **body.get("params", {})
            )
        except (ValueError, FaultError, UnknownAsset, TypeError) as exc:
            return self._refusal(exc, body)
        log.warning("fault injected: %s on %s %s", active.fault, active.target, active.params)
        return web.json_response(fault_json(active), status=201)

    async def _api_clear(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            if body.get("fault") is None:
                cleared = self.fleet.clear_all()
            else:
                cleared = self.fleet.clear(
                    Fault(str(body["fault"])), str(body.get("target")), **body.get("params", {})
                )
        except (ValueError, FaultError, UnknownAsset, TypeError) as exc:
            return self._refusal(exc, body)
        for fault in cleared:
            log.warning("fault cleared: %s on %s", fault.fault, fault.target)
        return web.json_response({"cleared": [fault_json(f) for f in cleared]})
