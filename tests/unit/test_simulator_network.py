"""Switches, routers and servers: IF-MIB counters that follow the day, 32-bit wrap, port
faults, HOST-RESOURCES readings and reboots."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.simulator import oids as O
from monitor.simulator.device import OperStatus
from monitor.simulator.mib import Syntax, build_view
from monitor.simulator.network import NetworkDevice, NetworkDeviceSpec, Server, ServerSpec
from monitor.simulator.signals import DailyProfile

T0 = datetime(2016, 7, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def switch(speed_mbps: int = 10000) -> NetworkDevice:
    spec = NetworkDeviceSpec("sw-test", "测试交换机", ports=4, port_speed_mbps=speed_mbps)
    return NetworkDevice.for_spec(spec, start=T0, seed=3, profile=DailyProfile())


def test_hc_octets_grow_and_32_bit_octets_wrap() -> None:
    sw = switch()
    view = build_view(sw)
    assert view is not None
    hc_oid = (*O.IF_HC_IN_OCTETS, 1)
    low_oid = (*O.IF_IN_OCTETS, 1)
    hc_before = view.get(hc_oid)
    assert hc_before.tag == Syntax.COUNTER64
    wrapped = False
    previous_hc = int(hc_before.value)  # type: ignore[arg-type]
    previous_low = int(view.get(low_oid).value)  # type: ignore[arg-type]
    for step in range(1, 121):
        sw.advance(T0 + step * 30)
        hc = int(view.get(hc_oid).value)  # type: ignore[arg-type]
        low = int(view.get(low_oid).value)  # type: ignore[arg-type]
        assert hc > previous_hc
        assert low == hc % 2**32
        assert low < 2**32
        wrapped |= low < previous_low
        previous_hc, previous_low = hc, low
    assert wrapped, "a busy 10G port passes 2^32 octets within the hour"
    assert view.get(low_oid).tag == Syntax.COUNTER32


def test_octet_rate_follows_the_daily_profile() -> None:
    sw = switch()
    iface = sw.interfaces[0]

    def bytes_in_hour(hour_offset: float) -> float:
        sw.advance(T0 + hour_offset * 3600)
        before = iface.in_octets
        sw.advance(T0 + (hour_offset + 1) * 3600)
        return (iface.in_octets - before) % 2**64

    busy = bytes_in_hour(1)  # 10:00–11:00, profile 1.0
    night = bytes_in_hour(19)  # 04:00–05:00, profile 0.15
    assert busy > 2.5 * night


def test_same_octets_whatever_the_poll_cadence() -> None:
    a, b = switch(), switch()
    for minute in range(0, 180, 1):
        a.advance(T0 + minute * 60)
    a.advance(T0 + 180 * 60)
    b.advance(T0 + 180 * 60)
    assert abs(a.interfaces[2].in_octets - b.interfaces[2].in_octets) < 1.0


def test_port_down_stops_its_counters_and_reports_down() -> None:
    sw = switch(1000)
    sw.advance(T0 + 60)
    sw.set_port_link(2, False, T0 + 60)
    before = sw.interfaces[1].in_octets
    sw.advance(T0 + 3600)
    assert sw.interfaces[1].in_octets == before
    assert sw.interfaces[1].oper_status(sw.answering) is OperStatus.DOWN
    assert sw.interfaces[1].admin_up
    assert not sw.port_up(2) and sw.port_up(1)
    view = build_view(sw)
    assert view is not None
    assert view.get((*O.IF_OPER_STATUS, 2)).value == 2
    assert view.get((*O.IF_ADMIN_STATUS, 2)).value == 1
    assert view.get((*O.IF_LAST_CHANGE, 2)).value == sw.interfaces[1].last_change_ticks > 0


def test_server_reports_cpu_storage_and_uptime() -> None:
    server = Server(
        ServerSpec("srv-test", "测试服务器", cpus=4), start=T0, seed=1, profile=DailyProfile()
    )
    view = build_view(server)
    assert view is not None
    server.advance(T0 + 3600)
    loads = [b.value for b in view.walk(O.HR_PROCESSOR_LOAD)]
    assert len(loads) == 4
    assert all(isinstance(v, int) and 0 <= v <= 100 for v in loads)
    descrs = [b.value for b in view.walk(O.HR_STORAGE_DESCR)]
    assert descrs == [b"Physical memory", b"Swap space", b"/", b"/var"]
    used_var = view.get((*O.HR_STORAGE_USED, 4)).value
    server.advance(T0 + 30 * 86400)
    assert view.get((*O.HR_STORAGE_USED, 4)).value > used_var  # type: ignore[operator]
    uptime = view.get((*O.HR_SYSTEM_UPTIME, 0)).value
    assert view.get((*O.SYS_UP_TIME, 0)).value == uptime
    server.reboot(T0 + 30 * 86400 + 10)
    server.advance(T0 + 30 * 86400 + 20)
    assert view.get((*O.SYS_UP_TIME, 0)).value == 1000
    date = view.get((*O.HR_SYSTEM_DATE, 0)).value
    assert isinstance(date, bytes) and len(date) == 11 and date[8:] == b"+\x08\x00"
