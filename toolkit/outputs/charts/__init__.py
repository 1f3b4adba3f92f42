"""Charts of forecasts (matplotlib), in one consistent, colour-blind-safe style.

Every chart is titled with what it shows, the case, the as-of date, the engine and the
run id, and carries a source line (:mod:`toolkit.outputs.charts.style`). Text from case files is
passed to matplotlib as plain text (``usetex`` off, ``$`` escaped), so it is never
interpreted. One module per chart family:

* :mod:`~toolkit.outputs.charts.probabilities` - posterior probabilities; prior against posterior;
* :mod:`~toolkit.outputs.charts.trail` - probabilities over time as evidence arrived;
* :mod:`~toolkit.outputs.charts.attribution` - each item's log Bayes factor per scenario;
* :mod:`~toolkit.outputs.charts.predictions` - what each scenario predicted against what was seen.
"""

from toolkit.outputs.charts.attribution import attribution_chart
from toolkit.outputs.charts.predictions import predicted_interval, predictions_chart
from toolkit.outputs.charts.probabilities import prior_posterior_chart, probability_chart
from toolkit.outputs.charts.style import (
    HATCHES,
    MARKERS,
    PALETTE,
    chart_style,
    chart_title,
    decorate,
    freeze_layout,
    inline_svg,
    plain,
    save_figure,
    scenario_style,
    source_text,
)
from toolkit.outputs.charts.trail import trail_chart

__all__ = [
    "HATCHES", "MARKERS", "PALETTE", "attribution_chart", "chart_style", "chart_title",
    "decorate", "freeze_layout", "inline_svg", "plain", "predicted_interval", "predictions_chart",
    "prior_posterior_chart", "probability_chart", "save_figure", "scenario_style",
    "source_text", "trail_chart",
]
