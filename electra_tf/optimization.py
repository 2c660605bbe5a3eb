"""Upstream ELECTRA's optimizer: AdamW without bias correction and the warm-up/decay schedule.

Update rule (docs/design.md, 'Optimizer'; upstream `AdamWeightDecayOptimizer`), per variable with gradient g:

    m <- b1 * m + (1 - b1) * g
    v <- b2 * v + (1 - b2) * g^2
    update = m / (sqrt(v) + eps) + wd * param      (wd = 0 for LayerNorm / layer_norm / bias)
    param <- param - lr_t * update

with b1 = 0.9, b2 = 0.999, eps = 1e-6 and no bias correction. Gradient clipping (global norm
1.0) is the trainer's job, on the all-reduced gradients; the optimizer itself never clips.
`bias_correction=True` (ours, off by default; fine-tuning's adam_bias_correction hparam) uses
m / (1 - b1^t) and v / (1 - b2^t) in the update instead, t = the 1-based step, as torch.optim.AdamW
and Hugging Face (whose eps default is 1e-8, not 1e-6); weight decay stays decoupled as above.

Learning rate (upstream): lr_t = lr * (1 - min(t, T) / T) ** power * min(1, t / W), t = the
optimizer's iteration count before the update (so the very first update uses lr_0 = 0 when
W > 0, as upstream), T = num_train_steps, W = num_warmup_steps (0 = no warm-up; fine-tuning
passes upstream's fractional W = T * warmup_proportion, which is kept as a float).

Optional per-variable learning-rate multipliers (fine-tuning's layer-wise decay, upstream
`_get_layer_lrs`): the update of variable `name` uses lr_t * multiplier(name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import tensorflow as tf
import tf_keras
from official.modeling.optimization import legacy_adamw

EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")


@tf_keras.utils.register_keras_serializable(package="electra_tf")
class ElectraLearningRate(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Polynomial decay to 0 over T steps times the linear warm-up factor min(1, t / W).

    The decay part is tf_keras' `PolynomialDecay(lr, T, end_learning_rate=0, power)`, which
    computes `lr * (1 - min(t, T) / T) ** power`; warm-up and decay overlap, as upstream.
    Called with a scalar step, returns a float32 scalar.
    """

    def __init__(
        self,
        learning_rate: float,
        num_train_steps: int,
        num_warmup_steps: int = 0,
        lr_decay_power: float = 1.0,
        name: str = "ElectraLearningRate",
    ):
        super().__init__()
        if num_train_steps <= 0:
            raise ValueError(f"num_train_steps must be positive, got {num_train_steps}")
        if num_warmup_steps < 0:
            raise ValueError(f"num_warmup_steps must be >= 0, got {num_warmup_steps}")
        self.learning_rate = float(learning_rate)
        self.num_train_steps = int(num_train_steps)
        # Upstream fine-tuning warms up for T * warmup_proportion steps, a float; keep it exact.
        warmup = float(num_warmup_steps)
        self.num_warmup_steps = int(warmup) if warmup.is_integer() else warmup
        self.lr_decay_power = float(lr_decay_power)
        self.name = name
        self._decay = tf_keras.optimizers.schedules.PolynomialDecay(
            initial_learning_rate=self.learning_rate,
            decay_steps=self.num_train_steps,
            end_learning_rate=0.0,
            power=self.lr_decay_power,
            cycle=False,
        )

    def __call__(self, step):
        with tf.name_scope(self.name):
            decayed = tf.cast(self._decay(step), tf.float32)
            if self.num_warmup_steps == 0:
                return decayed
            t = tf.cast(step, tf.float32)
            return decayed * tf.minimum(1.0, t / float(self.num_warmup_steps))

    def get_config(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "num_train_steps": self.num_train_steps,
            "num_warmup_steps": self.num_warmup_steps,
            "lr_decay_power": self.lr_decay_power,
            "name": self.name,
        }


