"""The one chart style: palette, hatches and markers, titles, source lines, saving.

Colours are the Okabe-Ito palette (safe for colour-vision deficiency); every scenario also
gets its own hatch, marker and line style, so charts read in greyscale too. Text from case
files goes through :func:`plain` (no mathtext), and every chart carries :func:`decorate`'s
title (what, case, as-of date, engine, run id) and source line.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from toolkit import __version__
from toolkit.core.atomic import atomic_path
from toolkit.outputs.forecast import Forecast

#: Okabe-Ito palette: distinguishable with colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
#: Hatches, markers and line styles: a second channel that survives greyscale printing.
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2)))
INK = "#222222"
MUTED = "#555555"
WARNING = "#B00020"

#: Matplotlib settings of every chart (fonts embedded as TrueType: selectable PDF text).
RC: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "hatch.linewidth": 0.8,
    "text.usetex": False,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "path",
    "svg.hashsalt": "scenario-toolkit",
    "figure.dpi": 100,
    "savefig.dpi": 150,
}

@dataclass(frozen=True)
class ScenarioStyle:
    """How one scenario is drawn everywhere: colour plus a greyscale-safe second channel."""

    color: str
    hatch: str
    marker: str
    linestyle: Any


def scenario_style(k: int) -> ScenarioStyle:
    """Style of the ``k``-th scenario (cycles after seven)."""
    return ScenarioStyle(PALETTE[k % len(PALETTE)], HATCHES[k % len(HATCHES)],
                         MARKERS[k % len(MARKERS)], LINESTYLES[k % len(LINESTYLES)])


#: Held while a chart is drawn or saved: matplotlib's ``rcParams`` are global, so two
#: threads (the dashboard's background export and a panel) must not style at once.
DRAWING = threading.RLock()


@contextmanager
def chart_style() -> Iterator[None]:
    """Context in which charts are drawn and saved (one thread at a time)."""
    with DRAWING, matplotlib.rc_context(RC):
        yield


def styled[**P, R](draw: Callable[P, R]) -> Callable[P, R]:
    """Decorate a chart function so it draws inside :func:`chart_style`."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with chart_style():
            return draw(*args, **kwargs)

    return wrapper


