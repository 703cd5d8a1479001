"""Axis limits one outlier cannot set."""

from __future__ import annotations

from levers.sweeps.robust import outside, robust_limits


def test_a_diverged_job_among_four_does_not_set_the_axis():
    values = [0.25, 0.31, 0.40, 1e6]
    low, high = robust_limits(values)
    assert low < 0.25 and 0.40 < high < 1.0
    assert outside(values, (low, high)) == [3]


def test_without_outliers_the_axis_holds_every_value():
    values = [2.3, 1.1, 0.7, 0.5, 0.45]
    low, high = robust_limits(values)
    assert low < 0.45 and high > 2.3 and outside(values, (low, high)) == []


def test_kept_values_widen_the_axis_even_when_they_look_like_outliers():
    low, high = robust_limits([0.5, 0.51, 0.52, 0.53], keep=[0.05])
    assert low < 0.05 and high > 0.53


def test_nan_and_inf_are_ignored_and_no_data_gives_a_unit_axis():
    assert robust_limits([float("nan"), float("inf")]) == (0.0, 1.0)
    assert robust_limits([float("nan"), 1.0, 1.0])[0] < 1.0 < robust_limits([1.0, 1.0])[1]
