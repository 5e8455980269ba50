"""Plain HTML views of the OGC API documents (for browsers and the conformance `html` class)."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi.responses import HTMLResponse


def _value(value: Any) -> str:
    if isinstance(value, dict) and "href" in value:
        label = value.get("title") or value.get("rel") or value["href"]
        return f'<a href="{escape(value["href"])}">{escape(str(label))}</a>'
    if isinstance(value, dict):
        rows = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{_value(v)}</td></tr>"
            for k, v in value.items()
            if k != "geometry"
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        return "<ul>" + "".join(f"<li>{_value(v)}</li>" for v in value) + "</ul>"
    return escape("" if value is None else str(value))


def page(title: str, document: dict) -> HTMLResponse:
    """A document rendered as nested tables and lists of links."""
    body = _value(document)
    return HTMLResponse(
        '<!doctype html><html lang="es-CO"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px;"
        "vertical-align:top;text-align:left}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
