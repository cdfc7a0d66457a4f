"""The maintenance service: starts and ends windows for the page, the API and the command line
alike, keeps each window's Alertmanager silence in step with it, and holds the windows in
force for the duty board and the metrics.

A window is written to the store first, then silenced: Alertmanager being down never loses a
window. Its silence is made at once when Alertmanager answers, else on a later pass of
``reconcile`` (the daemon's, on the one instance that does the once-only work), and it is
made once: a silence already carrying the window's marker is adopted, and of two made by two
processes at the same moment the store keeps the first and the second is expired again. A
window ended early has its silence expired the same way. Failures count in
``trunkwatch_maintenance_silence_errors_total`` and are logged once when they start and once
when they stop; ``trunkwatch_maintenance_silences_pending`` says how many windows wait.

A silence matches the window's asset (``asset="…"``) or site (``site="…"``) and leaves the
inspection alerts of that site alone (``alertname!~"Inspection.*"``): planned work does not
excuse a round. It runs from the window's start (Alertmanager starts a silence no earlier
than when it is made) to its planned end, is created by the owner, and its comment is the
reason and the window's marker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from monitor.core.clock import Clock
from monitor.core.durations import format_duration
from monitor.inspections.errors import Conflict, InvalidEntry, NotFound, StoreError
from monitor.inspections.maintenance.records import MaintenanceWindow, Scope, WindowState
from monitor.inspections.maintenance.setup import MaintenanceSetup
from monitor.inspections.maintenance.silences import (
    AlertmanagerSilences,
    Matcher,
    SilenceApi,
    SilenceError,
    SilenceSpec,
    format_time,
)
from monitor.inspections.maintenance.tables import MaintenanceStore

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = [
    "MAX_OVERLAPPING",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "REFRESH_SECONDS",
    "MaintenanceService",
    "marker",
]

log = logging.getLogger("trunkwatch.maintenance")

MIN_SECONDS = 60.0  # the bounds "between 1m and 7d" in what a refusal says
#: Longer work is planned as several windows: a silence forgotten for weeks hides real faults.
MAX_SECONDS = 7 * 86400.0
MAX_REASON = 500
#: How often each instance reads the windows in force (another instance's, the command
#: line's) and, on the leading one, brings the silences in step.
REFRESH_SECONDS = 5.0
#: Windows read for one availability period (``availability report``): years of windows,
#: several a day.
MAX_OVERLAPPING = 100_000
OPERATIONS = ("create", "expire")


def marker(window_id: str) -> str:
    """What a silence's comment carries so its window can find it again."""
    return f"trunkwatch maintenance {window_id}"


