"""The equipment QR labels: which assets get one, the URL each opens, and the PDF and HTML
sheets read back the way a person would — the PDF rendered to pixels (PDFium) and every QR code
decoded (zxing-cpp) from the area of its own label, beside that label's text; the command's
refusals; and the configuration of the base URL and of photos, checked with the file's line."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from monitor.cli import main
from monitor.config import load_config
from monitor.core.sources import ConfigError
from monitor.inspections.config import LabelSettings
from monitor.inspections.errors import InvalidEntry
from monitor.inspections.labels.pdf import render_pdf
from monitor.inspections.labels.sheet import LAYOUT, Label, build_labels, render_sheet
from monitor.inspections.plans import build_setup
from tests.unit.inspections_fleet import ROSTER, write_config

SHIPPED = Path(__file__).parents[2] / "monitor.yaml"
BASE = "https://trunkwatch.centre.example"
PT_PER_MM = 72 / 25.4
#: Pixels per PDF point when the sheet is rendered: about 300 dpi.
SCALE = 300 / 72

PLANS = """\
  labels: {{base_url: "{base}"}}
  plans:
    - id: quarterly-vswr
      title: 天馈驻波比季检
      scope: {{per: asset, system: radio}}
      recurrence: quarterly
      due: {{month: 1, day: 20}}
      owner: radio
      checklist:
        - {{id: feeder, kind: confirmation, title: 馈线无进水, photo: optional}}
    - id: yearly-earthing
      title: 接地电阻年检
      scope: {{per: site, site: [hq]}}
      recurrence: yearly
      due: {{month: 4, day: 30}}
      owner: wangqiang
      checklist:
        - {{id: earthing, kind: reading, title: 接地电阻, accept: {{lt: 4}}, photo: required}}
"""


def fleet(tmp_path: Path, base: str = BASE, plans: str = PLANS) -> Path:
    return write_config(tmp_path, inspections=ROSTER + plans.format(base=base))


def decoded(picture: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(picture)]


def test_every_asset_a_plan_inspects_per_asset_or_per_site_gets_a_label(tmp_path: Path) -> None:
    setup = build_setup(load_config(fleet(tmp_path)), sign_in=False)
    labels = build_labels(setup, BASE + "/")
    # The radio base stations per asset; hq's assets through the per-site plan of hq; the
    # core switch too (it is at hq).
    assert [(label.asset, label.site) for label in labels] == [
        ("bs-xingning", "xingning"),
        ("bs-xixiangtang", "xixiangtang"),
        ("e1-gw-110", "hq"),
        ("core-sw-1", "hq"),
    ]
    first = labels[0]
    assert first.url == f"{BASE}/inspections/asset/bs-xingning"
    assert first.site_name == "兴宁基站 Xingning"
    assert [label.asset for label in build_labels(setup, BASE, ["hq"])] == [
        "e1-gw-110",
        "core-sw-1",
    ]
    with pytest.raises(InvalidEntry, match=r"no site 'mars' in the configuration \(sites: hq, "):
        build_labels(setup, BASE, ["mars"])


def test_an_asset_id_is_quoted_into_its_url() -> None:
    from monitor.inspections.labels.sheet import asset_path

    assert asset_path("ups-1") == "/inspections/asset/ups-1"
    assert asset_path("a/b?c") == "/inspections/asset/a%2Fb%3Fc"


def label_box(index: int) -> tuple[float, float, float, float]:
    """A label's area on its page, in PDF points: left, bottom, right, top."""
    x, y = LAYOUT.origin(index)
    top = (LAYOUT.page_height - y) * PT_PER_MM
    return x * PT_PER_MM, top - LAYOUT.height * PT_PER_MM, (x + LAYOUT.width) * PT_PER_MM, top


