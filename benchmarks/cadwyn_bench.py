"""datever and Cadwyn in front of one FastAPI app: ``python -m benchmarks.cadwyn_bench``.

Both serve the rename history of :mod:`benchmarks.rename_history` for N
changes. Requests are direct ASGI calls (no server, no sockets) in one event
loop; the bare app, the app behind datever and the Cadwyn app take interleaved
rounds, and each library's overhead is its time minus the bare app's time in
the same round. Before anything is timed, every answer is checked: the old
client's response under datever must equal the one under Cadwyn and the one
the history defines. The bare app is also paired with itself (an A/A control):
its "overhead" is the noise of the machine. Cold start and peak memory are
measured in a fresh process per library and N (:mod:`benchmarks.cold_start`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import rename_history as h
from benchmarks import report
from benchmarks.asgi_requests import Case, call, cases, check_outputs, expected
from benchmarks.cold_start import ColdStart, cold_start
from benchmarks.contenders import Settings

LIBRARIES = ("datever", "cadwyn")
BARE = "bare FastAPI"
#: the bare app timed a second time in each round: the spread of its difference is noise
CONTROL = "bare FastAPI again"
CONFIGURATION = (
    "Cadwyn validates each old request body against its version's pydantic model, migrates "
    "it with one converter per version, validates it against the head model, and validates "
    "each response against the old version's model; datever runs here without declared "
    "schemas (no validation of old bodies), bodies migrated by its compiled pipelines. "
    "Both sit in front of the same FastAPI app, whose handlers validate the head bodies "
    "and serialise responses through their response_model.")


@dataclass
class Apps:
    """The bare app and the app under each library, for one history length."""

    changes: int
    listing: dict[str, Any]
    apps: dict[str, Any] = field(default_factory=dict)


@contextmanager
def build(changes: int, list_bytes: int = 20_000,
          libraries: tuple[str, ...] = LIBRARIES) -> Iterator[Apps]:
    """The apps for ``changes`` changes, datever's changes directory in a temporary one."""
    listing = h.item_list(list_bytes, changes)
    directory = Path(tempfile.mkdtemp(prefix="datever-cadwyn-"))
    try:
        h.write_changes(directory, changes)
        apps = Apps(changes, listing, {BARE: h.bare_app(changes, listing)})
        if "datever" in libraries:
            apps.apps["datever"] = h.datever_app(directory, changes, listing)
        if "cadwyn" in libraries:
            apps.apps["cadwyn"] = h.cadwyn_app(changes, listing)
        yield apps
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Timing:
    """One case at one history length: µs per request of each app, overheads paired per round."""

    case: str
    changes: int
    per_request: dict[str, float]
    #: library -> (median, 25th percentile, 75th percentile) of (library - bare) per round
    overhead: dict[str, tuple[float, float, float]]


async def _round(app: Any, case: Case, calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        await call(app, case)
    return (time.perf_counter_ns() - start) / calls / 1000


def _spread(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), quartiles[0], quartiles[2]


async def verify(apps: Apps, case: Case) -> None:
    """Raise BenchmarkError unless every app gives the answer the history defines."""
    bare = case.bare(apps.changes)
    check_outputs(bare, {BARE: await call(apps.apps[BARE], bare)},
                  expected(bare, apps.changes, apps.listing))
    outputs = {name: await call(app, case) for name, app in apps.apps.items() if name != BARE}
    check_outputs(case, outputs, expected(case, apps.changes, apps.listing))


async def measure(apps: Apps, case_list: list[Case], settings: Settings) -> list[Timing]:
    """Check every answer, then time every (app, case) in interleaved rounds."""
    entries = []
    for case in case_list:
        entries += [(name, app, case.bare(apps.changes) if name == BARE else case, case)
                    for name, app in apps.apps.items()]
        entries.append((CONTROL, apps.apps[BARE], case.bare(apps.changes), case))
    for case in case_list:
        await verify(apps, case)
    counts = []
    for _, app, sent, _ in entries:
        count = 1
        while (await _round(app, sent, count)) * count * 1000 < settings.round_ns \
                and count < 1 << 16:
            count *= 2
        counts.append(count)
    times: list[list[float]] = [[] for _ in entries]
    gc.collect()
    gc.disable()
    try:
        for _ in range(settings.rounds):
            for (_, app, sent, _), count, bucket in zip(entries, counts, times, strict=True):
                bucket.append(await _round(app, sent, count))
    finally:
        gc.enable()
    result = []
    for case in case_list:
        rows = {name: bucket for (name, _, _, c), bucket in zip(entries, times, strict=True)
                if c is case}
        bare = rows.pop(BARE)
        result.append(Timing(case.label, apps.changes,
                             {BARE: statistics.median(bare),
                              **{name: statistics.median(b) for name, b in rows.items()}},
                             {name: _spread([x - y for x, y in zip(b, bare, strict=True)])
                              for name, b in rows.items()}))
    return result


# -- the comparison and its report --------------------------------------------------


@dataclass
class Comparison:
    """Per-request timings and cold starts for each history length."""

    timings: list[Timing] = field(default_factory=list)
    cold: list[ColdStart] = field(default_factory=list)
    #: the 1, 5 and 15 minute load averages before and after: a busy machine adds noise
    load: tuple[str, str] = ("unknown", "unknown")


def compare(lengths: list[int], settings: Settings) -> Comparison:
    """Measure both libraries for every history length in ``lengths``."""
    result = Comparison()
    before = report.load_average()
    for changes in lengths:
        print(f"  cadwyn comparison, {changes} changes ...", file=sys.stderr, flush=True)
        with build(changes) as apps:
            result.timings += asyncio.run(measure(apps, cases(changes), settings))
        result.cold += [cold_start(library, changes, settings.startup_rounds)
                        for library in LIBRARIES]
    result.load = (before, report.load_average())
    return result


def versions() -> str:
    """The versions of the libraries compared."""
    import importlib.metadata

    names = ("cadwyn", "fastapi", "pydantic", "starlette", "msgspec")
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in names)


