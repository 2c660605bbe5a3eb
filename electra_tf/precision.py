"""Compute precision of pre-training: float32, or bfloat16 compute with float32 variables.

`mixed_precision` (hparam) is true, false or "auto" (the default). "auto" means bfloat16 where the
hardware multiplies bfloat16 natively: a GPU of compute capability ≥ 8.0, or, without a GPU, a CPU
with AMX-BF16 or AVX512-BF16. Elsewhere bfloat16 is emulated and slower than float32, so "auto"
means float32 there.

Why bfloat16 by default where it is native: upstream ELECTRA trained on TPUs, whose float32 matrix
products multiply in bfloat16 by default, so bfloat16 products are closer to how the released
checkpoints were made than strict float32 is. Variables, the optimizer, losses, logits, the
Gumbel sampling and the paper methods' bookkeeping stay float32 (tf_keras "mixed_bfloat16").
`"mixed_precision": false` gives strict float32 everywhere.
"""

from __future__ import annotations

import contextlib
import os

import tensorflow as tf
import tf_keras

AUTO = "auto"
CPU_FLAGS_WITH_BFLOAT16 = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo does not exist)."""
    if not os.path.exists(cpuinfo):
        return set()
    with open(cpuinfo, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def native_bfloat16() -> tuple[bool, str]:
    """(whether the training device multiplies bfloat16 natively, a one-line reason)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        native = capability is not None and tuple(capability) >= (8, 0)
        return native, f"GPU compute capability {capability}"
    found = sorted(set(CPU_FLAGS_WITH_BFLOAT16) & cpu_flags())
    if found:
        return True, f"CPU with {', '.join(found)}"
    return False, "CPU without amx_bf16/avx512_bf16"


def resolve(mixed_precision: bool | str) -> tuple[bool, str]:
    """(bfloat16 compute?, why) for the hparam value true, false or "auto"."""
    if mixed_precision == AUTO:
        native, why = native_bfloat16()
        return native, f"auto: {why}"
    return bool(mixed_precision), "set by the mixed_precision hparam"


def describe(mixed: bool) -> str:
    return "bfloat16 compute, float32 variables" if mixed else "float32"


@contextlib.contextmanager
def precision_policy(mixed: bool):
    """Layers constructed or built inside compute in bfloat16 with float32 variables when `mixed`
    (tf_keras' "mixed_bfloat16" policy; a layer takes the global policy when it is constructed, and
    many create sublayers when first built); the global policy is restored afterwards."""
    previous = tf_keras.mixed_precision.global_policy()
    tf_keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed else "float32")
    try:
        yield
    finally:
        tf_keras.mixed_precision.set_global_policy(previous)
