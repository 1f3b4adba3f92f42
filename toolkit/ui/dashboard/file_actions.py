"""The dashboard's files: exporting the charts, saving the edited priors, reloading.

:class:`FileActions` is mixed into :class:`toolkit.ui.dashboard.app.Dashboard`; it reads the
dashboard's state (root, forecast, what-if edits, sliders) and reports on its status line.
The case files may change on disk while the dashboard is open (an evidence add, another
save): every action compares them with what was loaded; a save over a changed priors file is
refused, an export says the files changed, and *Reload files* reads them again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import ipywidgets as w

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.outputs.report import export_charts
from toolkit.store.priors_edit import save_priors
from toolkit.ui.dashboard.background import Cancelled, Job
from toolkit.ui.dashboard.views import esc
from toolkit.ui.dashboard.whatif import WhatIf

EXPORT_FORMATS = ("png", "svg", "pdf")
#: Exports up to this size (bytes) get a download link (a zip in the page), e.g. for Voila.
DOWNLOAD_LIMIT = 8 * 2**20


def download_link(paths: list[Path], name: str) -> str:
    """An ``<a download>`` link holding ``paths`` as one zip ("" beyond the size limit)."""
    if sum(p.stat().st_size for p in paths) > DOWNLOAD_LIMIT:
        return ""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, path.name)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<a class="export-download" download="{esc(name)}" '
            f'href="data:application/zip;base64,{data}">Download the {len(paths)} files '
            f"({len(buffer.getvalue()) / 2**20:.1f} MB zip)</a>")


class FileActions:
    """Export and save, for a dashboard with ``root``, ``forecast``, ``whatif`` and sliders."""

    root: Path
    whatif: Any
    replace_exports: Any
    sensitivity_panel: Any
    _inputs_key: Callable[[], Hashable]
    weight_sliders: dict[str, Any]
    last_export: list[Path]
    widget: Any
    _results: dict[str, Any]
    _build_widgets: Callable[[], None]
    refresh: Callable[[], Any]

    def _file_controls(self) -> w.HBox:
        """Export, replace, save and reload, wired to their actions."""
        self.export_button = w.Button(description="Export charts", icon="download")
        self.export_button.add_class("export-button")
        self.replace_exports = w.Checkbox(value=False, description="replace files of another run",
                                          indent=False, layout=w.Layout(width="230px"))
        self.save_button = w.Button(description="Save priors", icon="save",
                                    button_style="warning")
        self.save_button.add_class("save-priors-button")
        self.reload_button = w.Button(description="Reload files", icon="refresh")
        self.reload_button.add_class("reload-button")
        self.export_button.on_click(lambda _: self.export())
        self.save_button.on_click(lambda _: self.save_priors())
        self.reload_button.on_click(lambda _: self.reload())
        self.export_job = Job("Export")
        self.download = w.HTML("")
        return w.VBox([w.HBox([self.export_button, self.replace_exports, self.save_button,
                               self.reload_button]), self.export_job.box, self.download])

    def files_changed(self) -> list[str]:
        """The case files (priors, evidence) that changed on disk since they were loaded."""
        case = self.whatif.base
        changed = []
        for path in (case.paths.priors, case.paths.evidence):
            shown = case.paths.shown(path)
            now = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
            if now != case.input_hashes.get(shown):
                changed.append(shown)
        return changed

    def reload(self) -> None:
        """Read the case files again; what-if edits are dropped (the status line says so)."""
        if self.export_job.running:
            self._set_status("An export is under way: reload when it is done (or Cancel it).",
                             error=True)
            return
        try:
            case = load_case(self.root, self.whatif.base.name)
        except CaseError as exc:
            self._set_status(f"Not reloaded (the dashboard keeps the files as loaded): {exc}",
                             error=True)
            return
        dropped = self.whatif.changes()
        self.whatif = WhatIf(case, self.whatif.as_of)
        self._results.clear()
        shown = self.widget
        self._build_widgets()
        shown.children, self.widget = self.widget.children, shown
        self.refresh()
        note = f" What-ifs dropped: {'; '.join(dropped)}." if dropped else ""
        self._set_status(f"Reloaded {self.whatif.base.paths.shown(case.paths.priors)} and "
                         f"{case.paths.shown(case.paths.evidence)}: {len(case.evidence)} "
                         f"evidence rows.{note}")

    def export(self, out_dir: Path | None = None,
               formats: tuple[str, ...] = EXPORT_FORMATS) -> list[Path]:
        """Write the current forecast's charts with :func:`toolkit.outputs.report.export_charts`.

        Inside a kernel the export runs on a worker thread (:class:`~toolkit.ui.dashboard.
        background.Job`): the sliders stay live, a bar shows each file and *Cancel* stops it.
        The tornado chart is included when the "What would change it" panel holds an
        analysis of the current inputs (it is not recomputed here). When done, a link offers
        the files as one zip (Voila users cannot reach the server's folder).

        Returns
        -------
        list of Path
            Files written (empty if the export was refused, cancelled, or still runs in the
            background; the status line says which; :attr:`last_export` has them after).
        """
        out = Path(out_dir) if out_dir is not None else self.root / "reports"
        forecast, case = self.forecast, self.whatif.case()
        force = self.replace_exports.value
        tornado = self.sensitivity_panel.is_current(self._inputs_key())

        def work(progress: Callable[..., None]) -> tuple[list[Path], str]:
            written = export_charts(forecast, out, list(formats), case=case, force=force,
                                    sensitivity=tornado, progress=progress)
            stem = written[-1].name.removesuffix("-manifest.json")
            return written, download_link(written, f"{stem}-charts.zip")

        if self.export_job.running:
            self._set_status("An export is under way: wait for it, or press Cancel.")
            return []
        self.last_export = []
        self.download.value = ""
        self._set_status(f"Exporting charts to {out} ...")
        self.export_job.start(work, lambda result, error: self._exported(out, result, error))
        return self.last_export

    def _exported(self, out: Path, result: Any, error: BaseException | None) -> None:
        if isinstance(error, Cancelled):
            self._set_status(f"Export cancelled at {self.export_job.step or 'the start'}: the "
                             "files written are complete, and exporting again finishes the "
                             "set.", error=True)
            return
        if isinstance(error, CaseError):
            hint = ("" if self.replace_exports.value else " Tick 'replace files of another "
                    "run' to overwrite them, or export elsewhere.")
            self._set_status(f"Export refused: {error}{hint}", error=True)
            return
        if isinstance(error, OSError):
            self._set_status(f"Export failed: cannot write to {out} ({error}). Export "
                             "elsewhere, or free space / fix permissions.", error=True)
            return
        if error is not None:
            self._set_status(f"Export failed ({type(error).__name__}: {error}).", error=True)
            return
        written, link = result
        self.last_export = written
        self.download.value = link
        names = ", ".join(p.name for p in written)
        changed = self.files_changed()
        note = (f" Note: {', '.join(changed)} changed on disk since the dashboard loaded "
                "them, and these charts use the files as loaded; press Reload files to use "
                "the new version." if changed else "")
        self._set_status(f"Exported {len(written)} files to {out}: {names}.{note}",
                         error=bool(changed))

    def save_priors(self) -> list[str]:
        """Write the slider weights and edited intervals back to ``priors/<case>.yaml``.

        Returns
        -------
        list of str
            The values changed (empty when nothing changed or the save was refused).
        """
        case = self.whatif.base
        weights = {sid: float(s.value) for sid, s in self.weight_sliders.items()}
        try:
            saved = save_priors(self.root, case.name, weights, self.whatif.edited_intervals(),
                                expected_sha256=case.input_hashes.get(
                                    case.paths.shown(case.paths.priors)))
        except CaseError as exc:
            self._set_status(f"Priors not saved: {exc}", error=True)
            return []
        if not saved.changes:
            self._set_status("Priors unchanged: nothing to save.")
            return []
        self.whatif.rebase(load_case(self.root, case.name))
        self.refresh()
        self._set_status(f"Saved {len(saved.changes)} change(s) to {saved.path.name}; "
                         f"previous file kept as {saved.backup.name if saved.backup else '-'}: "
                         + "; ".join(saved.changes))
        return saved.changes
