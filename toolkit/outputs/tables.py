"""DataFrames of the toolkit's results, for analysts who work in pandas.

One row per thing an analyst counts: an evidence item with whether it counts and why not
(:func:`evidence_table`), a step of the trail (:func:`trail_table`), an item's attribution
(:func:`attribution_table`), a question of a backtest (:func:`backtest_table`), a question
at one date of a rolling backtest (:func:`rolling_table`). The run history is
:func:`toolkit.store.history.history_table`, a sensitivity analysis has
:meth:`toolkit.outputs.sensitivity.Sensitivity.table`, and a sweep is a table already.

Dates are pandas timestamps (``NaT`` where there is none), probabilities floats, scenario
columns named by scenario id in the priors file's order.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from toolkit.model.case import Case
    from toolkit.outputs.backtest import Backtest, Rolling
    from toolkit.outputs.forecast import Forecast

#: Columns of :func:`evidence_table` that hold dates.
DATE_COLUMNS = ("reported_on", "period_start", "period_end")


def _dates(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def evidence_table(case: Case, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every row of the case's ledger, in file order, with whether it counts at ``as_of``.

    Parameters
    ----------
    case : Case
        A loaded case.
    as_of : date, optional
        The forecast date (default: today), as for :meth:`toolkit.model.case.Case.select`.

    Returns
    -------
    DataFrame
        Indexed by item id: the ledger's fields (``value`` as written, ``reliability`` as the
        chance the report is genuine, ``line`` its line in the file), ``counted`` and
        ``reason``: why it does not count (``retracted``, ``after_as_of``, ``echoes``,
        ``nested``), or ``overlapping`` for a counted item whose period crosses another's.
    """
    reasons: dict[str, list[str]] = {}
    items, excluded = case.select(as_of or dt.date.today())
    for reason, ids in excluded.items():
        for entry in ids:
            for item_id in str(entry).split("+"):
                reasons.setdefault(item_id, []).append(reason)
    counted = {item.id for item in items}
    rows = [{
        "id": item.id, "reported_on": item.reported_on, "period_start": item.period_start,
        "period_end": item.period_end, "indicator": item.indicator, "value": item.value,
        "unit": item.unit, "source": item.source, "reliability_grade": item.reliability_text,
        "reliability": item.reliability, "status": item.status, "echo_of": item.echo_of,
        "note": item.note, "line": item.line, "counted": item.id in counted,
        "reason": ", ".join(reasons.get(item.id, [])),
    } for item in sorted(case.evidence, key=lambda i: i.line)]
    columns = ["id", *DATE_COLUMNS, "indicator", "value", "unit", "source",
               "reliability_grade", "reliability", "status", "echo_of", "note", "line",
               "counted", "reason"]
    return _dates(pd.DataFrame(rows, columns=columns), DATE_COLUMNS).set_index("id")


def trail_table(forecast: Forecast) -> pd.DataFrame:
    """Each scenario's probability before any evidence and after each item, in report order.

    Returns
    -------
    DataFrame
        One row per step (``step`` 0 is the prior): ``item`` (missing for the prior),
        ``reported_on``, then one column per scenario id.
    """
    frame = pd.DataFrame(np.asarray(forecast.trail, float), columns=forecast.scenario_ids)
    frame.insert(0, "item", [None, *forecast.item_ids])
    frame.insert(1, "reported_on", pd.to_datetime(
        [None, *(item.reported_on for item in forecast.items)]))
    frame.index.name = "step"
    return frame


def attribution_table(forecast: Forecast) -> pd.DataFrame:
    """Each item's log Bayes factor per scenario, centred across scenarios (the chart's bars).

    Returns
    -------
    DataFrame
        Indexed by item id in report order: ``reported_on``, ``indicator``, then one column
        per scenario id (positive: the item favoured that scenario).
    """
    frame = pd.DataFrame(np.asarray(forecast.attribution, float),
                         columns=forecast.scenario_ids,
                         index=pd.Index(forecast.item_ids, name="id"))
    frame.insert(0, "reported_on", pd.to_datetime([i.reported_on for i in forecast.items]))
    frame.insert(1, "indicator", [item.indicator for item in forecast.items])
    return frame


def backtest_table(result: Backtest) -> pd.DataFrame:
    """One row per question of a backtest: probability, resolution and scores.

    Returns
    -------
    DataFrame
        Indexed by question id: ``text``, ``indicator``, ``probability``,
        ``prior_probability``, ``resolution``, ``resolved_on``, ``status``, ``scored`` and
        the Brier and log scores of the model and both baselines (``NaN`` when unscored).
    """
    score_names = ("brier", "log", "brier_50", "log_50", "brier_prior", "log_prior")
    rows = []
    for r in result.results:
        q, scores = r.question, r.scores() or {}
        rows.append({"id": q.id, "text": q.text, "indicator": q.indicator,
                     "probability": r.probability, "prior_probability": r.prior.probability,
                     "resolution": q.resolution, "resolved_on": q.resolved_on,
                     "status": r.status, "scored": r.scored,
                     **{name: scores.get(name, np.nan) for name in score_names}})
    columns = ["id", "text", "indicator", "probability", "prior_probability", "resolution",
               "resolved_on", "status", "scored", *score_names]
    return _dates(pd.DataFrame(rows, columns=columns), ("resolved_on",)).set_index("id")


def rolling_table(result: Rolling) -> pd.DataFrame:
    """A rolling backtest, tidy: one row per as-of date and question.

    Returns
    -------
    DataFrame
        ``as_of``, ``question``, ``probability``, ``resolution``, ``scored`` and the model's
        ``brier`` score (``NaN`` when not scored at that date).
    """
    rows = [{"as_of": step.as_of, "question": r.question.id, "probability": r.probability,
             "resolution": r.question.resolution, "scored": r.scored,
             "brier": (r.scores() or {}).get("brier", np.nan)}
            for step in result.steps for r in step.results]
    columns = ["as_of", "question", "probability", "resolution", "scored", "brier"]
    return _dates(pd.DataFrame(rows, columns=columns), ("as_of",))
