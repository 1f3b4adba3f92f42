"""Briefings: a forecast told for readers who never open a notebook.

:func:`build_briefing` gathers the content once (:mod:`~toolkit.outputs.briefing.content`); the
renderers turn it into a self-contained HTML page (:mod:`~toolkit.outputs.briefing.html`), a
multi-page PDF with selectable text (:mod:`~toolkit.outputs.briefing.pdf`) or a formula-safe CSV
of the evidence table. :func:`toolkit.outputs.report.export_report` is the one entry point the
command line and the notebooks call.
"""

from toolkit.outputs.briefing.content import (
    Briefing,
    EvidenceRow,
    ScenarioRow,
    build_briefing,
    driver_sentences,
    evidence_csv,
    spreadsheet_safe,
)
from toolkit.outputs.briefing.html import ChartEmbed, render_html
from toolkit.outputs.briefing.pdf import write_briefing_pdf

__all__ = [
    "Briefing", "ChartEmbed", "EvidenceRow", "ScenarioRow", "build_briefing",
    "driver_sentences", "evidence_csv", "render_html", "spreadsheet_safe",
    "write_briefing_pdf",
]
