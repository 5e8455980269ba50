"""es-CO number format of the messages: '.' between thousands, ',' before decimals."""

import pytest

from geo.spanish_numbers import hectares, percent, spanish_number


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1234.567, 2, "1.234,57"),
        (1_234_567.0, 0, "1.234.567"),
        (0.5, 2, "0,50"),
        (-2500.25, 1, "-2.500,2"),
        (999.995, 2, "1.000,00"),
    ],
)
def test_spanish_number(value: float, decimals: int, expected: str) -> None:
    assert spanish_number(value, decimals) == expected


def test_units_follow_the_number() -> None:
    assert hectares(32_000) == "32.000,00 ha"
    assert hectares(46_433.4, 0) == "46.433 ha"
    assert percent(47.25) == "47,2 %"  # round half to even, as Python formats
    assert percent(60) == "60,0 %"