@tf_keras.utils.register_keras_serializable(package="electra_tf")
class AdamWeightDecayOptimizer(legacy_adamw.AdamWeightDecay):
    """Upstream's AdamW on top of tf-models-official's (legacy Keras) `AdamWeightDecay`.

    The parent provides the slots `m`/`v` (ordinary trackable optimizer slots, so
    `tf.train.Checkpoint(optimizer=...)` saves them), the learning-rate schedule, the name-based
    weight-decay exclusion and the config. The update itself is written out here instead of
    using the parent's fused `ResourceApplyAdam` kernel: even with its bias-correction powers
    zeroed, that kernel forms `1 - beta` from the float32 `beta`, and `1 - float32(0.999)`
    is 1.3e-5 (relative) off upstream's `float32(1 - 0.999)`, which shifts each update by ~6e-6 (rel.).
    Here the coefficients are the float32 roundings of the Python values `beta`, `1 - beta`,
    `eps`, `wd`, exactly as upstream's graph builds them. Sparse (IndexedSlices) gradients are
    made dense first — what upstream's TF1 graph does — so every row's moments decay each step.
    The optimizer never clips (`gradient_clip_norm` 0); the trainer clips the all-reduced grads.

    `lr_multipliers` (default None: every variable uses lr_t) scales the learning rate per
    variable, resolved from the variable's name (without ":0") when the update is traced:
    a callable name -> float, or a mapping {substring: multiplier} where exactly one key must
    occur in the name (upstream's layer-wise rates). A variable with no multiplier is an error.

    `bias_correction` (default False: upstream) divides the new moments by (1 - beta_1^t) and
    (1 - beta_2^t), t = iterations + 1 (a step skipped by `update_gate` still counts), with the
    factors computed in float64 as torch does in Python before rounding them to the variable's dtype.
    """

    def __init__(
        self,
        learning_rate=1e-3,
        weight_decay_rate: float = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        exclude_from_weight_decay=EXCLUDE_FROM_WEIGHT_DECAY,
        include_in_weight_decay=None,
        gradient_clip_norm: float = 0.0,
        name: str = "AdamWeightDecay",
        lr_multipliers: Callable[[str], float] | Mapping[str, float] | None = None,
        bias_correction: bool = False,
        **kwargs,
    ):
        kwargs.pop("amsgrad", None)
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=False,
            weight_decay_rate=weight_decay_rate,
            include_in_weight_decay=list(include_in_weight_decay) if include_in_weight_decay else None,
            exclude_from_weight_decay=list(exclude_from_weight_decay) if exclude_from_weight_decay else None,
            gradient_clip_norm=gradient_clip_norm,
            name=name,
            **kwargs,
        )
        self._betas = (float(beta_1), float(beta_2))
        self._update_gate = None
        if isinstance(lr_multipliers, Mapping):
            lr_multipliers = {str(k): float(v) for k, v in lr_multipliers.items()}
        self._lr_multipliers = lr_multipliers
        self.bias_correction = bool(bias_correction)

    def lr_multiplier(self, param_name: str) -> float:
        """The learning-rate factor of the variable called `param_name` (1.0 without multipliers).

        Raises:
          ValueError: no (or, for a mapping, more than one) multiplier applies to the variable.
        """
        name = re.sub(r":\d+$", "", param_name)
        rule = self._lr_multipliers
        if rule is None:
            return 1.0
        if callable(rule):
            return float(rule(name))
        keys = [key for key in rule if key in name]
        if len(keys) != 1:
            problem = "No learning rate specified" if not keys else f"Several learning rates {keys} match"
            raise ValueError(f"{problem} for variable {name}; keys: {', '.join(rule)}")
        return rule[keys[0]]

    def apply_gradients(
        self, grads_and_vars, name=None, experimental_aggregate_gradients=True, update_gate=None
    ):
        """Keras' apply_gradients; `update_gate` (a scalar bool tensor; None, the default: always)
        False leaves every variable and slot as it was, while the step counter still advances: how
        the trainer skips a step whose gradients are not finite (`skip_nonfinite_steps`).

        Under MirroredStrategy each replica thread sets the gate before the merge; the trainer's
        gates are equal on every replica (they derive from all-reduced gradients)."""
        self._update_gate = update_gate
        try:
            return super().apply_gradients(
                grads_and_vars, name=name, experimental_aggregate_gradients=experimental_aggregate_gradients
            )
        finally:
            self._update_gate = None

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        b1, b2 = self._betas
        values = dict(b1=b1, one_minus_b1=1.0 - b1, b2=b2, one_minus_b2=1.0 - b2, eps=self.epsilon)
        coefficients = {key: tf.constant(value, dtype=var_dtype) for key, value in values.items()}
        if self.bias_correction:
            t = tf.cast(self.iterations + 1, tf.float64)
            for name, beta in (("correction1", b1), ("correction2", b2)):
                coefficients[name] = tf.cast(1.0 - tf.pow(tf.constant(beta, tf.float64), t), var_dtype)
        apply_state[(var_device, var_dtype)]["electra"] = coefficients

    def _resource_apply_dense(self, grad, var, apply_state=None):
        key = (var.device, var.dtype.base_dtype)
        coefficients = (apply_state or {}).get(key) or self._fallback_apply_state(*key)
        c = coefficients["electra"]
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        next_m = c["b1"] * m + c["one_minus_b1"] * grad
        next_v = c["b2"] * v + c["one_minus_b2"] * tf.square(grad)
        if self.bias_correction:
            update = (next_m / c["correction1"]) / (tf.sqrt(next_v / c["correction2"]) + c["eps"])
        else:
            update = next_m / (tf.sqrt(next_v) + c["eps"])
        if self._do_use_weight_decay(var.name):
            update += coefficients["weight_decay_rate"] * var
        lr = coefficients["lr_t"]
        multiplier = self.lr_multiplier(var.name)
        if multiplier != 1.0:
            lr = lr * tf.constant(multiplier, dtype=lr.dtype)
        if self._update_gate is not None:  # a skipped step keeps the old values (NaN-free)
            gate = tf.cast(self._update_gate, tf.bool)
            next_var = var - lr * update
            next_var, next_m, next_v = (
                tf.where(gate, new, old) for new, old in ((next_var, var), (next_m, m), (next_v, v))
            )
            return tf.group(
                var.assign(next_var, use_locking=self._use_locking),
                m.assign(next_m, use_locking=self._use_locking),
                v.assign(next_v, use_locking=self._use_locking),
            )
        return tf.group(
            var.assign_sub(lr * update, use_locking=self._use_locking),
            m.assign(next_m, use_locking=self._use_locking),
            v.assign(next_v, use_locking=self._use_locking),
        )

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        dense = tf.math.unsorted_segment_sum(grad, indices, num_segments=tf.shape(var)[0])
        return self._resource_apply_dense(dense, var, apply_state)

    def uses_weight_decay(self, param_name: str) -> bool:
        """Whether the variable called `param_name` is decayed."""
        return self._do_use_weight_decay(param_name)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("amsgrad", None)
        config.update(
            exclude_from_weight_decay=self._exclude_from_weight_decay,
            include_in_weight_decay=self._include_in_weight_decay,
            gradient_clip_norm=self.gradient_clip_norm,
        )
        if self.bias_correction:  # absent when off: configs stay as before
            config["bias_correction"] = True
        if isinstance(self._lr_multipliers, Mapping):  # a callable cannot be serialised
            config["lr_multipliers"] = dict(self._lr_multipliers)
        return config


def create_optimizer(
    learning_rate: float,
    num_train_steps: int,
    num_warmup_steps: int,
    lr_decay_power: float = 1.0,
    weight_decay_rate: float = 0.01,
) -> AdamWeightDecayOptimizer:
    """The upstream pre-training optimizer: no-bias-correction AdamW on `ElectraLearningRate`."""
    schedule = ElectraLearningRate(learning_rate, num_train_steps, num_warmup_steps, lr_decay_power)
    return AdamWeightDecayOptimizer(learning_rate=schedule, weight_decay_rate=weight_decay_rate)