class MaintenanceService:
    """Planned maintenance windows for one configuration and one store."""

    def __init__(
        self,
        setup: MaintenanceSetup,
        store: MaintenanceStore,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        *,
        silences: SilenceApi | None = None,
    ) -> None:
        self.setup = setup
        self._store = store
        self._clock = clock
        self._given_silences = silences
        self.silences = silences or _client(setup)
        # One process works on one window's silence at a time (the handler that started it
        # and the reconcile pass); processes are kept apart by the store (record_silence).
        self._silence_lock = threading.Lock()
        self._snapshot: tuple[MaintenanceWindow, ...] = ()
        #: Ended windows with no silence of their own that Alertmanager was searched for.
        self._searched: set[str] = set()
        self._failing: str | None = None
        self._store_failing = False
        #: Windows whose silence is not yet as it should be (made, or expired).
        self.pending = 0
        self.errors: Counter[str] = Counter({op: 0 for op in OPERATIONS})
        if registry is not None:
            from monitor.inspections.maintenance.metrics import MaintenanceCollector

            registry.register(MaintenanceCollector(self))

    def install(self, setup: MaintenanceSetup) -> None:
        """Run with a reloaded configuration (its estate, its Alertmanager)."""
        self.setup = setup
        self.silences = self._given_silences or _client(setup)

    def now(self) -> float:
        return self._clock.time()

    @property
    def silence_problem(self) -> str | None:
        """Why silences cannot be kept in step right now (None when they can)."""
        return self._failing

    # -- decisions -------------------------------------------------------------------------

    def start(
        self,
        owner: str,
        scope: Scope | str,
        target: str,
        seconds: float,
        reason: str,
        *,
        round_id: str | None = None,
    ) -> MaintenanceWindow:
        """Take an asset or a site out of service from now for ``seconds``, as ``owner``;
        the window is stored before its silence is asked for."""
        problems: dict[str, str] = {}
        site: str | None = None
        try:
            scope = Scope(scope)
        except ValueError:
            problems["scope"] = "asset or site"
        else:
            site = self._site_of(scope, target)
            if site is None:
                raise NotFound(f"no {scope.value} {target!r} in the configuration")
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            problems["for"] = "between 1m and 7d"
        reason = " ".join(reason.split())
        if not reason:
            problems["reason"] = "须说明原因 / say why"
        elif len(reason) > MAX_REASON:
            problems["reason"] = f"at most {MAX_REASON} characters"
        elif not reason.isprintable():
            problems["reason"] = "text without control characters"
        if problems:
            raise InvalidEntry("计划检修无法登记 / the maintenance window is not valid", problems)
        now = round(self.now(), 3)
        window = MaintenanceWindow(
            id=str(uuid.uuid4()),
            scope=Scope(scope),
            target=target,
            site=site or "",
            starts_at=now,
            ends_at=round(now + seconds, 3),
            reason=reason,
            owner=owner,
            created_at=now,
            round_id=round_id,
        )
        stored = self._store.add_window(window)
        log.info(
            "maintenance started window=%s target=%s for=%s by=%s",
            stored.id,
            stored.key,
            format_duration(round(seconds)),
            owner,
        )
        self._remember(stored)
        return self._silence_now(stored)

    def end(self, person: str, window_id: str) -> MaintenanceWindow:
        """End a window now, before its planned end; anyone on the roster may (the audit log
        says who): more alerts, never fewer."""
        ended = self._store.end_window(window_id, person, self.now())
        log.info("maintenance ended early window=%s target=%s by=%s", ended.id, ended.key, person)
        self._remember(ended)
        return self._silence_now(ended)

    def get(self, window_id: str) -> MaintenanceWindow:
        found = self._store.window(window_id)
        if found is None:
            raise NotFound(f"no maintenance window {window_id}")
        return found

    def windows(self, *, past: bool = False) -> list[MaintenanceWindow]:
        """The windows in force or still to come; with ``past``, the latest 500 of all."""
        if past:
            return self._store.windows()
        return self._store.windows(ending_after=self.now())

    def _site_of(self, scope: Scope, target: str) -> str | None:
        if scope is Scope.ASSET:
            asset = self.setup.assets.get(target)
            return asset.site if asset else None
        return target if target in self.setup.sites else None

    # -- the windows in force ----------------------------------------------------------------

    def _remember(self, window: MaintenanceWindow) -> None:
        now = self.now()
        kept = [w for w in self._snapshot if w.id != window.id]
        if window.end > now:
            kept.append(window)
        self._snapshot = tuple(kept)

    def refresh(self) -> None:
        """Read the windows in force and to come (this instance's and everyone else's)."""
        try:
            self._snapshot = tuple(self._store.windows(ending_after=self.now()))
        except StoreError as exc:
            if not self._store_failing:
                log.error("maintenance windows cannot be read, showing the last known: %s", exc)
            self._store_failing = True
            return
        if self._store_failing:
            log.info("maintenance windows readable again")
        self._store_failing = False

    def in_force(self, now: float | None = None) -> dict[str, MaintenanceWindow]:
        """Asset id → the window that has it out of service now (the one ending last)."""
        now = self.now() if now is None else now
        out: dict[str, MaintenanceWindow] = {}
        for window in self._snapshot:
            if not window.in_force(now):
                continue
            for asset in self.setup.assets_of(window.scope.value, window.target):
                held = out.get(asset)
                if held is None or window.end > held.end:
                    out[asset] = window
        return out

    def active_windows(self, now: float | None = None) -> list[MaintenanceWindow]:
        now = self.now() if now is None else now
        return [w for w in self._snapshot if w.in_force(now)]

    # -- silences --------------------------------------------------------------------------

    @staticmethod
    def matchers(window: MaintenanceWindow) -> tuple[Matcher, ...]:
        return (
            Matcher(window.scope.value, window.target),
            Matcher("alertname", "Inspection.*", is_regex=True, is_equal=False),
        )

    def spec(self, window: MaintenanceWindow) -> SilenceSpec:
        return SilenceSpec(
            matchers=self.matchers(window),
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            created_by=window.owner,
            comment=f"{window.reason} ({marker(window.id)})",
        )

    def _wants(self, window: MaintenanceWindow, now: float) -> str | None:
        """What the window's silence still needs: "create", "expire", "search" or None."""
        if now >= window.ends_at:
            return None  # the silence (if any) has ended by itself
        if window.ended_at is None:
            return "create" if window.silence_id is None else None
        if window.silence_id is not None:
            return "expire" if window.silence_expired_at is None else None
        return None if window.id in self._searched else "search"

    def _bring_in_step(self, api: SilenceApi, window: MaintenanceWindow) -> MaintenanceWindow:
        """Make, expire or look for the window's silence; raises SilenceError, StoreError."""
        now = self.now()
        wants = self._wants(window, now)
        if wants == "create":
            found = api.find(marker(window.id), self.matchers(window))
            made = found.id if found is not None else api.create(self.spec(window))
            kept = self._store.record_silence(window.id, made, now)
            if kept != made:
                api.expire(made)  # another instance recorded its own first
            else:
                log.info(
                    "maintenance silence %s window=%s target=%s until %s",
                    made,
                    window.id,
                    window.key,
                    format_time(window.ends_at),
                )
            return replace(window, silence_id=kept)
        if wants == "expire":
            assert window.silence_id is not None
            api.expire(window.silence_id)
            self._store.expire_silence(window.id, now)
            log.info("maintenance silence %s expired window=%s", window.silence_id, window.id)
            return replace(window, silence_expired_at=now)
        if wants == "search":
            # Made but never recorded (a crash in between, or ended while being made).
            found = api.find(marker(window.id), self.matchers(window))
            if found is not None:
                api.expire(found.id)
            self._searched.add(window.id)
        return window

    def _silence_now(self, window: MaintenanceWindow) -> MaintenanceWindow:
        """Try to bring one window's silence in step at once; a failure is left to the next
        reconcile pass (the window itself is stored)."""
        api = self.silences
        if api is None or self._wants(window, self.now()) is None:
            return window
        with self._silence_lock:
            try:
                done = self._bring_in_step(api, window)
            except (SilenceError, StoreError) as exc:
                self._failed(window, exc)
                return window
            self._recovered()
        self._remember(done)
        return done

    def reconcile(self) -> int:
        """Bring every window's silence in step; returns how many still wait."""
        api = self.silences
        if api is None:
            self.pending = 0
            return 0
        now = self.now()
        try:
            windows = self._store.windows(planned_end_after=now)
        except StoreError as exc:
            # ``refresh`` has just said so, once; this pass is simply skipped.
            log.debug("maintenance silences not checked: %s", exc)
            return self.pending
        waiting = [w for w in windows if self._wants(w, now) is not None]
        with self._silence_lock:
            for i, window in enumerate(waiting):
                try:
                    self._bring_in_step(api, window)
                except (SilenceError, StoreError) as exc:
                    self._failed(window, exc)
                    self.pending = len(waiting) - i
                    return self.pending
            if waiting:
                self._recovered()
            self.pending = 0
        return 0

    def _recovered(self) -> None:
        if self._failing is not None:
            log.info("maintenance silences in step with Alertmanager again")
        self._failing = None

    def _failed(self, window: MaintenanceWindow, exc: Exception) -> None:
        operation = "expire" if window.ended_at is not None else "create"
        self.errors[operation] += 1
        reason = str(exc)
        if self._failing is None:
            log.error(
                "maintenance silence of window %s (%s) not in step, retried every %s: %s",
                window.id,
                window.key,
                format_duration(REFRESH_SECONDS),
                reason,
            )
        self._failing = reason
        self.pending = max(self.pending, 1)

    # -- the daemon's loop -----------------------------------------------------------------

    async def watch(self, leading: Callable[[], bool], interval: float = REFRESH_SECONDS) -> None:
        """Forever: read the windows in force; on the leading instance, keep the silences in
        step with them."""
        while True:
            await asyncio.to_thread(self.refresh)
            if leading():
                await asyncio.to_thread(self.reconcile)
            await self._clock.sleep(interval)

    # -- inspection rounds that take equipment off line ------------------------------------

    def open_for_round(
        self,
        owner: str,
        round_id: str,
        scope: str,
        target: str,
        seconds: float,
        reason: str,
    ) -> MaintenanceWindow | None:
        """The round's own window, opened when the round is first opened (once per round:
        a round resumed, or opened on two tablets at once, keeps the one it has)."""
        if self._store.window_of_round(round_id) is not None:
            return None
        try:
            return self.start(owner, scope, target, seconds, reason, round_id=round_id)
        except Conflict:
            return None

    def close_for_round(self, person: str, round_id: str) -> MaintenanceWindow | None:
        """End the round's window at its signature, if it is still running."""
        window = self._store.window_of_round(round_id)
        if window is None or window.state(self.now()) not in (
            WindowState.ACTIVE,
            WindowState.UPCOMING,
        ):
            return None
        return self.end(person, window.id)

    def describe(self, window: MaintenanceWindow) -> Mapping[str, str]:
        """Names for people: the target and its site."""
        if window.scope is Scope.ASSET:
            asset = self.setup.assets.get(window.target)
            name = asset.name if asset else window.target
        else:
            name = self.setup.sites.get(window.target, window.target)
        return {"name": name, "site": self.setup.sites.get(window.site, window.site)}


def _client(setup: MaintenanceSetup) -> SilenceApi | None:
    if not setup.alertmanagers:
        return None
    return AlertmanagerSilences(setup.alertmanagers, timeout=setup.timeout)
