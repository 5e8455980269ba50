"""The district dossier (ficha): boundary map with actions and reference layers, boundary
metrics and the act, the Mesa, the plan by component and purpose, progress and overdue
actions. Rendered with matplotlib to PDF, and as a self-contained HTML page."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from django.db import connection  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Patch, PathPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from shapely import wkb  # noqa: E402

from delimitation.models import BoundarySource, District  # noqa: E402
from plan.models import Component, StrategicPlan  # noqa: E402
from plan.progress import plan_progress  # noqa: E402
from plan.purposes import PURPOSES  # noqa: E402
from plan.scope import AREA_TOLERANCE  # noqa: E402

# The map is read on an A4 page: 25 m of detail is below a printed pixel at district scale.
SIMPLIFY_M = 25.0
MAP_MARGIN_M = 30_000.0  # beyond the drawn extent, so clipped edges stay off the map
LOWERCASE_ES = {"de", "del", "la", "las", "los", "el", "y", "e"}

COMPONENT_COLOURS = {
    "minero": "#8c564b",
    "social": "#e377c2",
    "economico": "#ff7f0e",
    "institucional": "#7f7f7f",
    "etnico": "#9467bd",
    "ambiental": "#2ca02c",
}


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def dossier_data(district: District, today: dt.date | None = None) -> dict:
    """Everything the dossier shows, gathered once."""
    boundary = _rows(
        "SELECT ST_AsBinary(geom), area_ha, version, source FROM delimitation_district_current "
        "WHERE id = %s",
        [district.pk],
    )
    geom, area_ha, version, source = boundary[0] if boundary else (None, None, None, None)
    # Slivers along shared edges (other digitising scales) are not municipalities of the district.
    municipalities = _rows(
        "SELECT code, name, ha FROM (SELECT m.code, m.name, "
        "ST_Area(ST_Intersection(m.geom, d.geom)) / 1e4 AS ha, "
        "LEAST(ST_Area(m.geom), ST_Area(d.geom)) / 1e4 AS smaller "
        "FROM layers_municipality m JOIN delimitation_district_current d "
        "ON ST_Intersects(m.geom, d.geom) WHERE d.id = %s) s "
        "WHERE ha > %s * smaller ORDER BY ha DESC",
        [district.pk, AREA_TOLERANCE],
    )
    # Map context: every municipality around the boundary, simplified to drawing resolution.
    context = _rows(
        "SELECT m.code, m.name, ST_AsBinary(ST_SimplifyPreserveTopology(ST_Intersection(m.geom, "
        "ST_Expand(d.geom, %s)), %s)) FROM layers_municipality m "
        "JOIN delimitation_district_current d ON ST_Intersects(m.geom, ST_Expand(d.geom, %s)) "
        "WHERE d.id = %s",
        [MAP_MARGIN_M, SIMPLIFY_M, MAP_MARGIN_M, district.pk],
    )
    references = {
        name: _rows(
            "SELECT ST_AsBinary(ST_SimplifyPreserveTopology(ST_Intersection(t.geom, d.geom), "
            f"%s)) FROM {table} t "
            "JOIN delimitation_district_current d ON ST_Intersects(t.geom, d.geom) "
            "WHERE d.id = %s",
            [SIMPLIFY_M, district.pk],
        )
        for name, table in [
            ("Títulos mineros", "layers_miningtenure"),
            ("Territorios étnicos", "layers_ethnicterritory"),
            ("Áreas protegidas", "layers_protectedarea"),
        ]
    }
    plan = StrategicPlan.objects.filter(district=district).order_by("-version").first()
    actions = (
        _rows(
            "SELECT code, component, scope_kind, "
            "ST_AsBinary(ST_SimplifyPreserveTopology(geom, %s)) FROM plan_action "
            "WHERE plan_id = %s ORDER BY code",
            [SIMPLIFY_M, plan.pk],
        )
        if plan
        else []
    )
    table = getattr(district, "work_table", None)
    return {
        "district": district,
        "geom": wkb.loads(bytes(geom)) if geom else None,
        "area_ha": area_ha,
        "version": version,
        "source": source,
        "acts": list(district.acts.order_by("date")),
        "municipalities": municipalities,
        "context": [(c, n, wkb.loads(bytes(g))) for c, n, g in context if g],
        "references": {k: [wkb.loads(bytes(r[0])) for r in v] for k, v in references.items()},
        "work_table": table,
        "delegates": list(table.delegates.select_related("organisation")) if table else [],
        "plan": plan,
        "actions": [(c, comp, kind, wkb.loads(bytes(g))) for c, comp, kind, g in actions],
        "progress": plan_progress(plan, today) if plan else None,
    }


SOURCE_ES = dict(BoundarySource.choices)


def number_es(value: float, decimals: int = 1) -> str:
    """A number as written in Colombia: 195.760,8."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def title_es(name: str) -> str:
    """DANE's upper-case names as written in Spanish text ('SANTA FÉ DE ANTIOQUIA' -> 'Santa
    Fé de Antioquia')."""
    words = name.lower().split()
    return " ".join(
        w if i and w in LOWERCASE_ES else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _polygon_path(polygon) -> Path:
    """A matplotlib path of a polygon with its holes (even-odd rings)."""
    rings = [polygon.exterior, *polygon.interiors]
    return Path.make_compound_path(*[Path(list(ring.coords), closed=True) for ring in rings])


def _polygons(geometry) -> list:
    """The polygons of any geometry; lines and points are drawn apart."""
    if geometry.is_empty:
        return []
    if geometry.geom_type == "Polygon":
        return [geometry]
    return [p for part in getattr(geometry, "geoms", []) for p in _polygons(part)]


def _draw(ax, geometries, **style) -> None:
    """Draw geometries with one style: polygons as one collection (hundreds of reference
    shapes draw in one pass instead of one patch each)."""
    geometries = geometries if isinstance(geometries, list) else [geometries]
    polygons = [p for g in geometries for p in _polygons(g)]
    if polygons:
        patches = [PathPatch(_polygon_path(p)) for p in polygons]
        ax.add_collection(PatchCollection(patches, **style), autolim=False)
    colour = style.get("edgecolor", "k")
    for geometry in geometries:
        for part in getattr(geometry, "geoms", [geometry]):
            if part.geom_type in ("LineString", "LinearRing"):
                ax.plot(*part.xy, color=colour, linewidth=2)
            elif part.geom_type == "Point":
                ax.plot(part.x, part.y, "o", color=colour)


def _scale_bar(ax, x0: float, x1: float, y0: float, y1: float) -> None:
    """A round-length scale bar in the lower-left corner (EPSG:9377 is in metres)."""
    target = (x1 - x0) / 5
    length = max(s for s in (1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5) if s <= max(target, 1e3))
    x, y = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([x, x + length], [y, y], color="k", linewidth=3, solid_capstyle="butt")
    ax.text(x + length / 2, y + 0.012 * (y1 - y0), f"{length / 1e3:g} km", ha="center")


REFERENCE_STYLES = {
    "Títulos mineros": {"facecolor": "#d62728", "alpha": 0.35, "edgecolor": "#a01010"},
    "Territorios étnicos": {"facecolor": "none", "edgecolor": "#6a3d9a", "hatch": "///"},
    "Áreas protegidas": {"facecolor": "#2ca02c", "alpha": 0.3, "edgecolor": "#1b6e1b"},
}


def map_figure(data: dict):
    """The boundary with its municipalities, reference layers and actions (EPSG:9377)."""
    fig = plt.figure(figsize=(8.27, 11.69))
    ax = fig.add_axes((0.05, 0.22, 0.9, 0.7))
    boundary = data["geom"]
    if boundary is not None:
        minx, miny, maxx, maxy = boundary.bounds
        pad = 0.04 * max(maxx - minx, maxy - miny)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    else:
        minx, miny, maxx, maxy = 0.0, 0.0, 1.0, 1.0
    inside = {code for code, _, _ in data["municipalities"]}
    for fill, own in (("#f2f2f2", True), ("#fafafa", False)):
        shapes = [g for code, _, g in data["context"] if (code in inside) is own]
        _draw(ax, shapes, facecolor=fill, edgecolor="#9a9a9a", linewidth=0.6, linestyle="--")
    for name, geometries in data["references"].items():
        style = REFERENCE_STYLES[name]
        _draw(ax, geometries, linewidth=0.4, **style)
    whole = []
    for code, component, kind, geometry in data["actions"]:
        if kind == "district":
            whole.append(code)  # the whole district: drawing it would hide everything else
            continue
        colour = COMPONENT_COLOURS.get(component, "#1f77b4")
        _draw(ax, geometry, facecolor=colour, alpha=0.12, edgecolor=colour, linewidth=1.8)
        point = geometry.representative_point()
        ax.annotate(code, (point.x, point.y), fontsize=7, color=colour, weight="bold",
                    ha="center", va="center")  # fmt: skip
    if boundary is not None:
        _draw(ax, boundary, facecolor="none", edgecolor="#1f4e79", linewidth=2.2)
    for code, name, geometry in data["context"]:
        if code in inside:
            label = geometry.intersection(boundary) if boundary is not None else geometry
            point = label.representative_point() if not label.is_empty else None
            if point is not None:
                ax.annotate(title_es(name), (point.x, point.y), fontsize=8, ha="center",
                            color="#333333", style="italic")  # fmt: skip
    # Widen the short side so the extent fills the axes at one metre per metre.
    width_in, height_in = fig.get_size_inches() * ax.get_position().size
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_x = max(maxx - minx, (maxy - miny) * width_in / height_in) / 2
    half_y = half_x * height_in / width_in
    minx, maxx, miny, maxy = cx - half_x, cx + half_x, cy - half_y, cy + half_y
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    _scale_bar(ax, minx, maxx, miny, maxy)
    ax.annotate("N ↑", (0.95, 0.95), xycoords="axes fraction", ha="center", fontsize=11,
                weight="bold")  # fmt: skip
    fig.text(0.05, 0.955, f"{data['district'].name}", fontsize=14, weight="bold")
    fig.text(
        0.05, 0.935,
        f"Límite vigente (versión {data['version']}), municipios, capas de referencia y "
        "acciones del plan — MAGNA-SIRGAS Origen Nacional (EPSG:9377)",
        fontsize=8,
    )  # fmt: skip
    handles = [
        Patch(facecolor="none", edgecolor="#1f4e79", linewidth=2, label="Límite del distrito"),
        Patch(facecolor="#f2f2f2", edgecolor="#9a9a9a", linestyle="--", label="Municipios"),
    ]
    handles += [Patch(label=name, **style) for name, style in REFERENCE_STYLES.items()]
    drawn = {component for _, component, kind, _ in data["actions"] if kind != "district"}
    handles += [
        Patch(
            facecolor=COMPONENT_COLOURS[c.value],
            alpha=0.5,
            edgecolor=COMPONENT_COLOURS[c.value],
            label=f"Acciones — componente {c.label.lower()}",
        )  # fmt: skip
        for c in Component
        if c.value in drawn
    ]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.05, 0.21), ncol=2,
               fontsize=8, frameon=False)  # fmt: skip
    if whole:
        fig.text(0.05, 0.1, "Acciones con alcance en todo el distrito (no dibujadas): "
                 + ", ".join(whole), fontsize=8)  # fmt: skip
    return fig


