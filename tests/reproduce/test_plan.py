"""The plan: units, keys, model names, per-method hparams, timing rows, step counts, dry run."""

from __future__ import annotations

import dataclasses
import os

import pytest

from electra_tf.configs import ConfigError
from reproduce import paper
from reproduce.budgets import BUDGETS
from reproduce.plan import BENCHMARK, FINETUNE, PRETRAIN, RANDOM_INIT, finetune_steps, make_plan
from reproduce.reproduction import dry_run_text, run


def _tsv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join("\t".join(r) for r in [header, *rows]) + "\n")


@pytest.fixture
def data_dir(tmp_path):
    """rte with 100 train rows, mrpc with 50 (an unordered pair task), dev files of 3 rows."""
    root = tmp_path / "finetuning_data"
    for split, n in (("train", 100), ("dev", 3)):
        rows = [[str(i), "a", "b", "entailment"] for i in range(n)]
        _tsv(str(root / "rte" / f"{split}.tsv"), ["index", "sentence1", "sentence2", "label"], rows)
    for split, n in (("train", 50), ("dev", 3)):
        rows = [["1", "1", "2", "a", "b"] for _ in range(n)]
        _tsv(
            str(root / "mrpc" / f"{split}.tsv"), ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], rows
        )
    return str(tmp_path)


def plan_of(data_dir, budget="cpu", labels=paper.DEFAULT_ROWS, **kwargs):
    return make_plan(BUDGETS[budget], data_dir, labels, ("rte", "mrpc"), 3, **kwargs)


def test_units_in_running_order_with_the_baseline_first(data_dir):
    plan = plan_of(data_dir, labels=["adaptive_exit_gen", "emb_gen_pretrained"])
    names = [u.name for u in plan.units]
    assert names[:4] == [
        BENCHMARK,
        "pretrain-electra",
        "pretrain-adaptive_exit_gen",
        "pretrain-emb_gen_pretrained",
    ]
    assert names[4:] == [
        f"finetune-{label}-{task}"
        for label in ("electra", "adaptive_exit_gen", "emb_gen_pretrained", RANDOM_INIT)
        for task in ("rte", "mrpc")
    ]
    assert len(set(u.key for u in plan.units)) == len(plan.units)
    emb = plan.unit("pretrain-emb_gen_pretrained")
    baseline_dir = os.path.join(data_dir, "models", plan.model_names["electra"])
    assert (
        emb.after == ("pretrain-electra",) and emb.spec["hparams"]["emb_gen_init_checkpoint"] == baseline_dir
    )
    floor = plan.unit(f"finetune-{RANDOM_INIT}-rte")
    assert floor.spec["hparams"]["init_checkpoint"] == "" and floor.after == ("pretrain-electra",)
    assert floor.spec["architecture_from"] == plan.model_names["electra"]
    assert plan.model_names[RANDOM_INIT] == plan.model_names["electra"] + "-random_init"


def test_every_row_shares_the_recipe_and_gets_only_the_exit_hparams_it_has(data_dir):
    plan = plan_of(data_dir, budget="smoke")
    recipe = BUDGETS["smoke"].pretrain
    for unit in (u for u in plan.units if u.kind == PRETRAIN):
        hparams = unit.spec["hparams"]
        assert {k: hparams[k] for k in recipe} == recipe
        assert unit.spec["config"]["num_train_steps"] == unit.steps == 12
    adaptive = plan.unit("pretrain-adaptive_exit_gen").spec["hparams"]
    early = plan.unit("pretrain-early_exit_disc").spec["hparams"]
    assert adaptive["exit_layers"] == early["exit_layers"] == [1, 2]
    assert adaptive["adaptive_init_probs"] == [0.4, 0.6] and "adaptive_init_probs" not in early
    assert "exit_layers" not in plan.unit("pretrain-electra").spec["hparams"]


def test_a_changed_recipe_gets_new_keys_and_model_dirs_and_an_unchanged_one_the_same(data_dir):
    a, b = plan_of(data_dir), plan_of(data_dir)
    assert [u.key for u in a.units] == [u.key for u in b.units] and a.model_names == b.model_names
    c = plan_of(data_dir, pretrain_overrides={"learning_rate": 1e-3})
    assert not set(a.model_names.values()) & set(c.model_names.values())
    assert all(x.key != y.key for x, y in zip(a.units[1:], c.units[1:], strict=True))
    d = plan_of(data_dir, finetune_overrides={"learning_rate": 1e-4})
    assert a.model_names == d.model_names
    assert [u.key for u in a.units if u.kind != FINETUNE] == [u.key for u in d.units if u.kind != FINETUNE]
    assert all(x.key != y.key for x, y in zip(a.units, d.units, strict=True) if x.kind == FINETUNE)


