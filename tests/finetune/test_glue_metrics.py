"""glue_metrics against scikit-learn and scipy on fixed random predictions, ties and degenerate inputs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics

from finetune import glue_metrics


def _binary_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(labels, preds) pairs: random, skewed, all-one-class, perfect, inverted and tiny inputs."""
    rng = np.random.default_rng(1234)
    y = rng.integers(0, 2, size=200)
    noisy = np.where(rng.random(200) < 0.3, 1 - y, y)
    skewed = (rng.random(200) < 0.05).astype(int)
    return [
        (y, noisy),
        (y, rng.integers(0, 2, size=200)),
        (skewed, (rng.random(200) < 0.1).astype(int)),
        (y, np.zeros_like(y)),
        (y, np.ones_like(y)),
        (np.zeros(50, int), np.zeros(50, int)),
        (np.ones(50, int), np.ones(50, int)),
        (np.zeros(50, int), rng.integers(0, 2, size=50)),
        (y, y.copy()),
        (y, 1 - y),
        (np.array([1]), np.array([0])),
    ]


def _quiet(fn, *args, **kwargs):
    """fn(*args, **kwargs) with the reference library's warnings about degenerate inputs silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("case", range(len(_binary_cases())))
def test_binary_metrics_match_sklearn(case: int) -> None:
    y, p = _binary_cases()[case]
    acc = glue_metrics.accuracy(y, p)
    assert isinstance(acc, float)
    assert acc == pytest.approx(sklearn.metrics.accuracy_score(y, p), abs=1e-12)
    expected_f1 = sklearn.metrics.f1_score(y, p, pos_label=1, zero_division=0.0)
    assert glue_metrics.f1(y, p) == pytest.approx(expected_f1, abs=1e-12)
    mcc = glue_metrics.matthews_corrcoef(y, p)
    assert isinstance(mcc, float)
    assert mcc == pytest.approx(_quiet(sklearn.metrics.matthews_corrcoef, y, p), abs=1e-12)


def test_degenerate_values() -> None:
    y = np.array([0, 1, 1, 0, 1])
    assert glue_metrics.matthews_corrcoef(y, np.ones(5, int)) == 0.0  # constant predictions
    assert glue_metrics.matthews_corrcoef(np.zeros(5, int), np.zeros(5, int)) == 0.0
    assert glue_metrics.matthews_corrcoef(y, y) == pytest.approx(1.0)
    assert glue_metrics.matthews_corrcoef(y, 1 - y) == pytest.approx(-1.0)
    assert glue_metrics.f1(np.zeros(5, int), np.zeros(5, int)) == 0.0  # no positives anywhere
    assert glue_metrics.f1(y, y) == 1.0
    assert glue_metrics.accuracy([3, 4], [3, 5]) == 0.5


def test_multiclass_mcc_matches_sklearn() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, size=300)
    p = np.where(rng.random(300) < 0.4, rng.integers(0, 3, size=300), y)
    assert glue_metrics.matthews_corrcoef(y, p) == pytest.approx(sklearn.metrics.matthews_corrcoef(y, p))
    # A predicted class that never occurs among the labels.
    p[:5] = 3
    assert glue_metrics.matthews_corrcoef(y, p) == pytest.approx(sklearn.metrics.matthews_corrcoef(y, p))


def _regression_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, y) pairs: continuous, heavily tied (STS-style 0.2 steps), integer ties and anti-correlated."""
    rng = np.random.default_rng(99)
    x = rng.uniform(0, 5, size=150)
    y = x + rng.normal(0, 1.0, size=150)
    return [
        (x, y),
        (np.round(x * 5) / 5, np.round(y)),
        (rng.integers(0, 4, size=80).astype(float), rng.integers(0, 3, size=80).astype(float)),
        (x, -2 * x + 1),
        (np.array([1.0, 2.0, 2.0, 3.0]), np.array([1.0, 1.0, 3.0, 3.0])),
        (x, rng.uniform(0, 5, size=150)),
    ]


@pytest.mark.parametrize("case", range(len(_regression_cases())))
def test_correlations_match_scipy(case: int) -> None:
    x, y = _regression_cases()[case]
    r = glue_metrics.pearson(x, y)
    rho = glue_metrics.spearman(x, y)
    assert isinstance(r, float) and isinstance(rho, float)
    assert r == pytest.approx(scipy.stats.pearsonr(x, y)[0], abs=1e-10)
    assert rho == pytest.approx(scipy.stats.spearmanr(x, y)[0], abs=1e-10)
    assert -1.0 <= r <= 1.0 and -1.0 <= rho <= 1.0


def test_average_ranks_match_scipy_rankdata() -> None:
    values = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0, 5.0])
    np.testing.assert_array_equal(glue_metrics.average_ranks(values), scipy.stats.rankdata(values))


def test_perfect_and_constant_correlations() -> None:
    x = np.arange(10, dtype=float)
    assert glue_metrics.pearson(x, 3 * x + 2) == pytest.approx(1.0)
    assert glue_metrics.spearman(x, np.exp(x)) == pytest.approx(1.0)  # monotone, not linear
    assert glue_metrics.spearman(x, -x) == pytest.approx(-1.0)
    constant = np.full(10, 2.5)
    assert math.isnan(_quiet(scipy.stats.pearsonr, x, constant)[0])
    assert math.isnan(glue_metrics.pearson(x, constant))
    assert math.isnan(glue_metrics.spearman(constant, x))


@pytest.mark.parametrize(
    "fn",
    [
        glue_metrics.accuracy,
        glue_metrics.f1,
        glue_metrics.matthews_corrcoef,
        glue_metrics.pearson,
        glue_metrics.spearman,
    ],
)
def test_bad_shapes_raise(fn) -> None:
    with pytest.raises(ValueError, match="length mismatch"):
        fn([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
