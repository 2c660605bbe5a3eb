"""Running a plan: each unit's record is `<output_dir>/units/<name>.json` ({name, kind, key, spec,
result, seconds, finished}), written atomically when the unit finishes. A unit whose record holds
its current key is skipped; a changed spec (budget, hparams, trials) has a new key and runs again.
A unit interrupted half-way has no record and reruns; pre-training then resumes from its model
dir's last checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping

from electra_tf import atomic
from electra_tf.progress import format_duration
from reproduce.plan import BENCHMARK, Plan, Unit


class UnitStore:
    def __init__(self, output_dir: str):
        self.folder = os.path.join(output_dir, "units")

    def path(self, unit: Unit) -> str:
        return os.path.join(self.folder, f"{unit.name}.json")

    def load(self, unit: Unit) -> dict | None:
        """The unit's record if it finished with its current key, else None."""
        try:
            with open(self.path(unit), encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, json.JSONDecodeError):
            return None
        return record if record.get("key") == unit.key else None

    def save(self, unit: Unit, result: Mapping, seconds: float) -> dict:
        record = {
            "name": unit.name,
            "kind": unit.kind,
            "key": unit.key,
            "spec": unit.spec,
            "result": result,
            "seconds": seconds,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.makedirs(self.folder, exist_ok=True)
        atomic.write_text(self.path(unit), json.dumps(record, indent=1, sort_keys=True, default=float) + "\n")
        return record


@dataclasses.dataclass
class Context:
    """What an executor may read: the plan, the finished records by unit name, where to write."""

    plan: Plan
    output_dir: str
    records: dict[str, dict]
    log: Callable[[str], None]


Executor = Callable[[Unit, Context], Mapping]


class PlanClock:
    """ETA of the units left: each kind's seconds per step measured in this sitting (a training
    kind not run yet borrows the mean rate of the other training kinds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.start = clock()
        self.spent: dict[str, list[float]] = {}  # kind → [seconds, steps]

    def add(self, unit: Unit, seconds: float) -> None:
        spent = self.spent.setdefault(unit.kind, [0.0, 0.0])
        spent[0] += seconds
        spent[1] += max(unit.steps, 1)

    def eta(self, left: list[Unit]) -> float | None:
        """Seconds for `left`; None while a kind in it has no rate to go by (the timing's seconds
        per step, builds included, say nothing about training steps)."""
        rates = {kind: s / n for kind, (s, n) in self.spent.items()}
        training = [r for kind, r in rates.items() if kind != BENCHMARK]
        fallback = sum(training) / len(training) if training else None
        if any(u.kind not in rates for u in left) and fallback is None:
            return None
        return sum(max(u.steps, 1) * rates.get(u.kind, fallback) for u in left)


def run_plan(
    plan: Plan, output_dir: str, executors: Mapping[str, Executor], log: Callable[[str], None] = print
) -> dict[str, dict]:
    """Runs every unit without a current record, in plan order; returns every record by name."""
    store = UnitStore(output_dir)
    records = {u.name: r for u in plan.units if (r := store.load(u)) is not None}
    todo = [u for u in plan.units if u.name not in records]
    log(
        f"plan: {len(plan.units)} units, {len(records)} finished before (skipped), {len(todo)} to run "
        f"({sum(u.steps for u in todo):,} steps)"
    )
    context = Context(plan, output_dir, records, log)
    clock = PlanClock()
    for k, unit in enumerate(todo, 1):
        eta = clock.eta(todo[k - 1 :])
        log(
            f"[{k}/{len(todo)}] {unit.name} ({unit.steps:,} steps) | elapsed "
            f"{format_duration(clock.clock() - clock.start)}, ETA for the plan "
            f"{format_duration(eta) if eta is not None else 'after the first training unit'}"
        )
        missing = [name for name in unit.after if name not in records]
        if missing:
            raise RuntimeError(f"{unit.name} needs {', '.join(missing)} first")  # plan order guarantees it
        start = clock.clock()
        result = executors[unit.kind](unit, context)
        seconds = clock.clock() - start
        records[unit.name] = store.save(unit, result, seconds)
        clock.add(unit, seconds)
        log(f"[{k}/{len(todo)}] {unit.name} finished in {format_duration(seconds)}")
    return records
