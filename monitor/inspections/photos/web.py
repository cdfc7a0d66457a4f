"""The photos on the duty pages: the upload of one photo to an item of a draft round, its
removal, the photos and thumbnails themselves, and the round page's script (photos.js).

An upload is a ``multipart/form-data`` form whose form token and item come before the photo
(the page's forms are laid out so). It is read part by part, in chunks, and refused (413) as
soon as it passes ``MAX_UPLOAD_BYTES``: the server's ``client_max_size`` (1 MB for every other
request) is not raised, and a 50 MB upload is never held in memory. The photo's type is judged
by its content, not by the name or type the client gave it. The page's script asks for JSON
answers (``Accept: application/json``); a form sent without it is answered with a redirect to
the round, or the refusal as a page.
"""

from __future__ import annotations

import hmac
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from monitor.inspections.errors import (
    InspectionError,
    InvalidEntry,
    MalformedRequest,
    StoreError,
    TooLarge,
    UnsupportedMedia,
)
from monitor.inspections.photos.image import MAX_UPLOAD_BYTES, StoredPhoto
from monitor.inspections.templates import render
from monitor.inspections.web import DutyPages, html_page, see_other
from monitor.web.guard import require_same_origin

if TYPE_CHECKING:
    from monitor.inspections.config import Person
    from monitor.inspections.sessions import Session

__all__ = ["FORM_SLACK", "read_upload", "routes"]

#: What a form adds around the photo: boundaries, part headers, the token and the item.
FORM_SLACK = 16 * 1024
_FIELD_BYTES = 512
_MAX_PARTS = 4
_CHUNK = 64 * 1024
_SHA256 = "{sha256:[0-9a-f]{64}}"
_SCRIPT = (resources.files("monitor") / "templates" / "inspections" / "photos.js").read_bytes()


_PHOTO_TOO_LARGE = f"照片过大 / the photo is over {MAX_UPLOAD_BYTES // 2**20} MB"


async def _read_part(part: BodyPartReader, limit: int, too_large: str) -> bytes:
    """A part's bytes, chunk by chunk; TooLarge as soon as there are more than ``limit``."""
    chunks: list[bytes] = []
    total = 0
    while chunk := await part.read_chunk(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise TooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(request: web.Request, csrf: str) -> tuple[str, bytes]:
    """The item and the photo of an upload form whose token is ``csrf``. Raises TooLarge,
    UnsupportedMedia (not a multipart form), MalformedRequest, InvalidEntry (no photo), and
    HTTPForbidden for a missing or stale form token, found before the photo is read."""
    declared = request.content_length
    if declared is not None and declared > MAX_UPLOAD_BYTES + FORM_SLACK:
        raise TooLarge(_PHOTO_TOO_LARGE)
    if request.content_type != "multipart/form-data":
        raise UnsupportedMedia("expected a multipart/form-data form")
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        for _ in range(_MAX_PARTS):
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise MalformedRequest("a form inside the form")
            if part.name == "photo":
                if not hmac.compare_digest(fields.get("csrf", ""), csrf):
                    raise web.HTTPForbidden(text="stale or missing form token; reload the page")
                if not fields.get("item"):
                    raise MalformedRequest("the form names no item before its photo")
                return fields["item"], await _read_part(part, MAX_UPLOAD_BYTES, _PHOTO_TOO_LARGE)
            if part.name not in ("csrf", "item"):
                raise MalformedRequest(f"unexpected form field {str(part.name)[:40]!r}")
            raw = await _read_part(part, _FIELD_BYTES, f"field {part.name} is too long")
            fields[part.name] = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("a form field is not UTF-8 text") from None
    except ValueError as exc:
        # aiohttp's word for a body that is not the multipart form it says it is.
        raise MalformedRequest(f"not a well-formed multipart form: {exc}") from None
    raise InvalidEntry("表单中没有照片 / the form has no photo", {"photo": "required"})


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _photo_json(item: str, photo: StoredPhoto, added: bool) -> dict[str, Any]:
    url = f"/inspections/photos/{photo.sha256}"
    return {
        "item": item,
        "added": added,
        "sha256": photo.sha256,
        "size": photo.size,
        "width": photo.width,
        "height": photo.height,
        "url": url,
        "thumbnail": f"{url}/thumbnail",
    }


class PhotoPages:
    def __init__(self, duty: DutyPages) -> None:
        self.duty = duty
        self.service = duty.service

    def _refused(
        self, request: web.Request, person: Person, session: Session, exc: InspectionError
    ) -> web.Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, StoreError) else None
        if _wants_json(request):
            problems = exc.problems if isinstance(exc, InvalidEntry) else {}
            body = {"error": str(exc), "problems": problems}
            return web.json_response(body, status=exc.status, headers=headers)
        page = render("message.html", person=person, csrf=session.csrf, error=str(exc))
        response = html_page(page, status=exc.status)
        response.headers.update(headers or {})
        return response

    async def upload(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        require_same_origin(request)
        round_id = request.match_info["round_id"]
        service = self.service
        try:
            item, data = await read_upload(request, session.csrf)
            photo, added = await service.run(service.photos.add, person, round_id, item, data)
        except InspectionError as exc:
            return self._refused(request, person, session, exc)
        if _wants_json(request):
            return web.json_response(_photo_json(item, photo, added), status=201 if added else 200)
        return see_other(f"/inspections/rounds/{quote(round_id)}#item-{quote(item)}")

    async def remove(self, request: web.Request) -> web.Response:
        person, session = await self.duty.require(request)
        data = await self.duty.form(request, session)
        round_id, sha256 = request.match_info["round_id"], request.match_info["sha256"]
        item = data.get("item", "")
        service = self.service
        try:
            await service.run(service.photos.remove, person, round_id, item, sha256)
        except InspectionError as exc:
            return self._refused(request, person, session, exc)
        if _wants_json(request):
            return web.json_response({"item": item, "removed": sha256})
        return see_other(f"/inspections/rounds/{quote(round_id)}#item-{quote(item)}")

    async def image(self, request: web.Request) -> web.Response:
        await self.duty.require(request)
        thumbnail = request.path.endswith("/thumbnail")
        service = self.service
        try:
            media_type, body = await service.run(
                service.photos.image, request.match_info["sha256"], thumbnail=thumbnail
            )
        except InspectionError as exc:
            return web.Response(status=exc.status, text=str(exc))
        # Named by its content: a photo never changes under its name.
        return web.Response(
            body=body,
            content_type=media_type,
            headers={"Cache-Control": "private, max-age=31536000, immutable"},
        )


async def script(request: web.Request) -> web.Response:
    return web.Response(
        body=_SCRIPT,
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def routes(duty: DutyPages) -> list[web.RouteDef]:
    pages = PhotoPages(duty)
    return [
        web.post("/inspections/rounds/{round_id}/photos", pages.upload),
        web.post(f"/inspections/rounds/{{round_id}}/photos/{_SHA256}/remove", pages.remove),
        web.get(f"/inspections/photos/{_SHA256}", pages.image),
        web.get(f"/inspections/photos/{_SHA256}/thumbnail", pages.image),
        web.get("/inspections/photos.js", script),
    ]
