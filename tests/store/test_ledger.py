"""Evidence add / retract: validated against the whole case, atomic, byte-exact elsewhere."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.store.ledger import append_item, retract_item
from toolkit.ui.cli import main

GOOD = {
    "--id": "E18", "--reported-on": "2023-10-02", "--period-start": "2023-09-01",
    "--period-end": "2023-09-30", "--indicator": "drone_supply", "--value": "100-400",
    "--unit": "drones", "--source": "G02", "--reliability": "C3",
}


def ledger(root: Path) -> Path:
    return root / "evidence" / "russia-iran.csv"


def add(root: Path, **changes: str):
    options = GOOD | {f"--{k.replace('_', '-')}": v for k, v in changes.items()}
    args = ["evidence", "add", "russia-iran", "--root", str(root)]
    for key, value in options.items():
        args += [key, value]
    return CliRunner().invoke(main, args)


def test_add_appends_one_valid_row(case_root: Path) -> None:
    before = ledger(case_root).read_bytes()
    result = add(case_root, note="<script>alert(1)</script>, with a comma")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Added E18 (drone_supply = 100-400 drones, reliability 0.42)")
    after = ledger(case_root).read_bytes()
    assert after.startswith(before)
    added = after[len(before):].decode("utf-8")
    assert added == ("E18,2023-10-02,2023-09-01,2023-09-30,drone_supply,100-400,drones,G02,C3,"
                     "active,\"<script>alert(1)</script>, with a comma\"\n")
    case = load_case(case_root, "russia-iran")
    item = next(i for i in case.evidence if i.id == "E18")
    assert item.note == "<script>alert(1)</script>, with a comma"
    assert "E18" in run_forecast(case).item_ids
    assert not [p for p in ledger(case_root).parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "E08"}, "id: duplicate evidence id 'E08' (first on line 9)"),
        ({"indicator": "drone_suply"}, "indicator: unknown indicator 'drone_suply'"),
        ({"reliability": "G7"}, "reliability: unknown reliability grade 'G7'"),
        ({"value": "-5"}, "value: '-5' is negative; a count cannot be negative"),
        ({"source": "G99"}, "source: cites unknown source claim 'G99'"),
        ({"period_end": "2023-08-01"}, "period_end: 2023-08-01 is before period_start"),
        ({"unit": "tonnes"}, "unit: unit 'tonnes' does not fit drone_supply"),
    ],
)
def test_refused_add_leaves_the_file_byte_for_byte(case_root: Path, changes, message) -> None:
    before = ledger(case_root).read_bytes()
    result = add(case_root, **changes)
    assert result.exit_code == 2
    assert f"evidence/russia-iran.csv:19: {message}" in result.stderr
    assert "Traceback" not in result.output
    assert ledger(case_root).read_bytes() == before
    assert sorted(p.name for p in ledger(case_root).parent.iterdir()) == ["russia-iran.csv"]


def test_bad_date_option_is_a_usage_error(case_root: Path) -> None:
    before = ledger(case_root).read_bytes()
    result = add(case_root, reported_on="2023-02-30")
    assert result.exit_code == 2
    assert ledger(case_root).read_bytes() == before


def test_add_to_a_file_without_final_newline(case_root: Path) -> None:
    path = ledger(case_root)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    item = append_item(case_root, "russia-iran", {k[2:].replace("-", "_"): v
                                                  for k, v in GOOD.items()})
    assert item.id == "E18" and item.line == 19
    assert len(load_case(case_root, "russia-iran").evidence) == 18


def test_a_crash_while_writing_leaves_the_old_file(case_root: Path, monkeypatch) -> None:
    before = ledger(case_root).read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        append_item(case_root, "russia-iran", {k[2:].replace("-", "_"): v
                                               for k, v in GOOD.items()})
    assert ledger(case_root).read_bytes() == before
    assert sorted(p.name for p in ledger(case_root).parent.iterdir()) == ["russia-iran.csv"]


def test_retract_rewrites_only_that_row(case_root: Path) -> None:
    before = ledger(case_root).read_bytes().split(b"\n")
    result = CliRunner().invoke(main, ["evidence", "retract", "russia-iran", "E04", "--root",
                                       str(case_root)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Retracted E04; it no longer counts in forecasts."
    after = ledger(case_root).read_bytes().split(b"\n")
    assert len(after) == len(before)
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [4]
    row = next(csv.reader(io.StringIO(after[4].decode("utf-8"))))
    old = next(csv.reader(io.StringIO(before[4].decode("utf-8"))))
    assert row[:9] == old[:9] and row[10:] == old[10:]
    assert (old[9], row[9]) == ("active", "retracted")

    case = load_case(case_root, "russia-iran")
    forecast = run_forecast(case)
    assert "E04" not in forecast.item_ids
    assert forecast.excluded["retracted"] == ["E04"]
    # the same as never having had the row
    lines = ledger(case_root).read_bytes().split(b"\n")
    ledger(case_root).write_bytes(b"\n".join(lines[:4] + lines[5:]))
    without = run_forecast(load_case(case_root, "russia-iran"))
    assert forecast.probabilities == pytest.approx(without.probabilities, abs=1e-12)


def test_retract_with_reason_and_crlf(case_root: Path) -> None:
    path = ledger(case_root)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    before = path.read_bytes().split(b"\r\n")
    item = retract_item(case_root, "russia-iran", "E10", reason="AIS data misread")
    assert item.status == "retracted"
    after = path.read_bytes().split(b"\r\n")
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [10]
    assert after[10].decode("utf-8").endswith(": AIS data misread]")
    assert b"\n" not in after[10]


def test_retract_refusals(case_root: Path) -> None:
    before = ledger(case_root).read_bytes()
    runner = CliRunner()
    unknown = runner.invoke(main, ["evidence", "retract", "russia-iran", "E99", "--root",
                                   str(case_root)])
    assert unknown.exit_code == 2
    assert "no evidence item 'E99'" in unknown.stderr
    assert ledger(case_root).read_bytes() == before
    retract_item(case_root, "russia-iran", "E01")
    once = ledger(case_root).read_bytes()
    again = runner.invoke(main, ["evidence", "retract", "russia-iran", "E01", "--root",
                                 str(case_root)])
    assert again.exit_code == 2
    assert "evidence/russia-iran.csv:2: status: E01 is already retracted" in again.stderr
    assert ledger(case_root).read_bytes() == once


def test_changes_to_a_broken_case_are_refused(case_root: Path) -> None:
    priors = case_root / "priors" / "russia-iran.yaml"
    priors.write_text(priors.read_text(encoding="utf-8").replace("weight: 0.25", "weight: -1", 1),
                      encoding="utf-8")
    before = ledger(case_root).read_bytes()
    with pytest.raises(CaseError):
        append_item(case_root, "russia-iran", {k[2:].replace("-", "_"): v
                                               for k, v in GOOD.items()})
    with pytest.raises(CaseError):
        retract_item(case_root, "russia-iran", "E04")
    assert ledger(case_root).read_bytes() == before


def test_retract_and_add_keep_a_byte_order_mark(case_root: Path) -> None:
    path = ledger(case_root)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    before = path.read_bytes().split(b"\n")
    retract_item(case_root, "russia-iran", "E12")
    after = path.read_bytes().split(b"\n")
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [12]
    grown = path.read_bytes()
    result = add(case_root)
    assert result.exit_code == 0
    assert path.read_bytes().startswith(grown)


def test_retract_after_a_note_with_a_unicode_line_separator(case_root: Path) -> None:
    # U+2028 arrives with text pasted from web pages; it is not a CSV line break
    path = ledger(case_root)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "Zelenskyy's tally", "Zelenskyy\u2028tally"), encoding="utf-8")
    before = path.read_bytes().split(b"\n")
    retract_item(case_root, "russia-iran", "E08")
    after = path.read_bytes().split(b"\n")
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [8]
    statuses = {i.id: i.status for i in load_case(case_root, "russia-iran").evidence}
    assert statuses["E08"] == "retracted" and statuses["E05"] == "active"


def test_an_unclosed_quote_is_named_not_swallowing_later_rows(case_root: Path) -> None:
    path = ledger(case_root)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[15] = lines[15].replace(",B2,active,", ",B2,active,\"an unclosed note ", 1)
    path.write_text("".join(lines), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(CaseError) as caught:
        load_case(case_root, "russia-iran")
    message = str(caught.value)
    assert "evidence/russia-iran.csv:16: a quote (\") opens here and is never closed" in message
    assert "Fix: close the quote" in message
    result = add(case_root)
    assert result.exit_code == 2 and "never closed" in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


def test_an_unclosed_quote_in_the_last_row_is_named(case_root: Path) -> None:
    path = ledger(case_root)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + 'E99,2023-09-02,2023-09-01,2023-09-01,drone_supply,5,drones,G02,B2,'
                    'active,"no closing quote\n', encoding="utf-8")
    with pytest.raises(CaseError) as caught:
        load_case(case_root, "russia-iran")
    assert "evidence/russia-iran.csv:19: a quote (\") opens here and is never closed" \
        in str(caught.value)
    assert "unexpected end of data" in str(caught.value)


def test_an_add_writes_through_a_symlinked_ledger(case_root: Path) -> None:
    path = ledger(case_root)
    real = case_root / "shared" / "russia-iran.csv"
    real.parent.mkdir()
    path.rename(real)
    path.symlink_to(real)
    assert add(case_root).exit_code == 0
    assert path.is_symlink() and path.resolve() == real.resolve()
    assert real.read_text(encoding="utf-8").splitlines()[-1].startswith("E18,")


def test_an_add_to_a_crlf_ledger_keeps_crlf(case_root: Path) -> None:
    path = ledger(case_root)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert add(case_root, note="two\nlines").exit_code == 0
    data = path.read_bytes()
    rows = data.split(b"\r\n")
    assert rows[-1] == b"" and rows[-2].startswith(b"E18,") and rows[-2].endswith(b'"')
    assert data.count(b"\n") == data.count(b"\r\n") + 1  # only the quoted note's own newline
    assert "E18" in {i.id for i in load_case(case_root, "russia-iran").evidence}
