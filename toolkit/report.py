"""Exports: charts written under stable names ``<case>-<as-of>-<chart>.<ext>``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from toolkit.charts import probability_chart, save_figure
from toolkit.forecast import Forecast

CHART_FORMATS = ("png", "svg", "pdf")

#: Chart name -> function drawing it from a forecast.
CHARTS: dict[str, Callable[[Forecast], Figure]] = {
    "probabilities": probability_chart,
}


def chart_path(out_dir: Path, forecast: Forecast, chart: str, ext: str) -> Path:
    """Stable file name of a chart."""
    return out_dir / f"{forecast.case}-{forecast.as_of.isoformat()}-{chart}.{ext}"


def export_charts(forecast: Forecast, out_dir: Path, formats: list[str]) -> list[Path]:
    """Draw every chart and save it in each requested format.

    Parameters
    ----------
    forecast : Forecast
        The forecast to export.
    out_dir : Path
        Folder to write into (created if missing).
    formats : list of str
        Subset of :data:`CHART_FORMATS`.

    Returns
    -------
    list of Path
        Files written.
    """
    written = []
    for name, draw in CHARTS.items():
        for ext in formats:
            written.append(save_figure(draw(forecast), chart_path(out_dir, forecast, name, ext)))
    return written
