"""glue_tasks: the registry, the real GLUE files in ../shared and synthetic files exercising every error."""

from __future__ import annotations

import os
import re

import pytest

from finetune import glue_tasks
from finetune.glue_tasks import TaskError
from tests.helpers import GLUE_DIR

OFFICIAL_COUNTS = [
    ("cola", "train", 8551),
    ("cola", "dev", 1043),
    ("sst", "train", 67349),
    ("sst", "dev", 872),
    ("mrpc", "train", 3668),
    ("mrpc", "dev", 408),
    ("sts", "train", 5749),
    ("sts", "dev", 1500),
    ("qnli", "dev", 5463),
    ("rte", "train", 2490),
    ("rte", "dev", 277),
]


@pytest.fixture(scope="module")
def glue_dir() -> str:
    if not os.path.isdir(GLUE_DIR):
        pytest.skip(f"GLUE data not present at {GLUE_DIR}")
    return GLUE_DIR


def _real(glue_dir: str, task: str, split: str) -> tuple[str, list[glue_tasks.Example]]:
    """(path of the file, its parsed examples)."""
    task_dir = glue_tasks.find_task_dir(glue_dir, task)
    path = os.path.join(task_dir, glue_tasks.get_task(task).file_name(split))
    return path, glue_tasks.read_examples(task, task_dir, split)


def _raw_rows(path: str) -> list[list[str]]:
    """A file's non-empty lines split on tabs, read independently of glue_tasks (BOM dropped)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [line.split("\t") for line in f.read().split("\n") if line]


@pytest.mark.parametrize(("task", "split", "count"), OFFICIAL_COUNTS)
def test_real_files_have_official_counts(glue_dir: str, task: str, split: str, count: int) -> None:
    _, examples = _real(glue_dir, task, split)
    assert len(examples) == count
    spec = glue_tasks.get_task(task)
    assert len({e.guid for e in examples}) == count
    assert all((e.text_b is None) == (spec.columns.text_b is None) for e in examples)
    if not spec.is_regression:
        assert {e.label for e in examples} == set(spec.labels)


def test_real_mrpc_first_row(glue_dir: str) -> None:
    path, examples = _real(glue_dir, "mrpc", "train")
    header, first = _raw_rows(path)[:2]
    assert header[0] == "Quality"  # the byte-order mark in front of it is gone
    assert (examples[0].label, examples[0].text_a, examples[0].text_b) == (first[0], first[3], first[4])
    assert '"the witness"' in examples[0].text_a


def test_real_sts_labels_are_floats(glue_dir: str) -> None:
    for split in ("train", "dev"):
        path, examples = _real(glue_dir, "sts", split)
        assert all(isinstance(e.label, float) and 0.0 <= e.label <= 5.0 for e in examples)
        rows = _raw_rows(path)[1:]
        assert [e.label for e in examples[:50]] == [float(r[-1]) for r in rows[:50]]
        assert (examples[-1].text_a, examples[-1].text_b) == (rows[-1][7], rows[-1][8])


def test_real_qnli_keeps_stray_quotes_and_inner_feff(glue_dir: str) -> None:
    path, examples = _real(glue_dir, "qnli", "dev")
    rows = _raw_rows(path)[1:]
    stray = [i for i, r in enumerate(rows) if any(f.startswith('"') and f.count('"') % 2 for f in r)]
    assert stray, "expected QNLI rows with an unbalanced quote"
    for i in stray:
        assert (examples[i].text_a, examples[i].text_b, examples[i].label) == (
            rows[i][1],
            rows[i][2],
            rows[i][3],
        )
    inner_feff = sum((e.text_a + e.text_b).count("\ufeff") for e in examples)
    with open(path, encoding="utf-8") as f:
        assert inner_feff == f.read().count("\ufeff") > 0


def test_real_cola_dev_last_row_without_newline(glue_dir: str) -> None:
    path, examples = _real(glue_dir, "cola", "dev")
    with open(path, encoding="utf-8") as f:
        last_line = f.read().split("\n")[-1]
    assert last_line, "CoLA dev is expected to lack a trailing newline"
    assert (examples[-1].label, examples[-1].text_a) == (last_line.split("\t")[1], last_line.split("\t")[3])
    assert glue_tasks.available_dev_splits("cola", os.path.dirname(path)) == ("dev",)


# ---------------------------------------------------------------- registry and synthetic files


def _write(path: str, lines: list[str], end: str = "\n", bom: bool = False) -> str:
    """Writes lines joined by "\\n" plus end (use end="" for no trailing newline); returns path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(("\ufeff" if bom else "") + "\n".join(lines) + end)
    return path


