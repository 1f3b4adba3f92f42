"""The briefing as a multi-page PDF with selectable text (matplotlib ``PdfPages``).

Text pages are laid out on A4 with measured line wrapping (fonts embedded as TrueType,
``pdf.fonttype`` 42, so the text can be selected and searched); the charts follow as
vector pages. Case text is drawn with mathtext off, so it is shown exactly as written.
"""

from __future__ import annotations

import functools
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import TextToPath

from toolkit import __version__
from toolkit.core.atomic import atomic_path
from toolkit.outputs.briefing.content import Briefing
from toolkit.outputs.charts.style import INK, MUTED, WARNING, chart_style
from toolkit.outputs.language import percent, percent_range

PAGE = (8.27, 11.69)  # A4 portrait, inches
MARGIN = 0.75
_MEASURE = TextToPath()


@functools.lru_cache(maxsize=4096)
def text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width of ``text`` in inches at ``size`` points."""
    prop = FontProperties(size=size, weight=weight)
    width, _, _ = _MEASURE.get_text_width_height_descent(text, prop, ismath=False)
    return width / 72


def wrap_measured(text: str, width: float, size: float, weight: str = "normal") -> list[str]:
    """Greedy word wrap of ``text`` into lines at most ``width`` inches wide."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate, size, weight) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
            while text_width(line, size, weight) > width and len(line) > 1:
                cut = max(1, int(len(line) * width / text_width(line, size, weight)) - 1)
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


class TextPages:
    """Flow text onto A4 pages, top to bottom, starting new pages as needed."""

    def __init__(self) -> None:
        self.pages: list[Figure] = []
        self.y = 0.0
        self._new_page()

    @property
    def width(self) -> float:
        """Usable text width in inches."""
        return PAGE[0] - 2 * MARGIN

    def _new_page(self) -> None:
        self.pages.append(Figure(figsize=PAGE))
        self.y = MARGIN

    def _room(self, height: float) -> None:
        if self.y + height > PAGE[1] - MARGIN - 0.2:
            self._new_page()

    def _put(self, x: float, text: str, size: float, **kwargs: object) -> None:
        self.pages[-1].text(x / PAGE[0], 1 - self.y / PAGE[1], text, fontsize=size, va="top",
                            ha="left", parse_math=False, **kwargs)

    def space(self, inches: float) -> None:
        """Vertical gap."""
        self.y += inches

    def paragraph(self, text: str, size: float = 9.5, weight: str = "normal",
                  color: str = INK, indent: float = 0.0, style: str = "normal",
                  after: float = 0.08) -> None:
        """Wrapped text."""
        line_height = size * 1.4 / 72
        for line in wrap_measured(text, self.width - indent, size, weight):
            self._room(line_height)
            self._put(MARGIN + indent, line, size, fontweight=weight, color=color,
                      fontstyle=style)
            self.y += line_height
        self.y += after

    def heading(self, text: str, size: float = 13.0) -> None:
        """A section heading kept with at least three lines of what follows."""
        self._room(size * 1.5 / 72 + 0.6)
        self.y += 0.12
        self.paragraph(text, size=size, weight="bold", after=0.02)
        page = self.pages[-1]
        y = 1 - (self.y + 0.02) / PAGE[1]
        page.add_artist(_rule(page, y))
        self.y += 0.1

    def columns(self, cells: list[str], widths: list[float], size: float = 9.0,
                weight: str = "normal", color: str = INK) -> None:
        """One row of a simple table; each cell wraps inside its column."""
        wrapped = [wrap_measured(cell, width - 0.08, size, weight)
                   for cell, width in zip(cells, widths, strict=True)]
        line_height = size * 1.4 / 72
        height = max(len(lines) for lines in wrapped) * line_height
        self._room(height)
        x = MARGIN
        for lines, width in zip(wrapped, widths, strict=True):
            for j, line in enumerate(lines):
                self.pages[-1].text(x / PAGE[0], 1 - (self.y + j * line_height) / PAGE[1],
                                    line, fontsize=size, va="top", ha="left",
                                    parse_math=False, fontweight=weight, color=color)
            x += width
        self.y += height + 0.05


