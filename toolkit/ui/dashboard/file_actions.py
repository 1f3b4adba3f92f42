"""The dashboard's writes: exporting the charts and saving the edited priors back.

:class:`FileActions` is mixed into :class:`toolkit.ui.dashboard.app.Dashboard`; it reads the
dashboard's state (root, forecast, what-if edits, sliders) and reports on its status line.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.outputs.report import export_charts
from toolkit.store.priors_edit import save_priors

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
        self._set_status(f"Exported {len(written)} files to {out}: {names}")
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
            saved = save_priors(self.root, case.name, weights, self.whatif.edited_intervals())
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
