"""The FLOP models against hand counts on a tiny config, and the predicted ratios' arithmetic."""

from __future__ import annotations

import dataclasses

import pytest

from electra_tf import configs
from pretrain import flops
from pretrain.step_timing import electra_train_flops

# L 10, N = int((0.15 + 0.005)·10) = 1 slot, E 8, V 100, discriminator 4 layers × 16 (FFN 64),
# generator 4 layers × 8 (FFN 32)
TINY = {
    "vocab_size": 100,
    "embedding_size": 8,
    "max_seq_length": 10,
    "generator_hidden_size": 0.5,
    "model_hparam_overrides": {"hidden_size": 16, "num_hidden_layers": 4, "num_attention_heads": 1},
}
DISC_LAYER = 2 * (4 * 16 * 16 + 2 * 16 * 64) + 4 * 10 * 16  # per token
GEN_LAYER = 2 * (4 * 8 * 8 + 2 * 8 * 32) + 4 * 10 * 8
DISC_PROJECT, RTD_HEAD = 2 * 8 * 16, 2 * 16 * 17


def config(method, **extra):
    return configs.config_from_hparams("m", "/d", {**TINY, "method": method, **extra})


def test_electra_equals_the_benchmarks_count():
    c = config("electra")
    assert flops.train_flops(c, 3) == pytest.approx(electra_train_flops(c, 3))
    gen_tokens = 10 * 4 * GEN_LAYER  # E 8 = H 8: no projection
    disc_tokens = 10 * (DISC_PROJECT + 4 * DISC_LAYER + RTD_HEAD)
    head = 1 * (2 * 8 * 8 + 2 * 8 * 100)
    assert flops.train_flops(c, 1) == 3 * (disc_tokens + gen_tokens + head)


def test_adaptive_exit_heads_and_layers_by_hand():
    disc_tokens = 10 * (DISC_PROJECT + 4 * DISC_LAYER + RTD_HEAD)
    exits = {"exit_layers": [1, 2, 3, 4]}
    all_heads = config("adaptive_exit_gen", **exits)
    one_head = config("adaptive_exit_gen", exit_heads="exit", **exits)
    # exit 3: 3 generator layers; heads 1..3 read widths 8, 16, 24 (exit_concat), or head 3 alone
    heads = sum(2 * w * 8 + 2 * 8 * 100 for w in (8, 16, 24))
    assert flops.train_flops(all_heads, 1, 3) == 3 * (disc_tokens + 10 * 3 * GEN_LAYER + heads)
    assert flops.train_flops(one_head, 1, 3) == 3 * (disc_tokens + 10 * 3 * GEN_LAYER + 2 * 24 * 8 + 1600)
    p1 = [0.1, 0.2, 0.3, 0.4]
    expected = sum(p * flops.train_flops(one_head, 2, n) for p, n in zip(p1, (1, 2, 3, 4), strict=True))
    assert flops.expected_flops(one_head, 2) == pytest.approx(expected)


def test_early_exit_generator_stops_with_the_discriminator():
    exits = {"exit_layers": [2, 4], "exit_loss_weights": [1.0, 2.0]}
    head = 2 * 16 * 8 + 2 * 8 * 100  # the tied generator's MLM head reads H = 16
    disc_at_2 = 10 * (DISC_PROJECT + 2 * DISC_LAYER + 1 * RTD_HEAD)  # one section head
    full_gen = 10 * (DISC_PROJECT + 4 * DISC_LAYER)
    short_gen = 10 * (DISC_PROJECT + 2 * DISC_LAYER)
    assert flops.train_flops(config("early_exit_disc", **exits), 1, 2) == 3 * (disc_at_2 + full_gen + head)
    fast = config("early_exit_disc", early_exit_generator=True, **exits)
    assert flops.train_flops(fast, 1, 2) == 3 * (disc_at_2 + short_gen + head)
    assert flops.expected_flops(fast, 1) == flops.train_flops(fast, 1, 4)  # default: the last exit


def test_predicted_ratios_are_the_baselines_flops_over_the_methods():
    rows = {r["label"]: r for r in flops.predicted_rows(128, [1.0])}
    base = rows["electra (gen 1)"]["gflops"]
    for label in ("emb_gen", "early_exit_disc[early_exit_generator] at exit 9"):
        assert rows[label]["ratio_gen_1"] == pytest.approx(base / rows[label]["gflops"])
    assert rows["emb_gen"]["paper_ratio"] == 1.92
    # stopping the tied generator at exit 9 of 12: (12 + 12) / (9 + 9) of the layer FLOPs, heads aside
    assert 1.25 < rows["early_exit_disc[early_exit_generator] at exit 9"]["ratio_gen_1"] < 1.34
    with pytest.raises(ValueError, match="no FLOP model for method 'nope'"):
        flops.train_flops(dataclasses.replace(config("electra"), method="nope"), 1)


def test_unigram_and_noise_count_the_discriminator_alone():
    disc_tokens = 10 * (DISC_PROJECT + 4 * DISC_LAYER + RTD_HEAD)
    assert flops.train_flops(config("unigram"), 2) == 2 * 3 * disc_tokens
    assert flops.train_flops(config("noise"), 2) == 2 * 3 * disc_tokens
