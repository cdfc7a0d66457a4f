"""QR labels and photos against the real daemon, in headless Chromium on a phone-sized screen:
the label sheet made by ``trunkwatch inspections labels`` for the daemon's own address, its QR
code decoded and opened signed out, leads through sign-in to the asset's round; a camera JPEG
carrying EXIF and a GPS position is taken on the round page, scaled by the page's script,
uploaded, shown, and required before the signature; the stored photo has no EXIF, and its
SHA-256 is in the signature's audit line. A 50 MB upload streamed at the daemon is refused
(413) once past the limit, without the daemon's memory growing by anything like 50 MB. The HTML
sheet, rendered by Chromium, reads back every label's URL.

The daemon has no injected clock: the centre's zone puts "now" between 12:00 and 13:00, so the
daily plans (due 23:00) are open whatever the hour of the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from monitor.cli import main
from monitor.config import load_config
from monitor.inspections.labels.sheet import build_labels, render_sheet
from monitor.inspections.plans import build_setup
from monitor.inspections.web import COOKIE
from tests.helpers import http_get
from tests.integration.browser import (  # noqa: F401
    TabletPage,
    fixture_chromium,
    fixture_tablet,
    listening_port,
    png_size,
    wait_for_probes,
)
from tests.integration.daemons import start_daemon
from tests.integration.test_inspections_browser import tap_and_load, zone_at_noon
from tests.photos import GPS_IFD, camera_jpeg, exif_of, jpeg_segments

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

TOKEN_ENV = "TRUNKWATCH_TEST_TOKEN_ZHANGWEI"
SUPERVISOR_ENV = "TRUNKWATCH_TEST_TOKEN_ZHAOMIN"
#: A phone held upright (CSS pixels), as a technician scans a label with.
PHONE: ViewportSize = {"width": 390, "height": 844}
#: What the page's script scales a photo to (monitor/templates/inspections/photos.js).
SCALED_SIDE = 1600

CONFIG = """\
centre:
  name: 应急联动中心 Emergency Linkage Centre
  timezone: {zone}
server:
  data_dir: {data_dir}
defaults:
  interval: 1s
  timeout: 1s
sites:
  - {{id: xingning, name: 兴宁区基站, name_en: Xingning}}
assets:
  - {{id: bs-xingning, name: 兴宁区基站 base station, site: xingning, system: radio,
      kind: tetra_bs, address: "127.0.0.1:{radio}", probes: [{{module: tcp}}]}}
  - {{id: ups-xingning, name: 兴宁区基站电源 power, site: xingning, system: power, kind: ups,
      address: "127.0.0.1:{power}", probes: [{{module: tcp}}]}}
inspections:
  roster:
    - {{id: zhangwei, name: 张伟, name_en: Zhang Wei, team: radio, token_env: {token_env}}}
    - {{id: zhaomin, name: 赵敏, name_en: Zhao Min, role: supervisor, token_env: {supervisor_env}}}
  plans:
    - id: daily-bs
      title: 基站日检
      title_en: Daily base station check
      scope: {{per: asset, system: radio}}
      recurrence: daily
      due: {{time: "23:00"}}
      owner: zhangwei
      checklist:
        - {{id: vswr-measured, kind: reading, title: 驻波比实测, title_en: Measured VSWR,
            accept: {{le: 1.5}}, photo: required}}
        - {{id: feeder, kind: confirmation, title: 馈线无进水, title_en: Feeder dry,
            photo: optional}}
    - id: daily-room
      title: 机房日检
      title_en: Daily room check
      scope: {{per: site, site: [xingning]}}
      recurrence: daily
      due: {{time: "23:00"}}
      owner: zhangwei
      checklist:
        - {{id: clean, kind: confirmation, title: 机房清洁, title_en: Room clean}}
"""


@dataclass(frozen=True)
class Daemon:
    base: str
    token: str
    supervisor: str
    config: Path
    store: Path
    process: subprocess.Popen[bytes]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    folder = tmp_path / "daemon"
    folder.mkdir()
    token, supervisor = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with listening_port() as radio, listening_port() as power:
        config = folder / "monitor.yaml"
        config.write_text(
            CONFIG.format(
                zone=zone_at_noon(time.time()), data_dir=folder / "data", radio=radio,
                power=power, token_env=TOKEN_ENV, supervisor_env=SUPERVISOR_ENV,
            ),
            encoding="utf-8",
        )  # fmt: skip
        env = {TOKEN_ENV: token, SUPERVISOR_ENV: supervisor}
        with start_daemon(config, folder / "daemon.log", env=env, timeout=15) as (process, base):
            wait_for_probes(base)
            yield Daemon(base, token, supervisor, config, folder / "data" / "inspections.sqlite3",
                         process)  # fmt: skip


def api(daemon: Daemon, path: str, token: str | None = None) -> Any:
    status, body = http_get(
        f"{daemon.base}/api/v1/inspections{path}",
        headers={"Authorization": f"Bearer {token or daemon.token}"},
    )
    assert status == 200, body
    return json.loads(body)


def label_urls_of_pdf(pdf: Path) -> list[str]:
    """Every QR code on the sheet, as a phone's camera would read it off the paper."""
    document = pdfium.PdfDocument(pdf.read_bytes())
    try:
        return [
            found.text
            for page in document
            for found in zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())
        ]
    finally:
        document.close()