def progress_figure(data: dict):
    """Attainment by component, bars in percent."""
    fig, ax = plt.subplots(figsize=(8.27, 4))
    rolled = data["progress"]["by_component"] if data["progress"] else {}
    labels = [c.label for c in Component]
    values = [100 * ((rolled.get(c.value) or {}).get("attainment") or 0) for c in Component]
    ax.bar(labels, values, color=[COMPONENT_COLOURS[c.value] for c in Component])
    ax.set_ylim(0, 100)
    ax.set_ylabel("Avance (%)")
    ax.set_title("Avance por componente")
    return fig


def _text_page(pdf: PdfPages, title: str, lines: list[str]) -> None:
    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.08, 0.95, title, fontsize=14, weight="bold")
    y = 0.91
    for line in lines:
        fig.text(0.08, y, line, fontsize=9, wrap=True)
        y -= 0.022
        if y < 0.05:
            break
    pdf.savefig(fig)
    plt.close(fig)


def _summary_lines(data: dict) -> list[str]:
    district = data["district"]
    lines = [
        f"Código: {district.code}    Tipo: {district.get_type_display()}    "
        f"Estado: {district.get_status_display()}",
        f"Área: {number_es(data['area_ha'] or 0)} ha    Versión del límite: {data['version']} "
        f"({SOURCE_ES.get(data['source'], data['source'])})",
        "",
        "Actos administrativos:",
    ]
    lines += [
        f"  {a.number} ({a.get_kind_display()}), {a.date:%d/%m/%Y}, {a.issuer}"
        for a in data["acts"]
    ] or ["  (ninguno)"]
    lines += ["", "Municipios (ha dentro del distrito):"]
    lines += [
        f"  {code} {title_es(name)}: {number_es(ha)} ha"
        for code, name, ha in data["municipalities"]
    ]
    lines += ["", "Mesa de Trabajo Interinstitucional:"]
    lines += [
        f"  {d.organisation} — {d.position} ({d.get_grade_display()}"
        + (", principal)" if d.principal else ", suplente)")
        + (f" — hasta el {d.active_to:%d/%m/%Y}" if d.active_to else "")
        for d in data["delegates"]
    ] or ["  (no instalada)"]
    return lines


