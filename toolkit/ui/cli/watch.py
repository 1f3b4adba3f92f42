"""``scenarios watch``: rank a case's indicators by what observing them next would tell."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from toolkit.core.jsonio import dumps
from toolkit.ui.cli.common import DATE, main, open_case, root_option, user_errors


@main.command("watch")
@click.argument("case")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--months", type=click.FloatRange(min=0.1, max=60), default=3.0,
              show_default=True, help="Length of the next observation window in months.")
@click.option("--signals", type=click.IntRange(min=1, max=500), default=3, show_default=True,
              help="Signals expected in the window for signal indicators.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@root_option
@user_errors
def watch_command(case: str, as_of: dt.date | None, months: float, signals: int,
                  as_json: bool, root: Path | None) -> None:
    """Rank CASE's indicators by how much observing them next is expected to tell."""
    from toolkit.outputs.watch import watch

    loaded = open_case(root, case)
    forecast, entries = watch(loaded, as_of, months=months, signals=signals)
    if as_json:
        click.echo(dumps({
            "case": loaded.name, "as_of": forecast.as_of.isoformat(), "months": months,
            "signals": signals, "current_entropy_bits": entries[0].current_entropy_bits,
            "scenarios": dict(zip(forecast.scenario_ids, map(float, forecast.probabilities),
                                  strict=True)),
            "indicators": [e.to_dict() for e in entries],
        }, indent=2))
        return
    lines = [f"What to watch next in {loaded.name} (as of {forecast.as_of.isoformat()}): "
             f"expected reduction in the entropy of the scenario probabilities from observing "
             f"each indicator's total over the next {months:g} months.",
             f"Current entropy: {entries[0].current_entropy_bits:.3f} bits.", ""]
    width = max(len(e.label) for e in entries)
    lines.append(f"  {'#':>2}  {'Indicator':<{width}}  {'bits':>6}  {'share':>6}")
    for rank, e in enumerate(entries, 1):
        lines.append(f"  {rank:>2}  {e.label:<{width}}  {e.reduction_bits:>6.3f}  "
                     f"{e.share:>6.1%}")
    click.echo("\n".join(lines))
