"""BERT checkpoints read as ELECTRA discriminators: a tiny synthetic HF BERT directory and a tiny
Google TF1 BERT checkpoint, written here from BERT's own names, run through our encoder and compared
with an independent numpy forward of BERT; the round trip BERT → ours → HF ELECTRA is bit-exact for
the encoder; each thing we cannot represent is refused with one line."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from electra_tf import checkpoint_io, configs
from electra_tf.checkpoint_io import CheckpointError, translate
from electra_tf.modeling.backbone import ElectraBackbone
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.checkpoint_io.helpers import vocab_tokens, write_tf1_checkpoint
from tests.helpers import assert_one_line, call_tool
from tests.modeling.numpy_reference import np_attention, np_gelu, np_layer_norm

V, H, LAYERS, HEADS, INNER, P = 60, 32, 2, 4, 64, 128
PARTS = {  # HF BERT sub-module → its TF1 scope (the same tree, BERT's own spelling in each)
    "attention.self.query": "attention/self/query",
    "attention.self.key": "attention/self/key",
    "attention.self.value": "attention/self/value",
    "attention.output.dense": "attention/output/dense",
    "intermediate.dense": "intermediate/dense",
    "output.dense": "output/dense",
}
NORMS = {"attention.output.LayerNorm": "attention/output/LayerNorm", "output.LayerNorm": "output/LayerNorm"}


def hf_bert_state(seed: int = 0, prefix: str = "bert.", heads: bool = True) -> dict[str, np.ndarray]:
    """A BertForPreTraining state dict (PyTorch layout: Linear weights [out, in]) of random values."""
    rng = np.random.default_rng(seed)

    def normal(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    s = {
        f"{prefix}embeddings.word_embeddings.weight": normal(V, H),
        f"{prefix}embeddings.position_embeddings.weight": normal(P, H, scale=0.3),
        f"{prefix}embeddings.token_type_embeddings.weight": normal(2, H, scale=0.3),
        f"{prefix}embeddings.LayerNorm.weight": 1 + normal(H, scale=0.1),
        f"{prefix}embeddings.LayerNorm.bias": normal(H, scale=0.1),
    }
    for i in range(LAYERS):
        p = f"{prefix}encoder.layer.{i}."
        for part in PARTS:
            out, inp = (
                (INNER, H) if part == "intermediate.dense" else (H, INNER if part == "output.dense" else H)
            )
            s[p + part + ".weight"] = normal(out, inp, scale=1 / math.sqrt(inp))
            s[p + part + ".bias"] = normal(out, scale=0.1)
        for norm in NORMS:
            s[p + norm + ".weight"] = 1 + normal(H, scale=0.1)
            s[p + norm + ".bias"] = normal(H, scale=0.1)
    s[f"{prefix}pooler.dense.weight"] = normal(H, H, scale=1 / math.sqrt(H))
    s[f"{prefix}pooler.dense.bias"] = normal(H, scale=0.1)
    if heads:
        s["cls.predictions.transform.dense.weight"] = normal(H, H, scale=1 / math.sqrt(H))
        s["cls.predictions.transform.dense.bias"] = normal(H, scale=0.1)
        s["cls.predictions.transform.LayerNorm.weight"] = 1 + normal(H, scale=0.1)
        s["cls.predictions.transform.LayerNorm.bias"] = normal(H, scale=0.1)
        s["cls.predictions.bias"] = normal(V, scale=0.1)
        s["cls.predictions.decoder.weight"] = s[f"{prefix}embeddings.word_embeddings.weight"].copy()
        s["cls.predictions.decoder.bias"] = s["cls.predictions.bias"].copy()
        s["cls.seq_relationship.weight"] = normal(2, H)
        s["cls.seq_relationship.bias"] = normal(2)
    return s


def write_hf_bert(folder, state=None, tokenizer_json: bool = True, **config_changes) -> str:
    """config.json (BertConfig), model.safetensors and tokenizer.json (no vocab.txt), as
    sentence-transformers ships all-MiniLM-L6-v2."""
    os.makedirs(folder, exist_ok=True)
    config = dict(
        model_type="bert",
        architectures=["BertForPreTraining"],
        vocab_size=V,
        hidden_size=H,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INNER,
        max_position_embeddings=P,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        position_embedding_type="absolute",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    config.update(config_changes)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    save_file(hf_bert_state() if state is None else state, os.path.join(folder, "model.safetensors"))
    if tokenizer_json:
        tokenizer = {
            "normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": None},
            "model": {"type": "WordPiece", "vocab": {t: i for i, t in enumerate(vocab_tokens(V))}},
        }
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(tokenizer, f)
    return str(folder)


def tf1_name(hf_name: str) -> str | None:
    """Google BERT's TF1 name of an HF BERT tensor (None: the decoder, tied in TF1)."""
    name = hf_name.removeprefix("bert.")
    fixed = {
        "cls.predictions.bias": "cls/predictions/output_bias",
        "cls.seq_relationship.weight": "cls/seq_relationship/output_weights",  # [2, H] in TF1 too
        "cls.seq_relationship.bias": "cls/seq_relationship/output_bias",
        "cls.predictions.decoder.weight": None,
        "cls.predictions.decoder.bias": None,
    }
    if name in fixed:
        return fixed[name]
    module, param = name.rsplit(".", 1)
    if module.startswith("embeddings.") and module.endswith("_embeddings"):
        return "bert/embeddings/" + module.split(".")[1]
    if module.startswith("encoder.layer."):
        index, part = module[len("encoder.layer.") :].split(".", 1)
        module = f"encoder/layer_{index}/{({**PARTS, **NORMS})[part]}"
    else:
        module = module.replace(".", "/")
    leaf = (
        {"weight": "gamma", "bias": "beta"} if "LayerNorm" in module else {"weight": "kernel", "bias": "bias"}
    )
    return f"{module}/{leaf[param]}" if module.startswith("cls/") else f"bert/{module}/{leaf[param]}"


