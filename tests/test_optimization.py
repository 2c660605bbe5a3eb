"""ELECTRA's AdamW (no bias correction by default; optional torch-style bias correction) and
learning-rate schedule against numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.optimization import AdamWeightDecayOptimizer, ElectraLearningRate, create_optimizer

B1, B2, EPS, WD = 0.9, 0.999, 1e-6, 0.01


def formula(t, lr, total, warmup, power):
    decay = (1 - min(t, total) / total) ** power
    return lr * decay * (min(1.0, t / warmup) if warmup else 1.0)


@pytest.mark.parametrize("power", [1.0, 0.5])
def test_schedule_matches_formula(power):
    schedule = ElectraLearningRate(5e-4, num_train_steps=1000, num_warmup_steps=100, lr_decay_power=power)
    for t in (0, 50, 100, 500, 1000, 1500):
        expected = formula(t, 5e-4, 1000, 100, power)
        assert float(schedule(tf.constant(t, tf.int64))) == pytest.approx(expected, rel=1e-6, abs=1e-12), t
    assert float(schedule(50)) == pytest.approx(5e-4 * 0.95**power * 0.5)  # warm-up and decay overlap
    no_warmup = ElectraLearningRate(1e-3, num_train_steps=10, num_warmup_steps=0)
    assert float(no_warmup(0)) == pytest.approx(1e-3) and float(no_warmup(4)) == pytest.approx(6e-4)
    restored = ElectraLearningRate.from_config(schedule.get_config())
    assert float(restored(250)) == float(schedule(250))


def numpy_adamw(params, grads_per_step, lrs, decayed, bias_correction=False):
    """Upstream AdamWeightDecayOptimizer in float64; optional bias correction for contrast."""
    params = [p.astype(np.float64).copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for step, (grads, lr) in enumerate(zip(grads_per_step, lrs, strict=True), start=1):
        for i, g in enumerate(grads):
            m[i] = B1 * m[i] + (1 - B1) * g
            v[i] = B2 * v[i] + (1 - B2) * g * g
            m_hat, v_hat = m[i], v[i]
            if bias_correction:
                m_hat, v_hat = m[i] / (1 - B1**step), v[i] / (1 - B2**step)
            update = m_hat / (np.sqrt(v_hat) + EPS) + (WD * params[i] if decayed[i] else 0.0)
            params[i] = params[i] - lr * update
    return params, m, v


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=(3,)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)]
    grads = [[rng.normal(size=p.shape).astype(np.float32) for p in init] for _ in range(3)]
    return init, grads


def run_tf(optimizer, init, grads, names=("encoder/layer_0/LayerNorm/gamma", "encoder/layer_0/dense/kernel")):
    variables = [tf.Variable(p, name=n) for p, n in zip(init, names, strict=True)]

    @tf.function
    def step(g):
        optimizer.apply_gradients(zip(g, variables, strict=True))

    for g in grads:
        step([tf.constant(x) for x in g])
    return variables


def test_three_steps_match_upstream_rule_without_bias_correction():
    init, grads = make_problem()
    lr = 0.1
    variables = run_tf(AdamWeightDecayOptimizer(learning_rate=lr, weight_decay_rate=WD), init, grads)
    expected, _, _ = numpy_adamw(init, grads, [lr] * 3, decayed=[False, True])
    for var, ref in zip(variables, expected, strict=True):
        np.testing.assert_allclose(var.numpy(), ref, rtol=1e-6, atol=1e-6)
    corrected, _, _ = numpy_adamw(init, grads, [lr] * 3, decayed=[False, True], bias_correction=True)
    assert np.abs(variables[1].numpy() - corrected[1]).max() > 1e-2  # the comparison can fail
    no_decay_everywhere, _, _ = numpy_adamw(init, grads, [lr] * 3, decayed=[False, False])
    assert np.abs(variables[1].numpy() - no_decay_everywhere[1]).max() > 1e-4


def test_a_closed_update_gate_changes_no_variable_or_slot_and_an_open_one_is_the_plain_update():
    init, grads = make_problem()
    lr = 0.1
    optimizer = AdamWeightDecayOptimizer(learning_rate=lr, weight_decay_rate=WD)
    variables = [tf.Variable(x, name=n) for x, n in zip(init, ("layer_norm/beta", "kernel"), strict=True)]
    nan = [np.full_like(g, np.nan) for g in grads[1]]

    @tf.function
    def step(g, gate):
        optimizer.apply_gradients(zip(g, variables, strict=True), update_gate=gate)

    step([tf.constant(x) for x in grads[0]], tf.constant(True))
    before = [v.numpy() for v in variables] + [
        optimizer.get_slot(v, s).numpy() for v in variables for s in "mv"
    ]
    step([tf.constant(x) for x in nan], tf.constant(False))  # a skipped, non-finite step
    after = [v.numpy() for v in variables] + [
        optimizer.get_slot(v, s).numpy() for v in variables for s in "mv"
    ]
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(optimizer.iterations) == 2  # the step number still advances
    step([tf.constant(x) for x in grads[1]], tf.constant(True))
    # = upstream's rule over the two real steps, the second one at the third step's learning rate
    expected, _, _ = numpy_adamw(init, grads[:2], [lr] * 2, decayed=[False, True])
    for var, ref in zip(variables, expected, strict=True):
        np.testing.assert_allclose(var.numpy(), ref, rtol=1e-6, atol=1e-6)


def test_schedule_drives_the_update_and_bias_names_are_not_decayed():
    init, grads = make_problem(1)
    optimizer = create_optimizer(0.1, num_train_steps=10, num_warmup_steps=2)
    variables = run_tf(optimizer, init, grads, names=("dense/bias", "dense/kernel"))
    lrs = [formula(t, 0.1, 10, 2, 1.0) for t in range(3)]  # 0, 0.045, 0.08: first update uses t = 0
    expected, m, v = numpy_adamw(init, grads, lrs, decayed=[False, True])
    for var, ref in zip(variables, expected, strict=True):
        np.testing.assert_allclose(var.numpy(), ref, rtol=1e-6, atol=1e-6)
    for i, var in enumerate(variables):
        np.testing.assert_allclose(optimizer.get_slot(var, "m").numpy(), m[i], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(optimizer.get_slot(var, "v").numpy(), v[i], rtol=1e-5, atol=1e-9)
    assert int(optimizer.iterations) == 3
    assert [optimizer.uses_weight_decay(n) for n in ("a/layer_norm/beta", "x/bias:0", "x/kernel:0")] == [
        False,
        False,
        True,
    ]


def test_sparse_gradients_match_dense():
    rng = np.random.default_rng(2)
    table = rng.normal(size=(5, 3)).astype(np.float32)
    rows = tf.constant([1, 3, 1])  # duplicate row: gradients are summed
    values = tf.constant(rng.normal(size=(3, 3)).astype(np.float32))
    sparse = tf.IndexedSlices(values, rows, dense_shape=tf.constant([5, 3]))
    results = []
    for grad in (sparse, tf.convert_to_tensor(sparse)):
        var = tf.Variable(table, name="embeddings/word_embeddings")
        opt = AdamWeightDecayOptimizer(learning_rate=0.1)
        for _ in range(2):
            opt.apply_gradients([(grad, var)])
        results.append(var.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-6)
    dense_g = tf.convert_to_tensor(sparse).numpy()
    expected, _, _ = numpy_adamw([table], [[dense_g]] * 2, [0.1] * 2, decayed=[True])
    np.testing.assert_allclose(results[0], expected[0], rtol=1e-6, atol=1e-6)


def test_no_clipping_and_config_round_trip():
    optimizer = create_optimizer(5e-4, num_train_steps=100, num_warmup_steps=10)
    config = optimizer.get_config()
    assert config["gradient_clip_norm"] == 0.0 and config["epsilon"] == EPS
    assert config["beta_1"] == B1 and config["beta_2"] == B2 and config["weight_decay_rate"] == WD
    clone = AdamWeightDecayOptimizer.from_config(config)
    assert isinstance(clone.learning_rate, ElectraLearningRate)
    assert float(clone.learning_rate(55)) == pytest.approx(formula(55, 5e-4, 100, 10, 1.0))
    assert not clone.uses_weight_decay("LayerNorm/gamma") and clone.uses_weight_decay("kernel")
    # no clipping inside: clipping [10, 1e-5] to norm 1 would change the eps-dominated 2nd entry 8x
    g = np.array([10.0, 1e-5])
    var = tf.Variable(np.zeros(2, np.float32), name="w/bias")
    AdamWeightDecayOptimizer(learning_rate=1.0).apply_gradients([(tf.constant(g, tf.float32), var)])
    unclipped = -(0.1 * g) / (np.sqrt(0.001 * g * g) + EPS)
    np.testing.assert_allclose(var.numpy(), unclipped, rtol=1e-5)
    clipped = g / np.linalg.norm(g)
    assert abs(var.numpy()[1] - (-(0.1 * clipped) / (np.sqrt(0.001 * clipped**2) + EPS))[1]) > 0.5


def test_slots_survive_checkpoint(tmp_path):
    init, grads = make_problem(3)
    names = ("LayerNorm/gamma", "dense/kernel")

    def build():
        vs = [tf.Variable(p, name=n) for p, n in zip(init, names, strict=True)]
        return vs, create_optimizer(0.1, num_train_steps=10, num_warmup_steps=1)

    variables, optimizer = build()
    for g in grads[:2]:
        optimizer.apply_gradients(zip([tf.constant(x) for x in g], variables, strict=True))
    path = tf.train.Checkpoint(optimizer=optimizer, v0=variables[0], v1=variables[1]).save(
        str(tmp_path / "ckpt")
    )
    for i, var in enumerate(variables):
        assert var.numpy().tolist() != init[i].tolist()

    restored_vars, restored_opt = build()
    tf.train.Checkpoint(optimizer=restored_opt, v0=restored_vars[0], v1=restored_vars[1]).restore(
        path
    ).assert_existing_objects_matched()
    assert int(restored_opt.iterations) == 2
    for opt, vs in ((optimizer, variables), (restored_opt, restored_vars)):
        opt.apply_gradients(zip([tf.constant(x) for x in grads[2]], vs, strict=True))
    for a, b in zip(variables, restored_vars, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        for slot in ("m", "v"):
            np.testing.assert_array_equal(
                optimizer.get_slot(a, slot).numpy(), restored_opt.get_slot(b, slot).numpy()
            )
    expected, _, _ = numpy_adamw(init, grads, [formula(t, 0.1, 10, 1, 1.0) for t in range(3)], [False, True])
    np.testing.assert_allclose(restored_vars[1].numpy(), expected[1], rtol=1e-6, atol=1e-6)


def test_xla_compiled_steps_match_numpy():
    init, grads = make_problem(4)
    optimizer = create_optimizer(0.05, num_train_steps=8, num_warmup_steps=2)
    variables = [tf.Variable(p, name=n) for p, n in zip(init, ("LayerNorm/beta", "kernel"), strict=True)]

    @tf.function(jit_compile=True)
    def step(g):
        optimizer.apply_gradients(zip(g, variables, strict=True))

    for g in grads:
        step([tf.constant(x) for x in g])
    lrs = [formula(t, 0.05, 8, 2, 1.0) for t in range(3)]
    expected, _, _ = numpy_adamw(init, grads, lrs, decayed=[False, True])
    for var, ref in zip(variables, expected, strict=True):
        np.testing.assert_allclose(var.numpy(), ref, rtol=1e-6, atol=1e-6)


def torch_style_adamw(params, grads_per_step, lrs, decayed, l2=False):
    """torch.optim.AdamW's update written as torch does it (float64): decoupled decay
    p *= 1 - lr * wd first, then p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    l2=True: torch.optim.Adam's coupled decay instead (g += wd * p before the moments)."""
    params = [p.astype(np.float64).copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, (grads, lr) in enumerate(zip(grads_per_step, lrs, strict=True), start=1):
        bias_correction1, bias_correction2 = 1 - B1**t, 1 - B2**t
        for i, g in enumerate(grads):
            if decayed[i] and l2:
                g = g + WD * params[i]
            elif decayed[i]:
                params[i] *= 1 - lr * WD
            m[i] = m[i] * B1 + g * (1 - B1)
            v[i] = v[i] * B2 + g * g * (1 - B2)
            denom = np.sqrt(v[i]) / np.sqrt(bias_correction2) + EPS
            params[i] -= lr / bias_correction1 * m[i] / denom
    return params, m, v


@pytest.mark.parametrize("jit", [False, True])
def test_bias_correction_matches_torch_style_adamw_over_several_steps(jit):
    rng = np.random.default_rng(5)
    init = [rng.normal(size=(4,)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)]
    grads = [[rng.normal(size=p.shape).astype(np.float32) for p in init] for _ in range(6)]
    schedule = ElectraLearningRate(0.05, num_train_steps=10, num_warmup_steps=2)
    optimizer = AdamWeightDecayOptimizer(learning_rate=schedule, weight_decay_rate=WD, bias_correction=True)
    variables = [
        tf.Variable(p, name=n) for p, n in zip(init, ("LayerNorm/beta", "dense/kernel"), strict=True)
    ]

    @tf.function(jit_compile=jit)
    def step(g):
        optimizer.apply_gradients(zip(g, variables, strict=True))

    for g in grads:
        step([tf.constant(x) for x in g])
    lrs = [formula(t, 0.05, 10, 2, 1.0) for t in range(6)]
    expected, m, v = torch_style_adamw(init, grads, lrs, decayed=[False, True])
    for i, (var, ref) in enumerate(zip(variables, expected, strict=True)):
        np.testing.assert_allclose(var.numpy(), ref, rtol=1e-6, atol=1e-6)
        # the slots hold the raw moments; the correction only enters the update
        np.testing.assert_allclose(optimizer.get_slot(var, "m").numpy(), m[i], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(optimizer.get_slot(var, "v").numpy(), v[i], rtol=1e-5, atol=1e-9)
    assert int(optimizer.iterations) == 6
    # the same as this file's bias-corrected reference (wd * param added to the update before lr)
    ours, _, _ = numpy_adamw(init, grads, lrs, decayed=[False, True], bias_correction=True)
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)  # float32 g: rounding only
    # the comparisons can fail: no correction, or decay coupled into the gradient (Adam + L2), differ
    uncorrected, _, _ = numpy_adamw(init, grads, lrs, decayed=[False, True])
    assert np.abs(variables[1].numpy() - uncorrected[1]).max() > 1e-3
    coupled, _, _ = torch_style_adamw(init, grads, lrs, decayed=[False, True], l2=True)
    assert np.abs(variables[1].numpy() - coupled[1]).max() > 1e-5


def test_bias_correction_is_off_by_default_and_round_trips():
    init, grads = make_problem(6)
    default = AdamWeightDecayOptimizer(learning_rate=0.1, weight_decay_rate=WD)
    explicit = AdamWeightDecayOptimizer(learning_rate=0.1, weight_decay_rate=WD, bias_correction=False)
    assert default.bias_correction is False and "bias_correction" not in default.get_config()
    a, b = run_tf(default, init, grads), run_tf(explicit, init, grads)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    expected, _, _ = numpy_adamw(init, grads, [0.1] * 3, decayed=[False, True])  # upstream's rule
    np.testing.assert_allclose(a[1].numpy(), expected[1], rtol=1e-6, atol=1e-6)
    corrected = AdamWeightDecayOptimizer(learning_rate=0.1, bias_correction=True)
    config = corrected.get_config()
    assert config["bias_correction"] is True
    assert AdamWeightDecayOptimizer.from_config(config).bias_correction is True
    assert create_optimizer(1e-3, 10, 1).bias_correction is False  # pre-training: upstream's AdamW
