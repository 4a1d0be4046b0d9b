"""Results: scenarios of rows, their ratios, the machine, and the markdown table."""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.contenders import Measurement

_SCALE = {"us": 1e3, "s": 1e9}


@dataclass
class Row:
    """One contender's result in its scenario's unit."""

    name: str
    role: str
    median: float
    min: float
    max: float
    rounds: int
    calls_per_round: int
    #: its output was checked before it was timed (parts of start-up are checked apart)
    verified: bool = False

    @classmethod
    def of(cls, measurement: Measurement, unit: str) -> Row:
        scale = _SCALE[unit]
        return cls(measurement.name, measurement.role, measurement.median_ns / scale,
                   measurement.min_ns / scale, measurement.max_ns / scale,
                   measurement.rounds, measurement.calls_per_round, measurement.verified)


@dataclass
class Target:
    """A DESIGN.md performance target and what this run measured against it."""

    text: str
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


@dataclass
class Scenario:
    """One benchmark: its rows, the targets it checks, and notes on what was run."""

    id: str
    title: str
    unit: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: False when rows are parts of one job (start-up) rather than rivals
    compare: bool = True
    #: checks of outputs made outside the timed rows (the rows carry their own ``verified``)
    checks: list[str] = field(default_factory=list)

    def row(self, name_start: str) -> Row:
        return next(row for row in self.rows if row.name.startswith(name_start))

    def ratios(self, row: Row) -> tuple[float | None, float | None]:
        """(ratio to the floor, ratio to the best) of ``row``."""
        if not self.compare:
            return None, None
        rivals = [r.median for r in self.rows if r.role != "baseline"]
        floors = [r.median for r in self.rows if r.role == "floor"]
        best = min(rivals) if rivals else None
        to_floor = row.median / floors[0] if floors else None
        return to_floor, (row.median / best if best else None)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        if line.startswith(("model name", "Model", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _commit(repo: Path) -> str:
    """The checked-out commit (``git rev-parse``, which also knows worktrees)."""
    try:
        done = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo,
                              capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: a busy machine makes noisy numbers."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def environment(repo: Path) -> dict[str, Any]:
    """The machine and the versions the numbers were measured with."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_build": " ".join(platform.python_build()),
        "msgspec": _version("msgspec"),
        "pendulum": _version("pendulum"),
        "datever": _version("datever"),
        "datever_commit": _commit(repo),
    }


def _number(value: float) -> str:
    """Three significant digits or more, never in scientific notation."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    if value <= 0:
        return f"{value:g}"
    return f"{value:.{max(3, 2 - math.floor(math.log10(value)))}f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _limit(target: Target) -> str:
    sign = "<=" if target.at_most else ">="
    unit = "x" if target.unit == "x" else f" {target.unit}"
    return f"{sign} {_number(target.limit)}{unit}"


def markdown(scenarios: list[Scenario], env: dict[str, Any], settings: dict[str, Any],
             caveats: list[str]) -> str:
    """The whole report: machine, one table per scenario, targets, caveats."""
    out = ["# datever benchmarks", ""]
    out.append(f"- machine: {env['cpu']}, {env['cores']} cores "
               f"({env['usable_cores']} usable), {env['platform']}")
    out.append(f"- Python {env['python']} ({env['python_build']})")
    out.append(f"- msgspec {env['msgspec']}, pendulum {env['pendulum']}, "
               f"datever {env['datever']} (commit {env['datever_commit']})")
    out.append(f"- mode: {settings['mode']}, {settings['rounds']} interleaved rounds of at "
               f"least {settings['round_ms']:g} ms each; median per call; took "
               f"{settings['seconds']:g} s")
    out.append(f"- load average before: {settings['load_before']}, after: "
               f"{settings['load_after']}")
    for scenario in scenarios:
        unit = "µs" if scenario.unit == "us" else "s"
        out += ["", f"## {scenario.title}", ""]
        out.append(f"| contender | median {unit} | min {unit} | vs floor | vs best |")
        out.append("|---|---:|---:|---:|---:|")
        for row in scenario.rows:
            to_floor, to_best = scenario.ratios(row)
            out.append(f"| {row.name} | {_number(row.median)} | {_number(row.min)} | "
                       f"{_ratio(to_floor)} | {_ratio(to_best)} |")
        if scenario.targets:
            out.append("")
            for target in scenario.targets:
                mark = "met" if target.met else "NOT met"
                value = (f"{target.value:.2f}x" if target.unit == "x"
                         else f"{_number(target.value)} {target.unit}")
                out.append(f"- target {target.text} {_limit(target)}: {value}, {mark}")
        if scenario.notes:
            out.append("")
            out += [f"- {note}" for note in scenario.notes]
    out += ["", "## Caveats", ""]
    out += [f"- {caveat}" for caveat in caveats]
    return "\n".join(out) + "\n"


def as_json(scenarios: list[Scenario], env: dict[str, Any], settings: dict[str, Any],
            caveats: list[str]) -> dict[str, Any]:
    """The same results as plain data, ratios and target verdicts included."""
    result = []
    for scenario in scenarios:
        data = asdict(scenario)
        for row_data, row in zip(data["rows"], scenario.rows, strict=True):
            row_data["ratio_to_floor"], row_data["ratio_to_best"] = scenario.ratios(row)
        for target_data, target in zip(data["targets"], scenario.targets, strict=True):
            target_data["met"] = target.met
        result.append(data)
    return {"environment": env, "settings": settings, "scenarios": result,
            "caveats": caveats, "argv": sys.argv}
