"""GLUE examples → fixed-length model inputs, as upstream ELECTRA's `SingleOutputTask.featurize`.

Shapes: N = number of examples, L = max_seq_length.

Each example becomes `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`: segment ids are 0 up to and
including the first [SEP] and 1 for b and its [SEP]; input_mask is 1 on real tokens; ids, mask
and segments are zero-padded to L. A pair is truncated by popping the last token of the longer
side (b on ties) until len(a) + len(b) <= L - 3; a single text keeps its first L - 2 tokens.
Labels: classification → the label's index in task.labels; sts → (score - 0) / 5 (upstream's
normalisation; test examples get 0).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np

from electra_tf.progress import format_duration
from finetune import glue_tasks
from finetune.glue_tasks import Example, GlueTask

DEBUG_MAX_LINES = 100  # upstream read_tsv(max_lines=100) in debug mode, header line included
TOKENIZE_CHUNK = 4096


@dataclasses.dataclass
class Features:
    """Model inputs of N examples: int32 [N, L] input_ids, input_mask, segment_ids; labels [N]
    (int32 label ids, or float32 normalised targets for sts)."""

    input_ids: np.ndarray
    input_mask: np.ndarray
    segment_ids: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def as_dict(self) -> dict[str, np.ndarray]:
        return dataclasses.asdict(self)


def read_split(task: GlueTask, task_dir: str, split: str, debug: bool = False) -> list[Example]:
    """The examples of one split; debug keeps those of the file's first 100 lines (as upstream).

    The whole file is still parsed, so a malformed row anywhere is reported (file:line).
    """
    examples = glue_tasks.read_examples(task, task_dir, split)
    if debug:
        header = task.columns_for(split).header
        examples = examples[: DEBUG_MAX_LINES - int(header)]
    return examples


def double_unordered(task: GlueTask, examples: list[Example], split: str) -> list[Example]:
    """For an unordered pair task's train split (mrpc, sts): the examples followed by all of them
    with text_a and text_b swapped."""
    if not task.unordered_pair or split != "train":
        return list(examples)
    swapped = [
        dataclasses.replace(e, guid=e.guid + "-swapped", text_a=e.text_b, text_b=e.text_a) for e in examples
    ]
    return list(examples) + swapped


def truncate_pair(tokens_a: list, tokens_b: list, max_length: int) -> None:
    """Pops tokens in place from the longer list (b on ties) until len(a) + len(b) <= max_length."""
    while len(tokens_a) + len(tokens_b) > max_length:
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


def pack(
    ids_a: Sequence[int], ids_b: Sequence[int] | None, max_seq_length: int, cls_id: int, sep_id: int
) -> tuple[list[int], list[int], list[int]]:
    """One example's (input_ids, input_mask, segment_ids), each of length max_seq_length."""
    a = list(ids_a)
    b = list(ids_b) if ids_b is not None else None
    if b is not None:
        truncate_pair(a, b, max_seq_length - 3)
    else:
        a = a[: max_seq_length - 2]
    input_ids = [cls_id, *a, sep_id]
    segment_ids = [0] * len(input_ids)
    if b is not None:
        input_ids += [*b, sep_id]
        segment_ids += [1] * (len(b) + 1)
    input_mask = [1] * len(input_ids)
    padding = [0] * (max_seq_length - len(input_ids))
    return input_ids + padding, input_mask + padding, segment_ids + padding


def label_values(task: GlueTask, examples: Sequence[Example]) -> np.ndarray:
    """[N] labels: int32 ids into task.labels, or float32 normalised sts targets (0 when unlabelled)."""
    if task.is_regression:
        return np.array(
            [task.normalized(e.label) if e.label is not None else 0.0 for e in examples], np.float32
        )
    index = {label: i for i, label in enumerate(task.labels)}
    return np.array([index[e.label] if e.label is not None else 0 for e in examples], np.int32)


class Featurizer:
    """Tokenizes examples in batches (one progress line per ~10 s on big sets) and packs them.

    tokenizer: an electra_tf.tokenization.FullTokenizer (anything with tokenize_to_ids and
    token_to_id works).
    """

    def __init__(self, tokenizer, max_seq_length: int, log: Callable[[str], None] = print):
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.log = log
        self.cls_id = tokenizer.token_to_id["[CLS]"]
        self.sep_id = tokenizer.token_to_id["[SEP]"]

    def tokenize(self, texts: Sequence[str], what: str = "texts") -> list[list[int]]:
        """Texts → WordPiece id lists, TOKENIZE_CHUNK at a time."""
        out: list[list[int]] = []
        start = last_log = time.monotonic()
        for i in range(0, len(texts), TOKENIZE_CHUNK):
            out += self.tokenizer.tokenize_to_ids(list(texts[i : i + TOKENIZE_CHUNK]))
            now = time.monotonic()
            if now - last_log >= 10.0 and len(out) < len(texts):
                last_log = now
                eta = (len(texts) - len(out)) * (now - start) / len(out)
                self.log(f"tokenizing {what}: {len(out):,}/{len(texts):,} | ETA {format_duration(eta)}")
        return out

    def featurize(self, task: GlueTask, examples: Sequence[Example], what: str = "examples") -> Features:
        """Examples → Features ([N, L] int32 arrays and [N] labels)."""
        texts = [e.text_a for e in examples]
        pairs = [i for i, e in enumerate(examples) if e.text_b]  # upstream: `if example.text_b`
        texts += [examples[i].text_b for i in pairs]
        ids = self.tokenize(texts, what)
        ids_b: list[list[int] | None] = [None] * len(examples)
        for k, i in enumerate(pairs):
            ids_b[i] = ids[len(examples) + k]
        length = self.max_seq_length
        input_ids = np.zeros([len(examples), length], np.int32)
        input_mask = np.zeros([len(examples), length], np.int32)
        segment_ids = np.zeros([len(examples), length], np.int32)
        for i in range(len(examples)):
            input_ids[i], input_mask[i], segment_ids[i] = pack(
                ids[i], ids_b[i], length, self.cls_id, self.sep_id
            )
        return Features(input_ids, input_mask, segment_ids, label_values(task, examples))

    def describe(self, task: GlueTask, features: Features, i: int = 0) -> str:
        """One example's tokens, segment ids and label, for log_examples."""
        n = int(features.input_mask[i].sum())
        tokens = self.tokenizer.convert_ids_to_tokens(features.input_ids[i, :n].tolist())
        segments = " ".join(map(str, features.segment_ids[i, :n]))
        label = features.labels[i] if task.is_regression else task.labels[int(features.labels[i])]
        return f"tokens: {' '.join(tokens)} | segment_ids: {segments} | label: {label}"
