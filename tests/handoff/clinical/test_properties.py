"""Property tests: NEWS2 is a sum of its parts; validation never raises on any JSON input."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.clinical import (
    ALLOWED_FIELDS,
    ActivationContext,
    news2,
    team_activation_proposals,
    validate_vitals,
    vitals_trend,
)

# No timing assertions in tests (STYLE.md): a loaded CI box must not fail a property. Set
# per test rather than as a loaded profile, which would leak into other apps' tests.
PROPERTY = settings(deadline=None, max_examples=200)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def number(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high) | st.floats(low, high, allow_nan=False)


in_range_vitals = st.fixed_dictionaries(
    {},
    optional={
        "respiratory_rate": maybe(number(0, 100)),
        "spo2": maybe(number(0, 100)),
        "on_oxygen": maybe(st.booleans()),
        "systolic_bp": maybe(number(0, 350)),
        "heart_rate": maybe(number(0, 300)),
        "avpu": maybe(st.sampled_from(["A", "V", "P", "U", "a", "v"])),
        "new_confusion": maybe(st.booleans()),
        "temperature": maybe(number(20, 45)),
        "spo2_scale": st.sampled_from([1, 2]),
    },
)


@PROPERTY
@given(vitals=in_range_vitals, scale=st.sampled_from([None, 1, 2]))
def test_news2_total_is_the_sum_of_its_components_and_never_raises(
    vitals: dict[str, object], scale: int | None
) -> None:
    result = news2(vitals, spo2_scale=scale)
    assert result.total == sum(result.components.values())
    assert all(0 <= points <= 3 for points in result.components.values())
    assert result.any_single_3 == (3 in result.components.values())
    assert result.complete == (not result.missing and not result.unscored)
    named = set(result.components) | set(result.missing) | set(result.unscored)
    assert len(named) == len(result.components) + len(result.missing) + len(result.unscored) == 7
    expected_risk = (
        "high"
        if result.total >= 7
        else "medium"
        if result.total >= 5
        else "low-medium"
        if result.any_single_3
        else "low"
    )
    assert result.risk == expected_risk


@PROPERTY
@given(vitals=in_range_vitals)
def test_an_incomplete_news2_is_a_lower_bound(vitals: dict[str, object]) -> None:
    fuller = news2(vitals)
    # spo2_scale is a choice of chart, not a measurement; every other key is an input.
    for key in set(vitals) - {"spo2_scale"}:
        partial = news2({k: v for k, v in vitals.items() if k != key})
        assert partial.total <= fuller.total


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63, 1e308, -0.0, 5e-324])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(sorted(ALLOWED_FIELDS)) | st.text(max_size=12)
unit_like = st.sampled_from(
    ["mg/dL", "mmol/L", "mmHg", "mm[Hg]", "kPa", "%", "RACE", "LAMS", "VAN"]
)
vitals_like = st.dictionaries(field_names, json_values | unit_like, max_size=12)


@PROPERTY
@given(data=vitals_like | json_values)
def test_validate_vitals_never_raises_and_keeps_errors_and_values_apart(data: object) -> None:
    check = validate_vitals(data)
    assert set(check.values).isdisjoint(check.errors)
    assert set(check.values) <= ALLOWED_FIELDS
    assert all(isinstance(message, str) and message for message in check.errors.values())
    assert all(f.field in ALLOWED_FIELDS for f in check.flags)


@PROPERTY
@given(data=vitals_like)
def test_whatever_validation_accepts_every_score_can_use(data: dict[str, object]) -> None:
    values = validate_vitals(data).values
    news2(values)
    vitals_trend(values, values)
    team_activation_proposals(
        ActivationContext(vitals=values, injured=True, suspected_infection=True)
    )


@PROPERTY
@given(data=vitals_like)
def test_accepted_values_revalidate_unchanged(data: dict[str, object]) -> None:
    first = validate_vitals(data)
    second = validate_vitals(first.values)
    assert second.errors == {}
    assert second.values == first.values
