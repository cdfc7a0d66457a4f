"""The photo pages and the pages a QR label opens, over HTTP against a real SQLite store: sign-in
returning to the page asked for and never to another site; an asset's rounds; a photo uploaded
as a multipart form (stored stripped of its EXIF, refused with a clear reason when it is not a
JPEG or PNG, too large, on the wrong item, without the form token or from another site), shown,
and removed; the round page's own script and images allowed by its policy, and no other page's.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, test_utils, web

from monitor.inspections.photos.image import MAX_UPLOAD_BYTES
from monitor.inspections.service import InspectionService
from monitor.inspections.web import COOKIE, LOGIN, safe_next
from tests.photos import camera_jpeg, exif_of, jpeg_segments
from tests.unit.inspections_fleet import ROSTER, TOKENS, SetClock, local, make_service, write_config

pytestmark = pytest.mark.integration

Client = test_utils.TestClient[Any, Any]

PLANS = """\
  plans:
    - id: quarterly-vswr
      title: 天馈驻波比季检
      title_en: Quarterly VSWR check
      scope: {per: asset, system: radio}
      recurrence: quarterly
      due: {month: 1, day: 20}
      owner: radio
      checklist:
        - {id: vswr-measured, kind: reading, title: 驻波比实测, accept: {le: 1.5}, photo: required}
        - {id: feeder, kind: confirmation, title: 馈线无进水, photo: optional}
        - {id: mast, kind: confirmation, title: 铁塔紧固}
    - id: monthly-power
      title: 蓄电池月检
      scope: {per: site, system: radio}
      recurrence: monthly
      due: {day: 25}
      owner: radio
      checklist:
        - {id: condition, kind: confirmation, title: 无鼓胀漏液}
