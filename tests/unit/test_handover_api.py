"""/api/v1/duty and ``trunkwatch duty`` as people (and a hostile page) use them: the signer is
always the token's person, a body naming someone else is refused, the outgoing technician
cannot take over from themselves, and bad input is one clear answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import test_utils, web

from monitor.cli import main
from tests.unit.inspections_fleet import (
    PLANS,
    ROSTER,
    TOKENS,
    SetClock,
    local,
    make_service,
    write_config,
)
from tests.unit.test_handover import DUTY, LINE_PLAN

PATH = "/api/v1/duty"


def bearer(person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[person]}"}


async def call(service: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        response = await client.request(method, path, **kwargs)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, inspections=ROSTER + PLANS + LINE_PLAN + DUTY)


async def test_nobody_signs_as_another_and_nobody_takes_over_from_themselves(
    config: Path,
) -> None:
    clock = SetClock(local(2028, 3, 1, 7))
    service = make_service(config, clock)
    service.handover.begin()  # the daemon started before the night shift ended
    clock.set(2028, 3, 1, 19, 10)

    # A body naming someone else is refused, whoever it names, and nothing is stored.
    for field in ("person", "outgoing", "signer"):
        status, body = await call(
            service, "POST", f"{PATH}/handover", headers=bearer("zhangwei"),
            json={"notes": "正常", field: "lina"},
        )  # fmt: skip
        assert (status, "cannot sign as 'lina'" in body["error"]) == (403, True)
    assert service.store.handover("2028-03-01T08:00") is None
    # Without a token, or from another origin's page: refused.
    status, _ = await call(service, "POST", f"{PATH}/handover", json={"notes": "x"})
    assert status == 401
    status, _ = await call(
        service, "POST", f"{PATH}/handover", json={"notes": "x"},
        headers={**bearer("zhangwei"), "Origin": "http://evil.example"},
    )  # fmt: skip
    assert status == 403
    # Notes are required to sign over; a shift that is not one is named.
    status, body = await call(
        service, "POST", f"{PATH}/handover", headers=bearer("zhangwei"), json={"notes": " "}
    )
    assert (status, list(body["problems"])) == (422, ["notes"])
    status, body = await call(
        service, "POST", f"{PATH}/handover", headers=bearer("zhangwei"),
        json={"notes": "x", "shift": "2028-03-01T09:00"},
    )  # fmt: skip
    assert (status, body["error"]) == (422, "班次无效 / not a shift")
    assert body["problems"]["shift"].startswith("no shift begins at 2028-03-01T09:00")

    # Naming oneself is fine; the signer is the token's person.
    status, signed = await call(
        service, "POST", f"{PATH}/handover", headers=bearer("zhangwei"),
        json={"notes": "正常 all normal", "person": "zhangwei"},
    )  # fmt: skip
    assert status == 201
    assert (signed["shift"], signed["handover"]["outgoing"]) == ("2028-03-01T08:00", "zhangwei")
    assert signed["due_at"] == local(2028, 3, 1, 20, 30)

    status, body = await call(
        service, "POST", f"{PATH}/handover/acknowledge", headers=bearer("zhangwei"), json={}
    )
    assert status == 403
    status, body = await call(
        service, "POST", f"{PATH}/handover/acknowledge", headers=bearer("lina"),
        json={"notes": "已知悉", "incoming": "wangqiang"},
    )  # fmt: skip
    assert status == 403  # lina cannot take over in wangqiang's name either
    status, taken = await call(
        service, "POST", f"{PATH}/handover/acknowledge", headers=bearer("lina"),
        json={"notes": "已知悉"},
    )  # fmt: skip
    assert (status, taken["handover"]["incoming"], taken["handover"]["complete"]) == (
        200, "lina", True,
    )  # fmt: skip
    status, body = await call(
        service, "POST", f"{PATH}/handover", headers=bearer("wangqiang"),
        json={"notes": "again", "shift": "2028-03-01T08:00"},
    )  # fmt: skip
    assert (status, body["error"]) == (409, "the shift 2028-03-01T08:00 was handed over already")

    # A drill written through the API is in the log, by its writer.
    status, event = await call(
        service, "POST", f"{PATH}/events", headers=bearer("wangqiang"),
        json={"kind": "drill", "text": "应急通信车演练 mobile station drill", "actor": "x"},
    )  # fmt: skip
    assert (status, event["actor"], event["kind"]) == (201, "wangqiang", "drill")
    clock.set(2028, 3, 1, 19, 20)
    status, shift = await call(service, "GET", f"{PATH}/shift", headers=bearer("lina"))
    assert status == 200 and shift["shift"] == "2028-03-01T08:00"
    # The two daily rounds nobody signed went overdue at 12:00 and 18:00; then the drill.
    assert [(e["kind"], e["actor"]) for e in shift["log"]["entries"]] == [
        ("inspection_overdue", "zhangwei"),
        ("inspection_overdue", "wangqiang"),
        ("drill", "wangqiang"),
    ]
    status, recent = await call(service, "GET", f"{PATH}/handovers", headers=bearer("lina"))
    assert recent["shifts"][0]["shift"] == "2028-02-29T20:00"
    assert recent["shifts"][0]["handover"] is None


async def test_without_shifts_the_api_says_so(tmp_path: Path) -> None:
    service = make_service(write_config(tmp_path), SetClock(local(2028, 3, 1, 9)))
    status, body = await call(service, "GET", f"{PATH}/shift", headers=bearer("lina"))
    assert (status, body["error"]) == (
        404, "no duty shifts are configured (inspections.duty.shifts)",
    )  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's exit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_line_signs_as_the_tokens_person(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = str(config)
    # The previous shift, named (the current one opens for signing an hour before its end).
    monkeypatch.setenv("TRUNKWATCH_TOKEN", TOKENS["wangqiang"])
    code, out, err = run(capsys, "duty", "handover", "-c", c)
    assert (code, err) == (2, "trunkwatch duty: --notes: say what the next shift must know "
                              "('none' if nothing)\n")  # fmt: skip
    code, out, err = run(
        capsys, "duty", "handover", "-c", c, "--notes", "无 none", "--shift", "previous"
    )
    assert (code, err) == (0, "")
    assert "signed over by wangqiang" in out and "awaiting take-over" in out
    code, out, err = run(capsys, "duty", "handover", "-c", c, "--acknowledge")
    assert code == 1 and "someone other than the outgoing technician" in err
    monkeypatch.setenv("TRUNKWATCH_TOKEN", TOKENS["zhaomin"])
    code, out, err = run(capsys, "duty", "handover", "-c", c, "--acknowledge", "--notes", "收到")
    assert (code, err) == (0, "")
    assert "taken over by zhaomin" in out

    code, out, err = run(capsys, "duty", "log", "-c", c, "--shift", "previous", "--json")
    assert code == 0
    shift = json.loads(out)
    assert (shift["handover"]["outgoing"], shift["handover"]["incoming"]) == (
        "wangqiang", "zhaomin",
    )  # fmt: skip
    assert shift["log"]["as_of"] == shift["end"]

    code, _, err = run(capsys, "duty", "log", "-c", c, "--shift", "yesterday")
    assert code == 2 and "'yesterday' is not a shift (YYYY-MM-DDTHH:MM)" in err
    monkeypatch.setenv("TRUNKWATCH_TOKEN", "not-anyones-token-0123456789")
    code, _, err = run(capsys, "duty", "handover", "-c", c, "--notes", "x")
    assert (code, err) == (2, "trunkwatch duty: the token matches no one on the roster\n")
