"""Independent numpy references for the modeling tests (exact and tanh GELU, LayerNorm, attention)."""

from __future__ import annotations

import math

import numpy as np

np_erf = np.vectorize(math.erf)


def np_gelu(x):
    return 0.5 * x * (1.0 + np_erf(x / math.sqrt(2.0)))


def np_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def np_layer_norm(x, gamma, beta, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def np_attention(q, k, v, additive):
    """Scaled dot-product attention of [B, heads, L, d] q, k, v with an additive mask broadcast to
    [B, heads, L, L] → the heads' outputs merged back to [B, L, heads·d]."""
    batch, heads, length, size = q.shape
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + additive
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
