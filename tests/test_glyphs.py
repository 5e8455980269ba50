"""Label glyphs served by the app (MapLibre's SDF protobuf ranges) and the style's labels."""

from __future__ import annotations

import numpy as np

from app.glyphs import BUFFER, CUTOFF


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """A protobuf message as (field number, value) pairs (varints and byte strings)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        if key & 7 == 0:
            value, i = _varint(data, i)
        else:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
        out.append((key >> 3, value))
    return out


def _glyphs(client, stack: str, start: int) -> tuple[dict, dict[int, dict]]:
    response = client.get(f"/fonts/{stack}/{start}-{start + 255}.pbf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    (number, fontstack), *rest = _fields(response.content)
    assert number == 1 and rest == []
    fields = _fields(fontstack)
    header = {n: v for n, v in fields if n in (1, 2)}
    glyphs = {}
    for n, value in fields:
        if n == 3:
            glyph = dict(_fields(value))
            glyphs[glyph[1]] = glyph
    return header, glyphs


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def test_spanish_letters_are_distance_fields(client):
    header, glyphs = _glyphs(client, "DejaVu Sans Book", 0)
    assert header == {1: b"DejaVu Sans Book", 2: b"0-255"}
    for char in "áéíóúñÑü¿¡ABCabc0123":
        assert ord(char) in glyphs, char
    space = glyphs[ord(" ")]
    assert 2 not in space and space[7] > 0  # metrics only
    o = glyphs[ord("o")]
    width, height = o[3], o[4]
    bitmap = np.frombuffer(o[2], dtype=np.uint8).reshape(height + 2 * BUFFER, width + 2 * BUFFER)
    edge = round(255 * (1 - CUTOFF))
    # The ring of the 'o' is inside (above the edge value), its hole and the margin outside.
    middle_row = bitmap[bitmap.shape[0] // 2]
    assert middle_row[0] < edge and middle_row[len(middle_row) // 2] < edge
    assert (middle_row >= edge).sum() >= 2
    assert bitmap[0].max() < edge - 50 and bitmap[-1].max() < edge - 50
    # Metrics from the outline's box at 24 px: an 'o' sits on the baseline, x-height ~13 px.
    assert -1 <= _unzigzag(o[5]) <= 3
    assert 11 <= _unzigzag(o[6]) <= 15 and 11 <= height <= 15
    tilde = glyphs[ord("ñ")]
    assert _unzigzag(tilde[6]) > _unzigzag(glyphs[ord("n")][6])  # the tilde stands higher


def test_ranges_without_glyphs_and_bad_ranges(client):
    header, glyphs = _glyphs(client, "DejaVu Sans Book,Noto Sans Regular", 19968)
    assert header[2] == b"19968-20223" and glyphs == {}
    assert client.get("/fonts/DejaVu Sans Book/1-256.pbf").status_code == 404
    assert client.get("/fonts/DejaVu Sans Book/0-100.pbf").status_code == 404


def test_style_labels_layers_with_local_glyphs(client):
    style = client.get("/styles/default.json").json()
    assert style["glyphs"].endswith("/fonts/{fontstack}/{range}.pbf")
    labels = {layer["id"]: layer for layer in style["layers"] if layer["type"] == "symbol"}
    municipalities = labels["municipalities-label"]
    assert municipalities["layout"]["text-font"] == ["DejaVu Sans Book"]
    assert municipalities["layout"]["text-field"] == [
        "to-string",
        ["coalesce", ["get", "name"], ""],
    ]
    assert municipalities["minzoom"] == 8
    assert labels["mining_tenures-label"]["layout"]["text-field"][1][1] == ["get", "expediente"]
