"""The label sheet as a PDF (fpdf2): the labels of ``sheet`` at the same places, the QR codes
drawn as vector squares (sharp at any printer resolution), and the text in a CJK font embedded
as a subset of the glyphs used, so the file prints the same anywhere with no font installed.

The font is Debian's Noto Sans CJK (package fonts-noto-cjk, its Simplified Chinese face) unless
``inspections.labels.font`` names another; without one the PDF cannot be made, and the HTML
sheet (which the browser renders with its own fonts) still can. fpdf2 is imported here and
nowhere else.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from monitor.inspections.config import LabelSettings
from monitor.inspections.errors import InvalidEntry
from monitor.inspections.labels.sheet import LAYOUT, Label

__all__ = ["DEFAULT_FONT", "render_pdf"]

#: Noto Sans CJK's collection and the index of its Simplified Chinese face (SC).
DEFAULT_FONT = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2)
_FAMILY = "labels"
_QR_SIZE = 30.0
_PAD = 1.2


def _font(settings: LabelSettings) -> tuple[Path, int]:
    if settings.font is None:
        return DEFAULT_FONT
    return Path(settings.font), settings.font_index


def _qr(pdf: FPDF, modules: Sequence[Sequence[int]], x: float, y: float, size: float) -> None:
    """The symbol as one filled rectangle per run of dark modules in a row (a touch taller
    than a module, so no hairline shows between rows)."""
    step = size / len(modules)
    for r, row in enumerate(modules):
        start = None
        for c, dark in enumerate((*row, 0)):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                pdf.rect(x + start * step, y + r * step, (c - start) * step, step * 1.05, "F")
                start = None


def _lines(pdf: FPDF, text: str, width: float, size: float, height: float, most: int) -> None:
    """``text`` wrapped to ``width``, at most ``most`` lines (the rest is cut with …)."""
    pdf.set_font(_FAMILY, size=size)
    wrapped = pdf.multi_cell(width, height, text, dry_run=True, output="LINES")
    assert isinstance(wrapped, list)  # output="LINES" asks for the lines alone
    lines = [str(line) for line in wrapped]
    if len(lines) > most:
        lines = [*lines[: most - 1], lines[most - 1].rstrip() + "…"]
    x = pdf.get_x()
    for line in lines:
        pdf.cell(width, height, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_x(x)


def render_pdf(labels: Sequence[Label], settings: LabelSettings, *, centre: str) -> bytes:
    """The sheet as PDF bytes. Raises InvalidEntry when the font cannot be used."""
    path, index = _font(settings)
    if not path.is_file():
        raise InvalidEntry(
            f"no CJK font for the PDF labels at {path}: install Debian's fonts-noto-cjk, "
            "set inspections.labels.font, or write the sheet as .html",
            {"font": str(path)},
        )
    # fontTools logs every step of cutting the font down to the glyphs used, at INFO.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("trunkwatch")
    pdf.set_title(f"设备二维码 Equipment QR labels — {centre}")
    failure = None
    # fontTools leaves open the file of a font it refuses: it is closed here, quietly, once the
    # refusal (whose traceback holds it) is dropped.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            pdf.add_font(_FAMILY, fname=path, collection_font_number=index)
        except Exception as exc:  # fontTools and fpdf2 refuse a bad font in their own ways
            failure = str(exc)
        if failure is not None:
            gc.collect()
    if failure is not None:
        raise InvalidEntry(f"cannot use the font {path} for the PDF labels: {failure}")
    for i, label in enumerate(labels):
        if i % LAYOUT.per_page == 0:
            pdf.add_page()
        x, y = LAYOUT.origin(i)
        _qr(pdf, label.modules, x + _PAD, y + (LAYOUT.height - _QR_SIZE) / 2, _QR_SIZE)
        text_x = x + _PAD + _QR_SIZE + _PAD
        width = LAYOUT.width - (text_x - x) - _PAD
        pdf.set_xy(text_x, y + 2.5)
        _lines(pdf, label.name, width, 8.5, 3.4, 3)
        _lines(pdf, f"设备 Asset {label.asset}", width, 6.5, 2.7, 2)
        _lines(pdf, f"站点 Site {label.site_name}", width, 6.5, 2.7, 3)
        _lines(pdf, "扫码巡检 Scan to inspect", width, 5.5, 2.4, 1)
        _lines(pdf, label.url, width, 4.5, 1.9, 4)
    return bytes(pdf.output())
