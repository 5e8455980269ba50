"""WFS-T / OGC API Part 4 writes to the `districts` layer, under the same rules as REST.

An insert creates a draft with version 1; a geometry update appends a boundary version with
source 'qgis/wfs' (refused with 409 once the district is delimited); attribute updates go
through the same role and ETag checks; deleting is refused (districts are archived).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import Connection
from shapely.geometry.base import BaseGeometry

from delimitation import districts, lifecycle
from delimitation.models import BoundarySource
from geo.errors import Conflict, InvalidInput
from layers.editing import Actor, FeatureInput
from layers.registry import Layer

SOURCE = BoundarySource.QGIS_WFS.value
# Published properties computed from the boundary or the history: never written by clients.
COMPUTED = {"version", "area_ha", "source", "author", "version_at", "last_act", "revision"}


WRITABLE = {"code", "name", "type", "description", "status"}


class DistrictEditor:
    """The `LayerEditor` of the districts layer."""

    def writable(self, layer: Layer) -> set[str]:
        """Properties a client may send; computed ones it echoes back are ignored."""
        return set(WRITABLE)

    def etag(self, conn: Connection, layer: Layer, fid: str) -> str:
        """The district's ETag (same value the REST API sends)."""
        return lifecycle.etag(districts.get(conn, fid))

    def insert(
        self, conn: Connection, layer: Layer, features: Sequence[FeatureInput], user: Actor
    ) -> list[str]:
        """Each feature becomes a draft district with its geometry as version 1."""
        codes = []
        for position, feature in enumerate(features, start=1):
            label = feature.label or f"{layer.name} #{position}"
            props = {k: v for k, v in feature.properties.items() if k not in COMPUTED}
            unknown = set(props) - WRITABLE
            if unknown:
                raise InvalidInput(
                    f"El elemento '{label}' trae atributos que no se pueden escribir: "
                    + ", ".join(sorted(unknown)),
                    where=label,
                )
            if props.get("status") not in (None, "", "draft"):
                raise Conflict(
                    f"El elemento '{label}': un distrito nuevo nace en borrador (draft).",
                    where=label,
                )
            if feature.geometry is None:
                raise InvalidInput(f"El elemento '{label}' no trae geometría.", where=label)
            district, _ = districts.create(
                conn,
                code=str(props.get("code") or ""),
                name=str(props.get("name") or ""),
                type_=str(props.get("type") or ""),
                description=str(props.get("description") or ""),
                geometry=feature.geometry,
                user=user,
                source=SOURCE,
                comment="Creado desde QGIS / WFS-T",
            )
            codes.append(district["code"])
        return codes

    def update(
        self,
        conn: Connection,
        layer: Layer,
        fid: str,
        properties: Mapping[str, Any],
        geometry: BaseGeometry | None,
        user: Actor,
        expected_etag: str | None = None,
    ) -> str:
        """Attribute changes, a status transition and/or a new boundary version."""
        current = districts.get(conn, fid)
        lifecycle.check_etag(current, expected_etag)
        changes = {k: v for k, v in properties.items() if k not in COMPUTED}
        if "code" in changes and changes.pop("code") != current["code"]:
            raise Conflict(
                f"El código del distrito {fid} no se cambia.", where=f"{layer.name}.{fid}"
            )
        status = changes.pop("status", None)
        fields = {k: v for k, v in changes.items() if v != current.get(k)}
        if fields:
            districts.update_fields(conn, fid, fields, user, None)
        if status is not None and status != current["status"]:
            lifecycle.transition(conn, fid, str(status), user, None)
        if geometry is not None:
            districts.set_boundary(
                conn, fid, geometry, user, None, source=SOURCE, comment="Editado desde QGIS / WFS-T"
            )
        return lifecycle.etag(districts.get(conn, fid))

    def delete(self, conn: Connection, layer: Layer, fid: str, user: Actor) -> None:
        """Refused: a district is archived (its history and acts are legal records)."""
        districts.get(conn, fid)
        raise Conflict(
            f"Los distritos no se borran: archive el distrito {fid} "
            f"(POST /api/v1/districts/{fid}/transitions con to='archived').",
            where=fid,
        )
