"""Briefings: a forecast told for readers who never open a notebook.

:func:`build_briefing` gathers the content once (:mod:`~toolkit.briefing.content`); the
renderers turn it into a self-contained HTML page (:mod:`~toolkit.briefing.html`), a
multi-page PDF with selectable text (:mod:`~toolkit.briefing.pdf`) or a formula-safe CSV
of the evidence table. :func:`toolkit.report.export_report` is the one entry point the
command line and the notebooks call.
"""

from toolkit.briefing.content import (
    Briefing,
    EvidenceRow,
    ScenarioRow,
    build_briefing,
    driver_sentences,
    evidence_csv,
    spreadsheet_safe,
)
from toolkit.briefing.html import ChartEmbed, render_html
from toolkit.briefing.pdf import write_briefing_pdf

__all__ = [
    "Briefing", "ChartEmbed", "EvidenceRow", "ScenarioRow", "build_briefing",
    "driver_sentences", "evidence_csv", "render_html", "spreadsheet_safe",
    "write_briefing_pdf",
]
