"""Numbers in messages as a Colombian reader writes them (es-CO): `1.234,56 ha`, `47,3 %`.

Only text meant for people goes through here; JSON figures stay plain numbers, and coordinates
keep the decimal point (a comma inside "(x, y)" would be ambiguous).
"""

from __future__ import annotations


def spanish_number(value: float, decimals: int = 2) -> str:
    """`value` with '.' between thousands and ',' before the decimals."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def hectares(value: float, decimals: int = 2) -> str:
    """An area in hectares: `1.234,56 ha`."""
    return f"{spanish_number(value, decimals)} ha"


def percent(value: float, decimals: int = 1) -> str:
    """A percentage (already times 100): `47,3 %`."""
    return f"{spanish_number(value, decimals)} %"
