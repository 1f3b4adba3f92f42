"""Estimative language and the way probabilities and intervals are written."""

from __future__ import annotations

import pytest

from toolkit.outputs.language import estimative_word, percent, percent_range


@pytest.mark.parametrize(("low", "high", "text"), [
    (0.12, 0.45, "12% to 45%"), (0.996, 0.999, ">99%"), (0.9, 0.997, "90% to >99%"),
    (0.001, 0.002, "<1%"), (0.001, 0.03, "<1% to 3%"), (0.0, 1.0, "0% to 100%")])
def test_an_interval_never_reads_like_an_arrow(low: float, high: float, text: str) -> None:
    assert percent_range(low, high) == text


@pytest.mark.parametrize(("p", "text"), [
    (0.3141, "31.4%"), (0.0004, "<0.1%"), (0.0, "0.0%"), (0.99971, ">99.9%"), (1.0, "100.0%")])
def test_one_decimal_keeps_tiny_probabilities_honest(p: float, text: str) -> None:
    assert percent(p, decimals=1) == text


def test_whole_percentages_and_words() -> None:
    assert [percent(p) for p in (0.004, 0.5, 0.996)] == ["<1%", "50%", ">99%"]
    assert estimative_word(0.68) == "likely" and estimative_word(0.999) == "almost certain"
