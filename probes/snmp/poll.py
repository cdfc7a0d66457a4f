"""Poll one device: a plan's GETs and walks over an ``SnmpTransport``, made into a result.

``DevicePoller`` keeps the device's ``DeviceState`` and runs a poll over any transport, so the
whole algorithm can be tested without a network. A part of the profiles that fails is named in
the result's ``partial`` and the rest kept; text that is not UTF-8 is decoded with the asset's
character set; a probe whose profiles find none of their objects on the agent fails with
``no_such_object``; the agent's uptime and restarts come from sysUpTime, read on every poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from monitor.core.clock import Clock, SystemClock
from probes.base import Family, MalformedReply, NoSuchObject, ProbeError, ProbeResult
from probes.snmp.codec import OID, Tag, VarBind
from probes.snmp.plan import SYS_UPTIME, PollPlan, Walk
from probes.snmp.rows import DEFAULT_CHARSET, ColumnValues
from probes.snmp.state import DeviceState
from probes.snmp.walk import SubtreeWalk

__all__ = [
    "BULK_VARBINDS",
    "DEVICE_REBOOTS",
    "GET_CHUNK",
    "PARALLEL_WALKS",
    "UPTIME_SECONDS",
    "VARBINDS",
    "DevicePoller",
    "SnmpTransport",
    "bulk_walk",
]

UPTIME_SECONDS = Family(
    "trunkwatch_snmp_uptime_seconds",
    "gauge",
    "Time since the SNMP agent (re)started, from sysUpTime, with its 497-day wraps unfolded.",
)
DEVICE_REBOOTS = Family(
    "trunkwatch_snmp_device_reboots_total",
    "counter",
    "Restarts seen by this poller: sysUpTime went backwards (device reboot or agent restart).",
)
VARBINDS = Family(
    "trunkwatch_snmp_varbinds",
    "gauge",
    "Varbinds fetched from the agent by the last poll of this probe.",
    per_probe=True,
)

#: A GET carries at most this many varbinds, so a reply stays well inside one datagram.
GET_CHUNK: Final = 30
#: Walks of one device in flight at once: the small agents of base-station controllers serve
#: requests one at a time, and a handful in flight already hides the round-trip time.
PARALLEL_WALKS: Final = 4
#: Varbinds one multi-column GETBULK asks for: about 1.5 kB of counters, one Ethernet frame,
#: so replies from sites behind thin backhaul links are never fragmented.
BULK_VARBINDS: Final = 60


class SnmpTransport(Protocol):
    """GET and walk against one agent; failures are ``probes.base`` exceptions.

    ``bulk`` sends one GETBULK for several OIDs at once (the reply is row-major, as RFC 3416
    says); transports that cannot (SNMPv1, or a v3 library without it) set ``can_bulk`` false
    and each subtree is walked with ``walk``.
    """

    @property
    def version(self) -> str: ...

    @property
    def can_bulk(self) -> bool: ...

    async def get(self, oids: Sequence[OID]) -> list[VarBind]: ...

    async def walk(self, root: OID) -> list[VarBind]: ...

    async def bulk(self, oids: Sequence[OID], repetitions: int) -> list[VarBind]: ...


async def bulk_walk(
    transport: SnmpTransport,
    roots: Sequence[OID],
    *,
    max_repetitions: int,
    sizes: Mapping[OID, int],
) -> dict[OID, list[VarBind]]:
    """Walk several subtrees together with multi-varbind GETBULKs, as ``snmptable`` does.

    Each request carries one OID per subtree still open and asks for as many rows as the
    largest of them had last time (``sizes``) plus one, capped by ``max_repetitions`` and by
    ``BULK_VARBINDS`` in all; a subtree closes at the first varbind outside it.
    """
    walks = {root: SubtreeWalk(root) for root in roots}
    pending = list(roots)
    while pending:
        n = len(pending)
        left = max(sizes.get(r, max_repetitions) - len(walks[r].varbinds) for r in pending)
        repetitions = max(1, min(max_repetitions, left + 1, BULK_VARBINDS // n))
        got = await transport.bulk([walks[r].last for r in pending], repetitions)
        if not got:
            raise MalformedReply("GETBULK answered with no varbinds")
        # Row-major: the k-th open subtree's varbinds are every n-th from the k-th.
        for k, root in enumerate(pending):
            walks[root].take(got[k::n])
        pending = [root for root in pending if not walks[root].done]
    return {root: walk.varbinds for root, walk in walks.items()}


class _Run:
    """The fetches of one poll and how each went."""

    def __init__(self, plan: PollPlan, transport: SnmpTransport, state: DeviceState) -> None:
        self.plan = plan
        self.transport = transport
        self.state = state
        self.values: dict[OID, VarBind] = {}
        self.walked: dict[OID, list[VarBind]] = {}
        self.partial: dict[str, str] = {}
        self.failed: set[OID] = set()
        self.first_error: ProbeError | None = None
        self.answered = False
        self.varbinds = 0

    def _record(self, part: str, error: ProbeError) -> None:
        if self.first_error is None:
            self.first_error = error
        self.partial.setdefault(part, error.reason)

    async def get(self, oids: Sequence[OID]) -> None:
        """GET in chunks. Raises at once if the agent has answered nothing yet: a dead or
        refusing agent would only make every later request wait for the same timeout."""
        oids = [oid for oid in oids if oid not in self.state.missing_v1]
        for start in range(0, len(oids), GET_CHUNK):
            chunk = oids[start : start + GET_CHUNK]
            try:
                self._got(await self.transport.get(chunk))
            except NoSuchObject as exc:
                if self.transport.version == "1" and len(chunk) > 1:
                    await self._get_one_by_one(chunk)
                else:
                    self._chunk_failed(chunk, exc)
            except ProbeError as exc:
                self._chunk_failed(chunk, exc)
                if not self.answered:
                    raise

    async def _get_one_by_one(self, chunk: Sequence[OID]) -> None:
        # SNMPv1 rejects a whole GET for one missing object: ask one at a time, and skip the
        # missing ones until the next label refresh.
        self.answered = True
        for oid in chunk:
            try:
                self._got(await self.transport.get([oid]))
            except NoSuchObject:
                self.state.missing_v1.add(oid)
            except ProbeError as exc:
                self._chunk_failed([oid], exc)

    def _got(self, got: list[VarBind]) -> None:
        self.answered = True
        self.varbinds += len(got)
        values = self.values
        for vb in got:
            values[vb.oid] = vb

    def _chunk_failed(self, chunk: Sequence[OID], error: ProbeError) -> None:
        self.failed.update(chunk)
        for part in sorted({self.plan.get_part.get(oid, "system") for oid in chunk}):
            self._record(part, error)

    async def walk_all(self, walks: Sequence[Walk], max_repetitions: int) -> None:
        """Walk the subtrees, a few at a time; the subtrees of one table share GETBULKs."""
        if not walks:
            return
        transport, sizes = self.transport, self.state.walk_sizes
        batches: list[list[Walk]] = []
        if transport.can_bulk:
            by_table: dict[str, list[Walk]] = {}
            for walk in walks:
                by_table.setdefault(walk.table, []).append(walk)
            for members in by_table.values():
                for start in range(0, len(members), BULK_VARBINDS):
                    batches.append(members[start : start + BULK_VARBINDS])
        else:
            batches = [[walk] for walk in walks]
        gate = asyncio.Semaphore(PARALLEL_WALKS)

        async def one(batch: list[Walk]) -> None:
            async with gate:
                try:
                    if transport.can_bulk:
                        got = await bulk_walk(
                            transport,
                            [w.root for w in batch],
                            max_repetitions=max_repetitions,
                            sizes=sizes,
                        )
                    else:
                        got = {batch[0].root: await transport.walk(batch[0].root)}
                except ProbeError as exc:
                    for walk in batch:
                        self.failed.add(walk.root)
                        self._record(walk.part, exc)
                    return
            self.answered = True
            for root, vbs in got.items():
                self.varbinds += len(vbs)
                self.walked[root] = vbs
                sizes[root] = len(vbs)

        async with asyncio.TaskGroup() as tasks:
            for batch in batches:
                tasks.create_task(one(batch))

    def record_missing(self, cols: Mapping[OID, ColumnValues]) -> None:
        """Name each required column or object the agent does not have (its fetch worked but
        brought nothing, and no fallback stood in)."""
        plan = self.plan
        for column, part in plan.required.items():
            if cols.get(column):
                continue
            fallback = plan.fallback_of.get(column)
            if fallback is not None and cols.get(fallback):
                continue
            source = plan.root_of.get(column, column)
            if source in self.failed:
                continue  # recorded with the failure's own reason
            self.partial.setdefault(part, NoSuchObject.reason)


class DevicePoller:
    """Polls one device with a plan, remembering counters, labels and uptime between runs.

    ``label_refresh`` is how often (seconds) label columns are walked again, counted from
    the start of the poll that last walked them; they are also walked when the agent
    restarted, a table shows rows not seen before, or the text's charset changed. A poll that
    starts a little early still refreshes (as one does after a poll that the scheduler started
    late), by up to ``tolerance`` or a tenth of ``label_refresh``, whichever is less: 15
    minutes at a 60 s interval is every 15th poll, not every 16th. ``tolerance`` (seconds,
    about the probe timeout) also absorbs request delays when comparing sysUpTime with the
    wall clock. ``max_repetitions`` caps the rows per subtree of one GETBULK. Both intervals
    are measured on ``clock`` (its monotonic seconds).
    """

    def __init__(
        self,
        plan: PollPlan,
        *,
        label_refresh: float = 900.0,
        tolerance: float = 10.0,
        max_repetitions: int = 25,
        clock: Clock | None = None,
        identity: bool = True,
    ) -> None:
        self.plan = plan
        #: Whether this poller exports the agent's uptime and restarts (one poller per asset).
        self.identity = identity
        self.label_refresh = label_refresh
        #: How early a poll may start and still refresh the labels.
        self._refresh_slack = min(tolerance, label_refresh / 10)
        self.max_repetitions = max_repetitions
        self.tolerance = tolerance
        self.clock: Clock = clock or SystemClock()
        self._state: DeviceState | None = None

    @property
    def state(self) -> DeviceState:
        """What the polls remember, made at the first poll: a load or reload builds every
        probe of the fleet at once, and the per-slot tables of thousands of devices would
        cost most of its time and memory before any of them is polled."""
        if self._state is None:
            self._state = DeviceState(len(self.plan.slots))
        return self._state

    async def poll(
        self, transport: SnmpTransport, *, charset: str = DEFAULT_CHARSET
    ) -> ProbeResult:
        """GET the scalars, walk the tables, map. A part that fails is named in ``partial``
        and the rest kept; when nothing answered, the first error is raised, and when the
        agent has none of the profiles' objects, ``NoSuchObject``. ``charset`` reads text
        that is not UTF-8 (a change re-reads the labels)."""
        plan, state = self.plan, self.state
        if charset != state.charset:
            state.charset = charset
            state.labels_at = None
        state.generation += 1
        run = _Run(plan, transport, state)
        started = self.clock.monotonic()
        refresh = (
            state.labels_at is None
            or started - state.labels_at >= self.label_refresh - self._refresh_slack
        )
        await run.get(plan.gets + plan.label_gets if refresh else plan.gets)
        uptime = run.values.get(SYS_UPTIME)
        if uptime is not None and isinstance(uptime.value, int) and uptime.tag == Tag.TIMETICKS:
            if state.uptime.observe(uptime.value, self.clock.monotonic(), self.tolerance):
                state.restart()
                if not refresh:
                    refresh = True
                    await run.get(plan.label_gets)
        else:
            uptime = None
        await run.walk_all(plan.walk_roots(state, refresh=refresh), self.max_repetitions)
        cols = plan.columns(run.values, run.walked)
        later = plan.fallbacks_missing(state, cols)
        if not refresh and plan.unknown_rows(state, cols):
            refresh = True
            later.extend(w for w in plan.walks.values() if w.kind == "label")
            await run.get(plan.label_gets)
        if later:
            await run.walk_all(later, self.max_repetitions)
            cols = plan.columns(run.values, run.walked)
        if not run.answered:
            assert run.first_error is not None
            raise run.first_error
        absent = plan.absent_profiles(cols, run.failed)
        if absent and len(absent) == len(plan.profile_columns):
            raise NoSuchObject(f"the agent has none of the objects of {', '.join(absent)}")
        if refresh:
            plan.refresh_labels(state, cols)
            state.labels_at = started
        run.record_missing(cols)
        samples, malformed = plan.map(state, cols)
        for part in sorted(malformed):
            run.partial.setdefault(part, MalformedReply.reason)
        if self.identity:
            seconds = state.uptime.seconds
            if uptime is not None and seconds is not None:
                samples.add(UPTIME_SECONDS, seconds)
            samples.add(DEVICE_REBOOTS, state.uptime.restarts)
        samples.add(VARBINDS, run.varbinds)
        return ProbeResult(samples.samples(), run.partial)