def _plan_lines(data: dict) -> list[str]:
    progress = data["progress"]
    if not progress:
        return ["El distrito no tiene Plan Estratégico de Gestión."]
    lines = [
        f"Plan versión {progress['plan']['version']} — estado "
        f"{data['plan'].get_status_display().lower()}",
        f"Avance general: {number_es(100 * (progress['attainment'] or 0))} %",
        "",
    ]
    for component in Component:
        lines.append(f"Componente {component.label}:")
        for action in progress["actions"]:
            if action["component"] == component.value:
                share = 100 * (action["attainment"] or 0)
                lines.append(
                    f"  {action['code']} {action['title']} — {action['responsible']} — "
                    f"propósitos {', '.join(map(str, action['purposes']))} — "
                    f"avance {share:.0f} %"
                )
    lines += ["", "Por propósito:"]
    for number, rolled in sorted(progress["by_purpose"].items(), key=lambda kv: int(kv[0])):
        share = 100 * (rolled["attainment"] or 0)
        lines.append(
            f"  {number}. {PURPOSES[int(number)][:90]} — {rolled['actions']} acciones, "
            f"{share:.0f} %"
        )
    lines += [
        "",
        "Acciones vencidas: " + (", ".join(progress["overdue"]) or "ninguna"),
        "Sin seguimiento en su frecuencia: "
        + (", ".join(progress["without_followup"]) or "ninguna"),
    ]
    return lines


