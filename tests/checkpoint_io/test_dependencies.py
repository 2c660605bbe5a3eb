"""checkpoint_io builds nothing of its own: it imports no pretraining or optimizer module (read
from its source with ast, function-local imports included), reads our checkpoints without creating
a variable, and `score` loads a discriminator without creating any generator variable."""

from __future__ import annotations

import ast
import os

import numpy as np
import pytest

from electra_tf import checkpoint_io, score
from electra_tf.checkpoint_io import translate
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.checkpoint_io.helpers import (
    TINY_SHAPES,
    created_variables,
    make_upstream_checkpoint,
    read_all,
    write_vocab,
)
from tests.helpers import REPO

PACKAGE = os.path.join(REPO, "electra_tf", "checkpoint_io")
FORBIDDEN = ("electra_tf.pretraining", "electra_tf.optimization", "pretrain", "finetune")


def imported_modules(source: str, package: str = "electra_tf.checkpoint_io") -> set[str]:
    """Every module `source` imports, at any depth: `import a.b` → a.b; `from a import b` → a and
    a.b (b may be a module); relative imports resolved against `package`. A call of `__import__`
    or `import_module` adds "<dynamic import>"."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] if node.level else [])
            base = ".".join(p for p in (base, node.module or "") if p)
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("__import__", "import_module"):
                modules.add("<dynamic import>")
    return modules


def forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "<dynamic import>" or m.startswith(FORBIDDEN))


def test_the_detector_sees_lazy_relative_and_dynamic_imports():
    lazy = "def f():\n    from electra_tf.optimization import create_optimizer\n"
    assert forbidden(imported_modules(lazy)) == [
        "electra_tf.optimization",
        "electra_tf.optimization.create_optimizer",
    ]
    assert forbidden(imported_modules("from electra_tf import pretraining\n")) == ["electra_tf.pretraining"]
    assert forbidden(imported_modules("from ..pretraining import model\n")) == [
        "electra_tf.pretraining",
        "electra_tf.pretraining.model",
    ]
    assert forbidden(imported_modules("import importlib\nimportlib.import_module('x')\n")) == [
        "<dynamic import>"
    ]
    assert forbidden(imported_modules("from .io import OURS\nimport tensorflow as tf\n")) == []
    with open(os.path.join(REPO, "electra_tf", "pretraining", "training_state.py"), encoding="utf-8") as f:
        assert {"electra_tf.optimization", "electra_tf.pretraining.model"} <= imported_modules(f.read())


def test_checkpoint_io_imports_no_pretraining_or_optimizer_module():
    files = sorted(name for name in os.listdir(PACKAGE) if name.endswith(".py"))
    assert {"__init__.py", "io.py", "translate.py", "upstream_names.py"} <= set(files)
    for name in files:
        with open(os.path.join(PACKAGE, name), encoding="utf-8") as f:
            assert forbidden(imported_modules(f.read())) == [], name


@pytest.fixture
def ours_with_generator(tmp_path):
    """(upstream prefix, our converted prefix) of a synthetic TINY_SHAPES model with a generator
    and Adam slots, step 9."""
    upstream = make_upstream_checkpoint(tmp_path / "upstream", seed=3, step=9, slots=True, **TINY_SHAPES)
    ours = translate.to_ours(upstream, str(tmp_path / "models" / "ours"), build=build_model_and_optimizer)
    return upstream, ours


def test_reading_our_checkpoint_creates_no_variable(ours_with_generator):
    upstream, ours = ours_with_generator
    with created_variables() as created:
        checkpoint = checkpoint_io.read_checkpoint_arrays(ours)
    assert created == []
    expected = read_all(upstream)  # the written upstream arrays, read without the library
    assert checkpoint.step == int(expected.pop("global_step")) == 9
    assert sorted(checkpoint.arrays) == sorted(expected)
    for name, value in expected.items():
        assert np.array_equal(checkpoint.arrays[name], value), name


def test_score_builds_no_generator_variable(ours_with_generator, tmp_path, capsys):
    upstream, ours = ours_with_generator
    with created_variables() as pretrainer:  # the probe sees a generator where one is built
        build_model_and_optimizer(checkpoint_io.config_for_checkpoint(ours), with_slots=False)
    assert any("generator" in v.name for v in pretrainer)
    discriminator = [
        n
        for n in read_all(upstream)
        if n.startswith(("electra/", "discriminator_predictions/")) and not n.endswith(("/adam_m", "/adam_v"))
    ]
    vocab = write_vocab(tmp_path / "vocab.txt", TINY_SHAPES["vocab"])
    for checkpoint in (ours, upstream):
        with created_variables() as created:
            output = score.run(checkpoint=checkpoint, vocab_file=vocab, text="the quick brown fox")
        assert len(output.splitlines()) == 6  # [CLS] the quick brown fox [SEP]
        assert [v.name for v in created if "generator" in v.name] == []
        weights = [v for v in created if v.trainable]  # not RNG states
        assert len(weights) == len(discriminator), checkpoint  # exactly the discriminator's weights
    assert "generator" in capsys.readouterr().err  # the checkpoint's generator is reported unused