def read_pdf(data: bytes) -> list[list[tuple[list[str], str]]]:
    """Each page's labels as a reader finds them: the QR codes in a label's area and its text."""
    document = pdfium.PdfDocument(data)
    pages = []
    try:
        for page in document:
            picture = page.render(scale=SCALE).to_pil()
            text = page.get_textpage()
            found = []
            for index in range(LAYOUT.per_page):
                left, bottom, right, top = label_box(index)
                height = page.get_height()
                area = picture.crop((round(left * SCALE), round((height - top) * SCALE),
                                     round(right * SCALE), round((height - bottom) * SCALE)))  # fmt: skip
                words = text.get_text_bounded(left, bottom, right, top)
                if words.strip() or decoded(area):
                    found.append((decoded(area), words))
            pages.append(found)
    finally:
        document.close()
    return pages


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_pdf_sheet_reads_back_each_labels_url_and_text_in_both_languages() -> None:
    setup = build_setup(load_config(SHIPPED), sign_in=False)
    labels = build_labels(setup, BASE)
    assert len(labels) > LAYOUT.per_page  # more than one page
    data = render_pdf(labels, setup.labels, centre=setup.centre)
    assert data.startswith(b"%PDF-")
    pages = read_pdf(data)
    assert [len(page) for page in pages] == [LAYOUT.per_page, len(labels) - LAYOUT.per_page]
    read = [label for page in pages for label in page]
    for label, (urls, text) in zip(labels, read, strict=True):
        assert urls == [label.url], label.asset
        for part in (label.name, f"设备 Asset {label.asset}", f"站点 Site {label.site_name}",
                     "扫码巡检 Scan to inspect", label.url):  # fmt: skip
            assert flat(part) in flat(text), (label.asset, part, text)
    # The shipped names, Chinese first.
    assert flat(read[12][1]).startswith(flat("兴宁区基站 base station 设备 Asset bs-xingning"))
    assert "Xingning" in read[12][1]


def test_the_html_sheet_holds_each_labels_qr_code_and_text() -> None:
    setup = build_setup(load_config(SHIPPED), sign_in=False)
    labels = build_labels(setup, BASE, ["xingning"])
    html = render_sheet(labels, centre=setup.centre, base_url=BASE)
    assert [(m[0], m[1]) for m in re.findall(r'id="label-([^"]+)" data-url="([^"]+)"', html)] == [
        (label.asset, label.url) for label in labels
    ]
    assert html.count('<svg viewBox="0 0 ') == len(labels)
    assert "站点 Site 兴宁区基站 Xingning" in html
    assert "扫码巡检 Scan to inspect" in html
    assert "<script" not in html


def test_a_labels_qr_symbol_is_the_url_with_its_quiet_zone() -> None:
    setup = build_setup(load_config(SHIPPED), sign_in=False)
    label: Label = build_labels(setup, BASE)[0]
    modules = label.modules
    assert len(modules) == len(modules[0])
    assert modules[0] == (0,) * len(modules)  # four light modules around the symbol
    size = 8
    picture = Image.new("L", (len(modules) * size, len(modules) * size), 255)
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                picture.paste(0, (c * size, r * size, (c + 1) * size, (r + 1) * size))
    assert decoded(picture) == [label.url]
    assert label.qr.error == "Q"


def test_the_labels_command_writes_a_pdf_or_html_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fleet(tmp_path)
    out = tmp_path / "labels.pdf"
    assert main(["inspections", "labels", "-c", str(config), "--out", str(out)]) == 0
    assert capsys.readouterr().out == (
        f"{out}: 4 labels, 3 sites, opening {BASE}/inspections/asset/…\n"
    )
    [[first, *_]] = read_pdf(out.read_bytes())
    assert first[0] == [f"{BASE}/inspections/asset/bs-xingning"]
    # --base-url wins over the configuration; --site narrows.
    html = tmp_path / "labels.html"
    other = "http://10.20.0.5:9750/tw"
    code = main(["inspections", "labels", "-c", str(config), "--base-url", other + "/",
                 "--site", "hq", "--out", str(html)])  # fmt: skip
    assert code == 0
    assert re.findall(r'data-url="([^"]+)"', html.read_text(encoding="utf-8")) == [
        f"{other}/inspections/asset/e1-gw-110",
        f"{other}/inspections/asset/core-sw-1",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.pdf"], "set inspections.labels.base_url or give --base-url"),
        (["--base-url", BASE, "--out", "x.png"], "--out names a .pdf or .html file, not 'x.png'"),
        (["--base-url", "ftp://x", "--out", "x.pdf"],
         "argument --base-url: expected an http:// or https:// URL"),
        (["--base-url", "https://u:p@x", "--out", "x.pdf"], "credentials in the URL are not accepted"),
        (["--base-url", "https://x.example/" + "a" * 120, "--out", "x.pdf"],
         "longer than 120 characters: too long for a QR label"),
        (["--base-url", BASE, "--site", "mars", "--out", "x.pdf"], "no site 'mars'"),
    ],
)  # fmt: skip
def test_the_labels_command_refuses_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = fleet(tmp_path, plans=PLANS.replace('  labels: {{base_url: "{base}"}}\n', ""))
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    try:
        code = main(["inspections", "labels", "-c", str(config), *args])
    except SystemExit as exc:  # argparse refuses a bad --base-url itself
        code = int(str(exc.code))
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("x.*"))


