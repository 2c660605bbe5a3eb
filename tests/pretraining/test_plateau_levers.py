"""The plateau levers: unigram draws (distribution, per-example seeds; the unigram method's own
tests are in methods/test_unigram.py), the discriminator's auxiliary MLM term by hand, the tied
generator (`untied_generator: false`), the prior bias and the random-token share."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from electra_tf import configs
from electra_tf.modeling.heads import gather_positions
from electra_tf.pretraining.model import build_pretrainer
from electra_tf.pretraining.sampling import sample_unigram_per_example, unigram_cdf
from tests.pretraining.helpers import (
    SPECIAL,
    batch_of,
    mask_like_the_pretrainer,
    replacement_seeds,
    tiny_config,
    token_counts,
)
from tests.pretraining.methods.helpers import MULTI_HEAD_DISCRIMINATOR

SEED = tf.constant([3, 4], tf.int64)


def test_unigram_cdf_excludes_reserved_ids_and_ends_at_one():
    counts = np.array([5, 0, 3, 2, 7, 0], np.int64)
    cdf = unigram_cdf(counts, never_ids=(4,))
    expected = np.cumsum([5, 0, 3, 2, 0, 0]) / 10.0
    np.testing.assert_allclose(cdf, expected, atol=1e-7)
    assert cdf[-1] == 1.0
    with pytest.raises(ValueError, match="no token"):
        unigram_cdf([0, 4], never_ids=(1,))


def test_unigram_draws_follow_the_counts_chi_square():
    counts = token_counts(60)
    never = (11, 12, 13)
    cdf = unigram_cdf(counts, never)
    seeds = tf.stack([tf.fill([400], tf.constant(9, tf.int64)), tf.range(400, dtype=tf.int64)], axis=1)
    draws = sample_unigram_per_example(tf.constant(cdf), seeds, 500).numpy()  # 200k draws
    assert draws.shape == (400, 500)
    observed = np.bincount(draws.ravel(), minlength=60)
    mass = counts.astype(float)
    mass[list(never)] = 0
    assert observed[mass == 0].sum() == 0  # never a reserved or unseen token
    expected = mass[mass > 0] / mass.sum() * draws.size
    _, p = stats.chisquare(observed[mass > 0], expected)
    assert p > 1e-3
    # row b depends on seeds[b] alone
    alone = sample_unigram_per_example(tf.constant(cdf), seeds[5:6], 500).numpy()
    np.testing.assert_array_equal(alone[0], draws[5])


def test_disc_mlm_term_equals_a_hand_computation_on_the_discriminators_states():
    config = tiny_config("electra", disc_mlm_weight=0.7)
    model = build_pretrainer(config, SPECIAL)
    batch = batch_of(4, 32, 300, seed=2)
    out = model(batch, SEED, 0, training=False)
    term = out.losses["disc_mlm"]
    assert term.weight == pytest.approx(0.7)
    masked = mask_like_the_pretrainer(model, batch, SEED)
    # the discriminator's input: the generator's corruption, as the pretrainer built it
    replacement = model.method(model.embeddings, batch, masked, replacement_seeds(batch, SEED))
    emb = model.embeddings(replacement.corrupted_ids, batch["segment_ids"], training=False)
    hidden = model.discriminator.encoder(emb, batch["input_mask"])[-1]
    head = model.disc_mlm_head
    h = gather_positions(hidden, masked.masked_positions).numpy()
    x = h @ head.dense.kernel.numpy() + head.dense.bias.numpy()
    x = x * 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    x = (x - mu) / np.sqrt(var + 1e-12) * head.layer_norm.gamma.numpy() + head.layer_norm.beta.numpy()
    logits = x @ model.embeddings.word_embeddings.numpy().T + head.output_bias.numpy()
    logp = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    targets, w = masked.masked_ids.numpy(), masked.masked_weights.numpy()
    ce = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(float(term.numerator), (w * ce).sum(), rtol=1e-4)
    np.testing.assert_allclose(float(term.denominator), w.sum())
    names = {v.name for v in model.trainable_variables}
    assert any(n.startswith("electra/discriminator_mlm_predictions/") for n in names)
    assert build_pretrainer(tiny_config("electra"), SPECIAL).disc_mlm_head is None  # off by default


def _erf(x):
    from scipy.special import erf

    return erf(x)


def test_tied_generator_runs_on_the_discriminators_encoder():
    tied = build_pretrainer(tiny_config("electra", untied_generator=False), SPECIAL)
    untied = build_pretrainer(tiny_config("electra"), SPECIAL)
    batch = batch_of(2, 32, 300)
    tied(batch, SEED, 0)
    untied(batch, SEED, 0)
    assert tied.method.encoder is tied.discriminator.encoder
    tied_names = {v.name for v in tied.trainable_variables}
    untied_names = {v.name for v in untied.trainable_variables}

    def tower(name):
        return name.startswith("electra/generator/") and "generator_predictions" not in name

    assert not any(tower(n) for n in tied_names)
    assert any(tower(n) for n in untied_names)
    # the tied model holds exactly the untied one's variables minus the generator tower
    assert tied_names == {n for n in untied_names if not tower(n)}


def test_negative_disc_mlm_weight_is_rejected():
    with pytest.raises(configs.ConfigError, match="disc_mlm_weight"):
        tiny_config("electra", disc_mlm_weight=-1.0)


@pytest.mark.parametrize("hparams", [{"method": configs.BASELINE_METHOD}, MULTI_HEAD_DISCRIMINATOR])
def test_prior_bias_init_starts_every_rtd_head_at_the_label_prior(hparams):
    method, extra = hparams["method"], {k: v for k, v in hparams.items() if k != "method"}
    model = build_pretrainer(tiny_config(method, disc_bias_init_prior=True, mask_prob=0.2, **extra), SPECIAL)
    batch = batch_of(4, 32, 300)
    model(batch, SEED, 0)
    prior = np.log(0.2 / 0.8)  # hand value of logit(mask_prob)
    heads = getattr(model.discriminator, "heads", None) or [model.discriminator.head]
    for head in heads:
        np.testing.assert_allclose(head.dense_prediction.bias.numpy(), [prior], rtol=1e-6)
    # the first logits sit near the prior: the glorot kernel adds a small, centred term
    logits, _ = model.discriminate(batch["input_ids"], batch["input_mask"], batch["segment_ids"])
    assert abs(float(tf.reduce_mean(logits)) - prior) < 0.5
    plain = build_pretrainer(tiny_config(method, **extra), SPECIAL)
    plain(batch, SEED, 0)
    head = (getattr(plain.discriminator, "heads", None) or [plain.discriminator.head])[-1]
    assert head.dense_prediction.bias.numpy().tolist() == [0.0]  # upstream's default


def test_random_token_share_replaces_that_share_of_the_chosen_positions():
    from electra_tf.pretraining import masking
    from electra_tf.pretraining.seeds import per_example_seeds

    model = build_pretrainer(tiny_config("electra", mask_prob=0.5, random_token_share=0.3), SPECIAL)
    batch = batch_of(64, 32, 300, seed=4)
    masked = mask_like_the_pretrainer(model, batch, SEED)
    seeds = per_example_seeds(SEED, 0, 64)
    cdf = unigram_cdf(np.ones(300), SPECIAL.never_replacement_ids)
    out = masking.randomize_masked(masked, seeds + [[0, 13]], 0.3, tf.constant(cdf), SPECIAL.mask_id)
    before, after = masked.masked_input_ids.numpy(), out.masked_input_ids.numpy()
    ids = batch["input_ids"].numpy()
    chosen = np.zeros_like(ids, bool)
    positions, weights = masked.masked_positions.numpy(), masked.masked_weights.numpy()
    for b in range(64):
        chosen[b, positions[b][weights[b] > 0]] = True
    changed = before != after
    assert not changed[~chosen].any()  # only chosen positions
    assert (before[changed] == SPECIAL.mask_id).all()  # only [MASK]ed ones; kept tokens stay
    assert not np.isin(after[changed], SPECIAL.never_replacement_ids).any()
    kept = (after == ids) & chosen
    random = chosen & (after != SPECIAL.mask_id) & ~kept
    n = chosen.sum()
    # binomial shares over ~700 chosen positions: random ≈ 0.30, kept ≈ 0.15 (+ rare equal draws)
    assert abs(random.sum() / n - 0.30) < 0.06 and abs(kept.sum() / n - 0.15) < 0.05
    for field in ("masked_positions", "masked_ids", "masked_weights"):
        np.testing.assert_array_equal(getattr(out, field).numpy(), getattr(masked, field).numpy())
    # the pretrainer applies it before the generator: its output differs from share 0
    plain = build_pretrainer(tiny_config("electra", mask_prob=0.5), SPECIAL)
    assert model.random_token_share == 0.3 and plain.random_token_share == 0.0
    with pytest.raises(configs.ConfigError, match="random_token_share"):
        tiny_config("electra", random_token_share=0.9)
