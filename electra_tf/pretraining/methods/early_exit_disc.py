"""Early-Exit (Disc) (paper §3): RTD exit heads after each section of a discriminator the generator shares.

The generator is the discriminator's own encoder with an MLM head (upstream's
`untied_generator=False`: one set of encoder variables). It runs every layer (the default), or
with `early_exit_generator` stops where the discriminator stops: layers up to the exit section on
an ordinary step, all of them on a probe step, its MLM head on the last layer that ran ("we share
the parameters of the generator and discriminator" lets the exit apply to both; the paper's 1.29×
fits a step whose generator stops too, docs/methods.md). The discriminator has one RTD head per
section, after `exit_layers` (default 3, 6, 9, 12; the last one is upstream's
`discriminator_predictions`, which fine-tuning and `score` use with all layers).

Every `exit_update_every` steps, starting with the first, is a probe step: it runs every layer and
every head, and afterwards each section's RTD accuracy on that step gives the threshold (their
mean) and the exit section (the first whose accuracy reaches it). Every other step runs the layers
up to the exit section only (`tf.switch_case`; the rest is not executed) and trains the heads up
to it: loss Σ_{i≤s} w_i·RTD_i / Σ_{i≤s} w_i with `exit_loss_weights`, as the generator exits of
`adaptive_exit_gen`. The metrics read the deepest head that ran.

Shapes: B = batch, L = sequence length, E = embedding size, H = hidden size, K = sections.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.modeling.encoder import TransformerEncoder, build_encoder
from electra_tf.modeling.heads import DiscriminatorHead
from electra_tf.pretraining import losses, metrics, registry
from electra_tf.pretraining.discriminators import DiscriminatorOutput, DiscriminatorStage
from electra_tf.pretraining.generator import ElectraGenerator, build_mlm_head
from electra_tf.pretraining.methods.exit_hparams import ExitHparams, validate_exits
from electra_tf.pretraining.parts import StateLayer
from electra_tf.pretraining.replacement import BuildContext, LossTerm

NAME = "early_exit_disc"


@dataclasses.dataclass(frozen=True)
class EarlyExitHparams(ExitHparams):
    # the tied generator stops at the exit section too (false: it runs every layer)
    early_exit_generator: bool = False


def validate(config: configs.PretrainingConfig) -> None:
    validate_exits(registry.hparams_of(config))


def choose_exit_section(section_accuracy: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """[K] float section accuracies → (threshold = their mean, float32; exit section = the first k
    with accuracy ≥ threshold, int32). Should rounding leave no section at the mean, the most
    accurate one is taken."""
    accuracy = tf.cast(section_accuracy, tf.float32)
    threshold = tf.reduce_mean(accuracy)
    reached = accuracy >= threshold
    first = tf.argmax(tf.cast(reached, tf.int32), output_type=tf.int32)
    best = tf.argmax(accuracy, output_type=tf.int32)
    return threshold, tf.where(tf.reduce_any(reached), first, best)


class ExitSectionPolicy(StateLayer):
    """When to probe and where to exit. Variables (non-trainable, checkpointed): `steps` (steps
    recorded), `exit_section` (starts at the last section), `threshold`, `section_accuracy` [K]
    (both from the last probe)."""

    def __init__(self, num_sections: int, update_every: int, name: str = "exit_policy", **kwargs):
        super().__init__(name=name, **kwargs)
        if update_every < 1:
            raise ValueError(f"exit_update_every must be positive, got {update_every}")
        self.num_sections = int(num_sections)
        self.update_every = int(update_every)

    def build(self, input_shape=None):
        def variable(name, shape, dtype, value=0):
            return self.add_weight(
                name=name,
                shape=shape,
                dtype=dtype,
                initializer=tf_keras.initializers.Constant(value),
                trainable=False,
            )

        self.steps = variable("steps", [], tf.int64)
        self.exit_section = variable("exit_section", [], tf.int32, self.num_sections - 1)
        self.threshold = variable("threshold", [], tf.float32)
        self.section_accuracy = variable("section_accuracy", [self.num_sections], tf.float32)
        super().build(input_shape)

    def is_probe(self) -> tf.Tensor:
        """bool scalar: whether the coming step is a probe step (steps 0, N, 2N, …)."""
        self.ensure_built()
        return tf.equal(self.steps % self.update_every, 0)

    def section_to_run(self) -> tf.Tensor:
        """int32 scalar: the last section on a probe step, else the exit section."""
        return tf.where(self.is_probe(), self.num_sections - 1, tf.convert_to_tensor(self.exit_section))

    def record(self, section_correct: tf.Tensor, tokens: tf.Tensor) -> None:
        """After a step: [K] correct counts per section head and the real-token count (summed over
        replicas). On a probe step sets accuracies, threshold and exit section; counts the step."""
        self.ensure_built()

        def probe():
            accuracy = tf.cast(section_correct, tf.float32) / tf.maximum(tf.cast(tokens, tf.float32), 1.0)
            threshold, section = choose_exit_section(accuracy)
            return tf.group(
                self.section_accuracy.assign(accuracy),
                self.threshold.assign(threshold),
                self.exit_section.assign(section),
            )

        with tf.control_dependencies([tf.cond(self.is_probe(), probe, tf.no_op)]):
            self.steps.assign_add(1)


class EarlyExitDiscriminator(DiscriminatorStage):
    """A discriminator with an RTD head after each of `exit_layers` (1-based layer counts)."""

    def __init__(
        self,
        encoder: TransformerEncoder,
        heads: Sequence[DiscriminatorHead],
        exit_layers: Sequence[int],
        exit_loss_weights: Sequence[float],
        policy: ExitSectionPolicy,
        disc_weight: float,
        name: str = "discriminator",
    ):
        super().__init__(name=name)
        self.encoder = encoder
        self.heads = list(heads)
        self.exit_layers = [int(n) for n in exit_layers]
        self.exit_loss_weights = [float(w) for w in exit_loss_weights]
        self.policy = policy
        self.disc_weight = disc_weight

    def build_variables(self) -> None:
        """Every variable before `tf.switch_case` (no variable may be born in a branch)."""
        if self.built:
            return
        with tf.init_scope(), tf.name_scope(self.name):
            self.encoder(tf.zeros([1, 1, self.encoder.embedding_size]), tf.ones([1, 1], tf.int32))
            for head in self.heads:
                head(tf.zeros([1, 1, self.encoder.hidden_size]))
            self.policy.ensure_built()
        self.built = True

    def _branch(self, section: int, hidden, input_mask, labels, training):
        """Layers 1..ℓ_s and heads 1..s → (weighted RTD numerator, correct counts [K], logits [B, L],
        states of layer ℓ_s [B, L, H])."""
        outputs = self.encoder.run_layers(hidden, input_mask, 0, self.exit_layers[section], training)
        weights = self.exit_loss_weights[: section + 1]
        numerator, correct, logits = 0.0, [], None
        for head, layer, weight in zip(self.heads, self.exit_layers, weights, strict=False):
            logits = head(outputs[layer - 1])  # [B,L]
            numerator += weight / sum(weights) * losses.rtd_loss_sums(logits, labels, input_mask)[0]
            correct.append(metrics.disc_counts(logits, labels, input_mask)["correct"])
        correct += [tf.zeros_like(correct[0])] * (len(self.heads) - len(correct))
        return numerator, tf.stack(correct), logits, outputs[-1]

    def call(self, embeddings, input_mask, labels, training=False) -> DiscriminatorOutput:
        """embeddings [B, L, E] float; input_mask, labels [B, L] int → the exit head's logits [B, L]."""
        self.build_variables()
        section = self.policy.section_to_run()
        hidden = self.encoder.project(embeddings)  # [B,L,H]
        branches = [
            (lambda k=k: self._branch(k, hidden, input_mask, labels, training))
            for k in range(len(self.heads))
        ]
        numerator, correct, logits, last = tf.switch_case(section, branches)  # scalar, [K], [B,L], [B,L,H]
        denominator = tf.reduce_sum(tf.cast(input_mask, tf.float32))
        sums = {f"section_{n}_disc_correct": correct[k] for k, n in enumerate(self.exit_layers)}
        return DiscriminatorOutput(logits, LossTerm(numerator, denominator, self.disc_weight), sums, last)

    @property
    def final_head(self) -> DiscriminatorHead:
        return self.heads[-1]

    def after_step(self, sums: dict[str, tf.Tensor]) -> None:
        correct = tf.stack([sums[f"section_{n}_disc_correct"] for n in self.exit_layers])
        self.policy.record(correct, sums["disc_tokens"])

    def pin_exit(self, layer: int) -> None:
        """Sets the exit to `layer` (one of `exit_layers`) as if a probe had just chosen it: the
        following steps up to the next probe run to `layer` (benchmarks, tests)."""
        if layer not in self.exit_layers:
            raise ValueError(f"exit layer {layer} is not one of exit_layers {self.exit_layers}")
        self.build_variables()
        self.policy.exit_section.assign(self.exit_layers.index(layer))
        self.policy.steps.assign(1)

    def summary_scalars(self, window: dict[str, float]) -> dict[str, float]:
        """The `early_exit/*` scalars: the last probe's section accuracies and threshold, and the
        exit layer non-probe steps run to."""
        accuracy = self.policy.section_accuracy.numpy()
        out = {
            f"early_exit/section_acc_{n}": float(a) for n, a in zip(self.exit_layers, accuracy, strict=True)
        }
        out["early_exit/threshold"] = float(self.policy.threshold.numpy())
        out["early_exit/exit_layer"] = float(self.exit_layers[int(self.policy.exit_section.numpy())])
        return out


