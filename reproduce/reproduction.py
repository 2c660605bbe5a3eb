"""`scripts/reproduce_paper.py` as a plain function: `run(...)` plans, runs the units that have no
record yet and writes the report; `dry_run_text(plan)` is the plan with its expected cost."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from reproduce import paper
from reproduce.budgets import get_budget
from reproduce.plan import BENCHMARK, FINETUNE, PRETRAIN, Plan, make_plan, vocab_size

# Dry-run assumption: a fine-tuning step (discriminator only, batch 32) costs about a fifth of a
# baseline pre-training step (generator + discriminator, batch 128); the paper gives no rate.
FINETUNE_STEPS_PER_BASELINE_STEP = 5.0


def present_tasks(data_dir: str) -> list[str]:
    """The GLUE tasks with a train file and a dev file under `data_dir`."""
    from finetune.glue_tasks import TASK_NAMES, TaskError, available_dev_splits, find_task_dir, get_task

    present = []
    for name in TASK_NAMES:
        task = get_task(name)
        try:
            folder = find_task_dir(data_dir, task)
        except TaskError:
            continue
        if os.path.isfile(os.path.join(folder, task.file_name("train"))) and available_dev_splits(
            task, folder
        ):
            present.append(name)
    return present


def parameter_count(config, with_generator: bool = True) -> int:
    """≈ trainable parameters of the discriminator and (if untied) the generator: embeddings,
    towers, heads; exit heads not counted."""
    from electra_tf import configs

    width = configs.embedding_size(config)
    disc = configs.bert_config(config)

    def tower(t) -> int:
        h, f = t.hidden_size, t.intermediate_size
        project = width * h + h if width != h else 0
        return project + t.num_hidden_layers * (4 * h * h + 4 * h + 2 * h * f + f + h + 4 * h)

    embeddings = (disc.vocab_size + disc.max_position_embeddings + disc.type_vocab_size) * width + 2 * width
    total = embeddings + tower(disc) + disc.hidden_size * (disc.hidden_size + 2) + 1
    if with_generator and config.untied_generator:
        gen = configs.generator_config(config)
        total += tower(gen) + gen.hidden_size * width + 3 * width + disc.vocab_size
    return total


def dry_run_text(plan: Plan) -> str:
    from electra_tf import configs

    base_rate = paper.row(paper.BASELINE).steps_per_sec
    lines = [f"budget {plan.budget.name}: {plan.budget.description}", f"data: {plan.data_dir}", ""]
    lines += ["| unit | steps | V100 hours (the paper's steps/s) |", "|---|---|---|"]
    total_hours, checkpoint_bytes, finetuned_bytes = 0.0, 0, 0
    finetune_steps = 0
    for unit in plan.units:
        if unit.kind == PRETRAIN:
            row = paper.row(unit.name.removeprefix(f"{PRETRAIN}-"))
            rate = row.steps_per_sec or base_rate
            hours = unit.steps / rate / 3600
            total_hours += hours
            hparams = {"vocab_size": vocab_size(plan.data_dir) or configs.PretrainingConfig.vocab_size}
            config = configs.config_from_hparams("-", plan.data_dir, {**hparams, **unit.spec["hparams"]})
            checkpoint_bytes += (
                12 * parameter_count(config) * config.keep_checkpoint_max
            )  # weights + Adam m, v
            finetuned_bytes = 12 * parameter_count(config, with_generator=False)
            lines.append(f"| {unit.name} | {unit.steps:,} | {hours:.1f} ({rate} steps/s) |")
        elif unit.kind == FINETUNE:
            finetune_steps += unit.steps
        elif unit.kind == BENCHMARK:
            lines.append(
                f"| {unit.name} ({len(unit.spec['rows'])} timed configurations) | {unit.steps:,} | ≈0 |"
            )
    count = sum(u.kind == FINETUNE for u in plan.units)
    ft_hours = finetune_steps / (base_rate * FINETUNE_STEPS_PER_BASELINE_STEP) / 3600
    models = len(plan.rows) + len(plan.reference_labels)
    lines.append(
        f"| {count} fine-tunings ({len(plan.tasks)} tasks × {models} models × "
        f"{plan.num_trials} trials) | {finetune_steps:,} | {ft_hours:.1f} (assumed: "
        f"{FINETUNE_STEPS_PER_BASELINE_STEP:g}× the baseline's steps/s) |"
    )
    total_hours += ft_hours
    per_model = checkpoint_bytes // max(len(plan.rows), 1)
    kept = 1 if plan.budget.finetune.get("keep_all_models", True) is False else plan.num_trials
    finetuned = count * kept * finetuned_bytes
    lines += [
        "",
        f"total ≈ {total_hours:.0f} V100 hours ({total_hours / 24:.1f} days), one run after another",
        f"disk ≈ {(checkpoint_bytes + finetuned) / 1e9:.1f} GB: {len(plan.rows)} pre-training model dirs of "
        f"≈ {per_model / 1e9:.2f} GB (keep_checkpoint_max checkpoints of weights + Adam slots) and "
        f"{count * kept} fine-tuned models of ≈ {finetuned_bytes / 1e9:.2f} GB",
        f"tasks: {', '.join(plan.tasks)}",
    ]
    return "\n".join(lines)


def default_rows(plan_budget) -> list[str]:
    """Table 1's rows less those the budget leaves out (the warm budget's Emb-Gen: with every
    row's embeddings from the real encoder it is Emb-Gen (Pre-trained)), plus its extra rows."""
    rows = [label for label in paper.DEFAULT_ROWS if label not in plan_budget.skip_rows]
    return rows + list(plan_budget.extra_rows)


