import math

import pytest

from termigen_harbor.evaluation.metrics import average_pass_at_1, mean_pass_at_k, pass_at_k


def test_pass_at_k_against_hand_computed_values():
    assert pass_at_k(3, 1, 1) == pytest.approx(1 / 3)
    assert pass_at_k(3, 1, 2) == pytest.approx(1 - 1 / 3)  # C(2,2)/C(3,2) = 1/3 fail
    assert pass_at_k(5, 2, 3) == pytest.approx(1 - 1 / 10)  # C(3,3)/C(5,3) = 1/10
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(4, 2, 3) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is the plain success rate
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_mean_pass_at_k_over_tasks():
    outcomes = {"a": [True, False, False], "b": [True, True, True], "c": [False, False, False]}
    assert mean_pass_at_k(outcomes, 1) == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert mean_pass_at_k(outcomes, 3) == pytest.approx((1 + 1 + 0) / 3)
    assert mean_pass_at_k({"a": [True]}, 2) is None


def test_average_pass_at_1_is_mean_and_sample_std_of_run_pass_rates():
    runs = [{"a": True, "b": False, "c": False, "d": True}, {"a": True, "b": True, "c": False, "d": True}, {"a": False, "b": False, "c": False, "d": True}]
    mean, std = average_pass_at_1(runs)  # rates 0.5, 0.75, 0.25
    assert mean == pytest.approx(0.5)
    assert std == pytest.approx(math.sqrt(((0.0) ** 2 + 0.25**2 + 0.25**2) / 2))
    assert average_pass_at_1([{"a": True}]) == (1.0, None)