def test_a_scanned_label_leads_to_the_round_where_a_photo_is_taken_stripped_and_signed(
    tablet: TabletPage, daemon: Daemon, tmp_path: Path
) -> None:
    # The sheet for the daemon's own address; the base station's QR code read off it.
    sheet = tmp_path / "labels.pdf"
    code = main(["inspections", "labels", "-c", str(daemon.config), "--base-url", daemon.base,
                 "--out", str(sheet)])  # fmt: skip
    assert code == 0
    urls = label_urls_of_pdf(sheet)
    label = f"{daemon.base}/inspections/asset/bs-xingning"
    assert sorted(urls) == sorted([label, f"{daemon.base}/inspections/asset/ups-xingning"])

    page = tablet.page
    page.set_viewport_size(PHONE)
    page.goto(label)
    assert page.url == f"{daemon.base}/inspections/login?next=/inspections/asset/bs-xingning"
    page.locator("#token").fill(daemon.token)
    tap_and_load(page, "#login")
    assert page.url == label, "sign-in returns to the label's page"
    assert page.locator("#asset-name").inner_text() == "兴宁区基站 base station"
    cards = page.locator("section.card")
    assert [cards.nth(i).get_attribute("id") for i in range(cards.count())] == [
        "round-daily-bs--bs-xingning",
        "round-daily-room--xingning",
    ]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    tap_and_load(page, "#start-daily-bs--bs-xingning")
    round_url = page.url
    round_id = round_url.rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9a-f-]{36}", round_id)
    # Scanned again, the label leads straight to the round under way.
    page.goto(label)
    assert page.url == round_url

    # Signing without the required photo is refused beside the item.
    page.locator("#value-vswr-measured").fill("1.2")
    page.locator("#value-feeder-yes").tap()
    tap_and_load(page, "#sign")
    assert page.locator("#problem-vswr-measured").inner_text() == "须拍照 / a photo is required"
    refusal = (f"console: Failed to load resource: the server responded with a status of 422 "
               f"(Unprocessable Entity) ({page.url})")  # fmt: skip

    camera = page.locator("#camera-vswr-measured")
    assert camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("accept") == "image/*"
    # The script took over the upload button.
    assert page.locator("#upload-button-vswr-measured").is_hidden()
    shot = camera_jpeg(2400, 1800)
    assert exif_of(shot)[GPS_IFD]
    camera.set_input_files(
        {"name": "IMG_20280110_121500.jpg", "mimeType": "image/jpeg", "buffer": shot}
    )
    thumbs = page.locator("#thumbs-vswr-measured li")
    thumbs.first.wait_for()
    assert page.locator("#photo-status-vswr-measured").inner_text() == "已上传 Uploaded"
    assert page.locator("#photo-count-vswr-measured").inner_text() == "1"
    sha256 = thumbs.first.get_attribute("data-sha256")
    assert sha256 is not None
    assert re.fullmatch(r"[0-9a-f]{64}", sha256)
    # The thumbnail loaded from the server, under the page's policy.
    thumb = page.locator(f"#photo-vswr-measured-{sha256[:12]}")
    assert thumb.evaluate("img => img.complete && img.naturalWidth") > 0
    # What was typed stayed on the page through the upload.
    assert page.locator("#value-vswr-measured").input_value() == "1.2"
    # A photo taken by mistake is removed again, on the page and in the store.
    page.locator("#camera-feeder").set_input_files(
        {"name": "IMG_2.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg(300, 200)}
    )
    page.locator("#thumbs-feeder li").first.wait_for()
    assert [i["photos"] for i in api(daemon, f"/rounds/{round_id}")["items"]
            if i["item"] == "feeder"] != [[]]  # fmt: skip
    page.locator("#thumbs-feeder li button").tap()
    page.locator("#thumbs-feeder li").wait_for(state="detached")
    assert page.locator("#photo-status-feeder").inner_text() == "已删除 Removed"
    assert page.locator("#photo-count-feeder").inner_text() == "0"
    assert [i["photos"] for i in api(daemon, f"/rounds/{round_id}")["items"]
            if i["item"] == "feeder"] == [[]]  # fmt: skip
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "round-on-a-phone.png", full_page=True)
    assert png_size((tmp_path / "round-on-a-phone.png").read_bytes())[0] == PHONE["width"]

    tap_and_load(page, "#sign")
    assert page.url == f"{daemon.base}/inspections?signed={round_id}"
    assert tablet.errors == [refusal]

    # The record and the signature's audit line name the photo.
    record = api(daemon, f"/rounds/{round_id}")
    items = {i["item"]: i for i in record["items"]}
    assert items["vswr-measured"]["photos"] == [sha256]
    assert record["signed_by"] == "zhangwei"
    entries = api(daemon, "/audit", daemon.supervisor)["entries"]
    [signed] = [e for e in entries if e["action"] == "sign"]
    assert signed["round"] == round_id
    assert signed["detail"]["photos"] == {"vswr-measured": [sha256]}
    photo_lines = [(e["action"], e["detail"]["item"]) for e in entries if "sha256" in e["detail"]]
    assert photo_lines == [
        ("photo_add", "vswr-measured"), ("photo_add", "feeder"), ("photo_remove", "feeder"),
    ]  # fmt: skip
    assert entries[-1]["action"] == "sign"

    # The stored photo: scaled by the page, no EXIF, no GPS position.
    raw = sqlite3.connect(f"file:{daemon.store}?mode=ro", uri=True)
    try:
        content, width, height = raw.execute(
            "SELECT content, width, height FROM photos WHERE sha256 = ?", (sha256,)
        ).fetchone()
    finally:
        raw.close()
    assert exif_of(content) == {}
    assert 0xE1 not in jpeg_segments(content)
    assert (width, height) == (SCALED_SIDE, SCALED_SIDE * 3 // 4)
    assert hashlib.sha256(content).hexdigest() == sha256


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Count the process's peak resident size (VmHWM) from now (Linux: 5 > clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def signed_in_round(daemon: Daemon) -> tuple[str, str, str]:
    """Sign in and open the base station's round: its path, the session cookie, the form token."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies of an IP address host
    async with aiohttp.ClientSession(daemon.base, cookie_jar=jar) as session:
        async with session.post("/inspections/login", data={"token": daemon.token}) as signed:
            assert signed.status == 200
            page = await signed.text()
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None
        csrf = found.group(1)
        async with session.post("/inspections/open", allow_redirects=False, data={
            "plan": "daily-bs", "target": "asset:bs-xingning", "csrf": csrf,
        }) as opened:  # fmt: skip
            assert opened.status == 303
            path = opened.headers["Location"]
        cookie = next(c.value for c in jar if c.key == COOKIE)
    return path, cookie, csrf


async def test_a_50_mb_upload_is_refused_without_the_daemon_holding_it(daemon: Daemon) -> None:
    path, cookie, csrf = await signed_in_round(daemon)
    pid = daemon.process.pid
    reset_peak(pid)
    before = vm_kib(pid, "VmRSS")

    boundary = "----trunkwatch-test-" + secrets.token_hex(8)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="item"\r\n\r\nvswr-measured\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
        f'filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    total, chunk = 50 * 2**20, b"\xff\xd8\xff" + bytes(2**20 - 3)
    host, port = daemon.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    # No Content-Length: the body is streamed in chunks, so only reading it tells its size.
    writer.write(
        f"POST {path}/photos HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {COOKIE}={cookie}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nAccept: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
    )
    sent = 0
    try:
        async with asyncio.timeout(60), asyncio.TaskGroup() as group:
            # The answer is read while the body is still being sent, as a browser does.
            answer = group.create_task(reader.readuntil(b"\r\n\r\n"))
            for part in (head, *(chunk for _ in range(total // len(chunk)))):
                if answer.done():
                    break
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                await writer.drain()
                sent += len(part)
                # drain() only yields when the socket is full. Once refused, the daemon reads
                # the rest of the body and throws it away faster than it is sent, so without
                # this the answer would wait, unread, until all 50 MB had gone.
                await asyncio.sleep(0)
        headers = answer.result().decode()
        length = re.search(r"Content-Length: (\d+)", headers)
        assert length is not None, headers
        body = json.loads(await reader.readexactly(int(length.group(1))))
    finally:
        writer.close()
    assert headers.startswith("HTTP/1.1 413 "), headers
    assert body["error"] == "照片过大 / the photo is over 16 MB"
    # Refused once past the limit, long before the 50 MB were sent …
    assert sent < 40 * 2**20
    # … and never held whole: the daemon's peak grew by the limit at most, not by 50 MB.
    grown = vm_kib(pid, "VmHWM") - before
    assert grown < 32 * 1024, f"the daemon's peak resident size grew by {grown} KiB"
    record = api(daemon, f"/rounds/{path.rsplit('/', 1)[1]}")
    assert all(item["photos"] == [] for item in record["items"])


def test_the_html_sheet_in_chromium_reads_back_every_labels_url(
    tablet: TabletPage, daemon: Daemon
) -> None:
    setup = build_setup(load_config(daemon.config), sign_in=False)
    labels = build_labels(setup, "https://trunkwatch.centre.example")
    page: Page = tablet.page
    page.set_content(render_sheet(labels, centre=setup.centre, base_url="x"))
    # Zoomed as a printer would print it: a module is several pixels.
    page.evaluate("document.body.style.zoom = '4'")
    for label in labels:
        area = page.locator(f"#label-{label.asset}")
        picture = Image.open(io.BytesIO(area.screenshot()))
        assert [found.text for found in zxingcpp.read_barcodes(picture)] == [label.url]
        text = area.inner_text()
        assert label.name in text
        assert f"站点 Site {label.site_name}" in text
    assert tablet.errors == []