def plain(text: str) -> str:
    """Make case-file text safe for matplotlib.

    ``$`` never starts mathtext, and a leading ``_`` (which hides a legend entry) is kept
    visible behind a zero-width space.
    """
    text = str(text).replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def shorten(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def wrap(text: str, width_in: float, fontsize: float) -> str:
    """Wrap ``text`` to lines that fit ``width_in`` inches at ``fontsize`` points."""
    chars = max(int(width_in * 72 / (fontsize * 0.58)), 12)
    return "\n".join(textwrap.wrap(str(text), chars, break_on_hyphens=False)) or str(text)


def run_label(forecast: Forecast) -> str:
    """``run <id>`` once the run is saved, else ``unsaved run``."""
    run = forecast.extras.get("run_id")
    return f"run {run}" if run else "unsaved run"


def chart_title(forecast: Forecast, what: str) -> str:
    """Standard chart title: what and the case title, then case, as-of date, engine, run."""
    return (f"{what}: {plain(forecast.title)}\n"
            f"case {plain(forecast.case)} | as of {forecast.as_of.isoformat()} | "
            f"{forecast.engine} engine | {plain(run_label(forecast))}")


def source_text(forecast: Forecast) -> str:
    """The source line: tool, case files and their hashes, evidence counts."""
    hashes = ", ".join(f"{Path(name).name} {digest[:8]}"
                       for name, digest in forecast.input_hashes.items())
    excluded = sum(len(v) for v in forecast.excluded.values())
    text = (f"Source: scenario-toolkit {__version__}, case '{forecast.case}': "
            f"{len(forecast.items)} evidence items used ({excluded} excluded); "
            f"inputs (sha256) {hashes}.")
    return plain(text)


def decorate(figure: Figure, forecast: Forecast, what: str) -> Figure:
    """Add the standard title and source line to ``figure`` (constrained layout).

    Long titles are wrapped to the figure's width; an unconverged run gets a red warning.
    """
    width = figure.get_figwidth() - 0.3
    head, meta = chart_title(forecast, what).split("\n", 1)
    if not forecast.converged:
        meta += " | NOT CONVERGED"
    title = wrap(head, width, 11.5) + "\n" + wrap(meta, width, 9)
    figure.suptitle(title, x=0.01, ha="left", fontsize=11, color=INK, linespacing=1.35)
    source = wrap(source_text(forecast), width, 7)
    if not forecast.converged:
        source = ("WARNING: the engine did not converge; do not use these numbers as final.\n"
                  + source)
    label = figure.supxlabel(source, x=0.01, ha="left", fontsize=7, linespacing=1.3,
                             color=WARNING if not forecast.converged else MUTED)
    label.set_gid("source-line")
    return figure


def new_figure(width: float, height: float, **kwargs: Any) -> Figure:
    """A figure with constrained layout (not registered with pyplot's figure manager)."""
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def _save_options(ext: str, title: str | None) -> dict[str, Any]:
    if ext == "png":
        return {"metadata": {"Software": f"scenario-toolkit {__version__}"}}
    if ext == "svg":
        meta: dict[str, Any] = {"Date": None, "Creator": f"scenario-toolkit {__version__}"}
        if title:
            meta["Title"] = title
        return {"metadata": meta}
    if ext == "pdf":
        return {"metadata": {"Creator": f"scenario-toolkit {__version__}", "CreationDate": None,
                             **({"Title": title} if title else {})}}
    return {}


def figure_title(figure: Figure) -> str | None:
    """The figure's title text on one line, if any."""
    suptitle = getattr(figure, "_suptitle", None)
    return " ".join(suptitle.get_text().split()) if suptitle is not None else None


def save_figure(figure: Figure, path: Path, close: bool = True) -> Path:
    """Save ``figure`` atomically to ``path`` (format from the suffix).

    Parameters
    ----------
    figure : Figure
        The chart.
    path : Path
        Target; ``.png``, ``.svg`` or ``.pdf``.
    close : bool
        Close the figure afterwards (default).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    ext = path.suffix.lstrip(".").lower()
    with chart_style(), atomic_path(path) as tmp:
        figure.savefig(tmp, format=ext, **_save_options(ext, figure_title(figure)))
    if close:
        plt.close(figure)
    return path


def inline_svg(figure: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element for embedding in HTML.

    No XML prolog, DOCTYPE, metadata or namespace URLs; ``salt`` keeps element ids unique
    between charts of one page.
    """
    buffer = io.StringIO()
    title = figure_title(figure)
    meta = {"Date": None, "Creator": None, "Format": None, "Type": None}
    with chart_style(), matplotlib.rc_context({"svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata=meta)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    head, rest = text.split(">", 1)
    head = (head.replace(' xmlns="http://www.w3.org/2000/svg"', "")
            .replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', ""))
    label = f' role="img" aria-label="{_attr(title)}"' if title else ' role="img"'
    return _prefix_ids(head + label + ">" + rest, salt)


def _prefix_ids(svg: str, prefix: str) -> str:
    """Make every element id (and reference to it) unique to one chart of a page."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
    svg = re.sub(r' id="([^"]+)"', rf' id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)


def _attr(text: str) -> str:
    from html import escape

    return escape(text, quote=True)


def legend_below(axis: Any, handles: list | None = None, ncols: int = 3,
                 label_lines: int = 1, anchor: str = "center") -> Any:
    """A legend under ``axis``'s tick labels and x label, kept clear by constrained layout.

    ``label_lines`` is the number of text lines below the axis (tick labels plus x label).
    """
    kwargs: dict[str, Any] = {"handles": handles} if handles is not None else {}
    if anchor == "center":  # centred on the figure, whatever the axis' own offset
        kwargs["bbox_transform"] = blended_transform_factory(axis.figure.transFigure,
                                                             axis.transAxes)
        x = 0.5
    else:
        x = 0.0
    return axis.legend(loc=f"upper {anchor}", bbox_to_anchor=(x, 0.0), ncols=ncols,
                       borderaxespad=1.25 * (label_lines + 1) + 0.4, **kwargs)


def freeze_layout(figure: Figure) -> Figure:
    """Run the constrained layout once and keep it, so saving in several formats is fast."""
    with chart_style():
        figure.draw_without_rendering()
    figure.set_layout_engine("none")
    return figure
