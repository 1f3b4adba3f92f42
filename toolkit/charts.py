"""Charts of forecasts (matplotlib), in one consistent, colour-blind-safe style.

Every chart is titled with the case, as-of date and engine and carries a source line.
Text from case files is passed to matplotlib as plain text (``usetex`` off, ``$`` escaped),
so it is never interpreted.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
from matplotlib.figure import Figure

from toolkit.atomic import atomic_path
from toolkit.forecast import Forecast
from toolkit.language import estimative_word, percent

#: Okabe-Ito palette: distinguishable with colour-vision deficiency and in greyscale order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo")


def plain(text: str) -> str:
    """Make case-file text safe for matplotlib (no mathtext)."""
    return text.replace("$", r"\$")


def chart_title(forecast: Forecast, what: str) -> str:
    """Standard chart title: what, case, as-of date, engine (and run id when saved)."""
    run = forecast.extras.get("run_id")
    suffix = f" | run {run}" if run else ""
    return (f"{what}: {plain(forecast.title)}\n"
            f"as of {forecast.as_of.isoformat()} | {forecast.engine} engine{suffix}")


def source_line(figure: Figure, forecast: Forecast) -> None:
    """Add the source line at the bottom of a figure."""
    status = "" if forecast.converged else "  NOT CONVERGED - not a final number."
    figure.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    figure.text(0.01, 0.01, f"Source: scenario-toolkit; case '{forecast.case}', "
                f"{len(forecast.items)} evidence items.{status}", fontsize=7, color="#444444")


def probability_chart(forecast: Forecast) -> Figure:
    """Horizontal bars of posterior scenario probabilities with credible intervals.

    Parameters
    ----------
    forecast : Forecast
        The forecast to draw.

    Returns
    -------
    Figure
        Bars in scenario order; bar widths equal the probabilities.
    """
    n = len(forecast.labels)
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.8 * n), layout="constrained")
    positions = list(range(n))[::-1]
    probabilities = [float(p) for p in forecast.probabilities]
    lows = [p - float(lo) for p, (lo, _) in zip(probabilities, forecast.intervals, strict=True)]
    highs = [float(hi) - p for p, (_, hi) in zip(probabilities, forecast.intervals, strict=True)]
    bars = axis.barh(positions, probabilities, color=PALETTE[:n], edgecolor="black",
                     linewidth=0.6, xerr=[lows, highs], capsize=4,
                     error_kw={"ecolor": "#333333", "linewidth": 1})
    for bar, hatch in zip(bars, HATCHES, strict=False):
        bar.set_hatch(hatch)
    axis.scatter([float(p) for p in forecast.prior], positions, marker="|", s=300,
                 color="black", zorder=3, label="prior")
    for position, p, (_, hi) in zip(positions, probabilities, forecast.intervals, strict=True):
        label = f"{percent(p)} ({estimative_word(p)})"
        if hi < 0.72:
            axis.text(float(hi) + 0.02, position, label, fontsize=9, va="center")
        else:
            axis.text(0.02, position, label, fontsize=9, va="center",
                      bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    axis.set_yticks(positions, [plain(label) for label in forecast.labels])
    axis.set_xlim(0, 1)
    axis.set_xlabel(f"Posterior probability (bars: {forecast.interval_level:.0%} credible "
                    "interval; black tick: prior)")
    axis.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axis.set_title(chart_title(forecast, "Scenario probabilities"), fontsize=10, loc="left")
    axis.grid(axis="x", alpha=0.3)
    source_line(figure, forecast)
    return figure


def save_figure(figure: Figure, path: Path) -> Path:
    """Save ``figure`` atomically to ``path`` (format from the suffix) and close it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip("."), dpi=150,
                       metadata=None if path.suffix != ".png" else {"Software": "scenario-toolkit"})
    plt.close(figure)
    return path
