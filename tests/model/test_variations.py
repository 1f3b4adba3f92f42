import pytest

from toolkit.core.errors import CaseError
from toolkit.families import family_for
from toolkit.model.variations import SPAN, quantities, value_of, vary


def test_vary_changes_exactly_the_named_numbers(bundled_case) -> None:
    changed = vary(bundled_case, {"scenarios.drift.weight": 0.4,
                                  "expectations.drone_supply.drift.high": 123.0,
                                  "bounds.chance": 0.25})
    assert value_of(changed, "scenarios.drift.weight") == 0.4
    assert changed.priors.expectations["drone_supply"]["drift"].high == 123.0
    assert changed.priors.bounds.chance == 0.25
    assert changed.priors.expectations["drone_supply"]["transactional"] \
        == bundled_case.priors.expectations["drone_supply"]["transactional"]
    assert bundled_case.priors.scenarios[2].weight == 0.25  # the original is untouched
    assert vary(bundled_case, {}) is bundled_case


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"scenarios.nope.weight": 1}, "scenarios.nope.weight", "use one of: defense_partnership"),
    ({"title": 3}, "title", "is not a number"),
    ({"expectations.drone_supply.drift.low": 1e9}, "expectations.drone_supply.drift",
     "must be below high"),
    ({"expectations.diplomatic_alignment.drift.high": 1.5},
     "expectations.diplomatic_alignment.drift.high", "strictly inside (0, 1)"),
    ({"scenarios.drift.weight": -1}, "scenarios.2.weight", "greater than or equal to 0"),
    ({"expectations.drone_supply.drift.path.0.low": 1},
     "expectations.drone_supply.drift.path.0.low",
     "'path' is not in the priors here"),
])
def test_bad_changes_name_the_path(bundled_case, changes, field, words) -> None:
    with pytest.raises(CaseError) as caught:
        vary(bundled_case, changes)
    problem = caught.value.problems[0]
    assert problem.file == "priors/russia-iran.yaml"
    assert problem.field == field
    assert words in str(problem)
    assert problem.fix


def test_quantities_cover_every_weight_and_interval_bound(bundled_case) -> None:
    found = quantities(bundled_case)
    priors = bundled_case.priors
    bounds = sum(2 for by in priors.expectations.values() for e in by.values()
                 if e.low is not None)
    assert len(found) == len(priors.scenarios) + bounds
    weight = next(q for q in found if q.path == "scenarios.transactional.weight")
    assert (weight.low, weight.value, weight.high) == (0.25, 0.5, 1.0)
    for q in found:
        assert q.low < q.value < q.high
        if q.role == "bound" and q.path.endswith(".low"):
            assert q.high < value_of(bundled_case, q.path[:-4] + ".high")
        if q.role == "bound" and q.path.endswith(".high"):
            assert q.low > value_of(bundled_case, q.path[:-5] + ".low")


def test_a_doubled_low_stops_short_of_its_high(bundled_case) -> None:
    case = vary(bundled_case, {"expectations.drone_supply.drift.low": 200.0})  # high is 250
    q = next(q for q in quantities(case) if q.path == "expectations.drone_supply.drift.low")
    assert q.high == pytest.approx(250 / 1.01)
    assert q.low == 100.0


def test_shares_move_by_their_odds() -> None:
    family = family_for("signal")
    assert family.scale_bound(0.9, SPAN) == pytest.approx(18 / 19)
    assert family.scale_bound(0.5, 1 / SPAN) == pytest.approx(1 / 3)
    assert family_for("count").scale_bound(6.0, SPAN) == 12.0
