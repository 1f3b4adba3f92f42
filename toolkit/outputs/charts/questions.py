"""Charts of scored questions: calibration with per-bin counts, and probability paths.

Same style as :mod:`toolkit.outputs.charts` (palette, title, source line, atomic saving). Question
ids come from case files and are passed through :func:`toolkit.outputs.charts.style.plain`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.ticker
from matplotlib.figure import Figure

from toolkit.outputs.backtest import Backtest, Rolling
from toolkit.outputs.charts.style import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    decorate,
    new_figure,
    plain,
    styled,
)


@styled
def calibration_chart(result: Backtest) -> Figure:
    """Observed frequency against mean forecast per probability bin, with counts.

    Parameters
    ----------
    result : Backtest
        A backtest; its calibration table is drawn.

    Returns
    -------
    Figure
        Top: one point per non-empty bin at (mean forecast, observed frequency), labelled
        ``n=count``, and the diagonal of perfect calibration. Bottom: one bar per bin whose
        height is the number of scored questions in it.
    """
    table = result.calibration
    figure = new_figure(7, 7.5)
    axis, counts = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    axis.plot([0, 1], [0, 1], color="#777777", linestyle="--", linewidth=1,
              label="perfect calibration")
    filled = [row for row in table if row["count"]]
    axis.scatter([row["mean_forecast"] for row in filled],
                 [row["observed_frequency"] for row in filled],
                 s=[40 + 30 * row["count"] for row in filled], color=PALETTE[0],
                 edgecolor="black", zorder=3, label="scored questions (size: count)")
    for row in filled:
        axis.annotate(f"n={row['count']}", (row["mean_forecast"], row["observed_frequency"]),
                      textcoords="offset points", xytext=(8, -12), fontsize=8)
    axis.set_xlim(0, 1)
    axis.set_ylim(-0.05, 1.05)
    axis.set_ylabel("Observed frequency of yes")
    axis.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8)
    summary = result.summary
    what = "Calibration of question forecasts"
    if summary.get("scored"):
        what += (f" ({summary['scored']} scored; Brier {summary['mean_brier']:.3f} vs "
                 f"{summary['mean_brier_50']:.3f} at 50% and {summary['mean_brier_prior']:.3f} "
                 "prior alone)")
    centres = [(row["low"] + row["high"]) / 2 for row in table]
    heights = [row["count"] for row in table]
    bars = counts.bar(centres, heights, width=0.09, color=PALETTE[1], edgecolor="black",
                      linewidth=0.6)
    counts.bar_label(bars, labels=[str(h) if h else "" for h in heights], fontsize=8)
    counts.set_ylabel("Questions")
    counts.set_xlabel("Forecast probability (bins of 10 points)")
    counts.set_ylim(0, max([*heights, 1]) * 1.3)
    counts.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    decorate(figure, result.forecast, what)
    return figure


@styled
def question_paths_chart(result: Rolling) -> Figure:
    """Each question's probability at every monthly as-of date, with its resolution marked.

    Parameters
    ----------
    result : Rolling
        A rolling backtest.

    Returns
    -------
    Figure
        One line per question (y = probability of yes); a resolved question gets a star at
        its resolution date, at 100% for yes and 0% for no. Open questions are drawn thin.
    """
    last = result.steps[-1]
    series = result.series()
    figure = new_figure(10, 6)
    axis = figure.subplots()
    for i, r in enumerate(last.results):
        colour = PALETTE[i % len(PALETTE)]
        dates = [d for d, _ in series[r.question.id]]
        values = [p for _, p in series[r.question.id]]
        q = r.question
        label = f"{plain(q.id)} ({q.resolution or 'open'})"
        axis.plot(dates, values, color=colour, linestyle=LINESTYLES[i % len(LINESTYLES)],
                  linewidth=2 if q.resolved else 1, marker=MARKERS[i % len(MARKERS)],
                  markersize=3, label=label, gid=f"path-{i}")
        if q.resolved:
            axis.scatter([q.resolved_on], [float(q.outcome)], marker="*", s=180, color=colour,
                         edgecolor="black", zorder=4)
    axis.set_ylim(-0.05, 1.05)
    axis.set_ylabel("Probability of yes (star: resolution, at 100% yes / 0% no)")
    axis.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    axis.grid(alpha=0.3)
    axis.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    first = result.steps[0].as_of.isoformat()
    decorate(figure, last.forecast, f"Question probabilities, as-of dates monthly from {first}")
    return figure


def question_chart_files(result: Backtest | Rolling, out_dir: Path,
                         formats: list[str]) -> dict[Path, Figure]:
    """The calibration chart (and, for a rolling backtest, the paths chart) by file name.

    Files are named ``<case>-<as-of>-calibration.<ext>`` (the last as-of date when rolling)
    and ``<case>-<first>-<last>-question-paths.<ext>``; each chart is drawn once for all
    formats. :func:`toolkit.outputs.report.export_question_charts` writes them.
    """
    last = result.steps[-1] if isinstance(result, Rolling) else result
    stem = f"{last.case}-{last.as_of.isoformat()}"
    calibration = calibration_chart(last)
    files = {out_dir / f"{stem}-calibration.{ext}": calibration for ext in formats}
    if isinstance(result, Rolling):
        first: dt.date = result.steps[0].as_of
        paths = question_paths_chart(result)
        files |= {out_dir / f"{last.case}-{first.isoformat()}-{last.as_of.isoformat()}-"
                  f"question-paths.{ext}": paths for ext in formats}
    return files
