"""benchmark.py's pieces: the ratio table, the tf-models anchor's step, input-pipeline timing.
(No timing is asserted: only what the numbers are computed from.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from electra_tf import configs
from pretrain.step_timing import (
    ANCHOR,
    Pair,
    build_trainer,
    electra_train_flops,
    input_records_per_sec,
    results,
    run_weighted,
    synthetic_batch,
)


def test_ratios_use_the_same_generator_size_and_1_0_for_sizeless_methods():
    pairs = [
        Pair("electra", 0.25, times=[2.0, 2.0, 9.0]),  # median 2.0 s → 0.5 steps/s
        Pair(ANCHOR, 0.25, times=[4.0]),
        Pair("electra", 1.0, times=[4.0]),
        Pair(ANCHOR, 1.0, times=[8.0]),
        Pair("method_b", None, times=[2.0]),
    ]
    _, rows = results(pairs, tokens_per_step=100)
    by = {(r["method"], r["generator_hidden_size"]): r for r in rows}
    assert by[("electra", 0.25)]["steps_per_sec"] == 0.5 and by[("electra", 0.25)]["tokens_per_sec"] == 50
    assert by[("electra", 0.25)]["ratio_to_anchor"] == 2.0
    assert by[("electra", 1.0)]["ratio_to_anchor"] == 2.0
    assert by[(ANCHOR, 0.25)]["ratio_to_electra"] == 0.5
    assert by[("method_b", None)]["ratio_to_electra"] == 2.0  # vs electra 1.0 (0.25 steps/s)
    assert by[("method_b", None)]["ratio_to_anchor"] == 4.0  # vs the anchor at 1.0


def test_sizeless_methods_fall_back_to_the_first_size():
    pairs = [Pair("electra", 0.25, times=[2.0]), Pair("method_c", None, times=[1.0])]
    _, rows = results(pairs, tokens_per_step=1)
    assert rows[1]["ratio_to_electra"] == 2.0 and rows[1]["ratio_to_anchor"] is None


def test_electra_flops_match_a_hand_count_for_a_small_config():
    config = configs.config_from_hparams(
        "m",
        "/d",
        {
            "vocab_size": 100,
            "embedding_size": 8,
            "max_seq_length": 10,
            "generator_hidden_size": 0.5,
            "model_hparam_overrides": {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 1},
        },
    )
    # discriminator: E→H 2·8·16, one layer 2·(4·16² + 2·16·64) + 4·10·16, head 2·16·17
    disc = 2 * 8 * 16 + 2 * (4 * 256 + 2 * 16 * 64) + 4 * 10 * 16 + 2 * 16 * 17
    gen = 2 * (4 * 64 + 2 * 8 * 32) + 4 * 10 * 8  # hidden 8 = E (no projection), FFN 32
    slots = int(0.155 * 10)  # 1 masked slot
    mlm = slots * (2 * 8 * 8 + 2 * 8 * 100)
    assert electra_train_flops(config, 3) == 3 * 3 * (10 * (disc + gen) + mlm)


@pytest.mark.parametrize("mixed", [False, True])
def test_anchor_first_step_loss_is_an_untrained_electras(mixed):
    """tf-models' ElectraPretrainer: first-step loss ≈ ln V + 50·ln 2 (docs/design.md, 'Reference numbers');
    with `mixed` its encoders compute in bfloat16 and its own heads in float32."""
    from pretrain.tfm_anchor import AnchorTrainer, fixed_masked_batch

    config = configs.config_from_hparams(
        "m",
        "/d",
        {
            "max_seq_length": 32,
            "model_hparam_overrides": {"hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 1},
        },
    )
    batch = synthetic_batch(4, 32, config.vocab_size, 101, 102)
    inputs = fixed_masked_batch(batch, config.max_predictions_per_seq, 103)
    positions = inputs["masked_lm_positions"].numpy()
    assert positions.shape == (4, 4) and positions.min() >= 1 and positions.max() <= 30
    assert np.all(np.take_along_axis(inputs["input_word_ids"].numpy(), positions, 1) == 103)
    np.testing.assert_array_equal(
        inputs["masked_lm_ids"].numpy(), np.take_along_axis(batch["input_ids"], positions, 1)
    )
    anchor = AnchorTrainer(config, batch, 103, mixed=mixed)
    first = float(anchor.run_step()["losses"]["total"])
    blocks = [m for m in anchor.model.submodules if type(m).__name__ == "TransformerEncoderBlock"]
    assert len(blocks) == 2 and {b.compute_dtype for b in blocks} == {"bfloat16" if mixed else "float32"}
    assert anchor.model.masked_lm.compute_dtype == "float32"
    expected = math.log(config.vocab_size) + 50 * math.log(2)
    assert abs(first - expected) / expected < 0.1, first


def test_input_pipeline_timing_reads_real_records(tmp_path):
    from pretrain.step_timing import write_synthetic_records

    path = write_synthetic_records(str(tmp_path), 64, 32, 3000)
    rate, source = input_records_per_sec(path, batch_size=8, seq_length=32, batches=10)
    assert rate > 0 and source == path
    with pytest.raises(ValueError):
        input_records_per_sec(str(tmp_path / "missing*"), batch_size=8, seq_length=32)


def test_build_trainer_pins_the_generators_exit_and_merges_the_timing_hparams():
    from tests.helpers import TINY_MODEL
    from tests.pretraining.methods.helpers import TINY_ADAPTIVE_EXITS

    trainer, config = build_trainer(
        {**TINY_MODEL, **TINY_ADAPTIVE_EXITS, "adaptive_init_probs": [0.5, 0.5], "vocab_size": 2000},
        generator_exit_layer=2,
    )
    assert config.method_hparams.exit_update_every == 10**9  # the method's timing_hparams
    assert config.vocab_size == 2000 and config.train_batch_size == TINY_MODEL["train_batch_size"]
    np.testing.assert_array_equal(trainer.model.method.distribution.probabilities().numpy(), [0.0, 1.0])
    with pytest.raises(ValueError, match="exit layer 3 is not one of exit_layers"):
        trainer.model.method.pin_exit(3)


def test_every_reading_of_an_exit_method_is_a_row_beside_the_baseline():
    from pretrain.benchmark import make_pairs

    pairs = make_pairs(["electra", "adaptive_exit_gen", "early_exit_disc"], [0.25, 1.0], anchor=False)
    assert [p.label for p in pairs] == [
        "electra (gen 0.25)",
        "adaptive_exit_gen@9 (gen 0.25)",
        "adaptive_exit_gen[exit_heads=exit]@9 (gen 0.25)",
        "electra (gen 1)",
        "adaptive_exit_gen@9 (gen 1)",
        "adaptive_exit_gen[exit_heads=exit]@9 (gen 1)",
        "early_exit_disc@9 (gen —)",
        "early_exit_disc[early_exit_generator]@9 (gen —)",
    ]
    assert pairs[2].hparams == {"exit_heads": "exit"} and pairs[7].hparams == {"early_exit_generator": True}
    for p, t in zip(pairs, (2.0, 1.0, 0.5, 4.0, 2.0, 1.0, 2.0, 1.0), strict=True):
        p.times = [t]
    table, rows = results(pairs, tokens_per_step=1)
    assert rows[2]["reading"] == "exit_heads=exit" and rows[2]["ratio_to_electra"] == 4.0  # vs gen 0.25
    assert rows[7]["ratio_to_electra"] == 4.0  # a sizeless reading: vs electra at 1.0
    assert "| early_exit_disc[early_exit_generator]@9 | — |" in table
    assert rows[7]["exit_layer"] == 9 and rows[0]["exit_layer"] is None


def test_exit_methods_are_pinned_at_each_exit_and_weighted_at_p1_and_by_a_runs_shares():
    from pretrain.benchmark import make_pairs, weightings_for

    pairs = make_pairs(["electra", "adaptive_exit_gen", "early_exit_disc"], [1.0], False, exit_layers=(3, 9))
    assert [p.name for p in pairs] == [
        "electra",
        "adaptive_exit_gen@3",
        "adaptive_exit_gen@9",
        "adaptive_exit_gen[exit_heads=exit]@3",
        "adaptive_exit_gen[exit_heads=exit]@9",
        "early_exit_disc@3",
        "early_exit_disc@9",
        "early_exit_disc[early_exit_generator]@3",
        "early_exit_disc[early_exit_generator]@9",
    ]
    for p, t in zip(pairs, (3.0, 2.0, 4.0, 1.0, 2.0, 1.0, 2.0, 0.5, 1.5), strict=True):
        p.times = [t, t]
    # adaptive's P₁ comes from its config (two exits here); early exit's shares from a run
    p1 = configs.config_from_hparams(
        "m",
        "/x",
        {
            "method": "adaptive_exit_gen",
            "exit_layers": [3, 9],
            "adaptive_init_probs": [0.4, 0.6],
            "exit_loss_weights": [1, 1],
            "generator_layers": 1.0,
        },
    )
    for p in pairs:
        p.config = p1 if p.method == "adaptive_exit_gen" else None
    table, rows = run_weighted(pairs, weightings_for({"early_exit_disc": [0.25, 0.75]}), tokens_per_step=10)
    # by hand: adaptive 0.4 · 2 + 0.6 · 4 = 3.2 s, its exit reading 0.4 · 1 + 0.6 · 2 = 1.6 s;
    # early exit 0.25 · 1.0 + 0.75 · 2.0 = 1.75 s, its generator reading 0.25 · 0.5 + 0.75 · 1.5 = 1.25 s
    assert [(r["method"], r["reading"], r["exit_layer"]) for r in rows] == [
        ("adaptive_exit_gen", "", "at P₁"),
        ("adaptive_exit_gen", "exit_heads=exit", "at P₁"),
        ("early_exit_disc", "", "run-weighted"),
        ("early_exit_disc", "early_exit_generator", "run-weighted"),
    ]
    assert [r["ratio_to_electra"] for r in rows] == pytest.approx([3 / 3.2, 3 / 1.6, 3 / 1.75, 3 / 1.25])
    assert rows[2]["steps_per_sec"] == pytest.approx(1 / 1.75) and rows[3]["tokens_per_sec"] == pytest.approx(
        8.0
    )
    assert rows[1]["exit_shares"] == {3: 0.4, 9: 0.6} and rows[3]["exit_shares"] == {3: 0.25, 9: 0.75}
    assert "| early_exit_disc[early_exit_generator] run-weighted (3: 0.25, 9: 0.75) | — |" in table
    assert "| adaptive_exit_gen[exit_heads=exit] at P₁ (3: 0.40, 9: 0.60) | 1 |" in table
    with pytest.raises(ValueError, match="3 exit shares for 2 timed exits"):
        run_weighted(pairs[5:], lambda *_: [("x", [0.2, 0.3, 0.5])], tokens_per_step=10)
    # exit 9 pinned alone (the flag's default): no P₁ row, since P₁ spans two exits
    alone = [p for p in pairs if p.exit_layer in (None, 9)]
    assert [r["exit_layer"] for r in run_weighted(alone, weightings_for({}), tokens_per_step=10)[1]] == []


def test_exit_shares_come_from_a_runs_event_files(tmp_path):
    import json

    import tensorflow as tf

    from pretrain.benchmark import run_exit_shares

    hparams = {"method": "early_exit_disc", "exit_layers": [2, 3, 5, 6]}
    (tmp_path / "hparams.json").write_text(json.dumps(hparams))
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step, layer in enumerate([6, 6, 5, 6, 3, 6, 5, 6]):  # 3: 1/8, 5: 2/8, 6: 5/8
            tf.summary.scalar("early_exit/exit_layer", float(layer), step=step)
    writer.close()
    assert run_exit_shares(str(tmp_path), 4) == ("early_exit_disc", [0.0, 0.125, 0.25, 0.625])
    with pytest.raises(ValueError, match="--exit_layer has 2 layers"):
        run_exit_shares(str(tmp_path), 2)
    with pytest.raises(ValueError, match="--exit_shares_from: cannot read"):
        run_exit_shares(str(tmp_path / "missing"), 4)
