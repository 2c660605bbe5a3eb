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


def test_a_second_stage_starts_from_its_first_stages_finished_model_dir(tmp_path, monkeypatch):
    recipe = _recipe_module()
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    monkeypatch.setattr(recipe, "RECIPES", str(recipes))
    (recipes / "first.json").write_text(json.dumps({"num_train_steps": 10}))
    (recipes / "second.json").write_text(json.dumps({"method": "electra"}))
    (recipes / "second.data.json").write_text(json.dumps({"init_from_recipe": "first"}))
    _, data = recipe.load_recipe("second")
    data_dir = tmp_path / "data"
    assert recipe.stage_one_checkpoint(str(data_dir), "first", {}) is None  # from scratch
    # the first stage has not run (or not finished: no recipe_summary.json yet)
    (data_dir / "models" / "first").mkdir(parents=True)
    with pytest.raises(ValueError, match="run `make recipe RECIPE=first"):
        recipe.stage_one_checkpoint(str(data_dir), "second", data)
    (data_dir / "models" / "first" / "recipe_summary.json").write_text("{}")
    assert recipe.stage_one_checkpoint(str(data_dir), "second", data) == str(data_dir / "models" / "first")
    # a missing first recipe, or init_checkpoint set as well, fails when the recipe is read
    (recipes / "lost.json").write_text("{}")
    (recipes / "lost.data.json").write_text(json.dumps({"init_from_recipe": "nope"}))
    with pytest.raises(ValueError, match="names no recipe: 'nope'"):
        recipe.load_recipe("lost")
    (recipes / "both.json").write_text(json.dumps({"init_checkpoint": "/x"}))
    (recipes / "both.data.json").write_text(json.dumps({"init_from_recipe": "first"}))
    with pytest.raises(ValueError, match="both set"):
        recipe.load_recipe("both")


def test_the_shipped_recipes_load():
    recipe = _recipe_module()
    names = sorted(f[:-5] for f in os.listdir(recipe.RECIPES) if f.endswith(".json") and ".data." not in f)
    assert {"small_cpu", "small_cpu_two_stage", "small_cpu_mlm"} <= set(names)
    for name in names:
        hparams, data = recipe.load_recipe(name)
        assert hparams["num_train_steps"] > 0
    _, data = recipe.load_recipe("small_cpu_two_stage")
    assert data["init_from_recipe"] == "small_cpu"
