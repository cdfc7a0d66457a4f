"""The handover service: the shift log, the two signatures of a handover, lines written into the
log, and the duty board's problems turned into faults, for the page, the API and the command
line alike.

Who signs is always the authenticated person handed in by the caller. The outgoing technician
signs a shift over from ``sign_from`` before its end (or any time after), with notes for the
next shift; the log as it stands then is kept whole with the signature. Someone else
acknowledges it: a person cannot take over from themselves. A handover that is not complete
``sign_within`` after the change-over is overdue, which ``trunkwatch_duty_handover_overdue``
tells the supervisor.

Faults: the instance that does the once-only work compares the board's problems with the
faults open in the store every few seconds, raising the new ones (from when the board says
they began) and clearing those gone. An asset without a result yet (a daemon just started)
clears nothing, so a restart does not close and reopen every fault.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.inspections.errors import Conflict, InvalidEntry, NotAllowed, NotFound, StoreError
from monitor.inspections.handover.records import (
    PERSON_KINDS,
    DutyEvent,
    EventKind,
    Fault,
    Handover,
)
from monitor.inspections.handover.setup import DutySetup
from monitor.inspections.handover.shiftlog import ShiftLog, collect
from monitor.inspections.handover.shifts import Shift

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.service import InspectionService

__all__ = ["HandoverService", "HandoverStatus", "Problems"]

log = logging.getLogger("trunkwatch.duty.handover")

#: How often faults are compared with the board and the handover status read again.
REFRESH_SECONDS = 5.0
MAX_NOTES = 4000
MAX_TEXT = 500

#: The board's problems now, and the assets that have a result (whose problems are known).
Problems = Callable[[], tuple[list[Mapping[str, Any]], set[str]]]


@dataclass(frozen=True, slots=True)
class HandoverStatus:
    """The last shift that ended and how far its handover got, for metrics and the page
    (never overdue when it ended before handovers were kept)."""

    shift: Shift
    handover: Handover | None
    #: When both signatures are due: the change-over plus ``sign_within``.
    deadline: float
    overdue: bool

    @property
    def stage(self) -> str:
        """What is missing: the outgoing signature, the incoming one, or nothing."""
        if self.handover is None:
            return "outgoing"
        return "" if self.handover.complete else "incoming"


class HandoverService:
    """Shifts, their logs and handovers for one configuration and one store."""

    def __init__(self, inspections: InspectionService) -> None:
        self._inspections = inspections
        self.status: HandoverStatus | None = None
        self._store_failing = False
        self._since: float | None = None
        self._rota: str | None = None

    # -- the rota --------------------------------------------------------------------------

    @property
    def setup(self) -> DutySetup:
        duty = self._inspections.setup.duty
        if duty is None:
            raise NotFound("no duty shifts are configured (inspections.duty.shifts)")
        return duty

    @property
    def enabled(self) -> bool:
        return self._inspections.setup.duty is not None

    def now(self) -> float:
        return self._inspections.clock.time()

    def local(self, t: float) -> datetime:
        return self._inspections.local(t)

    def begin(self) -> float:
        """Note the rota in force in the store (once per rota) and return since when
        handovers are kept: none is due for a shift that ended before. Raises StoreError."""
        rota = ",".join(f"{t:%H:%M}" for t in self.setup.rota.times)
        if self._since is None or self._rota != rota:
            self._since = self._inspections.store.record_rota(rota, self.now())
            self._rota = rota
        return self._since

    def kept(self, shift: Shift) -> bool:
        """Whether the shift's handover is due at all (it ended after handovers were kept)."""
        return shift.end_ts > self.begin()

    def shift(self, which: str | None = None) -> Shift:
        """``current`` (default), ``previous`` or a shift's key."""
        rota = self.setup.rota
        current = rota.at(self.now())
        if which in (None, "", "current"):
            return current
        if which == "previous":
            return rota.previous(current)
        assert which is not None
        try:
            shift = rota.by_key(which)
        except ValueError as exc:
            raise InvalidEntry("班次无效 / not a shift", {"shift": str(exc)}) from None
        if shift.start_ts > self.now():
            raise NotFound(f"the shift {which} has not begun")
        return shift

    def to_hand_over(self) -> Shift:
        """The shift whose handover is signed now: the one before the current one while it
        is not signed over (its technician signs late; unless it ended before handovers were
        kept), else the current one (which opens for signing ``sign_from`` before its end).
        Raises StoreError."""
        rota = self.setup.rota
        now = self.now()
        current = rota.at(now)
        previous = rota.previous(current)
        if (
            now < current.end_ts - self.setup.sign_from
            and self.kept(previous)
            and self.handover(previous) is None
        ):
            return previous
        return current

    # -- reading ---------------------------------------------------------------------------

    def log(self, shift: Shift) -> ShiftLog:
        """The shift's log as of its end, or now while it runs. Raises StoreError."""
        inspections = self._inspections
        return collect(shift, self.now(), inspections.store, inspections.setup)

    def handover(self, shift: Shift) -> Handover | None:
        return self._inspections.store.handover(shift.key)

    def recent(self, days: float = 7.0) -> list[tuple[Shift, Handover | None]]:
        """The shifts that ended in the last ``days``, newest first, with their handovers."""
        rota = self.setup.rota
        now = self.now()
        found = {
            h.shift: h for h in self._inspections.store.handovers(ending_after=now - days * 86400)
        }
        out: list[tuple[Shift, Handover | None]] = []
        shift = rota.previous(rota.at(now))
        while shift.end_ts > now - days * 86400 and self.kept(shift) and len(out) < 100:
            out.append((shift, found.get(shift.key)))
            shift = rota.previous(shift)
        return out

    # -- signatures ------------------------------------------------------------------------

    def sign(self, person: Person, notes: str, shift_key: str | None = None) -> Handover:
        """The outgoing technician signs the shift over, with notes for the next shift."""
        shift = self.shift(shift_key) if shift_key else self.to_hand_over()
        now = self.now()
        opens = shift.end_ts - self.setup.sign_from
        if now < opens:
            raise Conflict(
                f"交班时间未到：本班至 {self.local(shift.end_ts):%H:%M}，"
                f"{self.local(opens):%H:%M} 起可交班 / the shift runs until "
                f"{self.local(shift.end_ts):%H:%M}; it can be signed over from "
                f"{self.local(opens):%H:%M}"
            )
        text = _notes(notes, required=True)
        shift_log = self.log(shift)
        handover = Handover(
            shift=shift.key,
            shift_start=shift.start_ts,
            shift_end=shift.end_ts,
            outgoing=person.id,
            outgoing_notes=text,
            signed_at=now,
            log=shift_log.text(),
            log_digest=shift_log.digest(),
        )
        signed = self._inspections.store.sign_handover(handover)
        log.info("shift %s handed over by %s", shift.key, person.id)
        self._refresh_status()
        return signed

    def acknowledge(
        self, person: Person, notes: str = "", shift_key: str | None = None
    ) -> Handover:
        """The incoming technician acknowledges a signed handover (the latest waiting one)."""
        store = self._inspections.store
        if shift_key:
            shift = self.shift(shift_key)
        else:
            candidate = self.to_hand_over()
            options = [candidate, self.setup.rota.previous(candidate)]
            signed = {s.key: h for s in options if (h := store.handover(s.key)) is not None}
            waiting = [s for s in options if s.key in signed and not signed[s.key].complete]
            shift = (waiting or [s for s in options if s.key in signed] or [candidate])[0]
        found = store.handover(shift.key)
        if found is None:
            raise NotFound(f"{shift.key} 尚未交班 / the shift {shift.key} is not signed over yet")
        if found.outgoing == person.id:
            raise NotAllowed(
                "接班须由另一人确认 / someone other than the outgoing technician takes over"
            )
        done = store.acknowledge_handover(shift.key, person.id, _notes(notes), self.now())
        log.info("shift %s taken over by %s", shift.key, person.id)
        self._refresh_status()
        return done

    # -- lines of the log ------------------------------------------------------------------

    def write(
        self, person: Person, kind: str, text: str, *, site: str = "", asset: str = ""
    ) -> DutyEvent:
        """A drill or a note, written by ``person`` now."""
        problems: dict[str, str] = {}
        try:
            event_kind = EventKind(kind)
        except ValueError:
            event_kind = EventKind.NOTE
            problems["kind"] = "drill or note"
        if event_kind not in PERSON_KINDS:
            problems["kind"] = "drill or note"
        body = text.strip() if isinstance(text, str) else ""
        if not body or len(body) > MAX_TEXT:
            problems["text"] = f"1 to {MAX_TEXT} characters"
        estate = self._inspections.setup.maintenance
        if site and site not in estate.sites:
            problems["site"] = f"no site {site!r}"
        if asset and asset not in estate.assets:
            problems["asset"] = f"no asset {asset!r}"
        if problems:
            raise InvalidEntry("无法记录 / the line is not valid", problems)
        event = DutyEvent(str(uuid.uuid4()), self.now(), event_kind, person.id, body, site, asset)
        return self._inspections.store.add_event(event)

    def reloaded(self, problems: Iterable[str]) -> None:
        """Note a configuration reload (``problems`` empty: accepted). Never raises."""
        found = list(problems)
        kind = EventKind.CONFIG_REJECTED if found else EventKind.CONFIG_RELOAD
        text = (
            f"配置重载被拒绝（{len(found)} 个问题），继续使用原配置 / "
            f"reload rejected ({len(found)} problems), running configuration kept"
            if found
            else "配置已重载 / configuration reloaded"
        )
        event = DutyEvent(str(uuid.uuid4()), self.now(), kind, "trunkwatch", text)
        try:
            self._inspections.store.add_event(event)
        except StoreError as exc:
            log.error("configuration reload not written to the shift log: %s", exc)

    # -- faults ----------------------------------------------------------------------------

    def observe(self, problems: Iterable[Mapping[str, Any]], known: set[str]) -> None:
        """Bring the store's open faults in step with the board's problems now: raise the new
        ones, clear those gone (of assets in ``known`` only). Raises StoreError."""
        store = self._inspections.store
        now = self.now()
        current = {p["key"]: p for p in problems}
        open_faults = {f.key: f for f in store.open_faults()}
        for key, fault in open_faults.items():
            if key not in current and fault.asset in known:
                store.clear_fault(fault.id, now)
        for key, p in current.items():
            if key in open_faults:
                continue
            since = p.get("since")
            raised = min(float(since), now) if isinstance(since, int | float) else now
            store.raise_fault(
                Fault(
                    id=str(uuid.uuid4()),
                    key=key,
                    asset=p["asset"],
                    site=p["site"],
                    alert=p["alert"],
                    severity=p["severity"],
                    zh=p["zh"],
                    en=p["en"],
                    raised_at=raised,
                )
            )

    # -- the daemon's loop -----------------------------------------------------------------

    def _refresh_status(self) -> None:
        if not self.enabled:
            self.status = None
            return
        setup = self.setup
        now = self.now()
        shift = setup.rota.previous(setup.rota.at(now))
        handover = self._inspections.store.handover(shift.key)
        deadline = shift.end_ts + setup.sign_within
        complete = handover is not None and handover.complete
        late = not complete and now >= deadline and self.kept(shift)
        self.status = HandoverStatus(shift, handover, deadline, late)

    def _pass(self, board: tuple[list[Mapping[str, Any]], set[str]] | None) -> None:
        if board is not None:
            self.observe(*board)
        self._refresh_status()

    async def watch(self, problems: Problems | None, leading: Callable[[], bool]) -> None:
        """For as long as the daemon runs: faults from the board (on the leading instance)
        and the handover status, every few seconds. The board is read here, on the event
        loop where the results change; the store in a worker thread. A failing store is
        logged once."""
        clock = self._inspections.clock
        while True:
            if self.enabled:
                board = problems() if problems is not None and leading() else None
                try:
                    await asyncio.to_thread(self._pass, board)
                except StoreError as exc:
                    if not self._store_failing:
                        log.error("shift log not kept up to date: %s", exc)
                    self._store_failing = True
                else:
                    if self._store_failing:
                        log.info("shift log up to date again")
                    self._store_failing = False
            await clock.sleep(REFRESH_SECONDS)


def _notes(text: Any, *, required: bool = False) -> str:
    notes = text.strip() if isinstance(text, str) else ""
    if required and not notes:
        raise InvalidEntry(
            "须填写交班事项 / write what the next shift must know",
            {"notes": "交班事项（无则写“无”）/ handover notes (write 'none' if nothing)"},
        )
    if len(notes) > MAX_NOTES:
        raise InvalidEntry("交班事项过长 / notes too long", {"notes": f"at most {MAX_NOTES}"})
    return notes
