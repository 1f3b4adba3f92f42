"""Prior quantities by name: read one, change some, list the ones sensitivity analysis moves.

A quantity is named by its dotted path in the priors file, with scenarios named by id and
path points by their index::

    scenarios.drift.weight
    expectations.drone_supply.transactional.high
    expectations.financing.drift.path.0.low
    wander · walk · bounds.within · bounds.chance

:func:`vary` returns the case with the changed priors, validated exactly as a priors file
is (:class:`~toolkit.model.priors.Priors`, then each changed expectation against its
indicator's family), or raises :class:`~toolkit.core.errors.CaseError` naming the path.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from toolkit.core.errors import CaseError, Problem
from toolkit.model.priors import Priors

if TYPE_CHECKING:
    from toolkit.model.case import Case

#: How far sensitivity analysis moves each quantity: halved and doubled (bounds on their
#: family's natural scale; ``wander`` and ``walk`` factors as powers, ``f ** 0.5 .. f ** 2``).
SPAN = 2.0
#: A moved bound keeps this ratio from the other bound of its interval.
GAP = 1.01


@dataclass(frozen=True)
class Quantity:
    """One prior quantity sensitivity analysis moves.

    Parameters
    ----------
    path : str
        Its dotted path (see the module docstring).
    label : str
        How a chart names it (``weight: Drift or rupture``, ``drone_supply | drift: high``).
    value : float
        Its value in the priors file.
    low, high : float
        The plausible range tried (the value halved and doubled, kept valid).
    role : {"weight", "bound", "factor"}
        What it is: a scenario weight, an expectation bound, a ``wander``/``walk`` factor.
    """

    path: str
    label: str
    value: float
    low: float
    high: float
    role: str

    def moved(self, factor: float, case: Case) -> float:
        """The value moved by ``factor`` (``SPAN`` gives :attr:`high`), kept valid."""
        return _moved(case, self, factor)


def _problem(case: Case, path: str, message: str, fix: str) -> CaseError:
    return CaseError([Problem(case.paths.shown(case.paths.priors), None, path, message, fix)])


def _walk(plain: dict, path: str, case: Case) -> tuple[Any, Any]:
    """The container holding ``path``'s last part, and that part's key."""
    parts = path.split(".")
    node: Any = plain
    for part in parts[:-1]:
        if isinstance(node, dict) and part == "scenarios" and isinstance(node.get(part), list):
            node = {s["id"]: s for s in node[part]}
            continue
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise _problem(case, path, f"{part!r} is not an index of this list",
                               f"use 0 to {len(node) - 1}")
            node = node[int(part)]
        elif isinstance(node, dict) and part in node and node[part] is not None:
            node = node[part]
        else:
            known = ", ".join(k for k, v in node.items() if v is not None) \
                if isinstance(node, dict) else ""
            raise _problem(case, path, f"{part!r} is not in the priors here",
                           f"use one of: {known}" if known else "check the path")
    return node, parts[-1]


def _number_slot(plain: dict, path: str, case: Case) -> tuple[Any, Any]:
    """The container and key of the number at ``path`` in ``plain`` (checked to be one)."""
    node, key = _walk(plain, path, case)
    if isinstance(node, list):
        key = int(key) if key.isdigit() and int(key) < len(node) else key
        present = isinstance(key, int)
    else:
        present = isinstance(node, dict) and key in node
    if not present:
        known = ", ".join(str(k) for k in node) if isinstance(node, dict) else ""
        raise _problem(case, path, f"{key!r} is not in the priors here",
                       f"use one of: {known}" if known else "check the path")
    value = node[key]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _problem(case, path, "is not a number", "name a number (a weight, a bound, "
                       "wander, walk, bounds.within or bounds.chance)")
    return node, key


def value_of(case: Case, path: str) -> float | None:
    """The number at ``path`` in the case's priors (``None`` where it is unset).

    Raises
    ------
    CaseError
        If the path names nothing, or something that is not a number.
    """
    node, key = _number_slot(case.priors.model_dump(mode="python"), path, case)
    return None if node[key] is None else float(node[key])


def vary(case: Case, changes: Mapping[str, float]) -> Case:
    """The case with the numbers at ``changes``' paths replaced, validated.

    Raises
    ------
    CaseError
        If a path names nothing numeric, or the changed priors are invalid (the path and
        value are named).
    """
    if not changes:
        return case
    plain = case.priors.model_dump(mode="python")
    for path, value in changes.items():
        node, key = _number_slot(plain, path, case)
        node[key] = float(value)
    try:
        priors = Priors.model_validate(plain)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        message = first["msg"].removeprefix("Value error, ")
        shown = ", ".join(f"{p}={v:g}" for p, v in changes.items())
        raise _problem(case, ".".join(map(str, first["loc"])), f"{message} (with {shown})",
                       "choose values the priors file would accept") from None
    for path in changes:
        parts = path.split(".")
        if parts[0] == "expectations" and len(parts) >= 4:
            indicator, scenario = parts[1], parts[2]
            expectation = priors.expectations[indicator][scenario]
            problem = expectation.form_matches(case.indicators[indicator].kind)
            if problem:
                raise _problem(case, path, f"{problem} (with {path}={changes[path]:g})",
                               "choose a value inside the family's range")
    return dataclasses.replace(case, priors=priors)


def quantities(case: Case) -> list[Quantity]:
    """Every quantity sensitivity analysis moves, in priors-file order.

    Scenario weights, the ``low`` and ``high`` of every interval expectation and of every
    path point, and every ``wander`` and ``walk`` factor set. Expectations given as a
    distribution (``gamma:``...) have no bounds and are left out.
    """
    priors = case.priors
    out = [_quantity(case, f"scenarios.{s.id}.weight", f"weight: {s.label}", s.weight,
                     "weight") for s in priors.scenarios if s.weight > 0]
    for indicator, by_scenario in priors.expectations.items():
        for scenario, exp in by_scenario.items():
            where = f"expectations.{indicator}.{scenario}"
            name = f"{indicator} | {scenario}"
            if exp.low is not None and exp.high is not None:
                out += [_quantity(case, f"{where}.{b}", f"{name}: {b}", getattr(exp, b), "bound")
                        for b in ("low", "high")]
            for n, point in enumerate(exp.path or []):
                out += [_quantity(case, f"{where}.path.{n}.{b}", f"{name}: {b} at {point.day}",
                                  getattr(point, b), "bound") for b in ("low", "high")]
            out += [_quantity(case, f"{where}.{f}", f"{name}: {f}", getattr(exp, f), "factor")
                    for f in ("wander", "walk") if getattr(exp, f) is not None]
    out += [_quantity(case, f, f, getattr(priors, f), "factor") for f in ("wander", "walk")
            if getattr(priors, f) is not None]
    return out


def _quantity(case: Case, path: str, label: str, value: float, role: str) -> Quantity:
    probe = Quantity(path, label, float(value), float(value), float(value), role)
    return dataclasses.replace(probe, low=_moved(case, probe, 1 / SPAN),
                               high=_moved(case, probe, SPAN))


def _moved(case: Case, quantity: Quantity, factor: float) -> float:
    """``quantity``'s value moved by ``factor``, kept inside what the priors file accepts."""
    value = quantity.value
    if quantity.role == "weight":
        return value * factor
    if quantity.role == "factor":  # wander/walk > 1: move the log of the factor
        return math.exp(math.log(value) * factor)
    parts = quantity.path.split(".")
    family = case.indicators[parts[1]].family
    moved = family.scale_bound(value, factor)
    other = "high" if parts[-1] == "low" else "low"
    partner = value_of(case, ".".join([*parts[:-1], other]))
    if partner is not None and other == "high":
        moved = min(moved, family.scale_bound(partner, 1 / GAP))
    elif partner is not None:
        moved = max(moved, family.scale_bound(partner, GAP))
    return moved
