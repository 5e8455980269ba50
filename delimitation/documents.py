"""Act documents (the signed Resolución as PDF), stored content-addressed on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

from geo.errors import InvalidInput, NotFound

MAX_BYTES = 25 * 1024 * 1024
FOLDER = "acts"


def store_pdf(data: bytes, root: Path) -> str:
    """Keep a PDF under `root/acts/<sha256>.pdf`; returns the path relative to `root`."""
    if not data:
        raise InvalidInput("El documento del acto está vacío.", where="document")
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"El documento supera {MAX_BYTES // (1024 * 1024)} MB.", where="document"
        )
    if not data.startswith(b"%PDF-"):
        raise InvalidInput(
            "El documento del acto debe ser un PDF (la resolución firmada).", where="document"
        )
    relative = f"{FOLDER}/{hashlib.sha256(data).hexdigest()}.pdf"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        # Content-addressed: the same file uploaded twice is stored once; write-then-rename
        # so a reader never sees half a file.
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return relative


def open_pdf(relative: str, root: Path) -> Path:
    """The stored file of an act (404 when the act has none or it is missing on disk)."""
    if not relative or not relative.startswith(f"{FOLDER}/") or ".." in relative:
        raise NotFound("El acto no tiene documento almacenado.", where="document")
    path = root / relative
    if not path.is_file():
        raise NotFound("El documento del acto no está en el almacenamiento.", where="document")
    return path
