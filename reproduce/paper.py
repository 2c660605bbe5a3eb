"""What the paper reports: the rows of its Table 1 (each one registered method plus settings), their
GLUE dev scores and steps/s on a V100, and the exits of Figure 4 (Kang et al.,
`shared/paper/maximizing_efficiency_electra.md`). Every number here is copied from the paper."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of Table 1.

    label: our name for the row (model dirs, files, `--methods`).
    method: the registered pre-training method it runs.
    title: the paper's name for it.
    table1: the paper's GLUE dev scores by our task names, None for `noise` (not in Table 1).
    steps_per_sec: the paper's pre-training steps/s on a V100 (batch 128), None if not given.
    embeddings_from_baseline: initialise the embeddings from the baseline row's checkpoint
      (`emb_gen_init_checkpoint`; the paper took a 1M-step ELECTRA-small, we take our own baseline
      at the same budget).
    hparams: the method's hparams of this row (another reading of a Table 1 row, e.g. the exit
      methods' faster readings of issue 30).
    reading_of: the Table 1 row this row is another reading of (None for the others).
    """

    label: str
    method: str
    title: str
    table1: dict[str, float] | None
    steps_per_sec: float | None
    embeddings_from_baseline: bool = False
    hparams: dict | None = None
    reading_of: str | None = None


def _scores(*values: float) -> dict[str, float]:
    return dict(zip(("cola", "sst", "mrpc", "sts", "qqp", "mnli", "qnli", "rte"), values, strict=True))


ROWS = (
    Row(
        "electra", "electra", "Baseline", _scores(52.40, 87.04, 82.84, 84.11, 88.04, 76.09, 85.53, 58.12), 2.4
    ),
    Row(
        "emb_gen", "emb_gen", "Emb-Gen", _scores(15.61, 82.68, 68.62, 73.68, 86.28, 69.83, 81.18, 51.62), 4.6
    ),
    Row(
        "emb_gen_pretrained",
        "emb_gen",
        "Emb-Gen (Pre-trained)",
        _scores(24.80, 86.00, 71.07, 77.88, 86.47, 72.78, 82.31, 50.18),
        4.6,
        embeddings_from_baseline=True,
    ),
    Row(
        "early_exit_disc",
        "early_exit_disc",
        "Early-Exit (Disc)",
        _scores(40.22, 81.99, 83.08, 81.19, 86.70, 72.74, 83.89, 61.01),
        3.1,
    ),
    Row(
        "adaptive_exit_gen",
        "adaptive_exit_gen",
        "Adaptive Early-Exit (Gen)",
        _scores(49.27, 87.38, 83.82, 82.96, 88.33, 77.39, 84.38, 62.81),
        2.75,
    ),
    Row(
        "adaptive_exit_gen_exit",
        "adaptive_exit_gen",
        "Adaptive Early-Exit (Gen), exit head only",
        None,
        None,
        hparams={"exit_heads": "exit"},
        reading_of="adaptive_exit_gen",
    ),
    Row(
        "early_exit_disc_gen",
        "early_exit_disc",
        "Early-Exit (Disc), generator exits too",
        None,
        None,
        hparams={"early_exit_generator": True},
        reading_of="early_exit_disc",
    ),
    Row("noise", "noise", "Noise (section 2; not in Table 1)", None, None),
    Row("mlm", "mlm", "MLM (BERT; the ELECTRA paper's control, not in Table 1)", None, None),
)
BASELINE = "electra"
DEFAULT_ROWS = tuple(r.label for r in ROWS if r.table1 is not None)
READING_ROWS = tuple(r.label for r in ROWS if r.reading_of)  # the exit methods' other readings
RANDOM_INIT_TITLE = "Random init (no pre-training)"
# Figure 4: exits after generator layers 3, 6, 9, 12 of 12; lower exits should give the
# discriminator easier replacements (higher RTD accuracy), exit 3 the easiest.
FIGURE4_EXIT_LAYERS = (3, 6, 9, 12)
TRAIN_STEPS = 200_000


def row(label: str) -> Row:
    """The row called `label` (ValueError listing the rows otherwise)."""
    for r in ROWS:
        if r.label == label:
            return r
    raise ValueError(f"--methods: unknown row {label!r}; rows: {', '.join(r.label for r in ROWS)}")


def glue_average(scores: dict[str, float], tasks) -> float:
    """The mean of `scores` over `tasks` (the paper's rows averaged over the tasks we ran)."""
    return sum(scores[t] for t in tasks) / len(tasks)
