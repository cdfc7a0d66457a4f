"""What shift handover takes from the configuration (``inspections.duty``): the rota, when the
outgoing technician may sign, when both signatures are due, and who is told when they are
not."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.inspections.config import DutySettings
from monitor.inspections.handover.shifts import ShiftPlan

__all__ = ["DutySetup", "build_duty_setup"]


@dataclass(frozen=True, slots=True)
class DutySetup:
    rota: ShiftPlan
    #: Seconds before the change-over from which the outgoing technician may sign.
    sign_from: float
    #: Seconds after the change-over by which both signatures are due.
    sign_within: float
    #: Who is told of a late handover (a person or team id); None: the roster's supervisors.
    supervisor: str | None


def build_duty_setup(settings: DutySettings, zone: ZoneInfo) -> DutySetup:
    return DutySetup(
        rota=ShiftPlan(settings.shifts, zone),
        sign_from=settings.sign_from.total_seconds(),
        sign_within=settings.sign_within.total_seconds(),
        supervisor=settings.supervisor,
    )
