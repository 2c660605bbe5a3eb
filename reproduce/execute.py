"""What each kind of unit runs (`units.Executor`s): the side-by-side timing, one pre-training,
one fine-tuning of one model on one task. Each returns what its record keeps."""

from __future__ import annotations

import json
import os
import statistics

from electra_tf import atomic
from reproduce.plan import BENCHMARK, BENCHMARK_FILE, FINETUNE, PRETRAIN, Unit
from reproduce.units import Context


def _clear_session() -> None:
    import tf_keras

    tf_keras.backend.clear_session()


def pretrain(unit: Unit, ctx: Context) -> dict:
    """`train_or_eval` into the row's model dir (resuming it), then its TensorBoard curves."""
    from pretrain.curves import read_scalars
    from pretrain.runner import train_or_eval

    name = unit.spec["model_name"]
    train_or_eval(
        ctx.plan.data_dir, name, dict(unit.spec["hparams"]), log=lambda line: ctx.log(f"  {name}: {line}")
    )
    model_dir = os.path.join(ctx.plan.data_dir, "models", name)
    _clear_session()
    return {"model_dir": model_dir, "curves": read_scalars(model_dir)}


def finetune(unit: Unit, ctx: Context) -> dict:
    """`run_finetuning` of one (model, task) with the unit's trials; the record names the results
    file that holds every trial (the report reads its numbers from there)."""
    from finetune import compare, runner
    from finetune.config import finetuning_config
    from finetune.glue_tasks import get_task

    name, values = unit.spec["model_name"], dict(unit.spec["hparams"])
    if "architecture_from" in unit.spec:  # the random-init floor: the baseline's architecture and vocab
        compare.prepare_random_init_dir(
            ctx.plan.data_dir, unit.spec["architecture_from"] + compare.RANDOM_SUFFIX
        )
    config = finetuning_config(name, ctx.plan.data_dir, values)
    outcome = runner.run_finetuning(config, log=lambda line: ctx.log(f"  {name}: {line}"))
    _clear_session()
    task = values["task_names"][0]
    median, std = compare.headline(task, outcome["summary"])
    return {
        "results_json": config.results_json,
        "task": task,
        "metric": get_task(task).headline_metric,
        "median": median,
        "std": std,
    }


def benchmark(unit: Unit, ctx: Context) -> dict:
    """Every timed configuration built, warmed up, then timed in turns (`rounds` × `steps` each),
    so machine noise hits them alike; writes `<output_dir>/benchmark.json`."""
    from pretrain.step_timing import Pair, build_trainer, time_in_turns

    timing = unit.spec["timing"]
    pairs = {}
    for label, timed in unit.spec["rows"].items():
        ctx.log(f"  benchmark: building {label}")
        trainer, _ = build_trainer(timed["hparams"], timed["exit_layer"], timed["exit_layer"])
        pairs[label] = Pair(label, None, trainer)
    time_in_turns(
        list(pairs.values()),
        timing["warmup"],
        timing["steps"],
        timing["rounds"],
        log=lambda line: ctx.log(f"  benchmark: {line}"),
    )
    rows = {
        label: {
            "steps_per_sec": 1.0 / statistics.median(pair.times),
            "median_step_seconds": statistics.median(pair.times),
            "step_times": pair.times,
            "exit_layer": unit.spec["rows"][label]["exit_layer"],
        }
        for label, pair in pairs.items()
    }
    del pairs
    _clear_session()
    path = os.path.join(ctx.output_dir, BENCHMARK_FILE)
    atomic.write_text(path, json.dumps({"timing": timing, "rows": rows}, indent=1) + "\n")
    return {"file": path}


EXECUTORS = {PRETRAIN: pretrain, FINETUNE: finetune, BENCHMARK: benchmark}
