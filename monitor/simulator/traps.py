"""Notifications from the simulated fleet: when a fault is put in force or cleared, the device
sends the SNMPv2c trap its real counterpart would (the base-station MIB's fail/restore pairs,
DS1-MIB's dsx1LineStatusChange) to the configured trap sink, from its own agent port.

A device that cannot reach the centre sends nothing: a trap about a failed backhaul never
arrives, exactly as in the field, and the poller is what notices.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from monitor.simulator import oids as O
from monitor.simulator.fleet import ActiveFault, Fault, Fleet
from monitor.simulator.lines import E1Gateway
from probes.snmp.codec import Message, PduType, Tag, VarBind, encode_message

__all__ = ["TrapSender", "notification_for"]

log = logging.getLogger("trunkwatch.simulator.traps")

SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
DSX1_LINE_STATUS_CHANGE = (1, 3, 6, 1, 2, 1, 10, 18, 15, 0, 1)

Oid = tuple[int, ...]


def notification_for(fleet: Fleet, fault: ActiveFault, raised: bool) -> tuple[Oid, list[VarBind]]:
    """The notification OID and its payload varbinds for a fault change, or ``((), [])`` when
    the device would send none."""
    params = fault.params
    if fault.fault is Fault.CARRIER_FAILURE:
        carrier = int(params.get("carrier", 1))
        oid = O.TSIM_CARRIER_FAIL if raised else O.TSIM_CARRIER_RESTORED
        state = 2 if raised else 1
        return oid, [VarBind((*O.TSIM_CARRIER_STATE, carrier), Tag.INTEGER, state)]
    if fault.fault is Fault.VSWR_HIGH:
        carrier = int(params.get("carrier", 1))
        oid = O.TSIM_VSWR_HIGH if raised else O.TSIM_VSWR_NORMAL
        site = fleet.site(fault.target)
        vswr = round(100 * site.measured_vswr(site.carrier(carrier)))
        return oid, [VarBind((*O.TSIM_CARRIER_VSWR, carrier), Tag.GAUGE32, vswr)]
    if fault.fault is Fault.MAINS_FAILURE:
        return (O.TSIM_MAINS_FAIL if raised else O.TSIM_MAINS_RESTORED), []
    if fault.fault in (Fault.E1_LOS, Fault.E1_LOF, Fault.E1_AIS, Fault.E1_RAI):
        gateway = fleet.device(fault.target)
        assert isinstance(gateway, E1Gateway)
        span = int(params.get("span", 1))
        status = gateway.span(span).line_status
        return DSX1_LINE_STATUS_CHANGE, [VarBind((*O.DSX1_LINE_STATUS, span), Tag.INTEGER, status)]
    return (), []


class TrapSender:
    """Sends the fleet's notifications through the agent's per-device sockets."""

    def __init__(
        self,
        fleet: Fleet,
        transports: dict[str, asyncio.DatagramTransport],
        sink: tuple[str, int] | None,
        community: bytes,
    ) -> None:
        self.fleet = fleet
        self.transports = transports
        self.sink = sink
        self.community = community
        self.sent = 0
        self._ids = itertools.count(1)
        fleet.fault_listeners.append(self._on_fault)

    def close(self) -> None:
        if self._on_fault in self.fleet.fault_listeners:
            self.fleet.fault_listeners.remove(self._on_fault)

    def _on_fault(self, fault: ActiveFault, raised: bool) -> None:
        if self.sink is None:
            return
        notification, payload = notification_for(self.fleet, fault, raised)
        transport = self.transports.get(fault.target)
        if not notification or transport is None or transport.is_closing():
            return
        if not self.fleet.reachable(fault.target):
            return  # the centre cannot hear it: the network path is down
        device = self.fleet.device(fault.target)
        varbinds = [
            VarBind((*O.SYS_UP_TIME, 0), Tag.TIMETICKS, device.uptime_ticks),
            VarBind(SNMP_TRAP_OID, Tag.OBJECT_IDENTIFIER, notification),
            *payload,
        ]
        message = Message(
            version=1,
            community=self.community,
            pdu_type=PduType.TRAP_V2,
            request_id=next(self._ids),
            varbinds=varbinds,
        )
        transport.sendto(encode_message(message), self.sink)
        self.sent += 1
        log.info("trap sent: %s from %s", ".".join(map(str, notification)), fault.target)
