"""The NOC's site map: Grafana's Geomap panel (plugin id ``geomap``, which grafanalib 0.7
lacks) written the way grafanalib writes its own panels, drawing without the internet.

Prometheus labels are strings: the panel converts the ``latitude`` and ``longitude`` columns
to numbers itself. The base layer is the country outline Grafana serves from its own files
(a closed network cannot reach Grafana's default internet map), or the centre's own XYZ tile
server when the boards are built inside ``tile_server(url)`` (``trunkwatch dashboards build
--tiles URL``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import attr
from grafanalib import core as g

from monitor.dashboards import DATASOURCE, GREEN, target

__all__ = ["LOCAL_BASEMAP", "Geomap", "geomap", "tile_server"]

#: The map's base layer when no tile server is configured: country outlines Grafana serves
#: from its own files, so the map draws on a closed network.
LOCAL_BASEMAP = "public/maps/countries.geojson"


@attr.s
class Geomap(g.Panel):  # type: ignore[misc]  # grafanalib is untyped
    """Grafana's Geomap panel (plugin id ``geomap``), which grafanalib 0.7 lacks.

    One marker layer places each row of the query at its ``latitude`` and ``longitude``
    fields (string labels in Prometheus, converted to numbers by a transformation) and colours
    it by ``color_field`` through the panel's thresholds. The base layer is never Grafana's
    default internet map (a closed network cannot reach it): the country outlines Grafana
    serves itself (``LOCAL_BASEMAP``), or the centre's own tile server (``tiles``, an XYZ
    URL template).

    The view fits the markers (Grafana's "Fit to data"), zoomed in no closer than
    ``max_zoom``: one centre's board frames its own sites and a region's frames all of them.
    A fixed centre would not do: Grafana's schema types the view's latitude, longitude and
    zoom as integers, and a whole degree (111 km) is too coarse to centre a city.
    """

    max_zoom: int = attr.ib(default=9)
    padding: int = attr.ib(default=10)
    latitude_field: str = attr.ib(default="latitude")
    longitude_field: str = attr.ib(default="longitude")
    color_field: str = attr.ib(default="Value")
    text_field: str = attr.ib(default="name")
    layer_name: str = attr.ib(default="sites")
    marker_size: int = attr.ib(default=12)
    mappings: list[dict[str, Any]] = attr.ib(factory=list)
    tiles: str | None = attr.ib(default=None)
    data_links: list[dict[str, Any]] = attr.ib(factory=list)

    district_field: str | None = attr.ib(default=None)

    def _markers(
        self, name: str, ref: str, style: dict[str, Any], *, tooltip: bool
    ) -> dict[str, Any]:
        return {
            "type": "markers",
            "name": name,
            "tooltip": tooltip,
            "filterData": {"id": "byRefId", "options": ref},
            "location": {
                "mode": "coords",
                "latitude": self.latitude_field,
                "longitude": self.longitude_field,
            },
            "config": {"showLegend": tooltip, "style": style},
        }

    def layers(self) -> list[dict[str, Any]]:
        """The districts' names (query B, when drawn) under the sites' markers (query A)."""
        layers = []
        if self.district_field:
            layers.append(
                self._markers(
                    "行政区 Districts",
                    "B",
                    {
                        "size": {"fixed": 1},
                        "color": {"fixed": "text"},
                        "opacity": 0.6,
                        "symbol": {"mode": "fixed", "fixed": "img/icons/marker/square.svg"},
                        "text": {"mode": "field", "field": self.district_field, "fixed": ""},
                        "textConfig": {
                            "fontSize": 14,
                            "offsetX": 0,
                            "offsetY": 18,
                            "textAlign": "center",
                            "textBaseline": "middle",
                        },
                    },
                    tooltip=False,
                )
            )
        layers.append(
            self._markers(
                self.layer_name,
                "A",
                {
                    "size": {"fixed": self.marker_size},
                    "color": {"field": self.color_field, "fixed": GREEN},
                    "opacity": 0.8,
                    "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
                    "text": {"mode": "field", "field": self.text_field, "fixed": ""},
                    "textConfig": {
                        "fontSize": 12,
                        "offsetX": 0,
                        "offsetY": -16,
                        "textAlign": "center",
                        "textBaseline": "middle",
                    },
                },
                tooltip=True,
            )
        )
        return layers

    def basemap(self) -> dict[str, Any]:
        if self.tiles:
            return {
                "type": "xyz",
                "name": "底图 Tiles",
                "config": {"url": self.tiles, "attribution": ""},
            }
        return {
            "type": "geojson",
            "name": "底图 Outline",
            "config": {
                "src": LOCAL_BASEMAP,
                "rules": [],
                "style": {
                    "color": {"fixed": "#2f3640"},
                    "opacity": 0.4,
                    "lineWidth": 1,
                    "symbol": {"fixed": "", "mode": "fixed"},
                },
            },
        }

    def to_json_data(self) -> dict[str, Any]:
        result: dict[str, Any] = self.panel_json(
            {
                "type": "geomap",
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "mappings": self.mappings,
                        "links": self.data_links,
                        "custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False}},
                    },
                    "overrides": [],
                },
                "options": {
                    "view": {
                        "id": "fit",
                        "allLayers": True,
                        "padding": self.padding,
                        "maxZoom": self.max_zoom,
                    },
                    "controls": {
                        "showZoom": True,
                        "mouseWheelZoom": True,
                        "showAttribution": bool(self.tiles),
                        "showScale": True,
                    },
                    "basemap": self.basemap(),
                    "layers": self.layers(),
                    "tooltip": {"mode": "details"},
                },
                "transformations": [
                    {
                        "id": "convertFieldType",
                        "options": {
                            "conversions": [
                                {"targetField": self.latitude_field, "destinationType": "number"},
                                {"targetField": self.longitude_field, "destinationType": "number"},
                            ],
                            "fields": {},
                        },
                    },
                    *self.transformations,
                ],
            }
        )
        return result


#: The centre's own XYZ tile server for the map's base layer, while a build runs inside
#: ``tile_server(url)``; unset, the map draws on the outline Grafana serves itself.
_TILES: ContextVar[str | None] = ContextVar("tiles", default=None)


@contextlib.contextmanager
def tile_server(url: str | None) -> Iterator[None]:
    """Build the maps on ``url`` (an XYZ template such as
    ``http://tiles.local/{z}/{x}/{y}.png``) instead of the offline outline."""
    if url is not None and not all(part in url for part in ("{x}", "{z}")):
        raise ValueError(f"tile server URL {url!r} has no {{x}}/{{y}}/{{z}} placeholders")
    token = _TILES.set(url)
    try:
        yield
    finally:
        _TILES.reset(token)


def geomap(
    title: str,
    query: g.Target | str,
    pos: g.GridPos,
    *,
    max_zoom: int,
    thresholds: list[dict[str, Any]],
    mappings: list[dict[str, Any]] | None = None,
    description: str = "",
    links: Sequence[Mapping[str, Any]] = (),
    text_field: str = "name",
    tiles: str | None = None,
    districts: tuple[g.Target | str, str] | None = None,
) -> Geomap:
    """A map with one marker per row of ``query`` (an instant table with latitude, longitude
    and ``text_field`` columns), coloured by its value; ``links`` open from a marker (its
    row's fields are ``${__data.fields.NAME}``). Offline unless ``tiles`` names a tile
    server. ``districts`` is (query, field): one row per district at a place of its own, its
    name drawn there under the sites."""
    queries = [query] if districts is None else [query, districts[0]]
    instant = [
        attr.evolve(
            target(q, instant=True, table=True) if isinstance(q, str) else q,
            refId=chr(ord("A") + i),
        )
        for i, q in enumerate(queries)
    ]
    common: dict[str, Any] = {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": instant,
        "gridPos": pos,
        "thresholds": thresholds,
        "maxDataPoints": None,
    }
    return Geomap(
        max_zoom=max_zoom,
        mappings=mappings or [],
        text_field=text_field,
        tiles=tiles if tiles is not None else _TILES.get(),
        district_field=None if districts is None else districts[1],
        data_links=[dict(link) for link in links],
        **common,
    )
