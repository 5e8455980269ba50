"""Attribute values of published files normalised to the model's types, a whole batch at a time.

Each converter takes an Arrow array, the batch's `Issues` and the source field name, and
returns an Arrow array of the target type. Bad values either become null with a warning or
reject their rows with a Spanish reason naming the field and the value.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LIST_SEPARATOR = "\x1f"  # joins list items in staging; split back into text[] in SQL
Converter = Callable[[pa.Array, "Issues", str], pa.Array]


class Issues:
    """Row rejections (index -> reason) and warnings found while converting one batch."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rejected: dict[int, str] = {}
        self.warnings: list[str] = []

    def reject(self, mask: np.ndarray, reason: Callable[[int], str]) -> None:
        """Reject the rows in `mask`; `reason(i)` words why for row index i."""
        for index in np.flatnonzero(mask):
            self.rejected.setdefault(int(index), reason(int(index)))

    def warn(self, message: str) -> None:
        """Say something once per batch (the importer deduplicates across batches)."""
        if message not in self.warnings:
            self.warnings.append(message)


def fold(text: str) -> str:
    """Lower case without accents or surrounding blanks, for matching published labels."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


def _mask(array: pa.Array) -> np.ndarray:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _strings(values: pa.Array) -> pa.Array:
    if pa.types.is_floating(values.type):
        # 5154.0 -> "5154": whole floats are codes or years stored by a spreadsheet.
        whole = pc.equal(values, pc.floor(values))
        as_int = pc.cast(pc.if_else(whole, values, None), pa.int64(), safe=False)
        values = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(values, pa.string()))
    elif pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    return values


def text(values: pa.Array, issues: Issues, field: str) -> pa.Array:
    """Trimmed text; blanks become null."""
    values = pc.utf8_trim_whitespace(_strings(values))
    return pc.if_else(pc.equal(values, ""), None, values)


def divipola(width: int) -> Converter:
    """DIVIPOLA codes as zero-padded text of `width` digits, whatever type they came in."""

    def convert(values: pa.Array, issues: Issues, field: str) -> pa.Array:
        was_number = pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
        codes = text(values, issues, field)
        short = _mask(pc.less(pc.utf8_length(codes), width))
        if short.any():
            codes = pc.utf8_lpad(codes, width, "0")
            sample = values[int(np.flatnonzero(short)[0])].as_py()
            kind = "como número" if was_number else "sin ceros a la izquierda"
            issues.warn(
                f"El campo '{field}' trae códigos DIVIPOLA {kind}; se completaron con ceros a "
                f"{width} dígitos (p. ej. {sample} → {str(sample).zfill(width)})."
            )
        bad = _mask(pc.invert(pc.match_substring_regex(codes, f"^[0-9]{{{width}}}$")))
        bad &= _mask(codes.is_valid())
        issues.reject(
            bad,
            lambda i: (
                f"código DIVIPOLA '{values[i].as_py()}' inválido en '{field}' "
                f"(se esperan {width} dígitos)"
            ),
        )
        return codes

    return convert


_NUMBER = r"^[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]+)?$"


def number(values: pa.Array, issues: Issues, field: str) -> pa.Array:
    """Floats; text with a decimal comma is read too, anything else becomes null (warned)."""
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return pc.cast(values, pa.float64())
    if pa.types.is_boolean(values.type) or pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.float64())
    strings = text(values, issues, field)
    ok = pc.match_substring_regex(strings, _NUMBER)
    bad = _mask(pc.and_(pc.invert(ok), strings.is_valid()))
    if bad.any():
        issues.warn(
            f"Valores no numéricos en '{field}' se dejaron vacíos "
            f"(p. ej. '{strings[int(np.flatnonzero(bad)[0])].as_py()}')."
        )
    cleaned = pc.replace_substring(pc.if_else(ok, strings, None), ",", ".")
    return pc.cast(cleaned, pa.float64())


def integer(values: pa.Array, issues: Issues, field: str) -> pa.Array:
    """Whole numbers (e.g. years) as int32."""
    floats = number(values, issues, field)
    return pc.cast(pc.round(floats), pa.int32(), safe=False)


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y")


def date(values: pa.Array, issues: Issues, field: str) -> pa.Array:
    """Dates from dates, timestamps, epoch milliseconds (ANM AnnA) or common text forms."""
    kind = values.type
    if pa.types.is_date(kind):
        return pc.cast(values, pa.date32())
    if pa.types.is_timestamp(kind):
        return pc.cast(pc.cast(values, pa.timestamp("ms", tz=kind.tz), safe=False), pa.date32())
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        millis = pc.cast(values, pa.int64(), safe=False)
        stamps = pc.cast(millis, pa.timestamp("ms"))
        return pc.cast(stamps, pa.date32())
    strings = pc.utf8_slice_codeunits(text(values, issues, field), 0, 10)
    parsed = pa.nulls(len(strings), pa.timestamp("s"))
    for pattern in _DATE_FORMATS:
        attempt = pc.strptime(strings, format=pattern, unit="s", error_is_null=True)
        parsed = pc.coalesce(parsed, attempt)
    bad = _mask(pc.and_(parsed.is_null(), strings.is_valid()))
    if bad.any():
        issues.warn(
            f"Fechas no reconocidas en '{field}' se dejaron vacías "
            f"(p. ej. '{strings[int(np.flatnonzero(bad)[0])].as_py()}')."
        )
    return pc.cast(parsed, pa.date32())


_TRUE = {"1", "si", "s", "true", "t", "yes", "y", "x", "verdadero"}
_FALSE = {"0", "no", "n", "false", "f", "falso", ""}


def boolean(values: pa.Array, issues: Issues, field: str) -> pa.Array:
    """Booleans from booleans, numbers or sí/no text."""
    if pa.types.is_boolean(values.type):
        return values
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return pc.not_equal(values, 0)
    mapping = {}
    for value in pc.unique(text(values, issues, field)).to_pylist():
        if value is not None:
            folded = fold(value)
            mapping[value] = True if folded in _TRUE else False if folded in _FALSE else None
    return _lookup(text(values, issues, field), mapping, pa.bool_())


def listing(separators: str = ";,|") -> Converter:
    """A list published as one string, e.g. 'ORO, PLATA' -> ['ORO', 'PLATA']."""
    pattern = r"\s*[" + "".join("\\" + s for s in separators) + r"]\s*"

    def convert(values: pa.Array, issues: Issues, field: str) -> pa.Array:
        if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            items = pc.cast(values, pa.list_(pa.string()))
        else:
            items = pc.split_pattern_regex(text(values, issues, field), pattern)
        joined = pc.binary_join(items, LIST_SEPARATOR)
        # Drop empty items left by trailing separators ("ORO, " -> ["ORO"]).
        joined = pc.replace_substring_regex(joined, f"{LIST_SEPARATOR}+$", "")
        return pc.if_else(pc.equal(joined, ""), None, joined)

    return convert


def _lookup(values: pa.Array, mapping: dict, target: pa.DataType) -> pa.Array:
    keys = list(mapping)
    if not keys:
        return pa.nulls(len(values), target)
    positions = pc.index_in(values, value_set=pa.array(keys, values.type))
    table = pa.array([mapping[k] for k in keys], target)
    return pc.take(table, positions)


def choice(
    label: Callable[[str], str | None],
    *,
    strict: bool,
    allowed: str = "",
    default: str | None = None,
) -> Converter:
    """Published labels to model choices via `label(folded text)`.

    Unknown labels reject their row when `strict`; otherwise they take `default` (also used
    for empty values) with a warning naming them.
    """

    def convert(values: pa.Array, issues: Issues, field: str) -> pa.Array:
        strings = text(values, issues, field)
        mapping = {v: label(fold(v)) for v in pc.unique(strings).to_pylist() if v is not None}
        result = _lookup(strings, mapping, pa.string())
        unknown = _mask(pc.and_(result.is_null(), strings.is_valid()))
        if unknown.any():
            if strict:
                suffix = f"; valores admitidos: {allowed}" if allowed else ""
                issues.reject(
                    unknown,
                    lambda i: f"valor '{strings[i].as_py()}' no reconocido en '{field}'{suffix}",
                )
            else:
                seen = sorted(pc.unique(strings.filter(pa.array(unknown))).to_pylist())
                outcome = f"quedaron como '{default}'" if default else "se dejaron vacíos"
                issues.warn(
                    f"Valores de '{field}' sin equivalencia {outcome}: "
                    + ", ".join(f"'{v}'" for v in seen[:10])
                )
        if default is not None:
            result = result.fill_null(default)
        return result

    return convert
