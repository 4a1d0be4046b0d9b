"""The five scenarios: each builds its data, proves the outputs agree, then times."""

from __future__ import annotations

import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec

import datever
import datever.pipeline
import datever.versions
from benchmarks import bulk, data
from benchmarks import contenders as c
from benchmarks.report import Row, Scenario, Target
from datever.changes import load_schemas

SEED = 0


def _measure_all(scenario: Scenario, entries: list[c.Contender],
                 settings: c.Settings) -> None:
    scenario.rows += [Row.of(m, scenario.unit) for m in c.measure(entries, settings)]


def _compiled_vs_reference(scenario: Scenario, engine: datever.Engine, raw: bytes,
                           version: datever.Version, settings: c.Settings,
                           extra: list[c.Contender] | None = None) -> None:
    expected = c.reference_output(raw, version)
    same_bytes = engine.down_json(raw, version) == msgspec.json.encode(expected)
    scenario.notes.append("compiled and reference outputs decode equal; as bytes they are "
                          + ("identical" if same_bytes else "not identical (key order)"))
    _measure_all(scenario, [c.compiled(engine, raw, version), *(extra or ()),
                            c.reference(raw, version), c.floor(raw)], settings)


def _schemas_targets(scenario: Scenario, limit: float) -> None:
    """The with-schemas row against the floor, and how much the shapes save."""
    shaped, plain = scenario.row("datever compiled with schemas"), scenario.row(
        "datever compiled:")
    floor = scenario.row("floor")
    scenario.targets += [
        Target("compiled with schemas: cost over the floor", shaped.median / floor.median,
               limit, "x"),
        Target("compiled without schemas over with schemas", plain.median / shaped.median,
               1, "x", at_most=False),
    ]


def _pipeline_note(engine: datever.Engine, version: datever.Version) -> str:
    pipeline = engine.pipeline(version, "down")
    steps = sum(len(getattr(f, "steps", ())) for f in pipeline.functions())
    return (f"pipeline {version.name} down: {len(pipeline.changes)} changes, "
            f"{len(pipeline.passes)} pass(es), {len(pipeline.resources)} resource functions, "
            f"{steps} steps after fusion")


def reference_api(settings: c.Settings) -> Scenario:
    """1. The reference API (changes/), oldest version, its ~20 KB list payload."""
    scenario = Scenario("reference_api_v1", "1. Reference API at v1, ~20 KB list payload",
                        "us")
    raw = msgspec.json.encode(data.reference_list_payload(seed=SEED, size=20_000))
    engine = datever.Engine.from_directory(data.CHANGES)
    version = engine.resolve("v1")
    shaped = datever.Engine.from_directory(data.CHANGES, schemas=load_schemas(data.CHANGES))
    _compiled_vs_reference(scenario, engine, raw, version, settings,
                           [c.compiled_with_schemas(shaped, raw, shaped.resolve("v1"))])
    _schemas_targets(scenario, 3)
    compiled, reference = scenario.row("datever compiled"), scenario.row("datever reference")
    scenario.targets.append(Target("compiled speed-up over the reference interpreter",
                                   reference.median / compiled.median, 20, "x",
                                   at_most=False))
    scenario.notes += [f"payload {len(raw):,} bytes from changes/_samples.py list_payload",
                       _pipeline_note(engine, version)]
    return scenario


def synthetic_history(settings: c.Settings) -> Scenario:
    """2. A seeded 100-change history over nested resources, 20 KB list payload."""
    scenario = Scenario("synthetic_100", "2. Synthetic 100-change history at v1, "
                        "20 KB list of nested resources", "us")
    history = data.synthetic_history(100, seed=SEED)
    engine = history.engine()
    payload = data.list_payload(history, seed=SEED, size=20_000)
    data.check_shape(payload, history.head, "head payload")
    raw = msgspec.json.encode(payload)
    version = engine.resolve("v1")
    expected = datever.reference_down(payload, version)
    data.check_shape(expected, history.oldest, "payload migrated to v1")
    shaped = history.engine()
    shaped.schemas = c.synthetic_schemas(history.head, tuple(t.name for t in history.types))
    _compiled_vs_reference(scenario, engine, raw, version, settings,
                           [c.compiled_with_schemas(shaped, raw, shaped.resolve("v1"))])
    _schemas_targets(scenario, 1.8)
    compiled, reference = scenario.row("datever compiled"), scenario.row("datever reference")
    floor = scenario.row("floor")
    scenario.targets += [
        Target("compiled cost over the floor", compiled.median / floor.median, 2, "x"),
        Target("compiled speed-up over the reference interpreter",
               reference.median / compiled.median, 20, "x", at_most=False),
    ]
    kinds: dict[str, int] = {}
    for spec in history.changes:
        for _, ops in spec.resources:
            for op in ops:
                kinds[op.kind] = kinds.get(op.kind, 0) + 1
    resources = sum(1 for _ in data.shapes(payload))
    scenario.notes += [
        f"seed {SEED}; {len(history.changes)} changes, {history.changes[0].released} to "
        f"{history.changes[-1].released}; operations: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
        f"payload {len(raw):,} bytes, {resources} resources of "
        f"{len(history.types)} types (20-40 properties each), nested up to 3 deep; "
        "head payload and migrated output checked against the generated schemas",
        _pipeline_note(engine, version),
    ]
    return scenario