def _rule(page: Figure, y: float) -> Line2D:
    return Line2D([MARGIN / PAGE[0], 1 - MARGIN / PAGE[0]], [y, y], color="#BBBBBB",
                  linewidth=0.8, transform=page.transFigure)


def front_pages(briefing: Briefing) -> list[Figure]:
    """Title, question, warnings, headline, scenario table and key drivers."""
    flow = TextPages()
    flow.paragraph("Scenario briefing", size=10, color=MUTED, after=0.02)
    flow.paragraph(briefing.title, size=18, weight="bold", after=0.05)
    flow.paragraph(briefing.meta_line + f" | horizon {briefing.horizon.isoformat()}", size=9,
                   color=MUTED, after=0.15)
    flow.paragraph(briefing.question, size=10.5, style="italic", after=0.2)
    for warning in briefing.warnings:
        flow.paragraph(f"WARNING: {warning}", size=11, weight="bold", color=WARNING,
                       after=0.15)
    flow.heading("Bottom line")
    flow.paragraph(briefing.headline, size=12, weight="bold", after=0.2)
    level = f"{briefing.interval_level:.0%} interval"
    widths = [2.75, 1.15, 1.0, 1.1, 0.7]
    flow.columns(["Scenario", "Estimate", "Probability", level, "Prior"], widths,
                 weight="bold")
    for row in briefing.scenarios:
        flow.columns([row.label, row.word, percent(row.probability),
                      percent_range(row.low, row.high), percent(row.prior)], widths)
    flow.space(0.1)
    flow.heading("Key drivers")
    if not briefing.drivers:
        flow.paragraph("No evidence has moved the probabilities yet.")
    for sentence in briefing.drivers:
        flow.paragraph(f"\u2022 {sentence}", indent=0.1, after=0.06)
    if briefing.dynamic:
        flow.space(0.05)
        flow.paragraph(briefing.dynamic, after=0.06)
    if briefing.watch:
        flow.heading("What to watch next")
        flow.paragraph(briefing.watch_note, size=8.5, color=MUTED)
        for row in briefing.watch:
            flow.paragraph(f"{row.rank}. {row.text}", indent=0.1, after=0.04)
    if briefing.sensitivity:
        flow.heading("What would change the forecast")
        flow.paragraph(briefing.sensitivity_note, size=8.5, color=MUTED)
        for row in briefing.sensitivity:
            flow.paragraph(f"{row.rank}. {row.text}", indent=0.1, after=0.04)
    if briefing.questions:
        flow.heading("Questions")
        flow.paragraph(briefing.questions_note, size=8.5, color=MUTED)
        widths = [3.4, 0.9, 1.2, flow.width - 5.5]
        flow.columns(["Question", "Probability", "Resolution", "Score"], widths, size=8.5,
                     weight="bold")
        for q in briefing.questions:
            flow.columns([f"{q.id}: {q.text}", percent(q.probability), q.resolution_text,
                          q.score_text], widths, size=8)
    flow.space(0.1)
    flow.paragraph("Probabilities use ICD 203 estimative language: almost no chance (<5%), "
                   "very unlikely (5-20%), unlikely (20-45%), roughly even chance (45-55%), "
                   "likely (55-80%), very likely (80-95%), almost certain (95% or more). The "
                   "charts on the following pages show the probabilities, how they moved as "
                   "the evidence arrived, which items moved them, and what each scenario "
                   "predicted against what was observed.", size=8.5, color=MUTED)
    return flow.pages