def warm_start(plan_budget, init_checkpoint: str, cache_dir: str, dry_run: bool, log) -> str:
    """The plan's init checkpoint: `init_checkpoint` if given; for a warm-start budget without one,
    the validation's all-MiniLM-L6-v2 under `cache_dir` (downloaded unless cached; a dry run
    downloads nothing and plans with the path it would have); else "" (random initialisation)."""
    from reproduce import validation

    if init_checkpoint:
        if not os.path.exists(init_checkpoint):
            raise ValueError(f"--init_checkpoint not found: {init_checkpoint}")
        return os.path.abspath(init_checkpoint)
    if not plan_budget.warm_start:
        return ""
    cache_dir = os.path.abspath(os.path.expanduser(cache_dir))
    cached = os.path.join(cache_dir, validation.MODEL_FOLDER)
    if dry_run and not os.path.isfile(os.path.join(cached, "config.json")):
        return cached
    return validation.obtain_model(cache_dir, log=log)


def check_init_checkpoint(plan: Plan) -> None:
    """ValueError naming the field when the init checkpoint's architecture (or vocabulary) is not
    the budget's, before anything runs."""
    from electra_tf import checkpoint_io, configs
    from electra_tf.checkpoint_io import hf
    from electra_tf.tokenization import VocabError, load_vocab

    if not plan.init_checkpoint:
        return
    theirs = checkpoint_io.checkpoint_config(plan.init_checkpoint)
    if theirs is None:
        return  # upstream checkpoints carry no config: the restore checks every shape
    unit = plan.unit(f"{PRETRAIN}-{paper.BASELINE}")
    ours = configs.config_from_hparams("-", plan.data_dir, dict(unit.spec["hparams"]))
    sizes = (configs.bert_config(ours), configs.bert_config(theirs))
    fields = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"]
    fields += ["max_position_embeddings", "type_vocab_size"]
    pairs = [(f, getattr(sizes[0], f), getattr(sizes[1], f)) for f in fields]
    pairs.append(("embedding_size", configs.embedding_size(ours), configs.embedding_size(theirs)))
    for field, want, got in pairs:
        if want != got:
            raise ValueError(
                f"--init_checkpoint {plan.init_checkpoint}: {field} {got} differs from the budget's {want} "
                f"(budget {plan.budget.name}; --pretrain_hparams may set model_hparam_overrides)"
            )
    try:
        records_vocab = load_vocab(os.path.join(plan.data_dir, "vocab.txt"))
    except VocabError:
        return
    own = hf.read_vocab(plan.init_checkpoint) if hf.is_hf_dir(plan.init_checkpoint) else None
    if own and list(own) != list(records_vocab):
        raise ValueError(
            f"--init_checkpoint {plan.init_checkpoint}: its vocabulary differs from "
            f"{plan.data_dir}/vocab.txt, which the pre-training records were built with"
        )


def run(
    budget: str = "cpu",
    data_dir: str | None = None,
    methods: Sequence[str] = (),
    tasks: Sequence[str] = (),
    num_trials: int = 0,
    output_dir: str | None = None,
    dry_run: bool = False,
    pretrain_hparams: Mapping | str = "{}",
    finetune_hparams: Mapping | str = "{}",
    init_checkpoint: str = "",
    cache_dir: str = os.path.join("~", ".cache", "electra_tf"),
    log: Callable[[str], None] = print,
    executors=None,
) -> dict | None:
    """Plans (bad input raises ValueError before anything runs), runs what has no record yet, and
    writes `<output_dir>/report/`. Returns table1.json's content (None for a dry run).
    `methods` empty = the budget's rows (`default_rows`); `output_dir` defaults to
    `$DATA_DIR/models/reproduce_<budget>`; `num_trials` 0 = the budget's; `tasks` empty = every GLUE
    task with train and dev data; `init_checkpoint`: every row's start (see `warm_start`);
    `executors` (tests) replace `execute.EXECUTORS`."""
    from electra_tf.configs import load_hparams
    from finetune.glue_tasks import get_task
    from reproduce import execute, report, units

    if not data_dir or not os.path.isdir(data_dir):
        raise ValueError(f"--data_dir not found: {data_dir}")
    plan_budget = get_budget(budget)
    methods = list(methods) or default_rows(plan_budget)
    for label in methods:
        paper.row(label)
    present = present_tasks(data_dir)
    tasks = list(tasks) or present
    if not tasks:
        raise ValueError(
            f"--data_dir {data_dir}: no GLUE task with train and dev files under finetuning_data/"
        )
    for task in tasks:
        get_task(task)
    missing = [t for t in tasks if t not in present]
    if missing:
        raise ValueError(
            f"--tasks: no train and dev files for {', '.join(missing)} under {data_dir}/finetuning_data"
        )
    if num_trials < 0:
        raise ValueError(f"--num_trials must be >= 0 (0 = the budget's), got {num_trials}")
    plan = make_plan(
        plan_budget,
        os.path.abspath(data_dir),
        methods,
        tasks,
        num_trials or plan_budget.num_trials,
        load_hparams(pretrain_hparams),
        load_hparams(finetune_hparams),
        warm_start(plan_budget, init_checkpoint, cache_dir, dry_run, log),
    )
    if os.path.exists(plan.init_checkpoint):
        check_init_checkpoint(plan)
    if dry_run:
        log(dry_run_text(plan))
        return None
    output_dir = os.path.abspath(output_dir or os.path.join(data_dir, "models", f"reproduce_{budget}"))
    records = units.run_plan(plan, output_dir, executors or execute.EXECUTORS, log)
    table = report.write_report(plan, records, output_dir)
    log(f"report: {os.path.join(output_dir, report.REPORT_DIR, 'README.md')}")
    return table