"""
ASSET = "/inspections/asset/bs-xingning"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[InspectionService]:
    clock = SetClock(local(2028, 1, 10, 9))
    service = make_service(write_config(tmp_path, inspections=ROSTER + PLANS), clock)
    yield service
    service.store.close()


@pytest.fixture
async def client(service: InspectionService) -> AsyncIterator[Client]:
    app = web.Application()
    app.add_routes(service.routes())
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


async def sign_in(client: Client, person: str = "lina", **extra: str) -> Any:
    return await client.post(LOGIN, data={"token": TOKENS[person], **extra}, allow_redirects=False)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def open_round(client: Client) -> tuple[str, str]:
    """Sign in, open the VSWR round of bs-xingning; its URL and the form token."""
    assert (await sign_in(client)).status == 303
    csrf = csrf_of(await (await client.get("/inspections")).text())
    opened = await client.post(
        "/inspections/open", allow_redirects=False,
        data={"plan": "quarterly-vswr", "target": "asset:bs-xingning", "csrf": csrf},
    )  # fmt: skip
    assert opened.status == 303
    return opened.headers["Location"], csrf


def upload_form(csrf: str, item: str, photo: bytes, *, photo_first: bool = False) -> FormData:
    """The form the round page sends: token, item, then the photo (a camera's file name and
    type, whatever its bytes are)."""
    form = FormData()
    fields = [("csrf", csrf), ("item", item)]
    for name, value in [("photo", b""), *fields] if photo_first else [*fields, ("photo", b"")]:
        if name == "photo":
            form.add_field("photo", io.BytesIO(photo), filename="IMG_0001.jpg",
                           content_type="image/jpeg")  # fmt: skip
        else:
            form.add_field(name, value)
    return form


JSON = {"Accept": "application/json"}


# -- sign-in and the page a label opens -----------------------------------------------------


async def test_a_label_leads_through_sign_in_and_back_to_the_assets_rounds(client: Client) -> None:
    first = await client.get(ASSET, allow_redirects=False)
    assert (first.status, first.headers["Location"]) == (303, f"{LOGIN}?next={ASSET}")
    login = await (await client.get(f"{LOGIN}?next={ASSET}")).text()
    assert f'<input type="hidden" name="next" value="{ASSET}">' in login
    signed = await sign_in(client, next=ASSET)
    assert (signed.status, signed.headers["Location"]) == (303, ASSET)
    assert COOKIE in signed.headers["Set-Cookie"]
    # Signed in already, the sign-in page sends the label's page on.
    again = await client.get(f"{LOGIN}?next={ASSET}", allow_redirects=False)
    assert (again.status, again.headers["Location"]) == (303, ASSET)

    page = await (await client.get(ASSET)).text()
    assert 'id="asset-name">bs-xingning<' in page
    assert 'id="asset-site">兴宁基站 Xingning<' in page
    # The asset's own round first, then its site's.
    assert re.findall(r'<section class="card \w+" id="round-([^"]+)"', page) == [
        "quarterly-vswr--bs-xingning",
        "monthly-power--xingning",
    ]
    assert 'id="start-quarterly-vswr--bs-xingning"' in page
    assert 'id="start-monthly-power--xingning"' in page


async def test_a_label_leads_straight_to_the_one_round_under_way(
    client: Client, service: InspectionService
) -> None:
    round_url, _ = await open_round(client)
    again = await client.get(ASSET, allow_redirects=False)
    assert (again.status, again.headers["Location"]) == (303, round_url)
    # Two under way: the asset's page lists both.
    csrf = csrf_of(await (await client.get("/inspections")).text())
    await client.post("/inspections/open", allow_redirects=False,
                      data={"plan": "monthly-power", "target": "site:xingning", "csrf": csrf})  # fmt: skip
    both = await client.get(ASSET, allow_redirects=False)
    assert both.status == 200
    page = await both.text()
    assert 'id="continue-quarterly-vswr--bs-xingning"' in page
    assert 'id="continue-monthly-power--xingning"' in page
    missing = await client.get("/inspections/asset/no-such-asset")
    assert missing.status == 404
    assert "no asset &#39;no-such-asset&#39;" in await missing.text()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/inspections",
        "//evil.example/inspections",
        "/\\evil.example/inspections",
        "\\\\evil.example",
        "http:/inspections",
        "javascript:alert(1)",
        "/inspections@evil.example",
        "/inspections/../evil",
        "/inspections/%2e%2e/%2e%2e/evil",
        "/inspections/x\r\nSet-Cookie: a=b",
        "/inspections/x#https://evil.example",
        "/metrics",
        " /inspections/x",
        "/inspections/login",
    ],
)
async def test_sign_in_never_returns_to_another_site(client: Client, target: str) -> None:
    assert safe_next(target) is None
    login = await (await client.get(LOGIN, params={"next": target})).text()
    assert 'name="next"' not in login
    signed = await sign_in(client, next=target)
    assert (signed.status, signed.headers["Location"]) == (303, "/inspections")


def test_sign_in_returns_to_any_duty_page_path() -> None:
    for target in ("/inspections", ASSET, "/inspections/rounds/1?correct=1",
                   "/inspections/asset/a%20b"):  # fmt: skip
        assert safe_next(target) == target


# -- photos -----------------------------------------------------------------------------------


async def test_a_photo_uploaded_as_a_form_is_stored_without_its_exif_and_shown(
    client: Client, service: InspectionService
) -> None:
    round_url, csrf = await open_round(client)
    round_id = round_url.rsplit("/", 1)[1]
    upload = camera_jpeg(1200, 900)
    assert 0xE1 in jpeg_segments(upload)  # EXIF, with the GPS position
    sent = await client.post(f"{round_url}/photos", data=upload_form(csrf, "vswr-measured", upload),
                             allow_redirects=False)  # fmt: skip
    assert (sent.status, sent.headers["Location"]) == (303, f"{round_url}#item-vswr-measured")

    [sha256] = service.get_round(round_id).item("vswr-measured").photos  # type: ignore[union-attr]
    stored = await client.get(f"/inspections/photos/{sha256}")
    assert (stored.status, stored.content_type) == (200, "image/jpeg")
    body = await stored.read()
    assert exif_of(body) == {}
    assert 0xE1 not in jpeg_segments(body)
    assert "immutable" in stored.headers["Cache-Control"]
    thumb = await client.get(f"/inspections/photos/{sha256}/thumbnail")
    assert thumb.status == 200
    assert len(await thumb.read()) < len(body)

    page = await client.get(round_url)
    html = await page.text()
    assert f'src="/inspections/photos/{sha256}/thumbnail"' in html
    assert 'capture="environment"' in html
    assert 'accept="image/*"' in html
    assert '<script src="/inspections/photos.js" defer></script>' in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "img-src data: 'self'" in policy
    assert "default-src 'none'" in policy
    assert "script-src" not in (await client.get("/inspections")).headers["Content-Security-Policy"]
    script = await client.get("/inspections/photos.js")
    assert (script.status, script.content_type) == (200, "text/javascript")
    assert "canvas.toBlob" in await script.text()

    # The same picture again, as the page's script sends it: answered in JSON, not added twice.
    repeat = await client.post(f"{round_url}/photos", headers=JSON,
                               data=upload_form(csrf, "vswr-measured", upload))  # fmt: skip
    assert repeat.status == 200
    assert (await repeat.json())["added"] is False
    other = await client.post(f"{round_url}/photos", headers=JSON,
                              data=upload_form(csrf, "feeder", camera_jpeg(300, 200)))  # fmt: skip
    assert other.status == 201
    answer = await other.json()
    assert (answer["added"], answer["item"], answer["width"]) == (True, "feeder", 300)
    assert answer["thumbnail"] == f"/inspections/photos/{answer['sha256']}/thumbnail"

    removed = await client.post(f"{round_url}/photos/{answer['sha256']}/remove", headers=JSON,
                                data={"csrf": csrf, "item": "feeder"})  # fmt: skip
    assert removed.status == 200
    assert (await client.get(answer["url"])).status == 404
    assert service.get_round(round_id).item("feeder").photos == ()  # type: ignore[union-attr]


async def test_photo_uploads_are_refused_with_clear_reasons(
    client: Client, service: InspectionService
) -> None:
    round_url, csrf = await open_round(client)
    url = f"{round_url}/photos"

    async def refused(status: int, data: Any, **kwargs: Any) -> dict[str, Any]:
        response = await client.post(url, data=data, headers={**JSON, **kwargs.pop("headers", {})},
                                     **kwargs)  # fmt: skip
        assert response.status == status, await response.text()
        return await response.json() if response.content_type == "application/json" else {}

    gif = await refused(415, upload_form(csrf, "feeder", b"GIF89a" + bytes(200)))
    assert (
        gif["error"] == "只接受 JPEG 或 PNG 照片 / only JPEG or PNG photos are accepted (image/gif)"
    )
    # Named and typed as a JPEG, it is still judged by its bytes.
    renamed = await refused(415, upload_form(csrf, "feeder", b"<svg onload=alert(1)/>"))
    assert "only JPEG or PNG" in renamed["error"]
    wrong_item = await refused(422, upload_form(csrf, "mast", camera_jpeg()))
    assert wrong_item["problems"] == {"mast": "此项不拍照 / this item takes no photos"}
    await refused(403, upload_form("not-the-token", "feeder", camera_jpeg()))
    await refused(403, upload_form(csrf, "feeder", camera_jpeg(), photo_first=True))
    await refused(403, upload_form(csrf, "feeder", camera_jpeg()),
                  headers={"Origin": "http://evil.example"})  # fmt: skip
    not_a_form = await refused(415, b"\xff\xd8\xff", headers={"Content-Type": "image/jpeg"})
    assert not_a_form["error"] == "expected a multipart/form-data form"
    declared = await refused(
        413, b"x" * 1024,
        # The body is not what the header says: its connection is not used again.
        headers={"Content-Type": "multipart/form-data; boundary=x", "Connection": "close",
                 "Content-Length": str(MAX_UPLOAD_BYTES + 10**6)},
    )  # fmt: skip
    assert declared["error"] == "照片过大 / the photo is over 16 MB"
    big = await refused(413, upload_form(csrf, "feeder", b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES)))
    assert big["error"] == "照片过大 / the photo is over 16 MB"
    assert service.get_round(round_url.rsplit("/", 1)[1]).item("feeder").photos == ()  # type: ignore[union-attr]
    assert [e.action for e in service.store.audit_log()] == ["migrate", "open"]


async def test_photos_need_a_signed_in_person(client: Client, service: InspectionService) -> None:
    round_url, csrf = await open_round(client)
    await client.post(f"{round_url}/photos", data=upload_form(csrf, "feeder", camera_jpeg()))
    [sha256] = service.get_round(round_url.rsplit("/", 1)[1]).item("feeder").photos  # type: ignore[union-attr]
    client.session.cookie_jar.clear()
    for path in (f"/inspections/photos/{sha256}", f"/inspections/photos/{sha256}/thumbnail"):
        response = await client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, f"{LOGIN}?next={path}")
    posted = await client.post(f"{round_url}/photos", allow_redirects=False,
                               data=upload_form(csrf, "feeder", camera_jpeg(200, 100)))  # fmt: skip
    assert (posted.status, posted.headers["Location"]) == (303, LOGIN)