def fusion(settings: c.Settings) -> Scenario:
    """3. 1000 versus 10 fusable changes on one resource, small payload."""
    scenario = Scenario("fusion_1000_vs_10",
                        "3. Fusion: 1000 vs 10 declarative changes on one resource", "us")
    entries: list[c.Contender] = []
    raws: list[bytes] = []
    for count in (10, 1000):
        history = data.fusion_history(count, seed=SEED)
        engine = history.engine()
        payload = data.resource_object(history, "widget", random.Random(SEED))
        data.check_shape(payload, history.head, "head widget")
        raw = msgspec.json.encode(payload)
        raws.append(raw)
        version = engine.resolve("v1")
        data.check_shape(c.check_same(engine, raw, version, f"{count} changes"),
                         history.oldest, f"widget migrated to v1 through {count} changes")
        entries += [
            replace(c.compiled(engine, raw, version),
                    name=f"{count} changes: compiled engine.down_json"),
            c.transform_only(engine.pipeline(version, "down"), raw, version, f"{count} changes"),
        ]
        scenario.notes.append(f"{count} changes: " + _pipeline_note(engine, version))
    if raws[0] != raws[1]:
        raise c.BenchmarkError("the 10- and 1000-change histories disagree on the head payload")
    entries.append(c.floor(raws[0]))
    _measure_all(scenario, entries, settings)
    for label, kind in (("bytes to bytes", "compiled"), ("transform only", "pipeline.run")):
        many, few = scenario.row(f"1000 changes: {kind}"), scenario.row(f"10 changes: {kind}")
        scenario.targets.append(Target(f"1000/10 changes, {label}", many.median / few.median,
                                       1.5, "x"))
    scenario.notes.insert(0, f"payload: one widget, {len(raws[0])} bytes; changes cycle "
                          "rename (chains over 3 properties), remove + add of a fresh "
                          "property in consecutive releases, map_values on one enum")
    return scenario


def _present(payload: Any, discriminator: str = "object") -> set[str]:
    found: set[str] = set()
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get(discriminator)
            if isinstance(kind, str):
                found.add(kind)
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return found


def _untouching_version(engine: datever.Engine, payload: Any
                        ) -> tuple[datever.Engine, datever.Version, str]:
    """The oldest version whose non-empty pipeline touches no resource in ``payload``."""
    present = _present(payload)
    names = [engine.timeline.initial, *(r.isoformat() for r in engine.timeline.releases)]
    for name in names:
        version = engine.resolve(name)
        pipeline = engine.pipeline(version, "down")
        if not pipeline.is_empty and not set(pipeline.resources) & present:
            return engine, version, f"reference API at {version.name}"
    # the reference history has no such version: one change on a resource not present
    absent = "benchmark_absent_resource"
    change = datever.Change(id="2020_01_01_absent", released="2020-01-01",
                            description="rename on a resource the payload lacks",
                            resources={absent: [datever.rename("old_name", "new_name")]})
    fallback = datever.Engine(datever.versions.Timeline([change], name="absent"))
    return fallback, fallback.resolve("v1"), f"a one-change timeline on {absent!r}"


def nothing_to_do(settings: c.Settings) -> Scenario:
    """4. Pipelines with nothing to do on the reference 20 KB payload: bytes untouched."""
    scenario = Scenario("nothing_to_do", "4. Nothing to do (reference ~20 KB payload)", "us")
    payload = data.reference_list_payload(seed=SEED, size=20_000)
    raw = msgspec.json.encode(payload)
    engine = datever.Engine.from_directory(data.CHANGES)
    head = engine.resolve("X")
    other_engine, other, where = _untouching_version(engine, payload)
    for eng, version in ((engine, head), (other_engine, other)):
        if eng.down_json(raw, version) is not raw:
            raise c.BenchmarkError(f"down_json to {version.name} did not return the input "
                                   "bytes untouched")
        if datever.reference_down(payload, version) != payload:
            raise c.BenchmarkError(f"the reference interpreter changes the payload at "
                                   f"{version.name}, which should have nothing to do")
        scenario.checks.append(f"down_json at {version.name} returns its input bytes")
    pipeline = other_engine.pipeline(other, "down")
    entries = [
        replace(c.compiled(engine, raw, head), name="head (X): engine.down_json"),
        replace(c.compiled(other_engine, raw, other),
                name=f"untouched resources ({where}): engine.down_json"),
        c.harness_baseline(raw),
        *(c.search_baseline(raw, marker) for marker in getattr(pipeline, "markers", ())[:1]),
    ]
    _measure_all(scenario, entries, settings)
    scenario.compare = False
    # DESIGN: under 1 µs at the head, under 1.5 µs for 20 KB the pipeline's steps cannot touch
    scenario.targets += [Target(f"{row.name.split(':')[0]} under", row.median, limit, "µs")
                         for row, limit in zip(scenario.rows[:2], (1, 1.5), strict=True)]
    scenario.notes += [
        f"payload {len(raw):,} bytes; resources present: {sorted(_present(payload))}",
        f"untouched version {other.name}: pipeline touches {pipeline.resources}, scans the "
        f"bytes for {len(getattr(pipeline, 'markers', ()))} marker(s)",
        "times include the harness's own per-call cost (the baseline row)",
        "the bytes-search row is one `marker in payload` over the whole payload: the "
        "untouched answer must read every byte, and CPython's search for a multi-byte "
        "needle (no SIMD) bounds it; a one-byte search (the backslash test) is a memchr",
    ]
    return scenario


