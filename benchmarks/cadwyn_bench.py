"""datever and Cadwyn in front of one FastAPI app: ``python -m benchmarks.cadwyn_bench``.

Both serve the rename history of :mod:`benchmarks.rename_history` for N
changes. Requests are direct ASGI calls (no server, no sockets) in one event
loop; the bare app, the app behind datever and the Cadwyn app take interleaved
rounds, and each library's overhead is its time minus the bare app's time in
the same round. Before anything is timed, every answer is checked: the old
client's response under datever must equal the one under Cadwyn and the one
the history defines. Cold start and peak memory are measured in a fresh
subprocess per library and N (``--cold``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from benchmarks import rename_history as h
from benchmarks.contenders import BenchmarkError, Settings, first_difference

LIBRARIES = ("datever", "cadwyn")
BARE = "bare FastAPI"
CONFIGURATION = (
    "Cadwyn validates each old request body against its version's pydantic model, migrates "
    "it with one converter per version, validates it against the head model, and validates "
    "each response against the old version's model; datever runs here without declared "
    "schemas (no validation of old bodies), bodies migrated by its compiled pipelines. "
    "Both sit in front of the same FastAPI app, whose handlers validate the head bodies "
    "and serialise responses through their response_model.")


@dataclass(frozen=True)
class Case:
    """One request: its label, method, the version its client names and its body.

    ``bare_body`` is the same body at head: what the bare app, which knows no
    versions, is sent in the same round, so that the difference is versioning.
    """

    label: str
    method: str
    version: str
    body: bytes = b""
    bare_body: bytes = b""

    def bare(self, changes: int) -> Case:
        """The head-shaped request the bare app gets in this case's place."""
        return Case(self.label, self.method, h.head_version(changes), self.bare_body,
                    self.bare_body)


def cases(changes: int, list_bytes: int = 20_000) -> list[Case]:
    """POST at head, POST at the oldest version, GET of the list at the oldest version."""
    head_body = h.encoded(h.create_body(changes))
    size = f"{list_bytes / 1000:g} KB" if list_bytes < 1_000_000 else \
        f"{list_bytes / 1e6:g} MB"
    return [
        Case("POST small body, head", "POST", h.head_version(changes), head_body, head_body),
        Case("POST small body, oldest", "POST", h.oldest_version(),
             h.encoded(h.create_body(0)), head_body),
        Case(f"GET {size} list, oldest", "GET", h.oldest_version()),
    ]


def expected(case: Case, changes: int, listing: dict[str, Any]) -> Any:
    """The answer the history defines for ``case``: head answers walked back by renames."""
    at = changes if case.version == h.head_version(changes) else 0
    if case.method == "POST":
        return _renamed(h.created(h.create_body(changes), changes), changes, at)
    return {"object": "list", "data": [_renamed(entry, changes, at)
                                       for entry in listing["data"]]}


def _renamed(entry: dict[str, Any], changes: int, at: int) -> dict[str, Any]:
    out = dict(entry)
    out[f"title_{at}"] = out.pop(f"title_{changes}")
    return out