def build_early_exit_discriminator(config: configs.PretrainingConfig) -> EarlyExitDiscriminator:
    tower = configs.bert_config(config)
    hp = registry.hparams_of(config)
    layers = list(hp.exit_layers)
    # checked here, not in `validate`: converting a checkpoint validates the user's hparams before
    # the checkpoint's layer count is merged in
    if layers[-1] != tower.num_hidden_layers:
        raise configs.ConfigError(
            f"{NAME}: the last of exit_layers {layers} must be the discriminator's last layer "
            f"({tower.num_hidden_layers}), so that probe steps and fine-tuning use every layer"
        )
    heads = [
        DiscriminatorHead(
            tower.hidden_size,
            tower.initializer_range,
            name="discriminator_predictions" if n == layers[-1] else f"discriminator_exit_{n}_predictions",
            output_bias_init=configs.rtd_bias_init(config),
        )
        for n in layers
    ]
    return EarlyExitDiscriminator(
        build_encoder(tower, configs.embedding_size(config)),
        heads,
        layers,
        hp.exit_loss_weights,
        ExitSectionPolicy(len(layers), hp.exit_update_every),
        config.disc_weight,
    )


class ExitingTiedGenerator(ElectraGenerator):
    """The tied generator that stops where the discriminator stops: layers 1..ℓ_s of the shared
    encoder, s = `section_to_run()` (the exit section; the last one on a probe step), then the MLM
    head on layer ℓ_s's states. The layers beyond are not executed (`tf.switch_case`)."""

    def __init__(
        self,
        encoder: TransformerEncoder,
        head,
        exit_layers: Sequence[int],
        section_to_run: Callable[[], tf.Tensor],
        temperature: float,
        gen_weight: float,
    ):
        super().__init__(encoder, head, temperature, gen_weight)
        self.exit_layers = [int(n) for n in exit_layers]
        self._section_to_run = section_to_run  # the discriminator's policy decides for both

    def last_states(self, embeddings: tf.Tensor, input_mask: tf.Tensor, training) -> tf.Tensor:
        """[B, L, E] → layer ℓ_s's states [B, L, H], only layers 1..ℓ_s executed."""
        hidden = self.encoder.project(embeddings)  # [B,L,H]
        branches = [
            (lambda n=n: self.encoder.run_layers(hidden, input_mask, 0, n, training)[-1])
            for n in self.exit_layers
        ]
        return tf.switch_case(self._section_to_run(), branches)


def build_tied_generator(config: configs.PretrainingConfig, context: BuildContext) -> ElectraGenerator:
    """The generator is the discriminator's encoder with an MLM head (generator sizes are unused),
    running every layer or, with `early_exit_generator`, to the discriminator's exit."""
    head = build_mlm_head(config)
    if not registry.hparams_of(config).early_exit_generator:
        return ElectraGenerator(context.discriminator.encoder, head, config.temperature, config.gen_weight)
    disc = context.discriminator
    return ExitingTiedGenerator(
        disc.encoder,
        head,
        disc.exit_layers,
        disc.policy.section_to_run,
        config.temperature,
        config.gen_weight,
    )


registry.register(
    registry.Method(
        NAME,
        build_tied_generator,
        hparams=EarlyExitHparams,
        validate=validate,
        build_discriminator=build_early_exit_discriminator,
        generator_sized=False,
        timed_per_exit=True,
        timing_hparams={"exit_update_every": 10**9},  # no probe after the first step: the exit stays pinned
        readings={"early_exit_generator": {"early_exit_generator": True}},
    )
)
