"""``scenarios evidence list|add|retract``: the evidence ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from toolkit.core.jsonio import dumps
from toolkit.store.ledger import append_item, retract_item
from toolkit.ui.cli.common import DATE, main, open_case, resolve_root, root_option, user_errors


@main.group("evidence")
def evidence_group() -> None:
    """List, add and retract evidence items."""


def printable(text: str) -> str:
    """``text`` with control characters (terminal escape codes) shown escaped, never run."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


@evidence_group.command("list")
@click.argument("case")
@click.option("--status", type=click.Choice(["all", "active", "retracted"]), default="all",
              show_default=True, help="Which items to show.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@root_option
@user_errors
def list_command(case: str, status: str, as_json: bool, root: Path | None) -> None:
    """List the evidence items of CASE in report order."""
    loaded = open_case(root, case)
    items = sorted(loaded.evidence, key=lambda i: (i.reported_on, i.line))
    if status != "all":
        items = [i for i in items if i.status == status]
    if as_json:
        click.echo(dumps([{
            "id": i.id, "reported_on": i.reported_on.isoformat(),
            "period_start": i.period_start.isoformat(), "period_end": i.period_end.isoformat(),
            "indicator": i.indicator, "value": i.value, "unit": i.unit, "source": i.source,
            "reliability": i.reliability_text, "weight": i.reliability, "status": i.status,
            "note": i.note,
        } for i in items], indent=2))
        return
    click.echo(f"{'id':<6} {'reported':<10} {'indicator':<24} {'value':>10} {'unit':<12} "
               f"{'rel':<4} {'status':<9} note")
    for i in items:
        click.echo(f"{i.id:<6} {i.reported_on.isoformat():<10} {i.indicator:<24} "
                   f"{i.value:>10} {i.unit:<12} {i.reliability_text:<4} {i.status:<9} "
                   f"{printable(i.note)[:60]}")
    click.echo(f"{len(items)} item(s).")


@evidence_group.command("add")
@click.argument("case")
@click.option("--id", "item_id", required=True, help="New unique item id, e.g. E18.")
@click.option("--reported-on", type=DATE, required=True, help="Date the report appeared.")
@click.option("--period-start", type=DATE, required=True, help="Start of the observed period.")
@click.option("--period-end", type=DATE, required=True, help="End of the observed period.")
@click.option("--indicator", required=True, help="Indicator id (see the priors file).")
@click.option("--value", required=True, help="Number, range 200-900, bound >=10, yes/no, k/n.")
@click.option("--unit", required=True, help="Indicator unit or a rate of it (drones/day).")
@click.option("--source", required=True, help="Claim id from seeds/<case>/.")
@click.option("--reliability", required=True, help="Admiralty grade A1-F6 or a probability.")
@click.option("--note", default="", help="Free text.")
@click.option("--echo-of", "echo_of", default="",
              help="Id of the item this row re-reports (the pair then counts once).")
@root_option
@user_errors
def add_command(
    case: str, item_id: str, reported_on: dt.date, period_start: dt.date, period_end: dt.date,
    indicator: str, value: str, unit: str, source: str, reliability: str, note: str,
    echo_of: str, root: Path | None,
) -> None:
    """Validate a new item against the whole case and append it to the ledger."""
    folder = resolve_root(root)
    item = append_item(folder, case, {
        "id": item_id, "reported_on": reported_on.isoformat(),
        "period_start": period_start.isoformat(), "period_end": period_end.isoformat(),
        "indicator": indicator, "value": value, "unit": unit, "source": source,
        "reliability": reliability, "note": note, **({"echo_of": echo_of} if echo_of else {}),
    })
    click.echo(f"Added {item.id} ({item.indicator} = {item.value} {item.unit}, reliability "
               f"{item.reliability:.2f}) to evidence/{case}.csv line {item.line}.")


@evidence_group.command("retract")
@click.argument("case")
@click.argument("item_id", metavar="ID")
@click.option("--reason", default="", help="Why; appended to the item's note.")
@root_option
@user_errors
def retract_command(case: str, item_id: str, reason: str, root: Path | None) -> None:
    """Mark item ID of CASE as retracted (items are never deleted)."""
    item = retract_item(resolve_root(root), case, item_id, reason)
    click.echo(f"Retracted {item.id}; it no longer counts in forecasts.")
