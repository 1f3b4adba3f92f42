"""The dashboard's files: exporting the charts, saving the edited priors, reloading.

:class:`FileActions` is mixed into :class:`toolkit.ui.dashboard.app.Dashboard`; it reads the
dashboard's state (root, forecast, what-if edits, sliders) and reports on its status line.
The case files may change on disk while the dashboard is open (an evidence add, another
save): every action compares them with what was loaded; a save over a changed priors file is
refused, an export says the files changed, and *Reload files* reads them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import ipywidgets as w

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.outputs.report import export_charts
from toolkit.store.priors_edit import save_priors
from toolkit.ui.dashboard.whatif import WhatIf

EXPORT_FORMATS = ("png", "svg", "pdf")


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
        return w.HBox([self.export_button, self.replace_exports, self.save_button,
                       self.reload_button])

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

        The tornado chart is included when the "What would change it" panel holds an
        analysis of the current inputs (it is not recomputed here).

        Returns
        -------
        list of Path
            Files written (empty if the export was refused; the status line says why).
        """
        out = Path(out_dir) if out_dir is not None else self.root / "reports"
        self._set_status(f"Exporting charts to {out} ...")
        try:
            written = export_charts(
                self.forecast, out, list(formats), case=self.whatif.case(),
                force=self.replace_exports.value,
                sensitivity=self.sensitivity_panel.is_current(self._inputs_key()))
        except (CaseError, OSError) as exc:
            hint = ("" if self.replace_exports.value else " Tick 'replace files of another "
                    "run' to overwrite them, or export elsewhere.")
            self._set_status(f"Export refused: {exc}{hint}", error=True)
            return []
        self.last_export = written
        names = ", ".join(p.name for p in written)
        changed = self.files_changed()
        note = (f" Note: {', '.join(changed)} changed on disk since the dashboard loaded "
                "them, and these charts use the files as loaded; press Reload files to use "
                "the new version." if changed else "")
        self._set_status(f"Exported {len(written)} files to {out}: {names}.{note}",
                         error=bool(changed))
        return written

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
