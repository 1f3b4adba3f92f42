"""What to watch next: the expected information an indicator's next-quarter total carries.

Preposterior analysis. For indicator ``j`` let ``Y`` be its total over the next ``months``
months, observed in full (reliability 1). Under scenario ``k`` its predictive distribution
given today's evidence is ``p_k(y)`` (:mod:`toolkit.inference.predictive`). Observing ``Y = y``
would
move the scenario probabilities from ``pi`` to ``pi_k(y) ∝ pi_k p_k(y)``; before it is seen,
the expected posterior entropy is ``sum_y p(y) H(pi(y))`` with ``p(y) = sum_k pi_k p_k(y)``.
The expected reduction ``H(pi) - sum_y p(y) H(pi(y))`` is the mutual information between the
scenario and ``Y``: never negative, and zero when ``Y`` is predicted alike under every
scenario.

``Y`` is summed over exactly: every whole number up to a point beyond which the predictive
tail mass is below ``1e-12`` under every scenario, plus one bin for that tail (so the bins
cover the support). When that point is beyond :data:`MAX_EXACT_SUPPORT` (shells, rounds),
consecutive whole numbers are grouped into bins (unit width up to 200, then geometric);
for an ``amount`` the log total is binned finely. A binned value carries slightly less
information than the exact total (never more), and the difference vanishes as bins shrink.
The number of signals per quarter for ``signal`` indicators is an input (default 3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from toolkit.families import family_for
from toolkit.families.observation import DAYS_PER_MONTH
from toolkit.inference.posteriors import ParameterPosterior, indicator_posteriors
from toolkit.model.case import Case
from toolkit.outputs.forecast import Forecast, run_forecast


def entropy_bits(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in bits along ``axis`` (``0 log 0 = 0``)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=axis)


def expected_entropy_reduction(prior: np.ndarray, likelihood: np.ndarray) -> tuple[float, float]:
    """Expected reduction in entropy of ``prior`` from observing a discrete ``Y``.

    Parameters
    ----------
    prior : ndarray, shape (K,)
        Current scenario probabilities.
    likelihood : ndarray, shape (K, M)
        ``P(Y = y_m | scenario k)``; rows sum to one.

    Returns
    -------
    tuple of float
        ``(reduction, expected posterior entropy)`` in bits.
    """
    prior = np.asarray(prior, dtype=float)
    joint = prior[:, None] * np.clip(likelihood, 0.0, None)
    marginal = joint.sum(axis=0)
    seen = marginal > 0
    posterior = joint[:, seen] / marginal[seen]
    expected = float(np.sum(marginal[seen] * entropy_bits(posterior, axis=0)))
    return max(float(entropy_bits(prior)) - expected, 0.0), expected


def predictive_table(
    posts: dict[str, ParameterPosterior], kind: str, months: float, signals: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per-scenario probabilities of the bins of the window total.

    Returns
    -------
    tuple
        ``(upper ends of the bins, probabilities (K, bins), exact)``; the last bin is open,
        ``exact`` says whether every bin is a single value.
    """
    rows = list(posts.values())
    edges, cdfs, exact = family_for(kind).watch_bins(rows, months, signals)
    cdfs = np.concatenate([cdfs, np.ones((len(rows), 1))], axis=1)
    probabilities = np.diff(cdfs, axis=1, prepend=0.0)
    return edges, np.clip(probabilities, 0.0, None), exact


@dataclass(frozen=True)
class WatchEntry:
    """How much observing one indicator over the next window is expected to tell."""

    indicator: str
    label: str
    kind: str
    reduction_bits: float
    expected_entropy_bits: float
    current_entropy_bits: float
    bins: int
    exact: bool

    @property
    def share(self) -> float:
        """Expected reduction as a share of the current entropy."""
        if self.current_entropy_bits <= 0:
            return 0.0
        return self.reduction_bits / self.current_entropy_bits

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "indicator": self.indicator, "label": self.label, "kind": self.kind,
            "expected_entropy_reduction_bits": self.reduction_bits,
            "expected_posterior_entropy_bits": self.expected_entropy_bits,
            "share_of_current_entropy": self.share, "support_bins": self.bins,
            "exact_support": bool(self.exact),
        }


def watch(
    case: Case,
    as_of: dt.date | None = None,
    months: float = 3.0,
    signals: int = 3,
    forecast: Forecast | None = None,
) -> tuple[Forecast, list[WatchEntry]]:
    """Rank the case's indicators by the expected entropy reduction of observing them.

    Parameters
    ----------
    case : Case
        The case.
    as_of : date, optional
        Evidence reported on or before this date counts (default: today).
    months : float
        Length of the next observation window in months (a quarter by default).
    signals : int
        Signals expected in the window for ``signal`` indicators.
    forecast : Forecast, optional
        An exact forecast to start from (computed when omitted).

    Returns
    -------
    tuple
        ``(forecast, entries)``; entries sorted by reduction, largest first (ties by id).
    """
    if forecast is None:
        forecast = run_forecast(case, engine="exact", as_of=as_of)
    observations = case.observations(forecast.items, forecast.as_of)
    prior = np.asarray(forecast.probabilities, dtype=float)
    current = float(entropy_bits(prior))
    entries = []
    for indicator in case.used_indicators:
        kind = case.indicators[indicator].kind
        ahead = (forecast.as_of + dt.timedelta(days=1),
                 forecast.as_of + dt.timedelta(days=round(months * DAYS_PER_MONTH)))
        posts = indicator_posteriors(case, indicator, observations, window=ahead)
        _, table, exact = predictive_table(posts, kind, months, signals)
        reduction, expected = expected_entropy_reduction(prior, table)
        entries.append(WatchEntry(indicator, case.indicators[indicator].label, kind,
                                  reduction, expected, current, table.shape[1], bool(exact)))
    entries.sort(key=lambda e: (-round(e.reduction_bits, 12), e.indicator))
    return forecast, entries
