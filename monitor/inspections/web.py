"""The duty page at /inspections: sign in with a personal token, see today's rounds, fill them
in and sign, on a tablet, in Chinese and English.

Today's rounds are those open now (due soonest first), then the overdue (longest overdue
first), then those opening within the coming week, then the signed; when each is due is said
in words relative to now (今天 18:00 截止 / due today 18:00, 已逾期 2 天 / 2 days overdue), and
owners by their names (a team by its ``inspections.teams`` name). Rounds that open later are
counted, not listed.

The token is exchanged once for a random session id in an HttpOnly, SameSite=Strict cookie;
every form POST also carries the session's CSRF token, and a POST whose Origin names another
host is refused (``monitor.web.guard``). Pages carry the security headers of that module.
Sessions live in the inspection store (``monitor.inspections.sessions``), so any instance
sharing it serves a signed-in person. A page opened before sign-in (a QR label scanned on a
tablet) is where sign-in returns to: ``next``, a path of these pages on this server only
(``safe_next``), never another site. A write the store cannot take (PostgreSQL down or
restarting) answers 503 with ``Retry-After`` and the form again with what was typed; nothing of
it was written, and submitting it again is the retry.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from monitor.inspections.calendar import Frequency, RoundState
from monitor.inspections.checklist import LiveValue
from monitor.inspections.config import ReadingItem
from monitor.inspections.errors import InspectionError, InvalidEntry, StoreError
from monitor.inspections.followups import follow_up_owner
from monitor.inspections.photos.image import MAX_PHOTOS_PER_ITEM
from monitor.inspections.records import FollowUp, RoundRecord
from monitor.inspections.sessions import SESSION_SECONDS, Session, Sessions
from monitor.inspections.templates import render
from monitor.inspections.wording import (
    Words,
    day_and_time,
    due_words,
    opens_words,
    overdue_words,
)
from monitor.web.guard import SECURITY_HEADERS, require_same_origin, with_sources

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.ledger import CalendarEntry
    from monitor.inspections.plans import ScheduledPlan
    from monitor.inspections.service import InspectionService

__all__ = [
    "COOKIE",
    "LOGIN",
    "ROUND_POLICY",
    "SESSION_SECONDS",
    "DutyPages",
    "Sessions",
    "html_page",
    "routes",
    "safe_next",
    "see_other",
]

log = logging.getLogger("trunkwatch.inspections")

COOKIE = "trunkwatch_inspections"
HOME = "/inspections"
LOGIN = "/inspections/login"
#: The round page runs its own scripts (from this server: photos.js scales and uploads
#: photos, offline.js queues the round off line) and service worker (offline-worker.js), and
#: shows the photos it stores; every other rule of the pages stays.
ROUND_POLICY = with_sources(
    SECURITY_HEADERS["Content-Security-Policy"],
    img_src="'self' blob:",
    script_src="'self'",
    connect_src="'self'",
    worker_src="'self'",
)
#: Rounds that open within this many days are listed on today's page; later ones counted.
UPCOMING_DAYS = 7


def html_page(text: str, status: int = 200, *, policy: str | None = None) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(SECURITY_HEADERS)
    if policy is not None:
        response.headers["Content-Security-Policy"] = policy
    return response


def safe_next(target: str | None) -> str | None:
    """Where sign-in may return to: a path of the duty pages on this server, or None. Never
    another site (``//host``, ``/\\host``, ``https://…``), never a control character or
    space (which browsers drop, or which would split the Location header)."""
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    if parts.path != HOME and not parts.path.startswith(HOME + "/"):
        return None
    # Dot segments climb out of the duty pages once the browser resolves them.
    if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
        return None
    return None if parts.path == LOGIN else target


def _unavailable(response: web.Response) -> web.Response:
    response.headers["Retry-After"] = str(StoreError.retry_after)
    return response


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


class DutyPages:
    def __init__(self, service: InspectionService) -> None:
        self.service = service

    # -- sessions --------------------------------------------------------------------------

    async def _session(
        self, request: web.Request, *, remembered: bool = False
    ) -> tuple[Person, Session] | None:
        """The signed-in person. While the store cannot be read, a page answers 503; with
        ``remembered``, a session this instance confirmed before still identifies the person
        (enough to redraw a form; the write itself needs the store)."""
        service = self.service
        sid = request.cookies.get(COOKIE)
        try:
            session = await service.run(service.sessions.get, sid)
        except StoreError as exc:
            session = service.sessions.remembered(sid) if remembered else None
            if session is None:
                raise web.HTTPServiceUnavailable(
                    text=f"{exc}; try again shortly",
                    headers={"Retry-After": str(exc.retry_after)},
                ) from exc
        if session is None:
            return None
        person = service.setup.roster.people.get(session.person)
        return None if person is None else (person, session)

    async def signed_in(self, request: web.Request) -> tuple[Person, Session] | None:
        """The signed-in person and their session, or None (for handlers that answer JSON
        rather than redirect to the sign-in page)."""
        return await self._session(request)

    async def require(
        self, request: web.Request, *, remembered: bool = False
    ) -> tuple[Person, Session]:
        """The signed-in person and their session; else a redirect to the sign-in page, which
        returns to the page asked for (a GET) once signed in."""
        found = await self._session(request, remembered=remembered)
        if found is None:
            back = safe_next(request.path_qs) if request.method == "GET" else None
            if back is None or back == HOME:
                raise web.HTTPSeeOther(LOGIN)
            raise web.HTTPSeeOther(f"{LOGIN}?next={quote(back, safe='/')}")
        return found

    async def form(self, request: web.Request, session: Session | None) -> dict[str, str]:
        """A posted form of this origin carrying the session's form token (403 otherwise)."""
        require_same_origin(request)
        try:
            form = await request.post()
        except ValueError:
            # aiohttp decodes url-encoded forms strictly: bytes that are not UTF-8 end here.
            raise web.HTTPBadRequest(text="the form is not UTF-8 text") from None
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        if session is not None and not hmac.compare_digest(data.get("csrf", ""), session.csrf):
            raise web.HTTPForbidden(text="stale or missing form token; reload the page")
        return data

    async def login_page(self, request: web.Request) -> web.Response:
        back = safe_next(request.query.get("next"))
        if await self._session(request) is not None:
            return see_other(back or HOME)
        return html_page(render("login.html", error=None, next=back))

    async def login(self, request: web.Request) -> web.Response:
        data = await self.form(request, None)
        back = safe_next(data.get("next"))
        person = self.service.authenticate(data.get("token", "").strip())
        if person is None:
            log.info("duty page sign-in refused from %s", request.remote)
            page = render("login.html", error="令牌无效 Unknown token", next=back)
            return html_page(page, status=401)
        try:
            sid, _ = await self.service.run(self.service.sessions.create, person.id)
        except StoreError as exc:
            page = render("login.html", error=str(exc), next=back)
            return _unavailable(html_page(page, status=exc.status))
        log.info("duty page sign-in person=%s", person.id)
        response = see_other(back or HOME)
        response.set_cookie(
            COOKIE,
            sid,
            httponly=True,
            samesite="Strict",
            path="/inspections",
            max_age=int(SESSION_SECONDS),
            secure=request.secure,
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        person, session = await self.require(request)
        await self.form(request, session)
        try:
            await self.service.run(self.service.sessions.drop, request.cookies.get(COOKIE))
        except StoreError as exc:
            page = render("message.html", person=person, csrf=session.csrf, error=str(exc))
            return _unavailable(html_page(page, status=exc.status))
        response = see_other("/inspections/login")
        response.del_cookie(COOKIE, path="/inspections")
        return response

    # -- pages -----------------------------------------------------------------------------

    def _entry_view(self, e: CalendarEntry, person: Person, now: float) -> dict[str, Any]:
        service = self.service
        roster = service.setup.roster
        grace = e.plan.schedule.grace
        when = _when(e, now, service.setup.zone)
        return {
            "plan_id": e.plan.id,
            "target": e.target.key,
            "target_id": e.target.id,
            "title": e.plan.title,
            "frequency": e.plan.frequency_name,
            "target_name": e.target.name,
            "period": _period_name(e),
            "state": e.state.value,
            "due": service.due_text(e.due_at),
            "when_zh": when.zh,
            "when_en": when.en,
            "grace": _human(grace.total_seconds()) if grace.total_seconds() else "",
            "owner": roster.label(e.owner),
            "deputy": roster.label(e.deputy) if e.deputy else "",
            "completed": f"{service.local(e.completed_at):%m-%d %H:%M}" if e.completed_at else "",
            "completed_by": roster.label(e.completed_by) if e.completed_by else "",
            "record": e.record.id if e.record else None,
            "draft": e.draft.id if e.draft else None,
            "can_start": e.state.value in ("open", "overdue")
            and service.setup.may_sign(person, e.plan, e.target),
        }

    def _follow_up_view(self, f: FollowUp, now: float) -> dict[str, Any]:
        service = self.service
        roster = service.setup.roster
        due: Words | None = None
        if f.due_at is not None:
            due = (
                overdue_words(f.due_at, now)
                if f.overdue(now)
                else due_words(f.due_at, now, service.setup.zone)
            )
        return {
            "id": f.id,
            **_follow_up_names(service, f.plan_id, f.target, f.item_id),
            "opened": f"{service.local(f.opened_at):%m-%d %H:%M}",
            "opened_by": roster.label(f.opened_by),
            "owner": roster.label(follow_up_owner(service.setup, f)),
            "overdue": f.overdue(now),
            "due_zh": due.zh if due else "",
            "due_en": due.en if due else "",
            "note": f.note,
        }

    async def index(self, request: web.Request) -> web.Response:
        person, session = await self.require(request)
        service = self.service
        show_all = person.role == "supervisor" or request.query.get("all") == "1"
        now = service.now()
        entries = await service.run(
            service.calendar, person=None if show_all else person.id, now=now
        )
        horizon = now + UPCOMING_DAYS * 86400
        later = [e for e in entries if e.state is RoundState.UPCOMING and e.opens_at >= horizon]
        shown = [e for e in entries if e not in later]
        follow_ups = await service.run(service.store.follow_ups, open_only=True)
        mine = [
            f
            for f in follow_ups
            if person.role == "supervisor"
            or _responsible_for(service, person.id, f.plan_id, f.target)
        ]
        flash = request.query.get("signed")
        return html_page(
            render(
                "index.html",
                person=person,
                csrf=session.csrf,
                centre=service.setup.centre,
                now=f"{service.local(now):%Y-%m-%d %H:%M}",
                show_all=show_all,
                entries=[self._entry_view(e, person, now) for e in shown],
                later=len(later),
                upcoming_days=UPCOMING_DAYS,
                follow_ups=[self._follow_up_view(f, now) for f in mine],
                feed_url=_feed_url(service, person.id),
                flash="已签字确认 Signed and recorded." if flash else None,
                error=request.query.get("error"),
            )
        )

    async def open_round(self, request: web.Request) -> web.Response:
        person, session = await self.require(request)
        data = await self.form(request, session)
        plan_id, target = data.get("plan", ""), data.get("target", "")
        service = self.service
        try:
            live = service.live_for(plan_id, target)
            record = await service.run(service.open_round, person, plan_id, target, live=live)
        except InspectionError as exc:
            return html_page(
                render("message.html", person=person, csrf=session.csrf, error=str(exc)),
                status=exc.status,
            )
        return see_other(f"/inspections/rounds/{quote(record.id)}")

    def _round_view(
        self,
        record: RoundRecord,
        person: Person,
        session: Session,
        *,
        typed: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        error: str | None = None,
        correcting: bool = False,
        corrected_by: str | None = None,
        status: int = 200,
    ) -> web.Response:
        service = self.service
        plan, target = service.plan_of(record)
        now = service.now()
        entry = service.entry_for(plan, target, now) if not record.signed else None
        live = None if readonly_record(record, correcting) else service.live_readings(plan, target)
        items = _items_view(plan, record, typed, problems, live, service.setup.zone)
        readonly = record.signed and not correcting
        if record.signed:
            state = self._signed_state(record)
        else:
            state = entry.state.value if entry else "open"
        roster = service.setup.roster
        return html_page(
            render(
                "round.html",
                person=person,
                csrf=session.csrf,
                title=f"{plan.title} · {plan.frequency_name}",
                plan_id=plan.id,
                target_key=target.key,
                target_name=target.name,
                period=record.period_key,
                due=service.due_text(record.due_at),
                state=state,
                signed=record.signed,
                signed_by=roster.label(record.signed_by) if record.signed_by else "",
                signed_at=(
                    f"{service.local(record.signed_at):%Y-%m-%d %H:%M}" if record.signed_at else ""
                ),
                received_at=(
                    f"{service.local(record.received_at):%Y-%m-%d %H:%M}"
                    if record.received_at is not None
                    else ""
                ),
                corrects=record.corrects,
                reason=record.reason,
                corrected_by=corrected_by,
                round_id=record.id,
                items=items,
                readonly=readonly,
                # Photos are taken on a draft; a correction carries the record's over.
                photo_forms=not record.signed,
                max_photos=MAX_PHOTOS_PER_ITEM,
                correcting=correcting,
                can_correct=record.signed
                and corrected_by is None
                and (person.id == record.signed_by or service.setup.may_sign(person, plan, target)),
                reason_input=(typed or {}).get("reason", ""),
                flash=None,
                error=error,
            ),
            status=status,
            policy=ROUND_POLICY,
        )

    def _unreadable_view(
        self, round_id: str, person: Person, session: Session, typed: dict[str, str], error: str
    ) -> web.Response:
        """The round form with what was typed, drawn from the configuration alone (the form
        names its plan and target) while the store cannot be read; 503, to be sent again."""
        service = self.service
        plan = service.setup.plans.get(typed.get("plan", ""))
        target = plan.target(typed.get("target", "")) if plan else None
        if plan is None or target is None:
            page = render("message.html", person=person, csrf=session.csrf, error=error)
            return _unavailable(html_page(page, status=StoreError.status))
        page = render(
            "round.html",
            person=person,
            csrf=session.csrf,
            title=f"{plan.title} · {plan.frequency_name}",
            plan_id=plan.id,
            target_key=target.key,
            target_name=target.name,
            period="—",
            due="—",
            state="unknown",
            signed=False,
            round_id=round_id,
            items=_items_view(plan, None, typed, None),
            readonly=False,
            photo_forms=False,
            max_photos=MAX_PHOTOS_PER_ITEM,
            correcting=typed.get("action") == "correct",
            can_correct=False,
            reason_input=typed.get("reason", ""),
            flash=None,
            error=error,
        )
        return _unavailable(html_page(page, status=StoreError.status))

    def _signed_state(self, record: RoundRecord) -> str:
        """done or done_late, as the calendar judges it: by the period's original signature
        against its deadline (a correction filed later does not make the round late)."""
        original = record
        while original.corrects is not None:
            original = self.service.get_round(original.corrects)
        late = original.signed_at is not None and original.signed_at > original.deadline_at
        return "done_late" if late else "done"

    async def _corrected_by(self, record: RoundRecord) -> str | None:
        later = await self.service.run(
            self.service.store.rounds,
            plan_id=record.plan_id,
            target=record.target,
            period_from=record.period_start,
            period_before=record.period_start + 1,
        )
        return next((r.id for r in later if r.corrects == record.id), None)

    async def round_page(self, request: web.Request) -> web.Response:
        person, session = await self.require(request)
        service = self.service
        try:
            record = await service.run(service.get_round, request.match_info["round_id"])
            corrected_by = await self._corrected_by(record)
            return self._round_view(
                record,
                person,
                session,
                corrected_by=corrected_by,
                correcting=record.signed
                and corrected_by is None
                and request.query.get("correct") == "1",
            )
        except InspectionError as exc:
            return html_page(
                render("message.html", person=person, csrf=session.csrf, error=str(exc)),
                status=exc.status,
            )

    async def round_post(self, request: web.Request) -> web.Response:
        person, session = await self.require(request, remembered=True)
        data = await self.form(request, session)
        service = self.service
        round_id = request.match_info["round_id"]
        action = data.get("action", "save")
        entries: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            field, _, item_id = key.partition(".")
            if field in ("value", "note") and item_id:
                entries.setdefault(item_id, {})[field] = value
        try:
            record = await service.run(service.get_round, round_id)
        except StoreError as exc:
            return self._unreadable_view(round_id, person, session, data, f"{exc}; {_NOT_SAVED}")
        except InspectionError as exc:
            return html_page(
                render("message.html", person=person, csrf=session.csrf, error=str(exc)),
                status=exc.status,
            )
        try:
            if action == "correct":
                new = await service.run(
                    service.correct, person, round_id, entries, data.get("reason", "")
                )
                return see_other(f"/inspections/rounds/{quote(new.id)}")
            if action == "sign":
                live = await service.live_for_round(round_id)
                await service.run(service.save, person, round_id, entries, sign=True, live=live)
                return see_other(f"/inspections?signed={quote(round_id)}")
            saved = await service.run(service.save, person, round_id, entries)
            return self._round_view(saved, person, session)
        except InvalidEntry as exc:
            return self._round_view(
                record,
                person,
                session,
                typed=data,
                problems=exc.problems,
                error=str(exc),
                correcting=action == "correct",
                status=exc.status,
            )
        except StoreError as exc:
            return _unavailable(
                self._round_view(
                    record,
                    person,
                    session,
                    typed=data,
                    error=f"{exc}; {_NOT_SAVED}",
                    correcting=action == "correct",
                    status=exc.status,
                )
            )
        except InspectionError as exc:
            return html_page(
                render("message.html", person=person, csrf=session.csrf, error=str(exc)),
                status=exc.status,
            )

    async def close_follow_up(self, request: web.Request) -> web.Response:
        person, session = await self.require(request)
        data = await self.form(request, session)
        service = self.service
        try:
            await service.run(
                service.close_follow_up,
                person,
                request.match_info["follow_up_id"],
                data.get("note", ""),
            )
        except InspectionError as exc:
            return html_page(
                render("message.html", person=person, csrf=session.csrf, error=str(exc)),
                status=exc.status,
            )
        return see_other("/inspections")

    async def report(self, request: web.Request) -> web.Response:
        await self.require(request)
        from monitor.inspections.report import report_response

        return await report_response(self.service, request)


_NOT_SAVED = "未保存，请稍后重新提交 / nothing was saved: submit the form again shortly"


def readonly_record(record: RoundRecord, correcting: bool) -> bool:
    return record.signed and not correcting


def _items_view(
    plan: ScheduledPlan,
    record: RoundRecord | None,
    typed: dict[str, str] | None,
    problems: dict[str, str] | None,
    live: Mapping[str, LiveValue] | None = None,
    zone: ZoneInfo | None = None,
) -> list[dict[str, Any]]:
    """The checklist's controls: the record's values, overlaid with what was typed; a reading
    tied to a metric and not yet filled in shows the live value, to confirm or correct."""
    items = []
    for item in plan.plan.checklist:
        result = record.item(item.id) if record else None
        value = result.value if result else None
        note = result.note if result else ""
        if typed is not None:
            value = typed.get(f"value.{item.id}", value)
            note = typed.get(f"note.{item.id}", note)
        reading = (live or {}).get(item.id)
        if value is None and reading is not None:
            value = reading.text
        items.append(
            {
                "id": item.id,
                "kind": item.kind,
                "title": f"{item.title} {item.title_en}" if item.title_en else item.title,
                "guide": item.guide,
                "unit": item.unit if isinstance(item, ReadingItem) else "",
                "accept": _accept_text(item),
                "outcome": result.outcome.value if result else "pending",
                "discrepancy": bool(result and result.discrepancy),
                "detail": result.detail if result else "",
                "value": value,
                "note": note,
                "problem": (problems or {}).get(item.id),
                "photo": item.photo,
                "photos": list(result.photos) if result else [],
                "live": _live_text(item, reading, zone) if reading else "",
            }
        )
    return items


def _live_text(item: object, reading: LiveValue, zone: ZoneInfo | None) -> str:
    """实测 12.1 V · 14:05: the live value and when it was measured."""
    unit = f" {item.unit}" if isinstance(item, ReadingItem) and item.unit else ""
    return f"实测 live {reading.text}{unit} · {datetime.fromtimestamp(reading.at, zone):%H:%M}"


def _when(e: CalendarEntry, now: float, zone: ZoneInfo) -> Words:
    """When the round is due, in words: how late an overdue one is, when an upcoming one
    opens, how long the grace of one past its due time lasts."""
    if e.state is RoundState.OVERDUE:
        return overdue_words(e.deadline_at, now)
    due = due_words(e.due_at, now, zone)
    if e.state is RoundState.UPCOMING:
        opens = opens_words(e.opens_at, now, zone)
        return Words(f"{opens.zh}，{due.zh}", f"{opens.en}, {due.en}")
    if e.state is RoundState.OPEN and now >= e.due_at:
        until = day_and_time(e.deadline_at, now, zone)
        return Words(f"已过截止时间，宽限至 {until.zh}", f"past due, grace until {until.en}")
    return due


def _period_name(e: CalendarEntry) -> str:
    """The period as people name it: its key (2028-Q1, 2028-03 …), or for an RRULE plan the
    days it spans."""
    if e.plan.schedule.frequency is not Frequency.RRULE:
        return e.period.key
    last = e.period.end - timedelta(days=1)
    return f"{e.period.start:%Y-%m-%d} – {last:%Y-%m-%d}"


def _responsible_for(service: InspectionService, person: str, plan_id: str, target: str) -> bool:
    plan = service.setup.plans.get(plan_id)
    found = plan.target(target) if plan else None
    return bool(plan and found and person in service.setup.responsible(plan, found))


def _follow_up_names(
    service: InspectionService, plan_id: str, target_key: str, item_id: str
) -> dict[str, str]:
    """Plan, target and item as people read them (ids if the plan was removed since)."""
    plan = service.setup.plans.get(plan_id)
    if plan is None:
        return {"plan": plan_id, "target": target_key, "item": item_id}
    target = plan.target(target_key)
    item = next((i for i in plan.plan.checklist if i.id == item_id), None)
    return {
        "plan": plan.title,
        "target": target.name if target else target_key,
        "item": item.title if item else item_id,
    }


def _feed_url(service: InspectionService, person: str) -> str | None:
    from monitor.inspections.feed import feed_key

    key = feed_key(service.setup.roster, person)
    return None if key is None else f"/inspections/feed/{quote(person)}.ics?key={key}"


def _accept_text(item: object) -> str:
    if not isinstance(item, ReadingItem):
        return ""
    a = item.accept
    parts = []
    for name, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
        value = getattr(a, name)
        if value is not None:
            parts.append(f"{sign} {value:g}")
    return ", ".join(parts)


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def routes(service: InspectionService) -> list[web.RouteDef]:
    from monitor.inspections.feed import feed_handler

    pages = DutyPages(service)
    return [
        web.get("/inspections", pages.index),
        web.get("/inspections/login", pages.login_page),
        web.post("/inspections/login", pages.login),
        web.post("/inspections/logout", pages.logout),
        web.post("/inspections/open", pages.open_round),
        web.get("/inspections/rounds/{round_id}", pages.round_page),
        web.post("/inspections/rounds/{round_id}", pages.round_post),
        web.post("/inspections/follow-ups/{follow_up_id}/close", pages.close_follow_up),
        web.get("/inspections/report", pages.report),
        web.get("/inspections/feed/{person}.ics", feed_handler(service)),
    ]