def dossier_pdf(district: District, today: dt.date | None = None) -> bytes:
    """The dossier as a PDF (A4 pages)."""
    data = dossier_data(district, today)
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": f"Ficha del distrito {district.code}"}) as pdf:
        _text_page(pdf, f"Ficha del distrito minero {district.name}", _summary_lines(data))
        figure = map_figure(data)
        pdf.savefig(figure)
        plt.close(figure)
        _text_page(pdf, "Plan Estratégico de Gestión", _plan_lines(data))
        figure = progress_figure(data)
        pdf.savefig(figure)
        plt.close(figure)
    return buffer.getvalue()


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def dossier_html(district: District, today: dt.date | None = None) -> str:
    """The dossier as one self-contained HTML page (images inline)."""
    data = dossier_data(district, today)

    def block(title: str, lines: list[str]) -> str:
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines if line.strip())
        return f"<section><h2>{html.escape(title)}</h2><ul>{items}</ul></section>"

    return (
        "<!doctype html><html lang='es-CO'><head><meta charset='utf-8'>"
        f"<title>Ficha del distrito {html.escape(district.code)}</title></head><body>"
        f"<h1>Ficha del distrito minero {html.escape(district.name)}</h1>"
        + block("Resumen", _summary_lines(data))
        + f"<img alt='Mapa del distrito' src='data:image/png;base64,{_png(map_figure(data))}'>"
        + block("Plan Estratégico de Gestión", _plan_lines(data))
        + f"<img alt='Avance por componente' src='data:image/png;base64,"
        f"{_png(progress_figure(data))}'>" + "</body></html>"
    )
