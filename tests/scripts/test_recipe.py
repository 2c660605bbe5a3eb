"""scripts/recipe.py: the held-out split by bytes and the recipe files' checks."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from tests.helpers import REPO


def _recipe_module():
    spec = importlib.util.spec_from_file_location("recipe_script", os.path.join(REPO, "scripts", "recipe.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_holds_out_whole_files_from_the_end_by_bytes(tmp_path):
    recipe = _recipe_module()
    paths = []
    for i, size in enumerate([100, 100, 100, 50, 30]):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"x" * size)
        paths.append(str(p))
    train, held = recipe.split_corpus(paths, 0.2)  # 20% of 380 bytes = 76: the last two files (80)
    assert held == paths[3:] and train == paths[:3]
    train, held = recipe.split_corpus(paths, 0.0)  # at least one file
    assert held == paths[4:]
    train, held = recipe.split_corpus(paths, 0.99)  # at least one training file
    assert train == paths[:1]
    with pytest.raises(ValueError, match="at least two files"):
        recipe.split_corpus(paths[:1], 0.05)


def test_recipe_files_are_checked(tmp_path, monkeypatch):
    recipe = _recipe_module()
    monkeypatch.setattr(recipe, "RECIPES", str(tmp_path))
    (tmp_path / "good.json").write_text(json.dumps({"num_train_steps": 10}))
    (tmp_path / "good.data.json").write_text(json.dumps({"learn_vocab_size": 100}))
    hparams, data = recipe.load_recipe("good")
    assert hparams == {"num_train_steps": 10} and data == {"learn_vocab_size": 100}
    with pytest.raises(ValueError, match="no recipe 'nope'.*recipes: good"):
        recipe.load_recipe("nope")
    (tmp_path / "bad.json").write_text(json.dumps({"no_such_key": 1}))
    with pytest.raises(ValueError, match="unknown hparam"):
        recipe.load_recipe("bad")
    (tmp_path / "odd.json").write_text("{}")
    (tmp_path / "odd.data.json").write_text(json.dumps({"vocab": 1}))
    with pytest.raises(ValueError, match="unknown key"):
        recipe.load_recipe("odd")
