"""The GLUE task registry: where each task's TSV files live, how to read them and how to score them.

Tasks are keyed by the upstream ELECTRA names (cola sst mrpc sts qqp mnli qnli rte). Files are read
by splitting lines on tabs with no CSV quoting, because GLUE text contains unbalanced quotes.
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from finetune import glue_metrics


class TaskError(ValueError):
    """An unknown task or split, a missing directory or file, or a malformed row."""


@dataclasses.dataclass(frozen=True)
class Columns:
    """Field positions of one TSV layout (negative ones count from the row's end) and its field count.

    num_fields is the exact number of tab-separated fields per row; None means "as many as the header".
    """

    text_a: int
    text_b: int | None
    label: int | None
    header: bool = True
    num_fields: int | None = None

    def min_fields(self) -> int:
        """The fewest fields a row needs for every position used here to exist."""
        used = [i for i in (self.text_a, self.text_b, self.label) if i is not None]
        return max(i + 1 if i >= 0 else -i for i in used)


@dataclasses.dataclass(frozen=True)
class Metric:
    """A named metric: fn(labels, predictions) -> float."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]


@dataclasses.dataclass(frozen=True)
class Example:
    """One sentence (pair); label is a str for classification, a float for sts and None on test."""

    guid: str
    text_a: str
    text_b: str | None
    label: str | float | None


_STANDARD_FILES = (("train", "train.tsv"), ("dev", "dev.tsv"), ("test", "test.tsv"))


@dataclasses.dataclass(frozen=True)
class GlueTask:
    """Static description of one GLUE task."""

    name: str  # upstream ELECTRA name, also the folder name under finetuning_data/
    glue_name: str  # folder name in the GLUE download (glue_data/<glue_name>/)
    labels: tuple[str, ...]  # empty for the regression task
    columns: Columns  # train and dev files
    test_columns: Columns
    metrics: tuple[Metric, ...]
    split_files: tuple[tuple[str, str], ...] = _STANDARD_FILES  # (split, file name) pairs
    # (test split, GLUE submission file name) pairs, as the GLUE benchmark names its files.
    submission_files: tuple[tuple[str, str], ...] = ()
    headline: str | None = None  # the metric the ELECTRA paper reports; None: the first metric
    unordered_pair: bool = False  # (a, b) means (b, a): upstream doubles the train set swapped
    single_task_epochs: float = 3.0  # upstream's num_train_epochs when this is the only task
    score_range: tuple[float, float] | None = None  # the regression label's range (upstream 0..5)

    @property
    def is_regression(self) -> bool:
        """True for sts, whose label is a real-valued similarity score."""
        return not self.labels

    @property
    def headline_metric(self) -> str:
        """The metric the ELECTRA paper reports for this task (Spearman for STS, MCC for CoLA)."""
        return self.headline or self.metrics[0].name

    def submission_file(self, split: str) -> str:
        """The GLUE submission file name for test split `split`."""
        files = dict(self.submission_files)
        if split not in files:
            raise TaskError(f"task {self.name!r} has no submission file for split {split!r}")
        return files[split]

    def normalized(self, score: float) -> float:
        """A regression label → upstream's training target (score - min) / max."""
        low, high = self.score_range or (0.0, 1.0)
        return (score - low) / high

    def denormalized(self, predictions: ArrayLike) -> np.ndarray:
        """Model outputs [N] → scores on the label's scale, clipped to its range (for submissions)."""
        low, high = self.score_range or (0.0, 1.0)
        return np.clip(np.asarray(predictions, np.float64) * high + low, low, high)

    @property
    def splits(self) -> tuple[str, ...]:
        """Split names read_examples accepts for this task."""
        return tuple(split for split, _ in self.split_files)

    @property
    def dev_files(self) -> tuple[str, ...]:
        """File names of the dev splits (mnli: matched first, then mismatched)."""
        return tuple(f for split, f in self.split_files if split.startswith("dev"))

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of compute_metrics' keys, in reporting order."""
        return tuple(m.name for m in self.metrics)

    def file_name(self, split: str) -> str:
        """The TSV file name holding split."""
        files = dict(self.split_files)
        if split not in files:
            raise TaskError(
                f"task {self.name!r} has no split {split!r}; valid splits: {', '.join(self.splits)}"
            )
        return files[split]

    def columns_for(self, split: str) -> Columns:
        """The column layout of split's file."""
        return self.test_columns if split.startswith("test") else self.columns

    def label_ids(self, values: ArrayLike) -> np.ndarray:
        """Label strings (from self.labels) or integer ids → an int array of ids."""
        arr = np.asarray(values).reshape(-1)
        if arr.dtype.kind in "UO":
            index = {label: i for i, label in enumerate(self.labels)}
            unknown = sorted({str(v) for v in arr if v not in index})
            if unknown:
                raise TaskError(f"task {self.name!r}: labels {unknown} not in {list(self.labels)}")
            return np.array([index[v] for v in arr], dtype=np.int64)
        ids = arr.astype(np.int64)
        if np.any(ids != arr) or np.any(ids < 0) or np.any(ids >= len(self.labels)):
            raise TaskError(f"task {self.name!r}: label ids must be integers in [0, {len(self.labels)})")
        return ids


_ACC = Metric("accuracy", glue_metrics.accuracy)
_F1 = Metric("f1", glue_metrics.f1)
_MCC = Metric("mcc", glue_metrics.matthews_corrcoef)
_PEARSON = Metric("pearson", glue_metrics.pearson)
_SPEARMAN = Metric("spearman", glue_metrics.spearman)
_BINARY = ("0", "1")
_NLI2 = ("entailment", "not_entailment")
_NLI3 = ("contradiction", "entailment", "neutral")
_PAIR_LAST = Columns(1, 2, -1)  # index, text_a, text_b, label (QNLI, RTE)
_PAIR_TEST = Columns(1, 2, None)

_COLA_COLUMNS = Columns(3, None, 1, header=False, num_fields=4)  # source, label, star, sentence
_MNLI_DEV = (("dev", "dev_matched.tsv"), ("dev_mismatched", "dev_mismatched.tsv"))
_MNLI_FILES = (("train", "train.tsv"), *_MNLI_DEV, ("test", "test_matched.tsv"))


def _submission(*files: str) -> tuple[tuple[str, str], ...]:
    """(split, file) pairs: the first file is the test split's, a second one test_mismatched's."""
    return tuple(zip(("test", "test_mismatched"), files, strict=False))


_TASK_LIST = (
    GlueTask(
        "cola",
        "CoLA",
        _BINARY,
        _COLA_COLUMNS,
        Columns(1, None, None),
        (_MCC,),
        submission_files=_submission("CoLA.tsv"),
    ),
    GlueTask(
        "sst",
        "SST-2",
        _BINARY,
        Columns(0, None, 1),
        Columns(1, None, None),
        (_ACC,),
        submission_files=_submission("SST-2.tsv"),
    ),
    GlueTask(
        "mrpc",
        "MRPC",
        _BINARY,
        Columns(3, 4, 0),
        Columns(3, 4, None),
        (_ACC, _F1),
        submission_files=_submission("MRPC.tsv"),
        unordered_pair=True,
    ),
    GlueTask(
        "sts",
        "STS-B",
        (),
        Columns(7, 8, -1),
        Columns(7, 8, None),
        (_PEARSON, _SPEARMAN),
        submission_files=_submission("STS-B.tsv"),
        headline="spearman",
        unordered_pair=True,
        single_task_epochs=10.0,
        score_range=(0.0, 5.0),
    ),
    GlueTask(
        "qqp",
        "QQP",
        _BINARY,
        Columns(3, 4, 5),
        Columns(1, 2, None),
        (_ACC, _F1),
        submission_files=_submission("QQP.tsv"),
    ),
    GlueTask(
        "mnli",
        "MNLI",
        _NLI3,
        Columns(8, 9, -1),
        Columns(8, 9, None),
        (_ACC,),
        _MNLI_FILES,
        submission_files=_submission("MNLI-m.tsv", "MNLI-mm.tsv"),
    ),
    GlueTask(
        "qnli", "QNLI", _NLI2, _PAIR_LAST, _PAIR_TEST, (_ACC,), submission_files=_submission("QNLI.tsv")
    ),
    GlueTask(
        "rte",
        "RTE",
        _NLI2,
        _PAIR_LAST,
        _PAIR_TEST,
        (_ACC,),
        submission_files=_submission("RTE.tsv"),
        single_task_epochs=10.0,
    ),
)

TASKS: types.MappingProxyType[str, GlueTask] = types.MappingProxyType({t.name: t for t in _TASK_LIST})
TASK_NAMES: tuple[str, ...] = tuple(TASKS)


def get_task(name: str | GlueTask) -> GlueTask:
    """The registered task called name (a GlueTask is returned unchanged)."""
    if isinstance(name, GlueTask):
        return name
    if name not in TASKS:
        raise TaskError(f"unknown GLUE task {name!r}; valid tasks: {', '.join(TASK_NAMES)}")
    return TASKS[name]


def find_task_dir(data_dir: str, task: str | GlueTask) -> str:
    """The folder holding task's TSV files under data_dir.

    Tried in order: data_dir/finetuning_data/<name>, data_dir/finetuning_data/<GLUE name>, and
    data_dir/<GLUE name> (data_dir being the GLUE download root, glue_data/).
    """
    task = get_task(task)
    candidates = [
        os.path.join(data_dir, "finetuning_data", task.name),
        os.path.join(data_dir, "finetuning_data", task.glue_name),
        os.path.join(data_dir, task.glue_name),
    ]
    for path in candidates:
        if os.path.isdir(path):
            return path
    raise TaskError(f"no data folder for task {task.name!r}; searched: {', '.join(candidates)}")


def available_dev_splits(task: str | GlueTask, task_dir: str) -> tuple[str, ...]:
    """The dev splits whose file exists in task_dir (mnli: "dev" and, when present, "dev_mismatched")."""
    task = get_task(task)
    return tuple(
        s for s, f in task.split_files if s.startswith("dev") and os.path.isfile(os.path.join(task_dir, f))
    )


def read_examples(task: str | GlueTask, task_dir: str, split: str) -> list[Example]:
    """Parses split ("train", "dev", "dev_mismatched" or "test") of task from task_dir."""
    task = get_task(task)
    path = os.path.join(task_dir, task.file_name(split))
    if not os.path.isfile(path):
        raise TaskError(f"task {task.name!r}: {split} file not found: {path}")
    try:
        with open(path, encoding="utf-8", newline="") as f:  # newline="": only "\n" ends a line
            text = f.read()
    except UnicodeDecodeError as e:
        raise TaskError(f"{path}: not valid UTF-8 ({e})") from None
    text = text.removeprefix("\ufeff")  # byte-order mark (MRPC); U+FEFF inside text is kept
    cols = task.columns_for(split)
    expected = cols.num_fields
    header_pending = cols.header
    examples: list[Example] = []
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if expected is None:
            expected = len(fields)
            if expected < cols.min_fields():
                raise TaskError(f"{path}:{line_no}: {expected} columns, but {cols.min_fields()} are needed")
        if len(fields) != expected:
            raise TaskError(f"{path}:{line_no}: expected {expected} columns, found {len(fields)}")
        if header_pending:
            header_pending = False
            continue
        examples.append(_make_example(task, cols, fields, f"{split}-{len(examples)}", f"{path}:{line_no}"))
    return examples


def _make_example(task: GlueTask, cols: Columns, fields: list[str], guid: str, where: str) -> Example:
    """One Example from a row's fields, checking the label (where is "file:line" for errors)."""
    text_b = None if cols.text_b is None else fields[cols.text_b]
    label: str | float | None = None
    if cols.label is not None:
        raw = fields[cols.label]
        if task.is_regression:
            try:
                label = float(raw)
            except ValueError:
                raise TaskError(f"{where}: label {raw!r} is not a number") from None
        elif raw in task.labels:
            label = raw
        else:
            raise TaskError(f"{where}: label {raw!r} not in {list(task.labels)}")
    return Example(guid=guid, text_a=fields[cols.text_a], text_b=text_b, label=label)


def compute_metrics(task: str | GlueTask, labels: ArrayLike, predictions: ArrayLike) -> dict[str, float]:
    """Every metric of task: metric name → float (not scaled to percent).

    Classification labels and predictions may be label strings or integer ids into task.labels;
    regression (sts) takes real-valued scores.
    """
    task = get_task(task)
    if task.is_regression:
        y = np.asarray(labels, dtype=np.float64).reshape(-1)
        p = np.asarray(predictions, dtype=np.float64).reshape(-1)
    else:
        y = task.label_ids(labels)
        p = task.label_ids(predictions)
    return {metric.name: float(metric.fn(y, p)) for metric in task.metrics}
