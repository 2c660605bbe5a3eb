"""The "auto" precision rule: bfloat16 compute exactly where the hardware multiplies it natively."""

from __future__ import annotations

import pytest
import tensorflow as tf

from electra_tf import precision

DETECT = precision.native_bfloat16  # the conftest fixture patches it for every other test

SAPPHIRE_RAPIDS = "flags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw\n"


@pytest.mark.parametrize("cpuinfo, native", [(SAPPHIRE_RAPIDS, True), (SKYLAKE, False), (None, False)])
def test_auto_is_bfloat16_only_on_a_cpu_with_native_bfloat16(cpuinfo, native, tmp_path, monkeypatch):
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    read_flags = precision.cpu_flags
    monkeypatch.setattr(precision, "cpu_flags", lambda: read_flags(str(path)))
    monkeypatch.setattr(precision, "native_bfloat16", DETECT)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    mixed, why = precision.resolve("auto")
    assert mixed is native
    assert why.startswith("auto: CPU with" if native else "auto: CPU without")
    assert precision.resolve(True) == (True, "set by the mixed_precision hparam")
    assert precision.resolve(False)[0] is False


def test_cpu_flags_parse_the_first_flags_line(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(SKYLAKE + SAPPHIRE_RAPIDS)
    assert precision.cpu_flags(str(path)) == {"fpu", "sse", "avx2", "avx512f", "avx512bw"}
    assert precision.cpu_flags(str(tmp_path / "absent")) == set()
