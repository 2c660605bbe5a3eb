"""Hugging Face interop: exported directories scored by an independent reference of HF's ELECTRA,
bit-exact round trips through HF (ours and upstream), HF directories accepted where checkpoints are,
and bad directories refused with one line, writing nothing."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file

from electra_tf import convert_checkpoint, standalone_discriminator
from electra_tf.checkpoint_io import CheckpointError, read_checkpoint_arrays, translate
from electra_tf.checkpoint_io.upstream_names import SLOT_SUFFIXES
from electra_tf.pretraining.training_state import build_model_and_optimizer
from electra_tf.tokenization import FullTokenizer, load_vocab
from tests.checkpoint_io.helpers import (
    FAST,
    SMALL,
    TINY_SHAPES,
    make_upstream_checkpoint,
    read_all,
    write_vocab,
)
from tests.helpers import assert_one_line, call_tool
from tests.modeling.numpy_reference import np_attention, np_gelu, np_layer_norm

SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "a cat sat on the mat and the dog ran far away",
]


def np_hf_discriminator(folder: str, ids, mask, segments) -> np.ndarray:
    """HF `ElectraForPreTraining`'s forward pass in float64, written from HF's documented ELECTRA
    (BERT embeddings, `embeddings_project`, BERT layers, `discriminator_predictions`) and its
    state-dict names, reading config.json and model.safetensors directly → P(replaced) [B, L].
    `nn.Linear(x) = x @ weight.T + bias`."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    batch, length = ids.shape

    def linear(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def norm(x, name):
        return np_layer_norm(x, w[name + ".weight"], w[name + ".bias"], eps=eps)

    e = "electra.embeddings."
    x = w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:length]
    x = norm(x + w[e + "token_type_embeddings.weight"][segments], e + "LayerNorm")
    if cfg["embedding_size"] != cfg["hidden_size"]:
        x = linear(x, "electra.embeddings_project")
    hidden = cfg["hidden_size"]
    size = hidden // heads
    additive = (1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min  # HF's extended mask

    def split(t):
        return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        p = f"electra.encoder.layer.{i}."
        q, k, v = (split(linear(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        context = np_attention(q, k, v, additive)
        attention = norm(linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inner = np_gelu(linear(attention, p + "intermediate.dense"))
        x = norm(linear(inner, p + "output.dense") + attention, p + "output.LayerNorm")
    h = np_gelu(linear(x, "discriminator_predictions.dense"))
    logits = linear(h, "discriminator_predictions.dense_prediction")[..., 0]
    return 1.0 / (1.0 + np.exp(-logits))


def _upstream_with_vocab(tmp_path, vocab_file: str | None, **shapes) -> str:
    prefix = make_upstream_checkpoint(tmp_path / "upstream", seed=3, **shapes)
    target = tmp_path / "upstream" / "vocab.txt"
    if vocab_file:
        shutil.copyfile(vocab_file, target)
    else:
        write_vocab(target, shapes["vocab"])
    return prefix


@pytest.mark.parametrize("shapes", ["electra-small", "tiny"])
def test_an_hf_reference_on_the_exported_directory_equals_score(tmp_path, shapes, request):
    if shapes == "electra-small":  # the real BERT vocabulary (ELECTRA-small's 30522 tokens)
        from tests.helpers import VOCAB_FILE

        if not os.path.isfile(VOCAB_FILE):
            pytest.skip("shared BERT vocab not present")
        prefix, layers = _upstream_with_vocab(tmp_path, VOCAB_FILE, **SMALL), SMALL["layers"]
    else:
        prefix, layers = _upstream_with_vocab(tmp_path, None, **dict(FAST, layers=3)), 3
    out = str(tmp_path / "hf")
    _, stdout = call_tool(convert_checkpoint.run, to="hf", input=prefix, output=out)
    assert stdout.strip() == f"convert_checkpoint: wrote {out}"
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["num_hidden_layers"] == layers
    model, _ = standalone_discriminator.load_discriminator(out, log=None)  # what `score` loads
    original, _ = standalone_discriminator.load_discriminator(prefix, log=None)
    tokenizer = FullTokenizer(load_vocab(os.path.join(out, "vocab.txt")))
    for text in SENTENCES:
        tokens, probabilities = standalone_discriminator.score_text(model, tokenizer, text)
        assert len(tokens) > 8 and "[UNK]" not in tokens
        ids = np.array([tokenizer.convert_tokens_to_ids(tokens)])
        ones, zeros = np.ones_like(ids), np.zeros_like(ids)
        expected = np_hf_discriminator(out, ids, ones, zeros)[0]
        assert np.ptp(expected) > 0.005  # 700x the tolerance: a wrong layout cannot match by chance
        np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
        assert standalone_discriminator.score_text(original, tokenizer, text)[1] == probabilities


def _weights(arrays: dict) -> dict:
    return {k: v for k, v in arrays.items() if not k.endswith(SLOT_SUFFIXES) and k != "global_step"}


def test_upstream_to_hf_to_upstream_is_bit_for_bit_for_every_tensor_hf_holds(tmp_path):
    prefix = make_upstream_checkpoint(tmp_path / "upstream", seed=4, slots=True, **TINY_SHAPES)
    write_vocab(tmp_path / "upstream" / "vocab.txt", TINY_SHAPES["vocab"])
    disc, gen = str(tmp_path / "hf"), str(tmp_path / "hf_gen")
    translate.to_hf(prefix, disc, generator_output=gen)
    hf_disc, hf_gen = load_file(f"{disc}/model.safetensors"), load_file(f"{gen}/model.safetensors")
    assert hf_disc["electra.encoder.layer.0.attention.self.query.weight"].shape == (128, 128)
    assert hf_disc["discriminator_predictions.dense_prediction.weight"].shape == (1, 128)  # [out, in]
    assert hf_gen["generator_predictions.dense.weight"].shape == (64, 32)
    np.testing.assert_array_equal(
        hf_gen["generator_lm_head.weight"], hf_gen["electra.embeddings.word_embeddings.weight"]
    )
    back = translate.to_upstream(disc, str(tmp_path / "back"), generator_input=gen)
    original, again = read_all(prefix), read_all(back)
    assert _weights(again).keys() == _weights(original).keys()  # every weight; slots and step are not in HF
    for name, value in _weights(original).items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    assert int(again["global_step"]) == 0 and int(original["global_step"]) == 1000


def test_ours_to_hf_to_ours_is_bit_for_bit_and_hf_dirs_initialise_runs(trained_model_dir, tmp_path):
    disc, gen = str(tmp_path / "hf"), str(tmp_path / "hf_gen")
    translate.to_hf(
        trained_model_dir, disc, generator_output=gen, vocab_file=write_vocab(tmp_path / "v.txt", 300)
    )
    ours = translate.to_ours(
        disc, str(tmp_path / "models" / "again"), build=build_model_and_optimizer, generator_input=gen
    )
    original = _weights(read_checkpoint_arrays(trained_model_dir).arrays)
    again = _weights(read_checkpoint_arrays(ours).arrays)
    assert again.keys() == original.keys()
    for name, value in original.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    assert os.path.isfile(os.path.join(os.path.dirname(ours), "vocab.txt"))


def _exported(tmp_path) -> str:
    prefix = make_upstream_checkpoint(tmp_path / "upstream", seed=1, **TINY_SHAPES)
    write_vocab(tmp_path / "upstream" / "vocab.txt", TINY_SHAPES["vocab"])
    return translate.to_hf(prefix, str(tmp_path / "hf"))


def _edit_config(folder: str, **changes) -> None:
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    config.update(changes)
    with open(path, "w") as f:
        json.dump(config, f)


@pytest.mark.parametrize(
    "problem, message",
    [
        ("no_config", r"hf: no config\.json \(a Hugging Face model directory has one\)$"),
        (
            "sizes",
            r"model\.safetensors: discriminator_predictions\.dense\.bias has shape \[128\], "
            r"but config\.json's hidden_size is 96$",
        ),
        (
            "pickle_only",
            r"only pytorch_model\.bin, a PyTorch pickle, which electra-tf never unpickles; convert it",
        ),
        ("model_type", r"config\.json: model_type is 'gpt2', not 'electra' or 'bert'$"),
        (
            "vocab",
            r"vocab\.txt has 299 tokens, but the word embeddings have 300 rows$",
        ),
    ],
)
def test_bad_hf_directories_are_one_line_and_write_nothing(tmp_path, problem, message):
    folder = _exported(tmp_path)
    if problem == "no_config":
        os.remove(os.path.join(folder, "config.json"))
    elif problem == "sizes":
        _edit_config(folder, hidden_size=96)
    elif problem == "pickle_only":
        os.replace(os.path.join(folder, "model.safetensors"), os.path.join(folder, "pytorch_model.bin"))
    elif problem == "model_type":
        _edit_config(folder, model_type="gpt2")
    else:
        with open(os.path.join(folder, "vocab.txt")) as f:
            lines = f.read().splitlines()
        with open(os.path.join(folder, "vocab.txt"), "w") as f:
            f.write("\n".join(lines[:-1]) + "\n")
    output = tmp_path / "models" / "out"
    with pytest.raises(CheckpointError, match=message) as error:
        call_tool(convert_checkpoint.run, to="ours", input=folder, output=str(output))
    assert_one_line(error)
    assert not output.exists() and not (tmp_path / "models").exists() or not os.listdir(tmp_path / "models")


@pytest.mark.slow
def test_pretraining_starts_from_an_hf_discriminator_with_a_fresh_generator(
    trained_model_dir, synthetic_data_dir, tmp_path
):
    from pretrain import run_pretraining
    from tests.helpers import TINY_MODEL

    disc = translate.to_hf(
        trained_model_dir, str(tmp_path / "hf"), vocab_file=f"{synthetic_data_dir}/vocab.txt"
    )
    hparams = dict(
        TINY_MODEL, num_train_steps=1, num_warmup_steps=1, save_checkpoints_steps=1, init_checkpoint=disc
    )
    _, out = call_tool(
        run_pretraining.run, data_dir=synthetic_data_dir, model_name="from_hf", hparams=json.dumps(hparams)
    )
    assert f"are not in the Hugging Face directory {disc}: they keep their initialisation" in out
    started = _weights(read_checkpoint_arrays(os.path.join(synthetic_data_dir, "models", "from_hf")).arrays)
    trained = _weights(read_checkpoint_arrays(trained_model_dir).arrays)
    discriminator = [n for n in trained if n.startswith(("electra/", "discriminator_predictions/"))]
    assert len(discriminator) > 20
    for name in discriminator:  # the first update has learning rate 0: ckpt-1 holds the start
        np.testing.assert_array_equal(started[name], trained[name], err_msg=name)
    generator = [n for n in trained if n.startswith("generator/encoder/")]
    assert generator and all(not np.array_equal(started[n], trained[n]) for n in generator)


@pytest.mark.slow
def test_a_run_resumes_in_a_directory_written_by_to_ours(trained_model_dir, synthetic_data_dir, tmp_path):
    """`--to=ours` writes model and optimizer only (no RNG or iterator): the Trainer resumes from it
    (what it lacks keeps its initial state) instead of calling the checkpoint unreadable."""
    from pretrain import run_pretraining
    from tests.helpers import TINY_MODEL

    disc = translate.to_hf(
        trained_model_dir, str(tmp_path / "hf"), vocab_file=f"{synthetic_data_dir}/vocab.txt"
    )
    model_dir = os.path.join(synthetic_data_dir, "models", "converted_from_hf")
    translate.to_ours(disc, model_dir, build=build_model_and_optimizer)
    hparams = dict(TINY_MODEL, num_train_steps=2, num_warmup_steps=1, diagnostic_examples=0)
    _, out = call_tool(
        run_pretraining.run,
        data_dir=synthetic_data_dir,
        model_name="converted_from_hf",
        hparams=json.dumps(hparams),
    )
    assert f"resumed from {os.path.join(model_dir, 'ckpt-0')} at step 0" in out
    assert "cannot be read" not in out
    assert sorted(f for f in os.listdir(model_dir) if f.endswith(".index")) == [
        "ckpt-0.index",
        "ckpt-2.index",
    ]
