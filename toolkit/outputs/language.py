"""Estimative language (ICD 203) and decision-ready sentences."""

from __future__ import annotations

#: Upper bounds of the ICD 203 probability ranges and their words.
ICD203: tuple[tuple[float, str], ...] = (
    (0.05, "almost no chance"),
    (0.20, "very unlikely"),
    (0.45, "unlikely"),
    (0.55, "roughly even chance"),
    (0.80, "likely"),
    (0.95, "very likely"),
    (1.00, "almost certain"),
)
#: Appended to a headline whose sampler failed its diagnostics.
NOT_CONVERGED_NOTE = " [NOT CONVERGED: do not use as a final number]"


def estimative_word(probability: float) -> str:
    """Return the ICD 203 expression for ``probability``.

    Examples
    --------
    >>> estimative_word(0.68)
    'likely'
    """
    for upper, word in ICD203:
        if probability < upper:
            return word
    return ICD203[-1][1]


def percent(probability: float, decimals: int = 0) -> str:
    """Format a probability as a percentage, never rounding a non-zero one to 0 or 100.

    With ``decimals=0``: ``31%``, ``<1%``, ``>99%``; with ``decimals=1``: ``31.4%``,
    ``<0.1%``, ``>99.9%``.
    """
    step = 10.0 ** -decimals  # the smallest percentage shown
    if 0 < probability < step / 200:
        return f"<{step:.{decimals}f}%"
    if 1 - step / 200 < probability < 1:
        return f">{100 - step:.{decimals}f}%"
    return f"{probability * 100:.{decimals}f}%"


def percent_range(low: float, high: float) -> str:
    """An interval as ``12% to 45%``; one figure when both ends read the same (``>99%``)."""
    a, b = percent(low), percent(high)
    return a if a == b else f"{a} to {b}"



def figure(value: float) -> str:
    """A prior quantity for a sentence: ``0.25``, ``1.196``, ``80,000``.

    Four significant figures below 1,000, whole numbers with thousands separators up to a
    trillion, scientific notation beyond.
    """
    if abs(value) >= 1e12:
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"