def _load_and_compile(directory: Path) -> tuple[float, float, float, datever.Engine]:
    start = time.perf_counter_ns()
    engine = datever.Engine.from_directory(directory)
    loaded = time.perf_counter_ns()
    engine.pipeline(engine.resolve("v1"), "down")
    oldest = time.perf_counter_ns()
    newest = engine.timeline.newest
    assert newest is not None
    engine.pipeline(engine.resolve(newest.isoformat()), "down")
    done = time.perf_counter_ns()
    return (loaded - start) / 1e9, (oldest - loaded) / 1e9, (done - oldest) / 1e9, engine


def _forget_modules(directory: Path) -> None:
    prefix = str(directory)
    for name in [name for name, module in sys.modules.items()
                 if (getattr(module, "__file__", None) or "").startswith(prefix)]:
        del sys.modules[name]


def startup(settings: c.Settings) -> Scenario:
    """5. Load 1000 real change modules and compile the oldest and newest pipelines."""
    scenario = Scenario("startup_1000", "5. Start-up: 1000 change modules, load + compile "
                        "oldest and newest", "s", compare=False)
    history = data.synthetic_history(1000, seed=SEED)
    parts: dict[str, list[float]] = {}

    def record(label: str, load: float, old: float, new: float) -> None:
        for name, value in ((f"{label}: total", load + old + new),
                            (f"{label}: Engine.from_directory", load),
                            (f"{label}: compile v1 pipeline (down)", old),
                            (f"{label}: compile newest release pipeline (down)", new)):
            parts.setdefault(name, []).append(value)

    rounds = settings.startup_rounds
    pipelines: list[str] = []
    for _ in range(rounds):
        directory = Path(tempfile.mkdtemp(prefix="datever-bench-"))
        try:
            history.write_modules(directory)
            for label in ("cold, fresh directory", "warm, bytecode cached"):
                gc.collect()  # start each load from a clean heap, the previous engine gone
                load, old, new, engine = _load_and_compile(directory)
                record(label, load, old, new)
                if not pipelines:  # prove the loaded history migrates like the reference
                    payload = data.list_payload(history, seed=SEED, size=4_000)
                    raw = msgspec.json.encode(payload)
                    expected = c.check_same(engine, raw, engine.resolve("v1"), "1000 modules")
                    data.check_shape(expected, history.oldest, "1000 modules at v1")
                    scenario.checks.append("the loaded history's compiled v1 pipeline gives "
                                           "the reference interpreter's output")
                    newest = engine.timeline.newest
                    assert newest is not None
                    pipelines += [_pipeline_note(engine, engine.resolve("v1")),
                                  _pipeline_note(engine, engine.resolve(newest.isoformat()))
                                  + " (every synthetic change is released, so the newest "
                                  "release has nothing pending)"]
                del engine
                _forget_modules(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    for name, values in parts.items():
        scenario.rows.append(Row(name, "candidate", statistics.median(values), min(values),
                                 max(values), len(values), 1))
    for row in scenario.rows:
        if row.name.endswith(": total"):
            scenario.targets.append(Target(row.name.replace(": total", " start-up"),
                                           row.median, 0.5, "s"))
    scenario.notes += [
        f"{len(history.changes)} modules written as real files into a fresh temporary "
        f"directory per round ({rounds} rounds); 'warm' reloads the same directory with "
        "its __pycache__ under new module objects; the garbage collector runs between loads",
        *pipelines,
    ]
    return scenario


SCENARIOS: dict[str, Callable[[c.Settings], Scenario]] = {
    "reference": reference_api,
    "synthetic": synthetic_history,
    "fusion": fusion,
    "nothing": nothing_to_do,
    "startup": startup,
    "bulk": bulk.stored_payloads,
    "webhooks": bulk.webhook_batch,
}