#: DESIGN.md at 100 changes: datever's overhead at most (µs), Cadwyn's over datever's at least
TARGETS = {"POST small body, head": (8.0, 80.0), "POST small body, oldest": (30.0, 30.0),
           "GET 20 KB list, oldest": (150.0, 20.0)}


def _targets(timings: list[Timing]) -> list[str]:
    lines = []
    for timing in timings:
        if timing.changes != 100 or timing.case not in TARGETS:
            continue
        limit, ratio_limit = TARGETS[timing.case]
        ours, theirs = timing.overhead["datever"][0], timing.overhead["cadwyn"][0]
        ratio = theirs / ours if ours > 0 else float("inf")
        lines.append(f"- target at 100 changes, {timing.case}: datever overhead <= {limit:g} µs: "
                     f"{ours:,.1f} µs, {'met' if ours <= limit else 'NOT met'}; Cadwyn / "
                     f"datever >= {ratio_limit:g}x: {ratio:,.1f}x, "
                     f"{'met' if ratio >= ratio_limit else 'NOT met'}")
    return ["", *lines] if lines else []


def _spread_text(spread: tuple[float, float, float]) -> str:
    median, low, high = spread
    return f"{median:,.1f} ({low:,.1f} to {high:,.1f})"


def markdown(result: Comparison, settings: Settings) -> str:
    """The comparison as markdown tables, with the configuration that was measured."""
    env = report.environment(h.REPO)
    out = ["", "## datever and Cadwyn in front of the same FastAPI app", "",
           f"- machine: {env['cpu']}, {env['usable_cores']} usable cores, {env['python']}; "
           f"datever commit {env['datever_commit']}; load average before: {result.load[0]}, "
           f"after: {result.load[1]}",
           f"- {versions()}; {settings.rounds} interleaved rounds of at least "
           f"{settings.round_ns / 1e6:g} ms; direct ASGI calls, no server",
           f"- configuration: {CONFIGURATION}",
           "- history: change k renames the response property title_{k-1} to title_{k} "
           "and the request property qty_{k-1} to qty_{k}; every answer was checked equal "
           "under both libraries and to the history's before timing",
           "- overhead: the library's time minus the bare app's in the same round, median "
           "and quartiles over the rounds; the bare app is sent the head-shaped request; "
           "A/A noise is the bare app paired with itself the same way: differences within "
           "it are not measured", "",
           "| changes | request | bare app µs | datever overhead µs (p25 to p75) "
           "| Cadwyn overhead µs (p25 to p75) | Cadwyn / datever | A/A noise µs (p25 to p75) |",
           "|---:|---|---:|---:|---:|---:|---:|"]
    for timing in result.timings:
        dm, cm = timing.overhead["datever"][0], timing.overhead["cadwyn"][0]
        ratio = f"{cm / dm:,.0f}x" if dm > 0 else "—"
        spreads = [_spread_text(timing.overhead[name]) for name in ("datever", "cadwyn")]
        out.append(f"| {timing.changes} | {timing.case} | {timing.per_request[BARE]:,.1f} | "
                   f"{spreads[0]} | {spreads[1]} | {ratio} | "
                   f"{_spread_text(timing.overhead[CONTROL])} |")
    out += _targets(result.timings)
    out += ["", "| changes | library | cold start s (build + first old POST) | import s "
            "| peak memory added MiB | peak RSS MiB |", "|---:|---|---:|---:|---:|---:|"]
    for cold in result.cold:
        out.append(f"| {cold.changes} | {cold.library} | {cold.start_s:.3f} | "
                   f"{cold.import_s:.3f} | {cold.added_mib:.1f} | {cold.peak_mib:.1f} |")
    out += ["", f"- cold start: median of {result.cold[0].runs if result.cold else 0} fresh "
            "interpreter(s) per row (PYTHONDONTWRITEBYTECODE=1, so datever compiles its change "
            "modules from source); memory is resource.getrusage maxrss after the first request "
            "minus maxrss after the imports"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cadwyn_bench",
                                     description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer changes, shorter rounds")
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings.full()
    lengths = [1, 3] if args.quick else [1, 10, 50, 100]
    print(markdown(compare(lengths, settings), settings), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
