"""Fine-tuning features: truncation, [CLS]/[SEP] packing, padding, double_unordered, sts labels."""

from __future__ import annotations

import numpy as np
import pytest

from electra_tf.tokenization import FullTokenizer
from finetune import features, glue_tasks
from finetune.config import finetuning_config
from finetune.glue_tasks import Example
from finetune.runner import load_inputs

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
ID = {t: i for i, t in enumerate(VOCAB)}
CLS, SEP = ID["[CLS]"], ID["[SEP]"]


def ids(text: str) -> list[int]:
    return [ID[w] for w in text.split()]


@pytest.fixture(scope="module")
def featurizer_factory():
    tokenizer = FullTokenizer(VOCAB)
    return lambda length: features.Featurizer(tokenizer, length, log=lambda _: None)


def test_truncate_pair_pops_the_longer_side_b_on_ties():
    a, b = [1, 2, 3, 4, 5, 6], [7, 8, 9]
    features.truncate_pair(a, b, 6)  # 6+3 → 5+3 → 4+3 → 3+3 (a longer each time)
    assert (a, b) == ([1, 2, 3], [7, 8, 9])
    a, b = [1, 2, 3], [4, 5, 6]
    features.truncate_pair(a, b, 5)  # tie: b loses its last token first
    assert (a, b) == ([1, 2, 3], [4, 5])
    a, b = [1, 2, 3], [4, 5, 6]
    features.truncate_pair(a, b, 4)
    assert (a, b) == ([1, 2], [4, 5])


def test_pair_packing_with_truncation_and_padding(featurizer_factory):
    task = glue_tasks.get_task("rte")
    examples = [
        Example("0", "The cat sat on the mat", "a dog ran", "entailment"),  # 6 + 3 tokens
        Example("1", "the cat", "a dog ran", "not_entailment"),  # 2 + 3 tokens
    ]
    # max_seq_length 9: pairs keep 6 tokens; (6, 3) → (3, 3); (2, 3) fits, padded by 1.
    out = featurizer_factory(9).featurize(task, examples)
    expected_ids = [
        [CLS, *ids("the cat sat"), SEP, *ids("a dog ran"), SEP],
        [CLS, *ids("the cat"), SEP, *ids("a dog ran"), SEP, 0],
    ]
    assert out.input_ids.tolist() == expected_ids
    assert out.segment_ids.tolist() == [[0, 0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1, 0]]
    assert out.input_mask.tolist() == [[1] * 9, [1] * 8 + [0]]
    assert out.labels.tolist() == [0, 1] and out.labels.dtype == np.int32
    assert out.input_ids.dtype == np.int32 and out.input_ids.shape == (2, 9)


def test_single_sentence_keeps_first_length_minus_two_tokens(featurizer_factory):
    task = glue_tasks.get_task("cola")
    examples = [Example("0", "the cat sat on the mat", None, "1"), Example("1", "a dog", None, "0")]
    out = featurizer_factory(6).featurize(task, examples)
    assert out.input_ids.tolist() == [[CLS, *ids("the cat sat on"), SEP], [CLS, *ids("a dog"), SEP, 0, 0]]
    assert out.segment_ids.tolist() == [[0] * 6, [0] * 6]
    assert out.input_mask.tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]
    assert out.labels.tolist() == [1, 0]


def test_sts_labels_are_normalised_and_predictions_clipped_back():
    task = glue_tasks.get_task("sts")
    labels = features.label_values(task, [Example("0", "a", "b", 3.8), Example("1", "a", "b", 0.0)])
    np.testing.assert_allclose(labels, [0.76, 0.0], rtol=1e-6)
    assert labels.dtype == np.float32
    np.testing.assert_allclose(task.denormalized(np.array([0.5, -0.2, 1.3])), [2.5, 0.0, 5.0])


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def pair_tasks_dir(tmp_path):
    """Synthetic mrpc, sts and rte folders with 3 train and 2 dev rows each, plus a vocab."""
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    root = tmp_path / "finetuning_data"
    mrpc_header = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    sts_header = ["index", "genre", "filename", "year", "old_index", "source1", "source2"]
    sts_header += ["sentence1", "sentence2", "score"]
    for split, n in (("train", 3), ("dev", 2)):
        _write(
            root / "mrpc" / f"{split}.tsv",
            [mrpc_header] + [["1", "1", "2", f"a{i}", f"b{i}"] for i in range(n)],
        )
        sts = [[str(i), "g", "f", "y", "o", "s1", "s2", f"a{i}", f"b{i}", "2.5"] for i in range(n)]
        _write(root / "sts" / f"{split}.tsv", [sts_header] + sts)
        rte = [[str(i), f"a{i}", f"b{i}", "entailment"] for i in range(n)]
        _write(root / "rte" / f"{split}.tsv", [["index", "sentence1", "sentence2", "label"]] + rte)
    return str(tmp_path)


@pytest.mark.parametrize("double", [True, False])
def test_double_unordered_only_for_mrpc_and_sts_train(pair_tasks_dir, double):
    hparams = {"task_names": ["mrpc", "sts", "rte"], "init_checkpoint": "", "double_unordered": double}
    inputs = load_inputs(finetuning_config("m", pair_tasks_dir, hparams))
    by_name = {t.task.name: t for t in inputs.tasks}
    for name in ("mrpc", "sts"):
        train = by_name[name].train
        pairs = [(e.text_a, e.text_b) for e in train]
        original = [(f"a{i}", f"b{i}") for i in range(3)]
        assert pairs == (original + [(b, a) for a, b in original] if double else original)
        assert [(e.text_a, e.text_b) for e in by_name[name].dev["dev"]] == [("a0", "b0"), ("a1", "b1")]
        assert len({e.guid for e in train}) == len(train)
    assert [(e.text_a, e.text_b) for e in by_name["rte"].train] == [(f"a{i}", f"b{i}") for i in range(3)]
    if double:
        assert by_name["sts"].train[4].label == 2.5  # swapped copies keep their label


def test_max_train_examples_keeps_the_files_first_rows_before_doubling(pair_tasks_dir):
    hparams = {"task_names": ["mrpc", "rte"], "init_checkpoint": "", "max_train_examples": 2}
    inputs = load_inputs(finetuning_config("m", pair_tasks_dir, hparams))
    by_name = {t.task.name: t for t in inputs.tasks}
    assert [(e.text_a, e.text_b) for e in by_name["rte"].train] == [("a0", "b0"), ("a1", "b1")]
    # mrpc: the first 2 rows, then their swapped copies
    assert [(e.text_a, e.text_b) for e in by_name["mrpc"].train] == [
        ("a0", "b0"),
        ("a1", "b1"),
        ("b0", "a0"),
        ("b1", "a1"),
    ]
    assert len(by_name["rte"].dev["dev"]) == 2  # dev is never capped


def test_debug_reads_the_first_100_lines(tmp_path):
    rows = [["index", "sentence1", "sentence2", "label"]] + [
        [str(i), "a", "b", "entailment"] for i in range(150)
    ]
    _write(tmp_path / "rte" / "train.tsv", rows)
    task = glue_tasks.get_task("rte")
    assert len(features.read_split(task, str(tmp_path / "rte"), "train", debug=True)) == 99  # header counts
    assert len(features.read_split(task, str(tmp_path / "rte"), "train", debug=False)) == 150
