"""Backtests: scores on hand-computed examples, replay by as-of date, rolling mode, CLI, charts."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from toolkit.inference.predictive import forecast_questions
from toolkit.model.questions import load_questions
from toolkit.outputs.backtest import (
    add_month,
    backtest,
    brier,
    calibration_table,
    log_score,
    rolling_backtest,
    rolling_dates,
)
from toolkit.outputs.charts.questions import calibration_chart, question_paths_chart
from toolkit.outputs.report import export_question_charts
from toolkit.outputs.tasks import Runner
from toolkit.ui.cli import main

AS_OF = dt.date(2023, 7, 1)


@pytest.fixture(scope="module")
def questions(bundled_case):
    return load_questions(bundled_case)


@pytest.fixture(scope="module")
def result(bundled_case, questions):
    return backtest(bundled_case, questions, AS_OF)


def test_scores_by_hand():
    assert brier(0.8, 1) == pytest.approx(0.04)
    assert brier(0.8, 0) == pytest.approx(0.64)
    assert brier(0.5, 0) == brier(0.5, 1) == 0.25
    assert log_score(0.8, 1) == pytest.approx(-0.22314355)
    assert log_score(0.8, 0) == pytest.approx(-1.60943791)
    assert log_score(0.5, 1) == pytest.approx(-0.69314718)
    assert log_score(1.0, 0) == pytest.approx(math.log(1e-6))
    assert log_score(0.0, 0) == pytest.approx(math.log(1 - 1e-6))


def test_calibration_counts_by_hand():
    table = calibration_table([0.05, 0.15, 0.12, 0.95, 1.0, 0.5, 0.55], [0, 0, 1, 1, 1, 0, 1])
    assert [row["count"] for row in table] == [1, 2, 0, 0, 0, 2, 0, 0, 0, 2]
    assert [row["yes"] for row in table] == [0, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert table[1]["mean_forecast"] == pytest.approx(0.135)
    assert table[1]["observed_frequency"] == pytest.approx(0.5)
    assert table[9]["mean_forecast"] == pytest.approx(0.975)
    assert table[2]["mean_forecast"] is None and table[2]["observed_frequency"] is None
    assert (table[0]["low"], table[0]["high"]) == (0.0, 0.1)
    assert sum(row["count"] for row in calibration_table([], [])) == 0


def test_backtest_replays_only_earlier_evidence(result, bundled_case):
    assert result.forecast.item_ids == [f"E{i:02d}" for i in range(1, 14)]
    assert all(item.reported_on <= AS_OF for item in result.forecast.items)
    assert result.forecast.excluded["after_as_of"] == ["E14", "E15", "E16", "E17"]
    later = backtest(bundled_case, load_questions(bundled_case), dt.date(2023, 9, 1))
    assert len(later.forecast.items) == 15  # E04 and E05 are read with E16
    assert later.results[0].probability != pytest.approx(result.results[0].probability)


def test_backtest_scores_resolved_questions(result, questions):
    scored = [r for r in result.results if r.scored]
    assert [r.question.id for r in scored] == [q.id for q in questions.questions if q.resolved]
    assert {r.status for r in result.results if not r.scored} == {"open"}
    for r in scored:
        o = r.question.outcome
        s = r.scores()
        assert s["brier"] == pytest.approx((r.probability - o) ** 2)
        assert s["log"] == pytest.approx(math.log(r.probability if o else 1 - r.probability))
        assert s["brier_50"] == 0.25 and s["log_50"] == pytest.approx(math.log(0.5))
        assert s["brier_prior"] == pytest.approx((r.prior.probability - o) ** 2)
    summary = result.summary
    assert summary["scored"] == len(scored) == 5 and summary["questions"] == 8
    assert summary["mean_brier"] == pytest.approx(np.mean([r.scores()["brier"] for r in scored]))
    assert summary["mean_log_prior"] == pytest.approx(
        np.mean([r.scores()["log_prior"] for r in scored]))
    assert summary["brier_skill_vs_50"] == pytest.approx(1 - summary["mean_brier"] / 0.25)
    # measured on the bundled case (lower bounds read as anchored): the evidence up to
    # mid-2023 beats both baselines
    assert summary["mean_brier"] == pytest.approx(0.0827, abs=5e-4)
    assert summary["mean_brier"] < summary["mean_brier_prior"] < summary["mean_brier_50"]
    assert sum(row["count"] for row in result.calibration) == 5


def test_question_resolved_before_as_of_is_not_scored(bundled_case, questions):
    late = backtest(bundled_case, questions, dt.date(2023, 8, 1))
    status = {r.question.id: r.status for r in late.results}
    assert status["eu_framework_2023"] == "resolved on or before the as-of date (not a forecast)"
    assert status["adv_arms_2024"] == "scored"
    assert late.summary["scored"] == 4


def test_prior_baseline_is_the_forecast_without_evidence(bundled_case, questions, result):
    empty = backtest(bundled_case, questions, dt.date(2000, 1, 1))
    assert empty.forecast.items == []
    prior = forecast_questions(bundled_case, questions, None)
    for r, e in zip(result.results, empty.results, strict=True):
        assert e.probability == pytest.approx(e.prior.probability, abs=1e-12)
        assert r.prior.probability == pytest.approx(prior[r.question.id].probability)


def test_rolling_steps_monthly_and_matches_single_backtests(bundled_case, questions):
    assert add_month(dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)
    assert add_month(dt.date(2024, 12, 15)) == dt.date(2025, 1, 15)
    assert add_month(dt.date(2024, 1, 31), 14) == dt.date(2025, 3, 31)
    month_ends = rolling_dates(questions, dt.date(2024, 1, 31), dt.date(2024, 5, 1))
    assert month_ends == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31),
                          dt.date(2024, 4, 30)]  # each from the start: no drift to the 28th
    dates = rolling_dates(questions, dt.date(2023, 7, 1), dt.date(2023, 12, 1))
    assert dates == [dt.date(2023, m, 1) for m in range(7, 13)]
    assert rolling_dates(questions)[0] == dt.date(2023, 7, 1)
    rolling = rolling_backtest(bundled_case, questions, dt.date(2023, 7, 1), dt.date(2023, 10, 1))
    series = rolling.series()
    assert [d for d, _ in series["adv_arms_2024"]] == [dt.date(2023, m, 1) for m in (7, 8, 9, 10)]
    single = backtest(bundled_case, questions, dt.date(2023, 9, 1))
    assert series["adv_arms_2024"][2][1] == pytest.approx(single.results[0].probability)
    as_dict = rolling.to_dict()
    assert as_dict["as_of"] == ["2023-07-01", "2023-08-01", "2023-09-01", "2023-10-01"]
    assert len(as_dict["questions"][0]["probabilities"]) == 4


def test_a_rolling_backtest_on_a_local_cluster_gives_the_serial_numbers(bundled_case,
                                                                        questions):
    serial = rolling_backtest(bundled_case, questions, dt.date(2023, 7, 1), dt.date(2023, 10, 1))
    days = []
    with Runner("local", workers=2, progress=lambda n, m: days.append(m)) as runner:
        distributed = rolling_backtest(bundled_case, questions, dt.date(2023, 7, 1),
                                       dt.date(2023, 10, 1), runner=runner)
    assert distributed.to_dict() == serial.to_dict()
    assert days == [4, 4, 4, 4]


def test_cli_scheduler_needs_rolling(repo_root):
    out = CliRunner().invoke(main, ["backtest", "russia-iran", "--scheduler", "local",
                                    "--root", str(repo_root)])
    assert out.exit_code == 2
    assert "--scheduler applies only with --rolling" in out.output


def test_cli_backtest_json(repo_root):
    out = CliRunner().invoke(main, ["backtest", "russia-iran", "--as-of", "2023-07-01",
                                    "--json", "--root", str(repo_root)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["as_of"] == "2023-07-01" and data["engine"] == "exact"
    assert len(data["questions"]) == 8
    first = data["questions"][0]
    assert set(first["scores"]) == {"brier", "log", "brier_50", "log_50", "brier_prior",
                                    "log_prior"}
    assert 0 <= first["probability"] <= 1
    assert data["summary"]["scored"] == 5
    assert [row["count"] for row in data["calibration"]] == [0, 0, 0, 0, 0, 0, 1, 0, 2, 2]


def test_cli_backtest_table_and_rolling(repo_root, tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["backtest", "russia-iran", "--as-of", "2023-07-01",
                               "--root", str(repo_root)])
    assert out.exit_code == 0, out.output
    assert "prior alone" in out.stdout and "50% always" in out.stdout
    assert "adv_arms_2024" in out.stdout and "Calibration" in out.stdout
    out = runner.invoke(main, ["backtest", "russia-iran", "--rolling", "--as-of", "2023-07-01",
                               "--until", "2023-09-01", "--root", str(repo_root),
                               "--charts", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "3 monthly as-of dates" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "russia-iran-2023-07-01-2023-09-01-question-paths.png",
        "russia-iran-2023-07-01-2023-09-01-question-paths.svg",
        "russia-iran-2023-09-01-calibration.png",
        "russia-iran-2023-09-01-calibration.svg",
        "russia-iran-2023-09-01-manifest.json",  # which run wrote them (the report's guard)
    ]


def test_calibration_chart_shows_counts(result):
    figure = calibration_chart(result)
    points, counts = figure.axes[0], figure.axes[1]
    heights = [bar.get_height() for bar in counts.patches]
    assert heights == [row["count"] for row in result.calibration]
    offsets = points.collections[0].get_offsets()
    filled = [row for row in result.calibration if row["count"]]
    np.testing.assert_allclose(offsets[:, 0], [row["mean_forecast"] for row in filled])
    np.testing.assert_allclose(offsets[:, 1], [row["observed_frequency"] for row in filled])
    labels = [t.get_text() for t in points.texts]
    assert labels == [f"n={row['count']}" for row in filled]


def test_paths_chart_marks_resolutions(bundled_case, questions, tmp_path):
    rolling = rolling_backtest(bundled_case, questions, dt.date(2023, 7, 1), dt.date(2023, 9, 1))
    figure = question_paths_chart(rolling)
    axis = figure.axes[0]
    lines = [line for line in axis.get_lines() if str(line.get_gid()).startswith("path-")]
    assert len(lines) == len(questions.questions)
    series = rolling.series()
    for line, q in zip(lines, questions.questions, strict=True):
        np.testing.assert_allclose(line.get_ydata(), [p for _, p in series[q.id]])
    stars = [c.get_offsets()[0] for c in axis.collections]
    assert sorted(float(s[1]) for s in stars) == sorted(
        float(q.outcome) for q in questions.questions if q.resolved)
    written = export_question_charts(rolling, tmp_path, ["svg"], questions.path)
    assert [p.suffix for p in written] == [".svg", ".svg", ".json"]  # the manifest last


def test_backtest_charts_never_silently_replace_another_runs_files(case_root, repo_root,
                                                                   tmp_path):
    (case_root / "questions").mkdir()
    shutil.copy(repo_root / "questions" / "russia-iran.yaml", case_root / "questions")
    out = tmp_path / "charts"
    args = ["backtest", "russia-iran", "--root", str(case_root), "--as-of", "2023-07-01",
            "--charts", str(out)]
    report = CliRunner().invoke(main, ["report", "russia-iran", "--root", str(case_root),
                                       "--out", str(out), "--as-of", "2023-07-01", "--format",
                                       "svg", "--seed", "9", "--no-sensitivity"])
    assert report.exit_code == 0, report.output
    calibration = out / "russia-iran-2023-07-01-calibration.svg"
    before = calibration.read_bytes()
    refused = CliRunner().invoke(main, args)  # another run (seed) than the report's
    assert refused.exit_code == 2 and "--force" in refused.output
    assert calibration.read_bytes() == before
    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    manifest = json.loads((out / "russia-iran-2023-07-01-manifest.json").read_text())
    assert manifest["fingerprint"]["seed"] != 9 and calibration.name in manifest["files"]
    again = CliRunner().invoke(main, args)  # the same run again: fine
    assert again.exit_code == 0, again.output
