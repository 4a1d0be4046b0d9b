"""Cold start and peak memory of one library in a fresh process.

``python -m benchmarks.cold_start LIBRARY CHANGES DIRECTORY`` imports FastAPI,
pydantic and the library, then builds the app for the rename history and
answers one POST of the oldest client; it prints the times and
``resource.getrusage`` maxrss after the imports and after that request as JSON.
:func:`cold_start` runs it and takes medians.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import rename_history as h
from benchmarks.asgi_requests import call, cases, check_outputs, expected
from benchmarks.contenders import BenchmarkError


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
                [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "benchmarks.cold_start",
                 library, str(changes), str(directory)],
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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("datever", "cadwyn"):
        print("usage: python -m benchmarks.cold_start datever|cadwyn CHANGES DIRECTORY",
              file=sys.stderr)
        return 2
    library, changes, directory = args
    print(json.dumps(_cold(library, int(changes), Path(directory))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
