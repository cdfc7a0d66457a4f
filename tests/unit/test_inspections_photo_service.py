"""Photos of checklist items through the inspection service, over a real SQLite store: an item
that requires a photo blocks the signature until one is there; photos are stored stripped,
once per content, on items that take them, up to the limit, while the round is a draft, by
the people who may sign it; their SHA-256 hashes are in the signed record, its audit line, a
correction of it and the monthly CSV of the rounds."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.inspections.errors import Conflict, InvalidEntry, NotAllowed, UnsupportedMedia
from monitor.inspections.photos.image import MAX_PHOTOS_PER_ITEM
from monitor.inspections.records import RoundRecord
from monitor.inspections.report import monthly_report, render_csv
from monitor.inspections.service import InspectionService
from tests.photos import GPS_IFD, camera_jpeg, exif_of, png
from tests.unit.inspections_fleet import ROSTER, SetClock, local, make_service, write_config

PLANS = """\
  plans:
    - id: quarterly-vswr
      title: 天馈驻波比季检
      scope: {per: asset, system: radio}
      recurrence: quarterly
      due: {month: 1, day: 20}
      grace: 2d
      owner: radio
      deputy: zhaomin
      checklist:
        - {id: vswr-measured, kind: reading, title: 驻波比实测, accept: {le: 1.5}, photo: required}
        - {id: feeder, kind: confirmation, title: 馈线无进水, photo: optional}
        - {id: mast, kind: confirmation, title: 铁塔紧固}
