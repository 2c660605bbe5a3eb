"""GLUE evaluation metrics in plain numpy.

Every function takes two equally long, non-empty 1-D sequences and returns a Python float on the
natural scale of the metric ([0, 1] or [-1, 1]); callers that report percentages multiply by 100.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def _paired(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as 1-D arrays, after checking they are non-empty and of equal length."""
    a_arr = np.asarray(a).reshape(-1)
    b_arr = np.asarray(b).reshape(-1)
    if a_arr.size != b_arr.size:
        raise ValueError(f"length mismatch: {a_arr.size} labels vs {b_arr.size} predictions")
    if a_arr.size == 0:
        raise ValueError("cannot score an empty set of predictions")
    return a_arr, b_arr


def accuracy(labels: ArrayLike, preds: ArrayLike) -> float:
    """Fraction of predictions equal to their label."""
    y, p = _paired(labels, preds)
    return float(np.mean(y == p))


def f1(labels: ArrayLike, preds: ArrayLike) -> float:
    """Binary F1 of the positive class 1 (0.0 when there is neither a positive label nor prediction)."""
    y, p = _paired(labels, preds)
    true_pos = np.sum((y == 1) & (p == 1))
    false_pos = np.sum((y != 1) & (p == 1))
    false_neg = np.sum((y == 1) & (p != 1))
    denominator = 2 * true_pos + false_pos + false_neg
    if denominator == 0:
        return 0.0
    return float(2 * true_pos / denominator)


def matthews_corrcoef(labels: ArrayLike, preds: ArrayLike) -> float:
    """Matthews correlation coefficient (multi-class form); 0.0 when it is undefined.

    It is undefined when all labels or all predictions fall in one class (a zero in the denominator).
    """
    y, p = _paired(labels, preds)
    n = y.size
    _, codes = np.unique(np.concatenate([y, p]), return_inverse=True)
    codes = codes.reshape(-1)
    num_classes = int(codes.max()) + 1
    confusion = np.zeros((num_classes, num_classes), dtype=np.float64)
    np.add.at(confusion, (codes[:n], codes[n:]), 1.0)
    per_label = confusion.sum(axis=1)
    per_pred = confusion.sum(axis=0)
    correct = np.trace(confusion)
    numerator = correct * n - per_label @ per_pred
    denominator = math.sqrt((n * n - per_pred @ per_pred) * (n * n - per_label @ per_label))
    if denominator == 0.0:
        return 0.0
    return float(np.clip(numerator / denominator, -1.0, 1.0))


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson correlation; NaN when either input is constant (as scipy.stats.pearsonr)."""
    a, b = _paired(x, y)
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    a /= np.linalg.norm(a)
    b /= np.linalg.norm(b)
    return float(np.clip(a @ b, -1.0, 1.0))


def average_ranks(values: ArrayLike) -> np.ndarray:
    """1-based ranks of values, tied values sharing the mean of the ranks they span."""
    _, codes, counts = np.unique(np.asarray(values).reshape(-1), return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    first = last - counts + 1
    return ((first + last) / 2.0)[codes.reshape(-1)]


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman rank correlation: Pearson of the average ranks; NaN when either input is constant."""
    a, b = _paired(x, y)
    return pearson(average_ranks(a), average_ranks(b))
