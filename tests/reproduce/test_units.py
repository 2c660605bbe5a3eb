"""Running a plan with stand-in executors: records, skipping, reruns after an interruption or a
changed spec, and the plan's ETA."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from reproduce import plan as plan_lib
from reproduce.budgets import BUDGETS
from reproduce.units import PlanClock, UnitStore, run_plan


def small_plan(specs: dict[str, dict]) -> plan_lib.Plan:
    units = tuple(
        plan_lib.Unit(plan_lib.PRETRAIN, name, spec, (), 10 * (i + 1))
        for i, (name, spec) in enumerate(specs.items())
    )
    return plan_lib.Plan(BUDGETS["smoke"], "/data", (), (), 1, units, {})


def recording(ran: list[str], fail_on: str | None = None):
    def execute(unit, ctx):
        if unit.name == fail_on:
            raise KeyboardInterrupt
        ran.append(unit.name)
        return {"value": unit.spec["x"] * 2, "seen": sorted(ctx.records)}

    return {plan_lib.PRETRAIN: execute}


def test_records_then_skips_then_reruns_only_what_changed(tmp_path):
    plan = small_plan({"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}})
    ran: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_plan(plan, str(tmp_path), recording(ran, fail_on="b"), log=lambda _: None)
    assert ran == ["a"] and os.listdir(tmp_path / "units") == ["a.json"]
    ran.clear()
    records = run_plan(plan, str(tmp_path), recording(ran), log=lambda _: None)
    assert ran == ["b", "c"]
    assert records["c"]["result"] == {"value": 6, "seen": ["a", "b"]}  # earlier records are visible
    saved = json.loads((tmp_path / "units" / "a.json").read_text())
    assert saved["key"] == plan.units[0].key and saved["spec"] == {"x": 1} and saved["result"]["value"] == 2
    ran.clear()
    changed = small_plan({"a": {"x": 1}, "b": {"x": 5}, "c": {"x": 3}})
    run_plan(changed, str(tmp_path), recording(ran), log=lambda _: None)
    assert ran == ["b"]


def test_a_torn_record_counts_as_not_finished(tmp_path):
    plan = small_plan({"a": {"x": 1}})
    store = UnitStore(str(tmp_path))
    os.makedirs(store.folder)
    with open(store.path(plan.units[0]), "w") as f:
        f.write('{"key": ')
    assert store.load(plan.units[0]) is None


def test_eta_uses_each_kinds_rate_and_borrows_the_training_mean_for_new_kinds():
    clock = PlanClock(clock=lambda: 0.0)
    unit = plan_lib.Unit(plan_lib.PRETRAIN, "p", {}, (), 100)
    clock.add(unit, 50.0)  # 0.5 s per pre-training step
    left = [
        dataclasses.replace(unit, name="q", steps=40),
        plan_lib.Unit(plan_lib.FINETUNE, "f", {}, (), 10),
    ]
    assert clock.eta(left) == pytest.approx(40 * 0.5 + 10 * 0.5)
    clock.add(plan_lib.Unit(plan_lib.FINETUNE, "g", {}, (), 20), 2.0)  # 0.1 s per fine-tuning step
    assert clock.eta(left) == pytest.approx(40 * 0.5 + 10 * 0.1)
    assert PlanClock().eta(left) is None
    timing_only = PlanClock()
    timing_only.add(plan_lib.Unit(plan_lib.BENCHMARK, "b", {}, (), 10), 100.0)
    assert timing_only.eta(left) is None  # the timing's rate says nothing about training steps
    assert timing_only.eta([plan_lib.Unit(plan_lib.BENCHMARK, "c", {}, (), 5)]) == pytest.approx(50.0)