async def call(app: Any, case: Case) -> tuple[int, bytes]:
    """One request straight into the ASGI ``app``; its status and body."""
    out: list[bytes] = []
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # a second receive waits for a disconnect that never comes during a request
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": case.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    headers = [(b"host", b"bench"), (b"accept", b"application/json"),
               (h.HEADER.encode(), case.version.encode())]
    if case.body:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(case.body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": case.method, "scheme": "http", "path": "/items",
             "raw_path": b"/items", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    await app(scope, receive, send)
    return status, b"".join(out)


def check_outputs(case: Case, outputs: dict[str, tuple[int, bytes]], want: Any) -> None:
    """Raise BenchmarkError unless every contender answered 200 with ``want``.

    Each answer equal to ``want`` makes them equal to each other: the old
    client gets the same body under datever as under Cadwyn.
    """
    for name, (status, body) in outputs.items():
        if status != 200:
            raise BenchmarkError(f"{case.label}: {name} answered {status}: {body[:300]!r}")
        got = msgspec.json.decode(body)
        if got != want:
            raise BenchmarkError(f"{case.label}: {name} gives a wrong answer: "
                                 f"{first_difference(got, want)}")


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
    entries = [(name, app, case.bare(apps.changes) if name == BARE else case, case)
               for case in case_list for name, app in apps.apps.items()]
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


# -- cold start and memory, in a fresh process ----------------------------------------


def _cold(library: str, changes: int, directory: Path | None) -> dict[str, float]:
    """In this (fresh) process: import, build the app, answer one old POST; times and maxrss."""
    started = time.perf_counter()
    import fastapi  # noqa: F401  (imports are timed apart from the build)
    import pydantic  # noqa: F401

    if library == "cadwyn":
        import cadwyn  # noqa: F401
    else:
        import datever  # noqa: F401
    imported = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    listing = h.item_list(2_000, changes)
    if library == "cadwyn":
        app = h.cadwyn_app(changes, listing)
    else:
        assert directory is not None
        app = h.datever_app(directory, changes, listing)
    case = cases(changes)[1]
    status, body = asyncio.run(call(app, case))
    done = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    check_outputs(case, {library: (status, body)}, expected(case, changes, listing))
    return {"import_s": imported - started, "start_s": done - imported,
            "maxrss_before_kib": before, "maxrss_after_kib": after}


# Linux keeps a process's maxrss across exec, so a child exec'd straight from this big
# process would start at our peak; a small interpreter in between forks it afresh.
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


@dataclass
class ColdStart:
    """Medians over fresh processes: build + first old request, and the peak memory it adds."""

    library: str
    changes: int
    start_s: float
    import_s: float
    added_mib: float
    peak_mib: float
    runs: int


def cold_start(library: str, changes: int, runs: int) -> ColdStart:
    """Run ``runs`` fresh interpreters that build the app and answer the oldest POST."""
    results = []
    directory = Path(tempfile.mkdtemp(prefix="datever-cold-"))
    try:
        h.write_changes(directory, changes)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # every run compiles the modules
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", _LAUNCHER, sys.executable, "-m",
                 "benchmarks.cadwyn_bench", "--cold", library, str(changes), str(directory)],
                cwd=h.REPO, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BenchmarkError(f"cold start of {library} with {changes} changes failed:"
                                     f"\n{done.stderr[-2000:]}")
            results.append(json.loads(done.stdout.splitlines()[-1]))
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    return ColdStart(library, changes, median("start_s"), median("import_s"),
                     statistics.median((r["maxrss_after_kib"] - r["maxrss_before_kib"]) / 1024
                                       for r in results),
                     median("maxrss_after_kib") / 1024, runs)


# -- the comparison and its report --------------------------------------------------


@dataclass
class Comparison:
    """Per-request timings and cold starts for each history length."""

    timings: list[Timing] = field(default_factory=list)
    cold: list[ColdStart] = field(default_factory=list)


def compare(lengths: list[int], settings: Settings) -> Comparison:
    """Measure both libraries for every history length in ``lengths``."""
    result = Comparison()
    for changes in lengths:
        print(f"  cadwyn comparison, {changes} changes ...", file=sys.stderr, flush=True)
        with build(changes) as apps:
            result.timings += asyncio.run(measure(apps, cases(changes), settings))
        result.cold += [cold_start(library, changes, settings.startup_rounds)
                        for library in LIBRARIES]
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


def markdown(result: Comparison, settings: Settings) -> str:
    """The comparison as markdown tables, with the configuration that was measured."""
    out = ["", "## datever and Cadwyn in front of the same FastAPI app", "",
           f"- {versions()}; {settings.rounds} interleaved rounds of at least "
           f"{settings.round_ns / 1e6:g} ms; direct ASGI calls, no server",
           f"- configuration: {CONFIGURATION}",
           "- history: change k renames the response property title_{k-1} to title_{k} "
           "and the request property qty_{k-1} to qty_{k}; every answer was checked equal "
           "under both libraries and to the history's before timing", "",
           "| changes | request | bare app µs | datever overhead µs (p25-p75) "
           "| Cadwyn overhead µs (p25-p75) | Cadwyn / datever |", "|---:|---|---:|---:|---:|---:|"]
    for timing in result.timings:
        (dm, d25, d75), (cm, c25, c75) = timing.overhead["datever"], timing.overhead["cadwyn"]
        ratio = f"{cm / dm:,.0f}x" if dm > 0 else "—"
        out.append(f"| {timing.changes} | {timing.case} | {timing.per_request[BARE]:,.1f} | "
                   f"{dm:,.1f} ({d25:,.1f}-{d75:,.1f}) | {cm:,.1f} ({c25:,.1f}-{c75:,.1f}) | "
                   f"{ratio} |")
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
    parser.add_argument("--cold", nargs=3, metavar=("LIBRARY", "CHANGES", "DIRECTORY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold:
        library, changes, directory = args.cold
        print(json.dumps(_cold(library, int(changes), Path(directory))))
        return 0
    settings = Settings.quick() if args.quick else Settings.full()
    lengths = [1, 3] if args.quick else [1, 10, 50, 100]
    print(markdown(compare(lengths, settings), settings), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
