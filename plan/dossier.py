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
from shapely import wkb  # noqa: E402

from delimitation.models import District  # noqa: E402
from plan.models import Component, StrategicPlan  # noqa: E402
from plan.progress import plan_progress  # noqa: E402
from plan.purposes import PURPOSES  # noqa: E402

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
    municipalities = _rows(
        "SELECT m.code, m.name, ST_Area(ST_Intersection(m.geom, d.geom)) / 1e4 "
        "FROM layers_municipality m JOIN delimitation_district_current d "
        "ON ST_Intersects(m.geom, d.geom) WHERE d.id = %s ORDER BY 3 DESC",
        [district.pk],
    )
    references = {
        name: _rows(
            f"SELECT ST_AsBinary(ST_Intersection(t.geom, d.geom)) FROM {table} t "
            "JOIN delimitation_district_current d ON ST_Intersects(t.geom, d.geom) "
            "WHERE d.id = %s",
            [district.pk],
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
            "SELECT code, component, ST_AsBinary(geom) FROM plan_action WHERE plan_id = %s "
            "ORDER BY code",
            [plan.pk],
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
        "references": {k: [wkb.loads(bytes(r[0])) for r in v] for k, v in references.items()},
        "work_table": table,
        "delegates": list(table.delegates.select_related("organisation")) if table else [],
        "plan": plan,
        "actions": [(c, comp, wkb.loads(bytes(g))) for c, comp, g in actions],
        "progress": plan_progress(plan, today) if plan else None,
    }


def _draw(ax, geometry, **style) -> None:
    for part in getattr(geometry, "geoms", [geometry]):
        if part.geom_type == "Polygon":
            ax.fill(*part.exterior.xy, **style)
        elif part.geom_type in ("LineString", "LinearRing"):
            ax.plot(*part.xy, color=style.get("edgecolor", "k"))
        elif part.geom_type == "Point":
            ax.plot(part.x, part.y, "o", color=style.get("edgecolor", "k"))
        elif hasattr(part, "geoms"):
            _draw(ax, part, **style)


def map_figure(data: dict):
    """The boundary with its actions and reference layers, in EPSG:9377 metres."""
    fig, ax = plt.subplots(figsize=(8.27, 7))
    styles = {
        "Títulos mineros": "#d62728",
        "Territorios étnicos": "#9467bd",
        "Áreas protegidas": "#2ca02c",
    }
    for name, geometries in data["references"].items():
        for geometry in geometries:
            _draw(ax, geometry, facecolor=styles[name], alpha=0.25, edgecolor=styles[name])
    for _, component, geometry in data["actions"]:
        colour = COMPONENT_COLOURS.get(component, "#1f77b4")
        _draw(ax, geometry, facecolor=colour, alpha=0.35, edgecolor=colour)
    if data["geom"] is not None:
        _draw(ax, data["geom"], facecolor="none", edgecolor="#1f4e79", linewidth=2)
    ax.set_aspect("equal")
    ax.set_title(f"{data['district'].name} — límite vigente (EPSG:9377)")
    ax.ticklabel_format(useOffset=False, style="plain")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.5) for c in styles.values()]
    ax.legend(handles, list(styles), loc="lower right", fontsize=8)
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
        f"Área: {data['area_ha'] or 0:,.1f} ha    Versión del límite: {data['version']} "
        f"({data['source']})",
        "",
        "Actos administrativos:",
    ]
    lines += [
        f"  {a.number} ({a.get_kind_display()}), {a.date:%d/%m/%Y}, {a.issuer}"
        for a in data["acts"]
    ] or ["  (ninguno)"]
    lines += ["", "Municipios (ha dentro del distrito):"]
    lines += [f"  {code} {name}: {ha:,.1f} ha" for code, name, ha in data["municipalities"]]
    lines += ["", "Mesa de Trabajo Interinstitucional:"]
    lines += [
        f"  {d.organisation} — {d.position} ({d.get_grade_display()})" for d in data["delegates"]
    ] or ["  (no instalada)"]
    return lines


def _plan_lines(data: dict) -> list[str]:
    progress = data["progress"]
    if not progress:
        return ["El distrito no tiene Plan Estratégico de Gestión."]
    lines = [
        f"Plan versión {progress['plan']['version']} — estado {progress['plan']['status']}",
        f"Avance general: {100 * (progress['attainment'] or 0):.1f} %",
        "",
    ]
    for component in Component:
        lines.append(f"Componente {component.label}:")
        for action in progress["actions"]:
            if action["component"] == component.value:
                share = 100 * (action["attainment"] or 0)
                lines.append(
                    f"  {action['code']} {action['title']} — {action['responsible']} — "
                    f"propósitos {action['purposes']} — avance {share:.0f} %"
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
