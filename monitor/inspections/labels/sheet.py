"""The label sheet: which assets get a label (those a plan inspects per asset, or per site at
their site: the rounds a label can lead to), the URL each opens, its QR code (segno), and the
sheet as HTML for a browser to print.

The sheet is laid out for the common A4 label stock of 3 × 7 labels of 63.5 × 38.1 mm (Avery
L7160 and its equivalents), the same in the HTML and the PDF; a plain A4 sheet cut by hand
works too. Each label holds the QR code (error correction level Q: it still reads with a
quarter of it dirty or scratched), the asset's name and id, its site in Chinese and English,
and the URL as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import segno
from markupsafe import Markup

from monitor.inspections.errors import InvalidEntry
from monitor.inspections.plans import InspectionSetup
from monitor.inspections.templates import render

__all__ = [
    "LAYOUT",
    "Label",
    "SheetLayout",
    "asset_path",
    "build_labels",
    "inspected_assets",
    "render_sheet",
]


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Where the labels sit on the page, in millimetres."""

    page_width: float = 210.0
    page_height: float = 297.0
    columns: int = 3
    rows: int = 7
    width: float = 63.5
    height: float = 38.1
    left: float = 7.2
    top: float = 15.1
    pitch_x: float = 66.0
    pitch_y: float = 38.1

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin(self, index: int) -> tuple[float, float]:
        """The top left corner of the ``index``-th label of a page."""
        row, column = divmod(index % self.per_page, self.columns)
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y


LAYOUT = SheetLayout()


@dataclass(frozen=True, slots=True)
class Label:
    asset: str
    name: str
    site: str
    site_name: str
    url: str
    qr: segno.QRCode

    @property
    def modules(self) -> list[tuple[int, ...]]:
        """The QR symbol's rows with its quiet zone of four modules: 1 dark, 0 light."""
        return [tuple(row) for row in self.qr.matrix_iter(scale=1, border=4)]


def asset_path(asset_id: str) -> str:
    """The page a label opens, on this server: the asset's current rounds."""
    return f"/inspections/asset/{quote(asset_id, safe='')}"


def inspected_assets(setup: InspectionSetup) -> list[str]:
    """The assets some plan inspects per asset, or per site at theirs, in configuration
    order."""
    assets = setup.maintenance.assets
    by_asset = {t.id for p in setup.plans.values() for t in p.targets if t.per == "asset"}
    by_site = {t.id for p in setup.plans.values() for t in p.targets if t.per == "site"}
    return [a.id for a in assets.values() if a.id in by_asset or a.site in by_site]


def build_labels(setup: InspectionSetup, base_url: str, sites: Sequence[str] = ()) -> list[Label]:
    """A label for each inspected asset (at ``sites`` only, if given). Raises InvalidEntry
    naming an unknown site, or when there is nothing to label."""
    known = setup.maintenance.sites
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise InvalidEntry(
            f"no site {unknown[0]!r} in the configuration (sites: {', '.join(known) or 'none'})",
            {"site": unknown[0]},
        )
    base = base_url.rstrip("/")
    labels = []
    for asset_id in inspected_assets(setup):
        asset = setup.maintenance.assets[asset_id]
        if sites and asset.site not in sites:
            continue
        url = base + asset_path(asset.id)
        labels.append(
            Label(
                asset=asset.id,
                name=asset.name,
                site=asset.site,
                site_name=known.get(asset.site, asset.site),
                url=url,
                qr=segno.make(url, error="q", micro=False),
            )
        )
    if not labels:
        where = f" at {', '.join(sites)}" if sites else ""
        raise InvalidEntry(
            f"no asset{where} is inspected by a plan per asset or per site: nothing to label"
        )
    return labels


def render_sheet(labels: Sequence[Label], *, centre: str, base_url: str) -> str:
    """The sheet as a self-contained HTML page (the QR codes inline SVG) to print at 100 %."""
    pages = [labels[i : i + LAYOUT.per_page] for i in range(0, len(labels), LAYOUT.per_page)]
    return render(
        "labels.html",
        centre=centre,
        base_url=base_url,
        layout=LAYOUT,
        pages=[
            [
                {
                    "label": label,
                    "origin": LAYOUT.origin(i),
                    "svg": Markup(  # noqa: S704 - segno's own SVG of a URL we made
                        label.qr.svg_inline(scale=1, border=4, omitsize=True)
                    ),
                }
                for i, label in enumerate(page)
            ]
            for page in pages
        ],
    )
