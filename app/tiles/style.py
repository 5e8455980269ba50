"""The MapLibre style of every registry layer, with Spanish titles and one legend per layer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.auth import Principal, current_principal
from app.tiles.raster import catalogue
from app.tiles.symbology import Symbology, symbology
from layers.registry import Layer, all_layers
from layers.tiles import label_layer_name

# Bottom to top: large context polygons first, the instrument's own layers last, borders on top.
DRAW_ORDER = (
    "hydro_units",
    "protected_areas",
    "ethnic_territories",
    "mining_tenures",
    "mining_hotspots",
    "rivers",
    "water_intakes",
    "proposals",
    "districts",
    "plan_actions",
    "municipalities",
    "departments",
)
BACKGROUND = "#f4f1ea"
LABEL_FONT = ["DejaVu Sans Book"]  # served by app.glyphs from the system font
COLOMBIA_CENTER = (-74.3, 4.6)


def ordered_layers(layers: tuple[Layer, ...]) -> list[Layer]:
    """Registry layers in drawing order (unknown layers just below the borders)."""
    rank = {name: i for i, name in enumerate(DRAW_ORDER)}
    fallback = rank["municipalities"] - 0.5
    return sorted(layers, key=lambda layer: rank.get(layer.name, fallback))


def _color(sym: Symbology) -> object:
    if not sym.property or not sym.classes:
        return sym.color
    expression: list = ["match", ["to-string", ["get", sym.property]]]
    for item in sym.classes:
        expression += [item.value, item.color]
    return [*expression, sym.color]


def legend(layer: Layer) -> dict:
    """The legend of a layer: its Spanish title, the classifying attribute and its classes."""
    sym = symbology(layer.name)
    classes = [
        {"value": item.value, "label": item.label, "color": item.color} for item in sym.classes
    ]
    if not classes:
        classes = [{"value": None, "label": layer.title, "color": sym.color}]
    attribute = None
    if sym.property:
        attribute = next((p.title for p in layer.properties if p.name == sym.property), None)
    return {
        "layer": layer.name,
        "title": layer.title,
        "property": sym.property,
        "property_title": attribute,
        "classes": classes,
        "fields": {p.name: p.title or p.name for p in layer.properties},
        "label": layer.label,
    }


def style_layers(layer: Layer) -> list[dict]:
    """The fill, outline and point layers drawing one registry layer."""
    sym = symbology(layer.name)
    meta = {"dm:layer": layer.name, "dm:title": layer.title}
    visibility = {"visibility": "visible" if sym.visible else "none"}
    color = _color(sym)
    common = {"source": layer.name, "source-layer": layer.name, "metadata": meta}
    drawn: list[dict] = []
    if layer.geometry_type in ("Polygon", "MultiPolygon", "Geometry"):
        drawn.append(
            {
                "id": f"{layer.name}-fill",
                "type": "fill",
                **common,
                "filter": ["!=", ["geometry-type"], "Point"],
                "layout": dict(visibility),
                "paint": {"fill-color": color, "fill-opacity": sym.fill_opacity},
            }
        )
    if layer.geometry_type not in ("Point", "MultiPoint"):
        drawn.append(
            {
                "id": f"{layer.name}-line",
                "type": "line",
                **common,
                "filter": ["!=", ["geometry-type"], "Point"],
                "layout": dict(visibility),
                "paint": {"line-color": sym.outline or color, "line-width": sym.line_width},
            }
        )
    # Points: point layers, and polygons generalised to a point where they are sub-pixel.
    drawn.append(
        {
            "id": f"{layer.name}-point",
            "type": "circle",
            **common,
            "filter": ["==", ["geometry-type"], "Point"],
            "layout": dict(visibility),
            "paint": {
                "circle-color": color,
                # Aggregated cells (low zooms) grow with the number of features they hold.
                "circle-radius": [
                    "case",
                    ["has", "count"],
                    ["interpolate", ["linear"], ["get", "count"], 1, 3, 50, 7, 1000, 14],
                    3,
                ],
                "circle-stroke-color": "#ffffff",
                "circle-stroke-width": 0.5,
            },
        }
    )
    if layer.label:
        drawn.append(
            {
                "id": f"{layer.name}-label",
                "type": "symbol",
                **common,
                "source-layer": label_layer_name(layer),
                "minzoom": max(layer.min_zoom, layer.label_min_zoom),
                "layout": {
                    **visibility,
                    "text-field": ["to-string", ["coalesce", ["get", layer.label], ""]],
                    "text-font": LABEL_FONT,
                    "text-size": 11,
                    "text-max-width": 8,
                    "symbol-placement": "point",
                },
                "paint": {
                    "text-color": "#333333",
                    "text-halo-color": "#ffffff",
                    "text-halo-width": 1.2,
                },
            }
        )
    return drawn


def style_document(request: Request, principal: Principal, rasters: list[dict]) -> dict:
    """The default MapLibre style for this caller: every readable layer and raster."""
    base = str(request.base_url).rstrip("/")
    layers = ordered_layers(tuple(x for x in all_layers() if x.readable_by(principal.roles)))
    sources: dict[str, dict] = {}
    drawn: list[dict] = [
        {"id": "fondo", "type": "background", "paint": {"background-color": BACKGROUND}}
    ]
    legends = []
    for raster in rasters:
        sources[f"raster-{raster['name']}"] = {
            "type": "raster",
            "tiles": [f"{base}/tiles/raster/{raster['name']}/{{z}}/{{x}}/{{y}}.png"],
            "tileSize": 256,
            "bounds": raster["bounds"],
            "attribution": raster.get("source") or "",
        }
        drawn.append(
            {
                "id": f"raster-{raster['name']}",
                "type": "raster",
                "source": f"raster-{raster['name']}",
                "layout": {"visibility": "none"},
                "paint": {"raster-opacity": 0.75},
                "metadata": {"dm:raster": raster["name"], "dm:title": raster["title"]},
            }
        )
    for layer in layers:
        sources[layer.name] = {
            "type": "vector",
            "tiles": [f"{base}/tiles/{layer.name}/{{z}}/{{x}}/{{y}}.pbf"],
            "minzoom": layer.min_zoom,
            "maxzoom": min(layer.max_zoom, 16),
            "attribution": "",
        }
        drawn.extend(style_layers(layer))
        legends.append(legend(layer))
    return {
        "version": 8,
        "name": "Distritos Mineros",
        "metadata": {
            "dm:language": "es-CO",
            "dm:legends": legends,
            "dm:rasters": [
                {
                    "name": r["name"],
                    "title": r["title"],
                    "legend": f"{base}/tiles/raster/{r['name']}/legend.json",
                }
                for r in rasters
            ],
        },
        "glyphs": f"{base}/fonts/{{fontstack}}/{{range}}.pbf",
        "center": list(COLOMBIA_CENTER),
        "zoom": 5,
        "sources": sources,
        "layers": drawn,
    }


def router() -> APIRouter:
    """The style route."""
    api = APIRouter(tags=["teselas"])

    @api.get("/styles/default.json", operation_id="default_style", summary="Estilo MapLibre")
    def default_style(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> JSONResponse:
        with request.app.state.db.connection() as conn:
            rasters = catalogue(conn)
        return JSONResponse(
            style_document(request, principal, rasters),
            headers={"Cache-Control": "no-cache"},
        )

    return api