def back_pages(briefing: Briefing) -> list[Figure]:
    """Evidence table, excluded items, diagnostics and the run manifest."""
    labels = briefing.scenario_labels
    flow = TextPages()
    flow.heading(f"Evidence ({len(briefing.evidence)} items used, in report order)")
    if not briefing.evidence:
        flow.paragraph("No evidence items were used.")
    for row in briefing.evidence:
        flow.paragraph(f"{row.id}  |  reported {row.reported_on.isoformat()}  |  "
                       f"{row.indicator_label}: {row.value} {row.unit}  |  reliability "
                       f"{row.reliability_text} (weight {row.reliability:.2f})",
                       size=9, weight="bold", after=0.02)
        flow.paragraph(f"Period {row.period_start.isoformat()} to "
                       f"{row.period_end.isoformat()}. Source {row.claim_id}: "
                       f"{row.claim_summary}", size=8.5, indent=0.15, after=0.02)
        detail = ", ".join(x for x in (row.source_title, row.source_publisher,
                                       row.source_date, row.source_url) if x)
        if detail:
            flow.paragraph(f"({detail})", size=8, color=MUTED, indent=0.15, after=0.02)
        if row.note:
            flow.paragraph(f"Note: {row.note}", size=8, color=MUTED, indent=0.15,
                           style="italic", after=0.02)
        effects = "; ".join(f"{labels[sid]} {v:+.2f}" for sid, v in
                            row.log_bayes_factors.items())
        flow.paragraph(f"log Bayes factor: {effects}", size=8, indent=0.15, after=0.12)
    for reason, ids in briefing.excluded.items():
        if ids:
            flow.paragraph(f"Not used ({reason.replace('_', ' ')}): {', '.join(ids)}",
                           size=8.5, color=MUTED)
    flow.heading("Diagnostics")
    flow.paragraph("Status: converged." if briefing.converged else
                   "Status: NOT CONVERGED. Do not use these numbers.",
                   weight="bold", color=INK if briefing.converged else WARNING)
    for name, value in briefing.diagnostics:
        flow.columns([name, value], [2.3, flow.width - 2.3], size=8.5)
    flow.heading("Run manifest")
    for name, value in briefing.manifest:
        flow.columns([name, value], [2.3, flow.width - 2.3], size=8.5)
    return flow.pages


def _footer(page: Figure, briefing: Briefing, number: int, total: int) -> None:
    page.text(MARGIN / PAGE[0], 0.45 / PAGE[1],
              f"scenario-toolkit {__version__} briefing | {briefing.case} | as of "
              f"{briefing.as_of.isoformat()} | {briefing.engine} engine",
              fontsize=7, color=MUTED, parse_math=False)
    page.text(1 - MARGIN / PAGE[0], 0.45 / PAGE[1], f"page {number} of {total}", fontsize=7,
              color=MUTED, ha="right")


def write_briefing_pdf(briefing: Briefing, charts: list[Figure], path: Path) -> int:
    """Write the briefing PDF atomically.

    Parameters
    ----------
    briefing : Briefing
        What to say.
    charts : list of Figure
        Chart pages, in order (left open; the caller closes them).
    path : Path
        Target ``.pdf``.

    Returns
    -------
    int
        Number of pages written.
    """
    front, back = front_pages(briefing), back_pages(briefing)
    total = len(front) + len(charts) + len(back)
    for number, page in enumerate(front, start=1):
        _footer(page, briefing, number, total)
    for number, page in enumerate(back, start=len(front) + len(charts) + 1):
        _footer(page, briefing, number, total)
    metadata = {"Title": f"{briefing.title}: briefing as of {briefing.as_of.isoformat()}",
                "Author": "scenario-toolkit", "Subject": briefing.question,
                "Creator": f"scenario-toolkit {__version__}", "CreationDate": None}
    with chart_style(), atomic_path(path) as tmp:
        with PdfPages(tmp, metadata=metadata) as pdf:
            for page in [*front, *charts, *back]:
                pdf.savefig(page)
    return total
