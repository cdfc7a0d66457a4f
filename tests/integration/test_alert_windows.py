"""The weekly maintenance windows, in a real Alertmanager with the shipped routes: inside a
team's window its tickets (warnings) are held and its pages (criticals) still go out, and
another team's tickets are not held.

The shipped windows are set hours (radio: Tuesday 01:00-05:00 Beijing time, …), so the
other alerting tests leave them out (``routed_to``): kept, they would pass or fail by the
hour they ran. Here the radio window is made to cover the whole of every day, so what the
test sees does not depend on when it runs; routes, matchers and receivers are the shipped
ones.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO
from tests.integration.promstack import start_alertmanager
from tests.integration.test_alerting_e2e import WebhookSink, routed_to

#: A window that holds all day, every day.
ALWAYS = [{"times": [{"start_time": "00:00", "end_time": "24:00"}]}]
#: After the notifications that were due went out, how long a held ticket is waited for:
#: a few of the test's group intervals (2 s), so a ticket that was not held would be here.
HELD_S = 6.0


def _alert(alertname: str, severity: str, system: str, site: str) -> dict[str, Any]:
    return {
        "labels": {
            "alertname": alertname,
            "severity": severity,
            "system": system,
            "site": site,
            "asset": f"{site}-1",
        },
        "annotations": {"summary": alertname},
        "startsAt": datetime.now(UTC).isoformat(),
    }


# Different sites, so that no shipped inhibition (a site off the air silences its warnings)
# comes between them.
RADIO_TICKET = _alert("RadioCarrierDown", "warning", "radio", "bs-a")
RADIO_PAGE = _alert("RadioSiteOffAir", "critical", "radio", "bs-b")
LINES_TICKET = _alert("E1RemoteAlarm", "warning", "line", "hq")


@pytest.mark.parametrize("radio_window", [False, True], ids=["no window", "radio window"])
def test_a_window_holds_its_teams_tickets_and_never_a_page(
    tmp_path: Path, radio_window: bool
) -> None:
    shipped = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    windows = {"radio-maintenance": ALWAYS} if radio_window else None
    with (
        WebhookSink() as sink,
        start_alertmanager(tmp_path / "am", routed_to(sink.url, shipped, windows=windows)) as am,
    ):
        started = time.time()
        am.post_alerts([RADIO_TICKET, RADIO_PAGE, LINES_TICKET])
        sink.first("radio-page", "RadioSiteOffAir", started)
        sink.first("lines-ticket", "E1RemoteAlarm", started)
        if not radio_window:
            sink.first("radio-ticket", "RadioCarrierDown", started)
            return
        time.sleep(HELD_S)
        received = {n.receiver for n in sink.since(started)}
        assert "radio-ticket" not in received, received
        # Held, not lost: Alertmanager still has the ticket's alert, unresolved (resolved ones
        # are not listed), and neither a silence nor an inhibition holds it: the window does.
        # (The state word of an alert muted by a time interval differs between releases:
        # "active" in 0.25.)
        [held] = am.alerts(alertname="RadioCarrierDown")
        assert held["status"]["state"] in {"active", "suppressed"}, held["status"]
        assert not held["status"]["silencedBy"], held["status"]
        assert not held["status"]["inhibitedBy"], held["status"]