def test_timing_rows_pin_every_exit_and_time_the_embedding_twin_once(data_dir):
    rows = plan_of(data_dir).unit(BENCHMARK).spec["rows"]
    assert sorted(rows) == sorted(
        ["electra", "emb_gen"]
        + [f"{m}@{n}" for m in ("early_exit_disc", "adaptive_exit_gen") for n in (1, 2, 3, 4)]
    )
    assert rows["early_exit_disc@3"]["exit_layer"] == 3 and rows["electra"]["exit_layer"] is None
    assert "emb_gen_init_checkpoint" not in rows["emb_gen"]["hparams"]
    alone = plan_of(data_dir, labels=["emb_gen_pretrained"]).unit(BENCHMARK).spec["rows"]
    assert sorted(alone) == ["electra", "emb_gen_pretrained"]


def test_finetune_steps_by_hand(data_dir):
    values = {"num_train_epochs": 3.0, "train_batch_size": 32}
    assert finetune_steps("rte", data_dir, values, 2) == int(100 * 3 / 32) * 2
    assert finetune_steps("mrpc", data_dir, values, 1) == int(50 * 2 * 3 / 32)  # doubled pairs
    assert finetune_steps("rte", data_dir, {**values, "max_train_examples": 40}, 1) == int(40 * 3 / 32)
    assert finetune_steps("rte", data_dir, {"train_batch_size": 32}, 1) == int(100 * 10 / 32)  # rte alone: 10
    assert finetune_steps("cola", data_dir, values, 1) == 0


def test_dry_run_hours_follow_the_papers_steps_per_second(data_dir):
    plan = plan_of(data_dir, budget="paper")
    text = dry_run_text(plan)
    assert "| pretrain-electra | 200,000 | 23.1 (2.4 steps/s) |" in text
    assert "| pretrain-emb_gen | 200,000 | 12.1 (4.6 steps/s) |" in text
    assert "| pretrain-adaptive_exit_gen | 200,000 | 20.2 (2.75 steps/s) |" in text
    assert "tasks: rte, mrpc" in text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"budget": "huge"}, r"--budget: unknown budget 'huge'; budgets: smoke, cpu, warm, paper"),
        ({"methods": ["electra", "bert"]}, r"--methods: unknown row 'bert'; rows: electra, emb_gen"),
        ({"tasks": ["cola"]}, r"--tasks: no train and dev files for cola under"),
        ({"tasks": ["wnli"]}, r"unknown GLUE task 'wnli'"),
        ({"num_trials": -1}, r"--num_trials must be >= 0"),
        ({"pretrain_hparams": '{"learning_rte": 1}'}, r"unknown hparam\(s\) learning_rte"),
    ],
)
def test_bad_input_is_one_line_before_anything_runs(data_dir, kwargs, message):
    with pytest.raises((ValueError, ConfigError), match=message) as error:
        run(**{"data_dir": data_dir, "dry_run": False, **kwargs}, executors={})
    assert "\n" not in str(error.value)
    assert sorted(os.listdir(data_dir)) == ["finetuning_data"]


def test_missing_data_dir(tmp_path):
    with pytest.raises(ValueError, match="--data_dir not found"):
        run(data_dir=str(tmp_path / "nope"))


def test_budgets_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BUDGETS["cpu"].num_trials = 1


