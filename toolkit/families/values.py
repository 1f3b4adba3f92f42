"""The evidence value grammar shared by every family: exact values, ranges and bounds.

A value is read into bounds on the total over the item's period (:class:`ParsedValue`). The
number grammar is the same for every family; what differs (whole numbers or not, whether
zero is possible, extra words such as ``yes``) is a parameter the family passes in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)"
BOUND = re.compile(rf"^(>=|>|<=|<)\s*{_NUMBER}$")
RANGE = re.compile(rf"^{_NUMBER}\s*(?:-|\.\.|to)\s*{_NUMBER}$")
POINT = re.compile(rf"^{_NUMBER}$")
FRACTION = re.compile(r"^(\d+)\s*/\s*(\d+)$")
YES = frozenset({"yes", "y", "true"})
NO = frozenset({"no", "n", "false"})


@dataclass(frozen=True)
class ParsedValue:
    """A value as bounds on the total over the period (``high = inf``: open)."""

    low: float
    high: float
    trials: int = 1
    strict_low: bool = False
    strict_high: bool = False
    word: bool = False

    def whole_bounds(self, factor: float = 1.0) -> tuple[float, float]:
        """Bounds on a whole-number total after scaling by a rate ``factor``.

        The period scales first and rounding follows: ``> x`` becomes
        ``>= floor(x f) + 1``, ``>= x`` becomes ``>= ceil(x f)``, ``<= x`` becomes
        ``<= floor(x f)`` and ``< x`` becomes ``<= ceil(x f) - 1``. An exact value given as a
        rate is rounded to the nearest whole number.
        """
        low, high = self.low * factor, self.high * factor
        if self.low == self.high:
            value = float(round(low)) if factor != 1.0 else low
            return value, value
        low = math.floor(low + 1e-9) + 1 if self.strict_low else math.ceil(low - 1e-9)
        if math.isfinite(high):
            high = math.ceil(high - 1e-9) - 1 if self.strict_high else math.floor(high + 1e-9)
        return float(max(low, 0)), float(high)


#: The largest total a value may state (far beyond any real count or amount; the Poisson
#: tails are tested to 1e12). Larger numbers, and those a double cannot hold, are refused.
MAX_TOTAL = 1e15


def number(text: str) -> float:
    """A number of the grammar (``1,200``, ``2.5``, ``1e6``) as a float.

    Raises
    ------
    ValueError
        Above :data:`MAX_TOTAL` (``1e400`` included).
    """
    value = float(text.replace(",", ""))
    if not value <= MAX_TOTAL:
        raise ValueError(f"{text} is beyond the largest total a value may state "
                         f"({MAX_TOTAL:g}); check the number")
    return value


def parse_quantity(text: str, what: str, whole: bool, extra: str = "") -> ParsedValue:
    """Read ``text`` as an exact value, a range or a bound on a non-negative total.

    Parameters
    ----------
    text : str
        ``"300000"``, ``"200-900"``, ``">=10"``, ``"<3"`` ...
    what : str
        The noun of error messages (``count``, ``amount``).
    whole : bool
        Whole-number totals: strict bounds are kept as such and rounded after the period
        scales them (:meth:`ParsedValue.whole_bounds`). Otherwise the total is positive and
        continuous (an exact value and an upper bound must be > 0).
    extra : str
        Extra accepted words named in the error message (e.g. ``", yes, no"``).

    Raises
    ------
    ValueError
        With a message saying what is accepted.
    """
    raw = text.strip().lower()
    if raw.startswith("-"):
        raise ValueError(f"{text!r} is negative; a {what} cannot be negative")
    if match := POINT.match(raw):
        value = number(match.group(1))
        if not whole and value <= 0:
            raise ValueError(f"{text!r}: an exact amount must be > 0 (use '<=x' for 'at most x')")
        return ParsedValue(value, value)
    if match := RANGE.match(raw):
        low, high = number(match.group(1)), number(match.group(2))
        if low > high:
            raise ValueError(f"range {text!r} has its low end above its high end")
        return ParsedValue(low, high)
    if match := BOUND.match(raw):
        op, value = match.group(1), number(match.group(2))
        if op == ">=":
            return ParsedValue(value, math.inf)
        if op == ">":
            return ParsedValue(value, math.inf, strict_low=whole)
        if value <= 0 and (op == "<" or not whole):
            raise ValueError(f"{text!r} admits no possible value")
        return ParsedValue(0, value, strict_high=whole and op == "<")
    raise ValueError(
        f"{text!r} is not a value (use a number, a range like 200-900, a bound like >=10{extra})"
    )


def parse_condition_bounds(text: str, op: str, value: float, whole: bool,
                           top: float) -> tuple[float, float]:
    """Inclusive bounds on a window total from a question's ``op value`` condition.

    Whole-number totals turn ``> 2.5`` into ``>= 3``; continuous totals make ``>`` and
    ``>=`` coincide and refuse ``==``. ``top`` caps the total (signals in the window).
    """
    if op in ("==", "="):
        if not whole:
            raise ValueError(f"{text!r}: an amount is never exactly one number; use a bound")
        low = high = value
        if value != math.floor(value):
            low, high = math.inf, -math.inf
    elif op == ">=":
        low, high = (math.ceil(value) if whole else value), top
    elif op == ">":
        low, high = (math.floor(value) + 1 if whole else value), top
    elif op == "<=":
        low, high = 0.0, (math.floor(value) if whole else value)
    else:
        low, high = 0.0, (math.ceil(value) - 1 if whole else value)
    return max(float(low), 0.0), min(float(high), top)
