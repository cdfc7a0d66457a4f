"""Inspections of an HA pair on one real PostgreSQL 15: a duty page session made on one
instance works on the other, the leader lock (advisory) moves to the survivor within one
interval, and a write while PostgreSQL is down answers 503 with Retry-After and the typed form,
then succeeds once it is back, with the audit chain intact."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import test_utils, web
from prometheus_client import CollectorRegistry

from monitor.inspections.leadership import AdvisoryLeader
from monitor.inspections.records import WebSession
from monitor.inspections.service import InspectionService
from monitor.inspections.web import COOKIE
from monitor.results import ResultStore
from tests.integration.inspections_pg import PostgresCluster, postgres  # noqa: F401
from tests.unit.inspections_fleet import TOKENS, SetClock, local, make_service, put_result
from tests.unit.inspections_fleet import write_config as fleet_config

pytestmark = pytest.mark.integration

Client = test_utils.TestClient[Any, Any]
FORM = {"value.battery-voltage": "54.3", "value.condition": "no",
        "note.condition": "3号整流模块告警 rectifier 3 alarm"}  # fmt: skip


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 3, 3, 9, 0))


def _results(clock: SetClock) -> ResultStore:
    results = ResultStore()
    for asset, site in (("bs-xingning", "xingning"), ("bs-xixiangtang", "xixiangtang")):
        put_result(results, asset, site=site, at=clock.t,
                   samples=[("trunkwatch_ups_battery_voltage_volts", {}, 54.0)])  # fmt: skip
    return results


@pytest.fixture
def registries() -> list[CollectorRegistry]:
    return [CollectorRegistry(), CollectorRegistry()]


@pytest.fixture
def pair(
    postgres: PostgresCluster,  # noqa: F811
    tmp_path: Path,
    clock: SetClock,
    registries: list[CollectorRegistry],
) -> Iterator[tuple[InspectionService, InspectionService]]:
    """Two instances of one configuration on one database, each with its own registry."""
    url = postgres.create_database()
    config = fleet_config(tmp_path)
    services = [
        make_service(config, clock, _results(clock), registry, store_url=url)
        for registry in registries
    ]
    yield services[0], services[1]
    for service in services:
        service.store.close()


@contextlib.asynccontextmanager
async def serve(service: InspectionService) -> AsyncIterator[Client]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


async def sign_in(client: Client, person: str) -> str:
    response = await client.post("/inspections/login", data={"token": TOKENS[person]},
                                 allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()
    return response.cookies[COOKIE].value


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, page
    return found.group(1)


def leader_pids(url: str) -> list[int]:
    """Who holds the leader lock, as PostgreSQL itself says (the oracle)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objid = %s AND objsubid = 1",
            (AdvisoryLeader.KEY,),
        ).fetchall()
    return [int(r[0]) for r in rows]


WAIT_SECONDS = 15.0