"""
VALUES = {"vswr-measured": {"value": "1.2"}, "feeder": {"value": "yes"}, "mast": {"value": "yes"}}


@pytest.fixture
def clock() -> SetClock:
    return SetClock(local(2028, 1, 10, 9))


@pytest.fixture
def service(tmp_path: Path, clock: SetClock) -> InspectionService:
    return make_service(write_config(tmp_path, inspections=ROSTER + PLANS), clock)


@pytest.fixture
def draft(service: InspectionService) -> RoundRecord:
    return service.open_round(service.person("lina"), "quarterly-vswr", "asset:bs-xingning")


def audit(service: InspectionService, action: str) -> list[dict[str, object]]:
    return [e.detail for e in service.store.audit_log() if e.action == action]


def test_a_required_photo_missing_blocks_the_signature_with_a_clear_problem(
    service: InspectionService, draft: RoundRecord
) -> None:
    lina = service.person("lina")
    with pytest.raises(InvalidEntry) as caught:
        service.save(lina, draft.id, VALUES, sign=True)
    assert str(caught.value) == "尚不能签字确认 / the round cannot be signed yet"
    # Only the item that requires one; the optional item signs without.
    assert caught.value.problems == {"vswr-measured": "须拍照 / a photo is required"}
    assert service.get_round(draft.id).signed is False

    photo, added = service.photos.add(lina, draft.id, "vswr-measured", camera_jpeg())
    assert added is True
    signed = service.save(lina, draft.id, VALUES, sign=True)
    assert signed.signed_by == "lina"
    assert signed.item("vswr-measured").photos == (photo.sha256,)  # type: ignore[union-attr]
    assert signed.item("feeder").photos == ()  # type: ignore[union-attr]


def test_photo_hashes_are_in_the_signed_record_and_its_audit_line(
    service: InspectionService, draft: RoundRecord
) -> None:
    lina = service.person("lina")
    meter, _ = service.photos.add(lina, draft.id, "vswr-measured", camera_jpeg())
    feeder, _ = service.photos.add(lina, draft.id, "feeder", camera_jpeg(800, 600))
    second, _ = service.photos.add(lina, draft.id, "feeder", png())
    signed = service.save(lina, draft.id, VALUES, sign=True)

    assert signed.item("feeder").photos == (feeder.sha256, second.sha256)  # type: ignore[union-attr]
    assert signed.as_json()["items"][0]["photos"] == [feeder.sha256, second.sha256]
    [sign] = audit(service, "sign")
    assert sign["photos"] == {
        "feeder": [feeder.sha256, second.sha256],
        "vswr-measured": [meter.sha256],
    }
    assert [(d["item"], d["sha256"]) for d in audit(service, "photo_add")] == [
        ("vswr-measured", meter.sha256),
        ("feeder", feeder.sha256),
        ("feeder", second.sha256),
    ]
    assert service.store.verify_audit_chain() == 6  # migrate, open, 3 photos, sign
    # What is stored is the stripped picture, named by its own hash.
    media_type, stored = service.photos.image(meter.sha256)
    assert media_type == "image/jpeg"
    assert stored == meter.content
    assert GPS_IFD not in exif_of(stored)
    assert exif_of(stored) == {}


def test_a_round_without_photos_signs_as_before_with_no_photos_in_its_audit_line(
    tmp_path: Path, clock: SetClock
) -> None:
    plans = PLANS.replace(", photo: required}", "}")
    service = make_service(write_config(tmp_path, inspections=ROSTER + plans), clock)
    lina = service.person("lina")
    draft = service.open_round(lina, "quarterly-vswr", "bs-xingning")
    service.save(lina, draft.id, VALUES, sign=True)
    [sign] = audit(service, "sign")
    assert sign == {"items": {"feeder": "pass", "mast": "pass", "vswr-measured": "pass"}}


def test_photos_only_on_items_that_take_them_and_up_to_the_limit(
    service: InspectionService, draft: RoundRecord
) -> None:
    lina = service.person("lina")
    with pytest.raises(InvalidEntry) as caught:
        service.photos.add(lina, draft.id, "mast", camera_jpeg())
    assert caught.value.problems == {"mast": "此项不拍照 / this item takes no photos"}
    with pytest.raises(InvalidEntry, match="not an item of this checklist"):
        service.photos.add(lina, draft.id, "no-such-item", camera_jpeg())
    with pytest.raises(UnsupportedMedia):
        service.photos.add(lina, draft.id, "feeder", b"GIF89a" + bytes(100))

    for width in range(MAX_PHOTOS_PER_ITEM):
        service.photos.add(lina, draft.id, "feeder", camera_jpeg(320 + width, 240))
    # The same picture again is no new photo, and no error.
    again, added = service.photos.add(lina, draft.id, "feeder", camera_jpeg(320, 240))
    assert added is False
    with pytest.raises(InvalidEntry) as caught:
        service.photos.add(lina, draft.id, "feeder", camera_jpeg(999, 240))
    assert caught.value.status == 422
    assert caught.value.problems == {
        "feeder": f"每项最多 {MAX_PHOTOS_PER_ITEM} 张照片 / at most {MAX_PHOTOS_PER_ITEM} photos per item"
    }
    shown = service.get_round(draft.id).item("feeder")
    assert shown is not None
    assert len(shown.photos) == MAX_PHOTOS_PER_ITEM
    assert again.sha256 == shown.photos[0]  # the first one added
    assert len(audit(service, "photo_add")) == MAX_PHOTOS_PER_ITEM


def test_only_owner_deputy_team_or_supervisor_add_photos(
    service: InspectionService, draft: RoundRecord
) -> None:
    with pytest.raises(NotAllowed):
        service.photos.add(service.person("wangqiang"), draft.id, "feeder", camera_jpeg())
    _, added = service.photos.add(service.person("zhaomin"), draft.id, "feeder", camera_jpeg())
    assert added is True
    assert audit(service, "photo_add")[0]["item"] == "feeder"
    assert [e.actor for e in service.store.audit_log() if e.action == "photo_add"] == ["zhaomin"]


def test_a_draft_photo_can_be_removed_and_goes_when_nothing_shows_it(
    service: InspectionService, draft: RoundRecord
) -> None:
    lina = service.person("lina")
    photo, _ = service.photos.add(lina, draft.id, "feeder", camera_jpeg())
    service.photos.remove(lina, draft.id, "feeder", photo.sha256)
    assert service.get_round(draft.id).item("feeder").photos == ()  # type: ignore[union-attr]
    assert service.store.photo_bytes(photo.sha256) is None
    assert audit(service, "photo_remove") == [{"item": "feeder", "sha256": photo.sha256}]


def test_a_signed_rounds_photos_are_neither_added_nor_removed(
    service: InspectionService, draft: RoundRecord, clock: SetClock
) -> None:
    lina = service.person("lina")
    photo, _ = service.photos.add(lina, draft.id, "vswr-measured", camera_jpeg())
    service.save(lina, draft.id, VALUES, sign=True)
    with pytest.raises(Conflict, match="signed"):
        service.photos.add(lina, draft.id, "feeder", camera_jpeg(100, 100))
    with pytest.raises(Conflict, match="signed"):
        service.photos.remove(lina, draft.id, "vswr-measured", photo.sha256)
    assert service.store.photo_bytes(photo.sha256) is not None


def test_a_correction_keeps_the_photos_of_the_record_it_corrects(
    service: InspectionService, draft: RoundRecord
) -> None:
    lina = service.person("lina")
    photo, _ = service.photos.add(lina, draft.id, "vswr-measured", camera_jpeg())
    service.save(lina, draft.id, VALUES, sign=True)
    corrected = service.correct(lina, draft.id, {"vswr-measured": {"value": "1.3"}}, "读数抄错")
    assert corrected.item("vswr-measured").photos == (photo.sha256,)  # type: ignore[union-attr]
    assert corrected.item("vswr-measured").value == "1.3"  # type: ignore[union-attr]
    [correction] = audit(service, "correct")
    assert correction["photos"] == {"vswr-measured": [photo.sha256]}
    # The original still shows it too.
    assert service.get_round(draft.id).item("vswr-measured").photos == (photo.sha256,)  # type: ignore[union-attr]


def test_the_monthly_csv_of_rounds_names_each_records_photos(
    service: InspectionService, draft: RoundRecord, clock: SetClock
) -> None:
    lina = service.person("lina")
    photo, _ = service.photos.add(lina, draft.id, "vswr-measured", camera_jpeg())
    service.save(lina, draft.id, VALUES, sign=True)
    clock.set(2028, 1, 25, 12)
    rows = list(csv.DictReader(io.StringIO(
        render_csv(monthly_report(service, "2028-01"), detail=True).lstrip("\ufeff")
    )))  # fmt: skip
    by_target = {r["target"]: r for r in rows}
    assert by_target["asset:bs-xingning"]["photos"] == f"vswr-measured:{photo.sha256}"
    assert by_target["asset:bs-xixiangtang"]["photos"] == ""


def test_the_audit_command_shows_the_photo_hashes_of_a_signature(
    tmp_path: Path, service: InspectionService, draft: RoundRecord,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    lina = service.person("lina")
    photo, _ = service.photos.add(lina, draft.id, "vswr-measured", camera_jpeg())
    service.save(lina, draft.id, VALUES, sign=True)
    assert main(["inspections", "audit", "-c", str(tmp_path / "monitor.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    [sign] = [line for line in lines if " sign " in line]
    assert f'"photos": {{"vswr-measured": ["{photo.sha256}"]}}' in sign
    assert draft.id in sign
    assert lines[-1] == "audit log intact: 4 lines"