RTE_HEADER = "index\tsentence1\tsentence2\tlabel"


def test_registry() -> None:
    assert glue_tasks.TASK_NAMES == ("cola", "sst", "mrpc", "sts", "qqp", "mnli", "qnli", "rte")
    glue_names = [glue_tasks.get_task(n).glue_name for n in glue_tasks.TASK_NAMES]
    assert glue_names == ["CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE"]
    assert [n for n in glue_tasks.TASK_NAMES if glue_tasks.get_task(n).is_regression] == ["sts"]
    metrics = {n: glue_tasks.get_task(n).metric_names for n in glue_tasks.TASK_NAMES}
    assert metrics == {
        "cola": ("mcc",),
        "sst": ("accuracy",),
        "mrpc": ("accuracy", "f1"),
        "sts": ("pearson", "spearman"),
        "qqp": ("accuracy", "f1"),
        "mnli": ("accuracy",),
        "qnli": ("accuracy",),
        "rte": ("accuracy",),
    }
    assert glue_tasks.get_task("mnli").labels == ("contradiction", "entailment", "neutral")
    assert glue_tasks.get_task("qnli").labels == ("entailment", "not_entailment")
    assert glue_tasks.get_task("qqp").labels == ("0", "1")
    assert glue_tasks.get_task("mnli").dev_files == ("dev_matched.tsv", "dev_mismatched.tsv")
    assert glue_tasks.get_task("rte").dev_files == ("dev.tsv",)


def test_unknown_task_and_split(tmp_path) -> None:
    with pytest.raises(
        TaskError, match="unknown GLUE task 'wnli'.*cola, sst, mrpc, sts, qqp, mnli, qnli, rte"
    ):
        glue_tasks.get_task("wnli")
    assert issubclass(TaskError, ValueError)
    with pytest.raises(TaskError, match="no split 'dev_mismatched'"):
        glue_tasks.read_examples("rte", str(tmp_path), "dev_mismatched")


def test_missing_file_and_folder(tmp_path) -> None:
    with pytest.raises(
        TaskError, match="file not found: " + re.escape(os.path.join(str(tmp_path), "train.tsv"))
    ):
        glue_tasks.read_examples("rte", str(tmp_path), "train")
    with pytest.raises(TaskError, match="searched:.*finetuning_data/rte.*finetuning_data/RTE") as err:
        glue_tasks.find_task_dir(str(tmp_path), "rte")
    assert os.path.join(str(tmp_path), "RTE") in str(err.value)


@pytest.mark.parametrize("layout", ["finetuning_data/rte", "finetuning_data/RTE", "RTE"])
def test_folder_layouts(tmp_path, layout: str) -> None:
    _write(str(tmp_path / layout / "dev.tsv"), [RTE_HEADER, "0\tA dog.\tAn animal.\tentailment"])
    task_dir = glue_tasks.find_task_dir(str(tmp_path), "rte")
    assert task_dir == str(tmp_path / layout)
    examples = glue_tasks.read_examples("rte", task_dir, "dev")
    assert examples == [glue_tasks.Example("dev-0", "A dog.", "An animal.", "entailment")]


def test_wrong_column_count_names_file_and_line(tmp_path) -> None:
    rows = [RTE_HEADER, "0\ta\tb\tentailment", "", "1\ta\tb\tentailment\textra"]
    path = _write(str(tmp_path / "train.tsv"), rows)
    with pytest.raises(TaskError, match=f"{re.escape(path)}:4: expected 4 columns, found 5"):
        glue_tasks.read_examples("rte", str(tmp_path), "train")
    cola = _write(str(tmp_path / "cola" / "train.tsv"), ["src\t1\t\tFine.", "src\t0\tBroken."])
    with pytest.raises(TaskError, match=f"{re.escape(cola)}:2: expected 4 columns, found 3"):
        glue_tasks.read_examples("cola", os.path.dirname(cola), "train")


def test_bad_labels_name_file_and_line(tmp_path) -> None:
    path = _write(str(tmp_path / "dev.tsv"), [RTE_HEADER, "0\ta\tb\tentailment", "1\ta\tb\tcontradiction"])
    with pytest.raises(TaskError, match=f"{re.escape(path)}:3: label 'contradiction' not in"):
        glue_tasks.read_examples("rte", str(tmp_path), "dev")
    sts_row = "0\tg\tf\t2012\t0\tnone\tnone\tA man.\tA person.\thigh"
    sts = _write(str(tmp_path / "sts" / "dev.tsv"), ["\t".join(["h"] * 10), sts_row])
    with pytest.raises(TaskError, match=f"{re.escape(sts)}:2: label 'high' is not a number"):
        glue_tasks.read_examples("sts", os.path.dirname(sts), "dev")


