"""Reliability of evidence: Admiralty grades and what a grade means to the model.

An item has a reliability ``r`` in [0, 1]. By default (``reliability_reading: mixture`` in
the priors file) ``r`` is the chance the report is genuine: otherwise it carries no
information about the scenario (:mod:`toolkit.inference.reference`), so no report can move
the forecast further than its grade allows, whatever its size. With ``reliability_reading:
tempered`` the item's likelihood is raised to the power ``r`` instead (the earlier rule;
see docs/formats.md, "Reliability"). ``r = 0`` has no effect and ``r = 1`` counts in full
under both.

Admiralty (NATO) grades combine source reliability (A-F) and information credibility
(1-6); the grade's reliability is the product of the two factors below.
"""

from __future__ import annotations

import re

SOURCE_FACTOR: dict[str, float] = {"A": 1.0, "B": 0.85, "C": 0.65, "D": 0.45, "E": 0.25, "F": 0.5}
CREDIBILITY_FACTOR: dict[str, float] = {
    "1": 1.0, "2": 0.85, "3": 0.65, "4": 0.45, "5": 0.25, "6": 0.5,
}
_GRADE = re.compile(r"^([A-F])([1-6])$")


def parse_reliability(text: str) -> float:
    """Return the reliability in [0, 1] of an Admiralty grade or a probability.

    Parameters
    ----------
    text : str
        ``"B2"`` (case-insensitive) or a number such as ``"0.7"``.

    Returns
    -------
    float
        The reliability weight.

    Raises
    ------
    ValueError
        If ``text`` is neither a grade A1-F6 nor a number in [0, 1].
    """
    text = text.strip()
    match = _GRADE.match(text.upper())
    if match:
        return SOURCE_FACTOR[match.group(1)] * CREDIBILITY_FACTOR[match.group(2)]
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"unknown reliability grade {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"reliability {text!r} is outside [0, 1]")
    return value
