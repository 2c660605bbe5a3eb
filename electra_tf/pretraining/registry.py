"""The method registry: a pre-training method is one `Method` entry, named once.

An entry holds everything other code may ask about a method: its own hparams (a frozen dataclass
whose fields are flat `--hparams` keys, as upstream), their validation, the builder of its
replacement part, the builder of its discriminator stage (None: upstream's full discriminator),
and facts such as whether the generator sizes apply. Each method's file under `methods/` builds
its entry and calls `register`; `method_of(config)` is the only place that reads `config.method`.

This module imports no TensorFlow, so configuration code can ask it which keys are valid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from electra_tf.configs import ConfigError


def _no_validation(config) -> None:
    """A method without checks of its own."""


@dataclasses.dataclass(frozen=True)
class Method:
    """One pre-training method.

    name: the `method` hparam value.
    build_replacement: (config, BuildContext) -> ReplacementMethod, the part that corrupts inputs.
    hparams: a frozen dataclass of the method's own hparams and defaults (None: it has none); a
      resolved config holds an instance as `config.method_hparams`.
    validate: (config) -> None, raises `configs.ConfigError` naming the key.
    build_discriminator: (config) -> DiscriminatorStage, or None for upstream's full discriminator.
    generator_sized: whether `generator_hidden_size` / `generator_layers` shape a generator of its
      own (false for a tied or generator-free method; the benchmark times such a method once).
    timing_hparams: hparams the benchmark merges in to time the method's steady state.
    readings: other readings of the method, label → hparams (e.g. {"exit_heads=exit":
      {"exit_heads": "exit"}}); the benchmark times each beside the default one.
    timed_per_exit: whether the step's cost depends on an exit the run chooses (the generator's or
      the discriminator's); the benchmark then times it pinned at each of its `--exit_layer`s.
    initial_exit_shares: (config) -> {exit layer: share of steps} before the run moves them (e.g.
      the adaptive generator's P₁), or None; the benchmark weights the pinned times by it.
    """

    name: str
    build_replacement: Callable
    hparams: type | None = None
    validate: Callable[[Any], None] = _no_validation
    build_discriminator: Callable | None = None
    generator_sized: bool = True
    timing_hparams: dict = dataclasses.field(default_factory=dict)
    readings: dict[str, dict] = dataclasses.field(default_factory=dict)
    timed_per_exit: bool = False
    initial_exit_shares: Callable | None = None

    def hparam_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.hparams)) if self.hparams else ()

    def default_hparams(self):
        return self.hparams() if self.hparams else None


_METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Adds `method` (ValueError if its name is taken); returns it."""
    if method.name in _METHODS:
        raise ValueError(f"method {method.name!r} registered twice")
    _METHODS[method.name] = method
    return method


def unregister(name: str) -> None:
    """Removes a method (e.g. one registered for an experiment); KeyError if none has `name`."""
    del _METHODS[name]


def _load_builtin_methods() -> None:
    from electra_tf.pretraining import methods  # noqa: F401  (each module registers its method)


def registered_methods() -> list[str]:
    _load_builtin_methods()
    return sorted(_METHODS)


def get_method(name: str) -> Method | None:
    _load_builtin_methods()
    return _METHODS.get(name)


def method_hparam_names() -> tuple[str, ...]:
    """Every registered method's hparam keys (each once)."""
    _load_builtin_methods()
    return tuple(dict.fromkeys(k for m in _METHODS.values() for k in m.hparam_names()))


def method_of(config) -> Method:
    """The entry `config.method` names (ConfigError listing the registered ones otherwise)."""
    method = get_method(config.method)
    if method is None:
        raise ConfigError(
            f"unknown method {config.method!r}; registered methods: {', '.join(registered_methods())}"
        )
    return method


def hparams_of(config):
    """The method's hparams: the config's resolved ones, else the method's defaults."""
    return config.method_hparams if config.method_hparams is not None else method_of(config).default_hparams()