async def until(check: Any, what: str) -> None:
    """Poll ``check`` (real time: the work runs in threads and on PostgreSQL), bounded."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_SECONDS}s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_session_made_on_one_instance_opens_and_signs_on_the_other(
    pair: tuple[InspectionService, InspectionService],
    postgres: PostgresCluster,  # noqa: F811
) -> None:
    a, b = pair
    async with serve(a) as on_a, serve(b) as on_b:
        sid = await sign_in(on_a, "lina")
        cookie = {"Cookie": f"{COOKIE}={sid}"}
        home = await on_b.get("/inspections", headers=cookie, allow_redirects=False)
        assert home.status == 200
        page = await home.text()
        assert 'id="whoami">李娜 Li Na<' in page
        csrf = csrf_of(page)
        opened = await on_b.post(
            "/inspections/open", headers=cookie, allow_redirects=False,
            data={"plan": "monthly-power", "target": "site:xingning", "csrf": csrf},
        )  # fmt: skip
        assert opened.status == 303, await opened.text()
        signed = await on_b.post(opened.headers["Location"], headers=cookie,
                                 allow_redirects=False,
                                 data={"csrf": csrf, "action": "sign", **FORM})  # fmt: skip
        assert signed.status == 303, await signed.text()

        # Stored once, by the session's person, whichever instance is asked.
        for service in (a, b):
            [record] = service.store.rounds(with_items=True)
            assert (record.signed_by, record.opened_by, record.failed_items) == ("lina", "lina", 1)
        actions = [e.action for e in a.store.audit_log()]
        assert actions == ["migrate", "open", "sign", "follow_up_open"]
        # The database holds the id's digest, never the id itself.
        url = a.store._url  # type: ignore[attr-defined]
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("SELECT token_hash, person, csrf FROM web_sessions").fetchall()
        assert rows == [(hashlib.sha256(sid.encode()).hexdigest(), "lina", csrf)]

        # Signing out on B ends the session on A too.
        out = await on_b.post("/inspections/logout", headers=cookie, allow_redirects=False,
                              data={"csrf": csrf})  # fmt: skip
        assert out.status == 303
        again = await on_a.get("/inspections", headers=cookie, allow_redirects=False)
        assert (again.status, again.headers["Location"]) == (303, "/inspections/login")


async def test_the_leader_lock_moves_to_the_survivor_within_one_interval(
    pair: tuple[InspectionService, InspectionService],
    postgres: PostgresCluster,  # noqa: F811
    clock: SetClock,
    registries: list[CollectorRegistry],
) -> None:
    a, b = pair
    url = a.store._url  # type: ignore[attr-defined]
    interval = a.once_only.interval

    def gauges() -> list[float | None]:
        return [r.get_sample_value("trunkwatch_inspections_leader") for r in registries]

    async with asyncio.TaskGroup() as tasks:
        run_a = tasks.create_task(a.background())
        await until(lambda: a.once_only.leading, "A to lead")
        run_b = tasks.create_task(b.background())
        await until(lambda: b.once_only.attempts >= 1, "B's first try")
        assert (a.once_only.leading, b.once_only.leading) == (True, False)
        assert gauges() == [1.0, 0.0]
        [holder] = leader_pids(url)

        # A session that expires before the next round: only the leader's job removes it.
        now = clock.time()
        short = WebSession("ab" * 32, "lina", "c" * 24, now, now, now + 10)
        await asyncio.to_thread(a.store.create_session, short, 100)
        with psycopg.connect(url, autocommit=True) as conn:
            # Cut A's lock connection, as a dead host or a network split would.
            conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
        await until(lambda: leader_pids(url) == [], "the lock to be freed")
        cut_at = clock.monotonic()
        await clock.advance(interval)
        await until(lambda: b.once_only.leading, "B to lead")
        await until(lambda: a.once_only.attempts >= 2 and not a.once_only.leading, "A to step down")
        assert clock.monotonic() - cut_at <= interval
        [new_holder] = leader_pids(url)
        assert new_holder != holder
        assert gauges() == [0.0, 1.0]
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT COUNT(*) FROM web_sessions").fetchone() == (0,)

        # A, alive again, does not take it back while B holds it.
        await clock.advance(interval)
        await until(lambda: a.once_only.attempts >= 3, "A's next try")
        assert (a.once_only.leading, b.once_only.leading) == (False, True)

        # B closing its store (a clean stop) hands the lock to A within one interval.
        run_b.cancel()
        await until(lambda: leader_pids(url) == [], "B to release the lock")
        await clock.advance(interval)
        await until(lambda: a.once_only.leading, "A to lead again")
        run_a.cancel()


async def test_a_write_while_postgresql_is_down_answers_503_keeps_the_form_and_retries(
    pair: tuple[InspectionService, InspectionService],
    postgres: PostgresCluster,  # noqa: F811
) -> None:
    service = pair[0]
    async with serve(service) as client:
        sid = await sign_in(client, "lina")
        cookie = {"Cookie": f"{COOKIE}={sid}"}
        csrf = csrf_of(await (await client.get("/inspections", headers=cookie)).text())
        opened = await client.post(
            "/inspections/open", headers=cookie, allow_redirects=False,
            data={"plan": "monthly-power", "target": "site:xingning", "csrf": csrf},
        )  # fmt: skip
        round_url = opened.headers["Location"]
        page = await (await client.get(round_url, headers=cookie)).text()
        form = {"csrf": csrf, "action": "sign", "plan": hidden(page, "plan"),
                "target": hidden(page, "target"), **FORM}  # fmt: skip

        postgres.stop_fast()
        try:
            down = await client.post(round_url, headers=cookie, data=form, allow_redirects=False)
            assert down.status == 503
            assert down.headers["Retry-After"] == "5"
            text = await down.text()
            assert 'id="value-battery-voltage"\n value="54.3"' in text
            assert re.search(r'id="value-condition-no"\s+value="no" checked', text)
            assert "3号整流模块告警 rectifier 3 alarm</textarea>" in text
            assert 'id="sign"' in text
            api = await client.post(
                "/api/v1/inspections/records",
                headers={"Authorization": f"Bearer {TOKENS['lina']}"},
                json={"plan": "monthly-power", "target": "site:xingning", "items": {}},
            )
            assert (api.status, api.headers["Retry-After"]) == (503, "5")
        finally:
            postgres.start_again()

        retried = await client.post(round_url, headers=cookie, data=form, allow_redirects=False)
        assert retried.status == 303, await retried.text()
    [record] = service.store.rounds(with_items=True)
    assert (record.signed_by, record.failed_items) == ("lina", 1)
    assert record.item("condition").note == FORM["note.condition"]  # type: ignore[union-attr]
    log = service.store.audit_log()
    assert [e.action for e in log] == ["migrate", "open", "sign", "follow_up_open"]
    assert service.store.verify_audit_chain() == len(log)
