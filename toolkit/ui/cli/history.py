"""``scenarios history``: how the saved forecasts of a case moved across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from toolkit.core.errors import CaseError, Problem
from toolkit.core.jsonio import dumps
from toolkit.outputs.language import percent, percent_range
from toolkit.store.history import history_path, read_history
from toolkit.store.runs import list_runs, load_run, reconcile_history
from toolkit.ui.cli.common import main, resolve_root, root_option, user_errors


@main.command("history")
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--run", "run_id", default=None,
              help="Show one saved run and whether its inputs changed since.")
@root_option
@user_errors
def history_command(case: str, as_json: bool, run_id: str | None, root: Path | None) -> None:
    """Show how the saved forecasts of CASE moved across runs (oldest first)."""
    root = resolve_root(root)
    if run_id is not None:
        _show_run(root, case, run_id, as_json)
        return
    if list_runs(root, case):  # a save killed before its history rows: record it now
        reconcile_history(root, case)
    runs = read_history(history_path(root), case)
    latest = list_runs(root, case)
    note = load_run(root, case, latest[-1]).message if latest else None
    if as_json:
        click.echo(dumps({"case": case, "runs": runs, "latest_inputs": note}, indent=2))
        return
    if not runs:
        click.echo(f"No saved forecasts for {case} yet; run 'scenarios forecast {case}'.")
        return
    click.echo(render_history(runs))
    if note:
        click.echo("")
        click.echo(f"Latest {note}.")


def render_history(runs: list[dict[str, Any]]) -> str:
    """A table: one row per run, one column per scenario, with the change from the last run."""
    ids = [s["id"] for s in runs[-1]["scenarios"]]
    width = max(9, *(len(i) for i in ids))
    head = f"{'run':<26} {'as of':<10} {'engine':<6} {'items':>5}  " + "  ".join(
        f"{i:>{width}}" for i in ids) + "  status"
    lines = [head, "-" * len(head)]
    previous: dict[str, float] = {}
    for run in runs:
        cells = []
        probs = {s["id"]: s["probability"] for s in run["scenarios"]}
        for i in ids:
            if i not in probs:
                cells.append(f"{'-':>{width}}")
                continue
            change = ""
            if i in previous:
                delta = 100 * (probs[i] - previous[i])
                change = f"({delta:+.0f})" if abs(delta) >= 0.5 else "(=)"
            cells.append(f"{percent(probs[i]) + change:>{width}}")
        status = "ok" if run["converged"] else "NOT CONVERGED"
        lines.append(f"{run['run_id']:<26} {run['as_of']:<10} {run['engine']:<6} "
                     f"{run['n_items']:>5}  " + "  ".join(cells) + f"  {status}")
        previous = probs
    lines.append("")
    lines.append("Probabilities per run; in brackets the change in points from the run above.")
    return "\n".join(lines)


def _show_run(root: Path, case: str, run_id: str, as_json: bool) -> None:
    try:
        run = load_run(root, case, run_id)
    except FileNotFoundError:
        known = ", ".join(list_runs(root, case)[-5:]) or "none"
        raise CaseError([Problem(f"runs/{case}", None, "--run", f"no saved run {run_id!r}",
                                 f"use one of the latest: {known}")]) from None
    if as_json:
        click.echo(dumps({"run": run.manifest, "forecast": run.forecast,
                               "inputs_changed": run.changed, "message": run.message},
                              indent=2))
        return
    click.echo(f"Run {run.run_id} ({run.manifest['engine']}, seed {run.manifest['seed']}, "
               f"created {run.manifest['created']}, as of {run.manifest['as_of']})")
    for scenario in run.forecast["scenarios"]:
        lo, hi = scenario["interval"]
        click.echo(f"  {scenario['label']}: {percent(scenario['probability'])} "
                   f"({percent_range(lo, hi)})")
    click.echo(run.message + ("." if not run.inputs_changed else ""))
