"""The exit hparams shared by the methods with exit heads (`adaptive_exit_gen`, `early_exit_disc`)."""

from __future__ import annotations

import dataclasses

from electra_tf.configs import ConfigError


@dataclasses.dataclass(frozen=True)
class ExitHparams:
    # exit heads after these layers (1-based layer counts, increasing)
    exit_layers: tuple[int, ...] = (3, 6, 9, 12)
    # loss weight of each exit head, normalised over the heads that ran
    exit_loss_weights: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)
    # steps between updates of the exit choice
    exit_update_every: int = 100


def validate_exits(hparams: ExitHparams, per_exit: tuple[str, ...] = ("exit_loss_weights",)) -> None:
    """ConfigError naming the key: exit_layers not increasing from 1, a `per_exit` hparam without
    one value per exit, negative weights or a zero first weight, a non-positive update period."""
    layers = list(hparams.exit_layers)
    if layers[0] < 1 or any(b <= a for a, b in zip(layers, layers[1:], strict=False)):
        raise ConfigError(f"hparam exit_layers must be increasing layer counts >= 1, got {layers}")
    for key in per_exit:
        if len(getattr(hparams, key)) != len(layers):
            raise ConfigError(
                f"hparam {key} needs one value per exit layer {layers}, got {list(getattr(hparams, key))}"
            )
    weights = hparams.exit_loss_weights
    if min(weights) < 0 or weights[0] <= 0:
        raise ConfigError(
            f"hparam exit_loss_weights must be >= 0 with a positive first weight, got {list(weights)}"
        )
    if hparams.exit_update_every < 1:
        raise ConfigError(f"hparam exit_update_every must be positive, got {hparams.exit_update_every}")