def tf1_bert_arrays(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same weights under Google BERT's TF1 names (kernels [in, out])."""
    out = {}
    for name, value in state.items():
        tf1 = tf1_name(name)
        if tf1 is not None:
            out[tf1] = np.ascontiguousarray(value.T if tf1.endswith("/kernel") else value)
    return out


def np_bert(state: dict[str, np.ndarray], ids, mask, segments, prefix="bert.") -> np.ndarray:
    """BertModel's last hidden state [B, L, H] in float64 (`nn.Linear(x) = x @ W.T + b`)."""
    w = {k.removeprefix(prefix): v.astype(np.float64) for k, v in state.items()}
    batch, length = ids.shape

    def linear(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def norm(x, name):
        return np_layer_norm(x, w[name + ".weight"], w[name + ".bias"])

    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
    x = norm(x + w["embeddings.token_type_embeddings.weight"][segments], "embeddings.LayerNorm")
    size = H // HEADS
    additive = (1.0 - mask[:, None, None, :]) * -1e9

    def split(t):
        return t.reshape(batch, length, HEADS, size).transpose(0, 2, 1, 3)

    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q, k, v = (split(linear(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        context = np_attention(q, k, v, additive)
        attention = norm(linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        x = norm(
            linear(np_gelu(linear(attention, p + "intermediate.dense")), p + "output.dense") + attention,
            p + "output.LayerNorm",
        )
    return x


def _inputs():
    rng = np.random.default_rng(7)
    ids = rng.integers(5, V, size=(2, 9)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    segments = np.zeros_like(ids)
    segments[:, 5:] = 1
    return ids, mask, segments


def _our_hidden(checkpoint: str) -> np.ndarray:
    config = checkpoint_io.config_for_checkpoint(checkpoint)
    backbone = ElectraBackbone(configs.bert_config(config), configs.embedding_size(config))
    ids, mask, segments = _inputs()
    backbone(ids, mask, segments)
    report = checkpoint_io.restore_variables(checkpoint, backbone.variables, config, log=None)
    assert len(report.restored) == len(backbone.variables) == 5 + 16 * LAYERS
    return backbone(ids, mask, segments).numpy(), report


@pytest.mark.parametrize("prefix", ["bert.", ""])
def test_an_hf_bert_directory_computes_what_bert_computes(tmp_path, prefix):
    state = hf_bert_state(prefix=prefix)
    folder = write_hf_bert(tmp_path / "bert", state)
    ours, report = _our_hidden(folder)
    ids, mask, segments = _inputs()
    expected = np_bert(state, ids, mask, segments, prefix)
    keep = mask.astype(bool)
    assert np.ptp(expected[keep]) > 1.0
    np.testing.assert_allclose(ours[keep], expected[keep], atol=1e-5, rtol=0)
    summary = report.summary()
    assert "BERT's pooler (2), NSP head (2), MLM head (5)" in summary, summary
    config = checkpoint_io.config_for_checkpoint(folder)
    assert configs.embedding_size(config) == H and config.vocab_size == V and config.do_lower_case


def test_a_google_tf1_bert_checkpoint_computes_what_bert_computes(tmp_path):
    state = hf_bert_state(seed=2)
    prefix = write_tf1_checkpoint(str(tmp_path / "bert" / "bert_model.ckpt"), tf1_bert_arrays(state), 500)
    with open(tmp_path / "bert" / "bert_config.json", "w") as f:  # as Google's releases ship it
        json.dump({"hidden_size": H, "num_attention_heads": HEADS, "hidden_act": "gelu", "vocab_size": V}, f)
    assert checkpoint_io.find_checkpoint(prefix)[1] == "bert"
    ours, report = _our_hidden(prefix)
    ids, mask, segments = _inputs()
    keep = mask.astype(bool)
    np.testing.assert_allclose(ours[keep], np_bert(state, ids, mask, segments)[keep], atol=1e-5, rtol=0)
    assert report.step == 500 and "pooler (2), NSP head (2), MLM head (5)" in report.summary()


def test_the_mlm_head_is_the_generator_head_only_when_the_generator_is_tied(tmp_path):
    state = hf_bert_state(seed=3)
    folder = write_hf_bert(tmp_path / "bert", state)
    base = checkpoint_io.config_for_checkpoint(folder)
    for untied in (False, True):
        values = {**configs.hparam_values(base), "untied_generator": untied, "generator_hidden_size": 1.0}
        config = configs.config_from_hparams("m", str(tmp_path), values)
        model, _ = build_model_and_optimizer(config, False)
        report = checkpoint_io.restore_variables(folder, model.trainable_variables, config, log=None)
        head = {v.name: v for v in model.trainable_variables if "generator_predictions/" in v.name}
        bias = next(v for name, v in head.items() if "output_bias" in name).numpy()
        if untied:
            assert "MLM head (5)" in report.summary()
            assert not np.array_equal(bias, state["cls.predictions.bias"])
        else:
            assert "MLM head" not in report.summary()
            np.testing.assert_array_equal(bias, state["cls.predictions.bias"])
            kernel = next(v for name, v in head.items() if "dense/kernel" in name).numpy()
            np.testing.assert_array_equal(kernel, state["cls.predictions.transform.dense.weight"].T)


def test_bert_to_ours_to_hf_is_bit_exact_for_the_encoder(tmp_path):
    state = hf_bert_state(seed=4)
    folder = write_hf_bert(tmp_path / "bert", state)
    ours, stdout = call_tool(
        translate.to_ours,
        input_path=folder,
        output=str(tmp_path / "models" / "m"),
        build=build_model_and_optimizer,
    )
    assert "BERT's pooler (2), NSP head (2)" in stdout
    assert _lines(os.path.join(os.path.dirname(ours), "vocab.txt")) == vocab_tokens(V)
    out = translate.to_hf(ours, str(tmp_path / "hf"))
    exported = load_file(os.path.join(out, "model.safetensors"))
    encoder = {k: v for k, v in state.items() if k.startswith("bert.") and ".pooler." not in k}
    assert len(encoder) == 5 + 16 * LAYERS
    for name, value in encoder.items():
        np.testing.assert_array_equal(exported["electra." + name.removeprefix("bert.")], value, err_msg=name)
    # and straight from the BERT directory to an HF ELECTRA directory
    direct = load_file(os.path.join(translate.to_hf(folder, str(tmp_path / "hf2")), "model.safetensors"))
    for name, value in encoder.items():
        np.testing.assert_array_equal(direct["electra." + name.removeprefix("bert.")], value, err_msg=name)
    assert _lines(os.path.join(tmp_path / "hf2", "vocab.txt")) == vocab_tokens(V)


def _lines(path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def test_bert_to_upstream_keeps_the_encoder_and_mlm_head(tmp_path):
    state = hf_bert_state(seed=5)
    folder = write_hf_bert(tmp_path / "bert", state)
    prefix = translate.to_upstream(folder, str(tmp_path / "up"))
    arrays = checkpoint_io.read_checkpoint_arrays(prefix).arrays
    np.testing.assert_array_equal(
        arrays["electra/encoder/layer_1/intermediate/dense/kernel"],
        state["bert.encoder.layer.1.intermediate.dense.weight"].T,
    )
    np.testing.assert_array_equal(arrays["generator_predictions/output_bias"], state["cls.predictions.bias"])
    assert not any("pooler" in n or "seq_relationship" in n for n in arrays)


def _break(folder, problem):
    state = hf_bert_state()
    if problem == "hidden_act":
        return write_hf_bert(folder, state, hidden_act="gelu_new")
    if problem == "relative":
        return write_hf_bert(folder, state, position_embedding_type="relative_key")
    if problem == "untied_decoder":
        state["cls.predictions.decoder.weight"] = state["cls.predictions.decoder.weight"] + 1
        return write_hf_bert(folder, state)
    if problem == "unknown_tensor":
        state["bert.encoder.rel_embeddings.weight"] = np.zeros((3, H), np.float32)
        return write_hf_bert(folder, state)
    if problem == "vocab":
        write_hf_bert(folder, state)
        path = os.path.join(folder, "tokenizer.json")
        with open(path) as f:
            tokenizer = json.load(f)
        tokenizer["model"]["vocab"]["extra"] = V
        with open(path, "w") as f:
            json.dump(tokenizer, f)
        return str(folder)
    if problem == "tf1_gelu":
        prefix = write_tf1_checkpoint(str(folder / "bert_model.ckpt"), tf1_bert_arrays(state), 1)
        with open(folder / "bert_config.json", "w") as f:
            json.dump({"hidden_act": "relu"}, f)
        return prefix
    raise AssertionError(problem)


@pytest.mark.parametrize(
    "problem, message",
    [
        ("hidden_act", r"config\.json: hidden_act is 'gelu_new'; electra-tf's ELECTRA has 'gelu'$"),
        (
            "relative",
            r"config\.json: position_embedding_type is 'relative_key'; electra-tf's ELECTRA has 'absolute'$",
        ),
        (
            "untied_decoder",
            r"cls\.predictions\.decoder\.weight differs from the word embeddings; electra-tf ties them$",
        ),
        ("unknown_tensor", r"encoder\.rel_embeddings\.weight is not a tensor of BertModel's encoder$"),
        ("vocab", rf"tokenizer\.json has {V + 1} tokens, but the word embeddings have {V} rows$"),
        ("tf1_gelu", r"bert_config\.json: hidden_act is 'relu'; electra-tf's encoder has 'gelu'$"),
    ],
)
def test_what_we_cannot_represent_is_refused_with_one_line(tmp_path, problem, message):
    source = _break(tmp_path / "bert", problem)
    output = tmp_path / "models" / "out"
    with pytest.raises(CheckpointError, match=message) as error:
        translate.to_ours(source, str(output), build=build_model_and_optimizer)
    assert_one_line(error)
    assert not output.exists()


def test_fine_tuning_reads_a_bert_directory_with_its_own_vocabulary(tmp_path):
    from finetune.config import finetuning_config
    from finetune.runner import load_inputs

    folder = write_hf_bert(tmp_path / "bert", hf_bert_state(seed=6))
    rte = tmp_path / "data" / "finetuning_data" / "RTE"
    rte.mkdir(parents=True)
    rows = ["index\tsentence1\tsentence2\tlabel", "0\tthe quick fox\tthe dog\tentailment"]
    for split in ("train", "dev"):
        (rte / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = finetuning_config(
        "m", str(tmp_path / "data"), {"task_names": ["rte"], "init_checkpoint": folder}
    )
    assert config.vocab_file == os.path.join(folder, "tokenizer.json")  # no vocab.txt anywhere
    assert config.bert_config.hidden_size == H and config.bert_config.num_attention_heads == HEADS
    assert config.embedding_size_resolved == H and config.vocab_size == V and config.do_lower_case
    inputs = load_inputs(config)
    assert inputs.vocab == vocab_tokens(V)
    assert inputs.init.format == "hf" and inputs.init.unused == 2 + 2 + 5  # pooler, NSP, MLM head
    assert all(name.startswith("electra/") for name in inputs.init.arrays.arrays)
    words = inputs.init.arrays.arrays["electra/embeddings/word_embeddings"]
    np.testing.assert_array_equal(words, hf_bert_state(seed=6)["bert.embeddings.word_embeddings.weight"])


def test_score_takes_the_vocabulary_of_a_bert_directory(tmp_path):
    from electra_tf import score

    folder = write_hf_bert(tmp_path / "bert", hf_bert_state(seed=7))
    out, _ = call_tool(score.run, checkpoint=folder, vocab_file=None, text="The Quick fox", json=True)
    assert json.loads(out)["tokens"] == ["[CLS]", "the", "quick", "fox", "[SEP]"]  # lower-cased
    with pytest.raises(
        ValueError, match=r"--vocab_file is required: .* has no vocab\.txt or tokenizer\.json$"
    ):
        os.remove(os.path.join(folder, "tokenizer.json"))
        score.run(checkpoint=folder, vocab_file=None, text="x")