def test_a_warm_start_starts_every_row_from_it_and_fine_tunes_it_as_it_is(data_dir):
    from electra_tf import configs
    from reproduce.plan import INIT_CHECKPOINT
    from reproduce.reproduction import default_rows

    warm = BUDGETS["warm"]
    labels = default_rows(warm)
    assert labels == [
        "electra",
        "emb_gen_pretrained",
        "early_exit_disc",
        "adaptive_exit_gen",
        "adaptive_exit_gen_exit",
        "early_exit_disc_gen",
    ]
    assert default_rows(BUDGETS["cpu"]) == [*paper.DEFAULT_ROWS, *paper.READING_ROWS]
    assert default_rows(BUDGETS["smoke"]) == list(paper.DEFAULT_ROWS)
    plan = plan_of(data_dir, budget="warm", labels=labels, init_checkpoint="/models/minilm")
    for unit in (u for u in plan.units if u.kind == PRETRAIN):
        assert unit.spec["hparams"]["init_checkpoint"] == "/models/minilm"
    emb = plan.unit("pretrain-emb_gen_pretrained")
    assert emb.spec["hparams"]["emb_gen_init_checkpoint"] == "/models/minilm" and emb.after == ()
    config = configs.config_from_hparams("-", data_dir, plan.unit("pretrain-electra").spec["hparams"])
    disc, gen = configs.bert_config(config), configs.generator_config(config)
    assert (disc.num_hidden_layers, disc.hidden_size, disc.num_attention_heads) == (6, 384, 12)
    assert (gen.num_hidden_layers, gen.hidden_size) == (12, 96) and configs.embedding_size(config) == 384
    # the generator's exits at the paper's 3/6/9/12 of 12; the 6-layer discriminator's at its quarters
    assert plan.unit("pretrain-adaptive_exit_gen").spec["hparams"]["exit_layers"] == [3, 6, 9, 12]
    assert plan.unit("pretrain-early_exit_disc").spec["hparams"]["exit_layers"] == [2, 3, 5, 6]
    # the exit methods' other readings: the same exits, one hparam more
    fast_gen = plan.unit("pretrain-adaptive_exit_gen_exit").spec["hparams"]
    assert fast_gen["exit_heads"] == "exit" and fast_gen["exit_layers"] == [3, 6, 9, 12]
    fast_disc = plan.unit("pretrain-early_exit_disc_gen").spec["hparams"]
    assert fast_disc["early_exit_generator"] is True and fast_disc["exit_layers"] == [2, 3, 5, 6]
    assert "early_exit_disc_gen@5" in plan.unit(BENCHMARK).spec["rows"]
    rows = plan.unit(BENCHMARK).spec["rows"]
    assert sorted(k for k in rows if k.startswith("early_exit_disc@")) == [
        f"early_exit_disc@{n}" for n in (2, 3, 5, 6)
    ]
    assert all("init_checkpoint" not in r["hparams"] for r in rows.values())
    names = [u.name for u in plan.units if u.kind == FINETUNE]
    assert names[-4:] == [
        f"finetune-{r}-{t}" for r in (INIT_CHECKPOINT, RANDOM_INIT) for t in ("rte", "mrpc")
    ]
    start = plan.unit(f"finetune-{INIT_CHECKPOINT}-rte")
    assert start.spec["hparams"]["init_checkpoint"] == "/models/minilm" and start.after == ()
    assert (
        start.spec["hparams"]["max_train_examples"] == 1000 and start.spec["hparams"]["padding"] == "longest"
    )
    assert plan.reference_labels == (INIT_CHECKPOINT, RANDOM_INIT)
    other = plan_of(data_dir, budget="warm", labels=labels, init_checkpoint="/models/other")
    assert other.model_names[INIT_CHECKPOINT] != plan.model_names[INIT_CHECKPOINT]
    assert plan_of(data_dir).reference_labels == (RANDOM_INIT,)


def _tiny_bert(folder, **changes) -> str:
    from tests.checkpoint_io.test_bert import write_hf_bert

    return write_hf_bert(str(folder), **changes)


def test_an_init_checkpoint_that_does_not_fit_the_budget_is_one_line(data_dir, tmp_path):
    from tests.checkpoint_io.helpers import vocab_tokens
    from tests.checkpoint_io.test_bert import HEADS, INNER, LAYERS, H, V

    bert = _tiny_bert(tmp_path / "bert")  # data_dir is tmp_path too
    args = dict(budget="smoke", data_dir=data_dir, dry_run=True, init_checkpoint=bert, log=lambda line: None)
    with pytest.raises(ValueError, match=r"hidden_size 32 differs from the budget's 64") as error:
        run(**args)
    assert "\n" not in str(error.value)
    fits = {
        "embedding_size": H,
        "vocab_size": V,
        "model_hparam_overrides": {
            "hidden_size": H,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "intermediate_size": INNER,
            "max_position_embeddings": 128,
        },
    }
    vocab = os.path.join(data_dir, "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab_tokens(V)))
    lines = []
    assert run(**{**args, "log": lines.append}, pretrain_hparams=fits) is None
    assert "| pretrain-electra | 12 |" in lines[0]
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in reversed(vocab_tokens(V))))
    with pytest.raises(ValueError, match=r"its vocabulary differs from .*vocab.txt"):
        run(**args, pretrain_hparams=fits)
    with pytest.raises(ValueError, match=r"--init_checkpoint not found: /no/such"):
        run(**{**args, "init_checkpoint": "/no/such"})


def test_the_mlm_control_is_an_optional_row(data_dir):
    assert "mlm" not in paper.DEFAULT_ROWS and paper.row("mlm").table1 is None
    plan = plan_of(data_dir, labels=["mlm"])
    unit = plan.unit("pretrain-mlm")
    assert unit.spec["hparams"]["method"] == "mlm" and "exit_layers" not in unit.spec["hparams"]
    assert unit.spec["config"]["mlm_mask_token_share"] == 0.8  # the method's own hparams, resolved
    assert sorted(plan.unit(BENCHMARK).spec["rows"]) == ["electra", "mlm"]
    assert plan.unit("finetune-mlm-rte").after == ("pretrain-mlm",)