def test_bom_header_crlf_and_inner_feff(tmp_path) -> None:
    header = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"
    rows = [header, '1\t11\t12\t"Quoted start\tFE\ufeffFF', "0\t13\t14\tx\ty"]
    _write(str(tmp_path / "train.tsv"), rows, end="\r\n", bom=True)
    with open(tmp_path / "train.tsv", "rb") as f:
        assert f.read(3) == b"\xef\xbb\xbf"
    examples = glue_tasks.read_examples("mrpc", str(tmp_path), "train")
    assert [(e.label, e.text_a, e.text_b) for e in examples] == [
        ("1", '"Quoted start', "FE\ufeffFF"),
        ("0", "x", "y"),
    ]


def test_no_trailing_newline_and_blank_lines(tmp_path) -> None:
    rows = ["src\t1\t\tOne.", "", "src\t0\t*\tTwo ."]
    _write(str(tmp_path / "with" / "dev.tsv"), rows)
    _write(str(tmp_path / "without" / "dev.tsv"), rows, end="")
    for sub in ("with", "without"):
        examples = glue_tasks.read_examples("cola", str(tmp_path / sub), "dev")
        assert [(e.guid, e.text_a, e.label) for e in examples] == [
            ("dev-0", "One.", "1"),
            ("dev-1", "Two .", "0"),
        ]


def test_mnli_splits_and_test_files(tmp_path) -> None:
    def row(n: int, label: str | None) -> str:
        fields = [str(n)] + ["x"] * 7 + [f"premise {n}", f"hypothesis {n}"]
        return "\t".join(fields + (["neutral"] * 5 + [label] if label else []))

    _write(str(tmp_path / "dev_matched.tsv"), ["\t".join(["h"] * 16), row(0, "entailment")])
    _write(str(tmp_path / "test_matched.tsv"), ["\t".join(["h"] * 10), row(1, None)])
    assert glue_tasks.available_dev_splits("mnli", str(tmp_path)) == ("dev",)
    _write(str(tmp_path / "dev_mismatched.tsv"), ["\t".join(["h"] * 16), row(2, "contradiction")])
    assert glue_tasks.available_dev_splits("mnli", str(tmp_path)) == ("dev", "dev_mismatched")
    mismatched = glue_tasks.read_examples("mnli", str(tmp_path), "dev_mismatched")
    assert mismatched == [
        glue_tasks.Example("dev_mismatched-0", "premise 2", "hypothesis 2", "contradiction")
    ]
    test = glue_tasks.read_examples("mnli", str(tmp_path), "test")
    assert test == [glue_tasks.Example("test-0", "premise 1", "hypothesis 1", None)]
    _write(str(tmp_path / "qqp" / "test.tsv"), ["id\tquestion1\tquestion2", "0\tWhy?\tHow?"])
    qqp = glue_tasks.read_examples("qqp", str(tmp_path / "qqp"), "test")
    assert qqp == [glue_tasks.Example("test-0", "Why?", "How?", None)]


def test_compute_metrics() -> None:
    assert glue_tasks.compute_metrics("mrpc", ["1", "0", "1", "1"], [1, 1, 1, 0]) == {
        "accuracy": 0.5,
        "f1": pytest.approx(2 / 3),
    }
    assert glue_tasks.compute_metrics("rte", ["entailment", "not_entailment"], [0, 0]) == {"accuracy": 0.5}
    assert glue_tasks.compute_metrics("cola", [0, 1, 0, 1], [0, 1, 0, 1]) == {"mcc": pytest.approx(1.0)}
    sts = glue_tasks.compute_metrics("sts", [0.0, 2.5, 5.0], [1.0, 2.0, 4.0])
    assert set(sts) == {"pearson", "spearman"} and sts["spearman"] == pytest.approx(1.0)
    with pytest.raises(TaskError, match="not in"):
        glue_tasks.compute_metrics("rte", ["entailment"], ["maybe"])
    with pytest.raises(TaskError, match=r"integers in \[0, 3\)"):
        glue_tasks.compute_metrics("mnli", [0, 1], [1, 3])
