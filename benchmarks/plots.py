"""Scaling curves as PNGs: ``python -m benchmarks.plots [--quick] [--out DIRECTORY]``.

Three figures, from the rename history of :mod:`benchmarks.rename_history`:
time against the number of changes (the engine alone: floor, compiled,
reference interpreter; and per-request overhead of datever and Cadwyn),
time against the payload size, and cold start and memory against the
history length. Cadwyn is measured up to 100 changes, beyond which one start
takes many seconds; datever goes on to 1000. The data go beside the figures
as ``scaling.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

import datever
from benchmarks import cadwyn_bench as cb
from benchmarks import contenders as c
from benchmarks import rename_history as h
from benchmarks.asgi_requests import cases

RESULTS = Path(__file__).resolve().parent / "results"
ENGINE_ROWS = {"floor: msgspec Decoder + Encoder": "floor (msgspec decode + encode)",
               "datever compiled: engine.down_json": "datever compiled",
               "datever compiled with schemas: engine.down_json":
                   "datever compiled with shapes",
               "datever reference: decode + reference_down + encode": "reference interpreter"}


@dataclass(frozen=True)
class Plan:
    """What to measure: history lengths, payload sizes and the length the sizes use."""

    lengths: list[int]
    cadwyn_lengths: list[int]
    sizes: list[int]
    size_changes: int
    list_bytes: int = 20_000

    @classmethod
    def full(cls) -> Plan:
        return cls([1, 10, 50, 100, 1000], [1, 10, 50, 100],
                   [1_000, 10_000, 100_000, 1_000_000], 10)

    @classmethod
    def quick(cls) -> Plan:
        return cls([1, 3], [1, 3], [1_000, 4_000], 2)


@dataclass
class Curves:
    """Every measured point: series name -> list of [x, median, low, high]."""

    by_changes: dict[str, list[list[float]]] = field(default_factory=dict)
    overhead_by_changes: dict[str, list[list[float]]] = field(default_factory=dict)
    by_size: dict[str, list[list[float]]] = field(default_factory=dict)
    overhead_by_size: dict[str, list[list[float]]] = field(default_factory=dict)
    start: dict[str, list[list[float]]] = field(default_factory=dict)
    memory: dict[str, list[list[float]]] = field(default_factory=dict)


def _engine_points(changes: int, size: int, settings: c.Settings) -> dict[str, list[float]]:
    """µs per call of floor, compiled (without and with shapes) and reference on a list
    down to the oldest version."""
    directory = Path(tempfile.mkdtemp(prefix="datever-plot-"))
    try:
        h.write_changes(directory, changes)
        engine = datever.Engine.from_directory(directory)
        version = engine.resolve(h.oldest_version())
        raw = h.encoded(h.item_list(size, changes))
        if msgspec.json.decode(engine.down_json(raw, version)) != h.item_list(size, 0):
            raise c.BenchmarkError(f"{changes} changes, {size} B: datever's oldest list is "
                                   "not the history's")
        shaped = datever.Engine.from_directory(directory,
                                               schemas=h.head_schemas(changes))
        measured = c.measure([c.floor(raw), c.compiled(engine, raw, version),
                              c.compiled_with_schemas(shaped, raw, version),
                              c.reference(raw, version)], settings)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {ENGINE_ROWS[m.name]: [m.median_ns / 1e3, m.min_ns / 1e3, m.max_ns / 1e3]
            for m in measured}


def _overhead_points(changes: int, size: int, settings: c.Settings,
                     libraries: tuple[str, ...]) -> dict[str, list[float]]:
    """Per-request overhead (median, p25, p75 µs) of each library on the list GET at oldest."""
    with cb.build(changes, size, libraries) as apps:
        case = cases(changes, size)[2]
        timing = asyncio.run(cb.measure(apps, [case], settings))[0]
    return {name: list(spread) for name, spread in timing.overhead.items()
            if name in libraries}


def _add(series: dict[str, list[list[float]]], x: float, points: dict[str, list[float]]) -> None:
    for name, values in points.items():
        series.setdefault(name, []).append([x, *values])


def measure(plan: Plan, settings: c.Settings,
            comparison: cb.Comparison | None = None) -> Curves:
    """Every point of the three figures; points ``comparison`` holds are reused."""
    curves = Curves()
    known = {(t.changes, t.case): t for t in comparison.timings} if comparison else {}
    colds = {(s.library, s.changes): s for s in comparison.cold} if comparison else {}
    get_label = cases(1, plan.list_bytes)[2].label
    for changes in plan.lengths:
        print(f"  scaling, {changes} changes ...", file=sys.stderr, flush=True)
        _add(curves.by_changes, changes, _engine_points(changes, plan.list_bytes, settings))
        libraries = cb.LIBRARIES if changes in plan.cadwyn_lengths else ("datever",)
        timing = known.get((changes, get_label))
        points = ({name: list(timing.overhead[name]) for name in libraries} if timing
                  else _overhead_points(changes, plan.list_bytes, settings, libraries))
        _add(curves.overhead_by_changes, changes, points)
        for library in libraries:
            cold = colds.get((library, changes)) or cb.cold_start(library, changes,
                                                                  settings.startup_rounds)
            _add(curves.start, changes, {library: [cold.start_s] * 3})
            _add(curves.memory, changes, {f"{library}: added by build + first request":
                                          [cold.added_mib] * 3,
                                          f"{library}: peak RSS": [cold.peak_mib] * 3})
    for size in plan.sizes:
        print(f"  scaling, {size:,} bytes ...", file=sys.stderr, flush=True)
        _add(curves.by_size, size, _engine_points(plan.size_changes, size, settings))
        _add(curves.overhead_by_size, size,
             _overhead_points(plan.size_changes, size, settings, cb.LIBRARIES))
    return curves


_STYLE = {"datever compiled with": ("tab:cyan", "v"), "datever": ("tab:blue", "o"),
          "cadwyn": ("tab:red", "s"), "floor": ("tab:gray", "^"), "reference": ("tab:green", "D")}


def _style(name: str) -> tuple[str, str]:
    key = next((k for k in _STYLE if name.lower().startswith(k)), "datever")
    return _STYLE[key]


def _panel(axes: Any, series: dict[str, list[list[float]]], title: str, xlabel: str,
           ylabel: str, *, log_y: bool = True) -> None:
    for name, points in series.items():
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        low = [max(p[1] - p[2], 0.0) for p in points]
        high = [max(p[3] - p[1], 0.0) for p in points]
        color, marker = _style(name)
        dashed = "peak" in name
        axes.errorbar(xs, ys, yerr=[low, high], label=name, color=color, marker=marker,
                      linestyle="--" if dashed else "-", capsize=3)
    axes.set_xscale("log")
    if log_y and all(p[1] > 0 for points in series.values() for p in points):
        axes.set_yscale("log")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)


def draw(curves: Curves, plan: Plan, out: Path, caption: str) -> list[Path]:
    """Write the three PNGs into ``out``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    kb = f"{plan.list_bytes // 1000} KB"
    figures = [
        ("scaling_changes.png",
         (curves.by_changes, f"engine alone: {kb} list down to the oldest version "
          "(bars: fastest and slowest round)",
          "changes in the history", "µs per call"),
         (curves.overhead_by_changes, f"overhead per request: {kb} list GET at the oldest "
          "version (p25-p75)", "changes in the history", "µs over the bare FastAPI app")),
        ("scaling_payload.png",
         (curves.by_size, f"engine alone: list down through {plan.size_changes} changes "
          "(bars: fastest and slowest round)",
          "payload bytes at head", "µs per call"),
         (curves.overhead_by_size, f"overhead per request: list GET, {plan.size_changes} "
          "changes, oldest version (p25-p75)", "payload bytes at head",
          "µs over the bare FastAPI app")),
        ("scaling_startup.png",
         (curves.start, "cold start: build + first POST at the oldest version",
          "changes in the history", "seconds (fresh process)"),
         (curves.memory, "memory: maxrss of that fresh process", "changes in the history",
          "MiB")),
    ]
    written = []
    for filename, *panels in figures:
        figure, axes = plt.subplots(1, 2, figsize=(12, 4.8))
        for ax, (series, title, xlabel, ylabel) in zip(axes, panels, strict=True):
            _panel(ax, series, title, xlabel, ylabel, log_y=filename != "scaling_startup.png")
        figure.text(0.5, 0.005, caption, ha="center", fontsize=7, wrap=True)
        figure.tight_layout(rect=(0, 0.05, 1, 1))
        path = out / filename
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    (out / "scaling.json").write_text(json.dumps(
        {"plan": asdict(plan), "curves": asdict(curves), "caption": caption}, indent=1) + "\n")
    return written


def caption(settings: c.Settings) -> str:
    """What the figures measured, printed under each of them."""
    return (f"{cb.versions()}; {settings.rounds} rounds of >= {settings.round_ns / 1e6:g} ms; "
            "direct ASGI calls. Cadwyn validates old bodies against old pydantic models; "
            "datever runs without declared schemas. Cadwyn stops at 100 changes.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plots", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two points per curve, short rounds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the PNGs go")
    args = parser.parse_args(argv)
    settings = c.Settings.quick() if args.quick else c.Settings.full()
    plan = Plan.quick() if args.quick else Plan.full()
    for path in draw(measure(plan, settings), plan, args.out, caption(settings)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