def test_a_missing_font_is_named_with_what_to_do(tmp_path: Path) -> None:
    setup = build_setup(load_config(fleet(tmp_path)), sign_in=False)
    labels = build_labels(setup, BASE)
    settings = LabelSettings(font=str(tmp_path / "none.ttc"))
    with pytest.raises(InvalidEntry, match="install Debian's fonts-noto-cjk") as caught:
        render_pdf(labels, settings, centre="x")
    assert str(tmp_path / "none.ttc") in str(caught.value)
    (tmp_path / "bad.ttf").write_bytes(b"not a font")
    with pytest.raises(InvalidEntry, match="cannot use the font"):
        render_pdf(labels, LabelSettings(font=str(tmp_path / "bad.ttf")), centre="x")


@pytest.mark.parametrize(
    ("section", "needle", "field", "reason"),
    [
        ('  labels: {base_url: "ftp://files.example"}\n', "labels:", "inspections.labels.base_url",
         "expected an http:// or https:// URL such as https://trunkwatch.example"),
        ('  labels: {base_url: "https://x.example/?a=1"}\n', "labels:",
         "inspections.labels.base_url", "expected the base URL, without ?query or #fragment"),
        ('  labels: {base_url: "https://x.example:99999"}\n', "labels:",
         "inspections.labels.base_url", "bad port"),
        ("  labels: {url: x}\n", "labels:", "inspections.labels.url", "unknown key"),
    ],
)  # fmt: skip
def test_the_labels_base_url_is_checked_with_its_line(
    tmp_path: Path, section: str, needle: str, field: str, reason: str
) -> None:
    path = write_config(tmp_path, inspections=ROSTER + section)
    with pytest.raises(ConfigError) as caught:
        build_setup(load_config(path))
    [problem] = caught.value.problems
    assert problem.field == field
    assert problem.reason.startswith(reason), problem.reason
    assert problem.line == next(
        n
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if needle in line
    )


def test_an_item_takes_photos_required_or_optional_and_nothing_else(tmp_path: Path) -> None:
    setup = build_setup(load_config(fleet(tmp_path)), sign_in=False)
    checklist = {i.id: i.photo for p in setup.plans.values() for i in p.plan.checklist}
    assert checklist == {"feeder": "optional", "earthing": "required"}
    bad = fleet(tmp_path, plans=PLANS.replace("photo: required", "photo: always"))
    with pytest.raises(ConfigError) as caught:
        build_setup(load_config(bad))
    [problem] = caught.value.problems
    assert problem.field == "inspections.plans[1].checklist[0].photo"
    assert problem.reason == "Input should be 'required' or 'optional'"
    assert "photo: always" in bad.read_text(encoding="utf-8").splitlines()[problem.line - 1]


def test_the_shipped_demo_requires_photos_of_the_meter_readings() -> None:
    setup = build_setup(load_config(SHIPPED), sign_in=False)
    photos = {(p.id, i.id): i.photo for p in setup.plans.values() for i in p.plan.checklist
              if i.photo is not None}  # fmt: skip
    assert photos == {
        ("monthly-power", "battery-condition"): "optional",
        ("quarterly-vswr", "vswr-measured"): "required",
        ("quarterly-vswr", "feeder"): "optional",
        ("battery-discharge", "capacity"): "required",
    }
