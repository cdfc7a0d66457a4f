"""A site's DC power plant: mains, rectifier and a 48 V battery that carries the load when
mains fails, with charge, minutes remaining and voltage that follow from the load.

The battery state is piecewise linear in time (constant load between events), so it is
integrated exactly at each update and the instant it runs flat is known in advance.
"""

from __future__ import annotations

import math
from enum import IntEnum

__all__ = ["BatteryStatus", "MainsState", "PowerPlant", "RectifierState"]


class MainsState(IntEnum):
    PRESENT = 1
    ABSENT = 2


class RectifierState(IntEnum):
    OK = 1
    OFF = 2
    FAULT = 3


class BatteryStatus(IntEnum):
    """UPS-MIB upsBatteryStatus."""

    UNKNOWN = 1
    NORMAL = 2
    LOW = 3
    DEPLETED = 4


FLOAT_VOLTAGE = 54.0
#: 24 cells: 2.1 V resting when full, 1.8 V a cell at the end of discharge.
FULL_VOLTAGE = 50.4
EMPTY_VOLTAGE = 43.2


class PowerPlant:
    """Mains-fed rectifier and battery of one site.

    ``battery_wh`` is the usable energy; with mains absent the charge falls at ``load_w``.
    With mains back the battery recharges linearly over ``recharge_hours`` from empty.
    ``low_minutes`` is when the battery counts as low (UPS-MIB batteryLow).
    """

    def __init__(
        self,
        *,
        load_w: float,
        battery_wh: float,
        start: float,
        recharge_hours: float = 8.0,
        low_minutes: float = 30.0,
    ) -> None:
        if battery_wh <= 0 or load_w < 0:
            raise ValueError("battery_wh must be positive and load_w >= 0")
        self.battery_wh = battery_wh
        self.recharge_hours = recharge_hours
        self.low_minutes = low_minutes
        self.mains = MainsState.PRESENT
        self.charge_pct = 100.0
        self.on_battery_since: float | None = None
        self._load_w = load_w
        self._now = start

    @property
    def load_w(self) -> float:
        return self._load_w

    @property
    def on_battery(self) -> bool:
        return self.mains is MainsState.ABSENT

    @property
    def depleted(self) -> bool:
        return self.on_battery and self.charge_pct <= 0.0

    @property
    def rectifier(self) -> RectifierState:
        return RectifierState.OK if self.mains is MainsState.PRESENT else RectifierState.OFF

    def _discharge_pct_per_s(self) -> float:
        return self._load_w / self.battery_wh * 100.0 / 3600.0

    def depletion_time(self) -> float:
        """When the battery will be flat at the present load (``inf`` when it will not)."""
        if not self.on_battery or self._load_w <= 0:
            return math.inf
        return self._now + self.charge_pct / self._discharge_pct_per_s()

    def advance(self, t: float) -> None:
        dt = t - self._now
        if dt <= 0:
            return
        if self.on_battery:
            self.charge_pct = max(0.0, self.charge_pct - dt * self._discharge_pct_per_s())
        elif self.charge_pct < 100.0:
            per_s = 100.0 / (self.recharge_hours * 3600.0)
            self.charge_pct = min(100.0, self.charge_pct + dt * per_s)
        self._now = t

    def set_load(self, load_w: float, t: float) -> None:
        self.advance(t)
        self._load_w = max(0.0, load_w)

    def set_mains(self, present: bool, t: float) -> None:
        self.advance(t)
        if present:
            self.mains = MainsState.PRESENT
            self.on_battery_since = None
        elif self.mains is MainsState.PRESENT:
            self.mains = MainsState.ABSENT
            self.on_battery_since = t

    # -- readings --------------------------------------------------------------------------

    @property
    def minutes_remaining(self) -> float:
        """Estimated run time on battery at the present load, as a UPS reports it."""
        if self._load_w <= 0:
            return 0.0 if self.charge_pct <= 0 else 9999.0
        return self.charge_pct / 100.0 * self.battery_wh / self._load_w * 60.0

    @property
    def seconds_on_battery(self) -> float:
        return 0.0 if self.on_battery_since is None else self._now - self.on_battery_since

    @property
    def battery_status(self) -> BatteryStatus:
        if self.charge_pct <= 0.0:
            return BatteryStatus.DEPLETED
        if self.on_battery and self.minutes_remaining < self.low_minutes:
            return BatteryStatus.LOW
        return BatteryStatus.NORMAL

    @property
    def battery_voltage(self) -> float:
        """Float voltage on mains; on battery, falling with charge to 1.8 V a cell."""
        if not self.on_battery:
            return FLOAT_VOLTAGE if self.charge_pct >= 99.5 else FLOAT_VOLTAGE + 0.6
        return EMPTY_VOLTAGE + (FULL_VOLTAGE - EMPTY_VOLTAGE) * self.charge_pct / 100.0

    @property
    def battery_current_a(self) -> float:
        """Positive while charging, negative while discharging (UPS-MIB convention)."""
        if self.on_battery:
            return -self._load_w / max(self.battery_voltage, 1.0)
        if self.charge_pct >= 100.0:
            return 0.0
        return self.battery_wh / self.recharge_hours / FLOAT_VOLTAGE

    @property
    def rectifier_voltage(self) -> float:
        return self.battery_voltage if not self.on_battery else 0.0

    @property
    def rectifier_current_a(self) -> float:
        if self.on_battery:
            return 0.0
        return self._load_w / FLOAT_VOLTAGE + max(0.0, self.battery_current_a)
