"""Run every scenario, print a markdown report and optionally write the results as JSON.

    python -m benchmarks                 # full run
    python -m benchmarks --quick         # fewer, shorter rounds: a smoke test
    python -m benchmarks --json out.json

With the ``bench`` extra installed, a run without ``--only`` also compares
datever with Cadwyn and draws the scaling curves (``benchmarks.extra``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks import data, extra, report
from benchmarks.contenders import Settings
from benchmarks.scenarios import SCENARIOS

CAVEATS = [
    "Times are wall-clock medians (time.perf_counter_ns) of several rounds, each round a "
    "calibrated loop of calls with the garbage collector off; min is the fastest round. "
    "Rounds of a scenario's contenders are interleaved so that drifting load skews all alike.",
    "Every time includes the harness's per-call cost (a Python loop calling a callable, "
    "see the baseline row of scenario 4); it matters only for sub-microsecond rows.",
    "Before anything is timed, each contender is called once and its output compared with "
    "what it must give (datever's compiled pipeline: the reference interpreter's output; "
    "the floor: its input); a difference aborts the run.",
    "The floor is msgspec decode + encode of the same bytes (module-level functions for the "
    "reference contender, prebuilt Decoder/Encoder for the floor and inside datever).",
    "Synthetic histories and payloads are seeded (random.Random(0)) and well-formed: head "
    "payloads carry only head property names, checked against the generated schemas.",
    "Start-up 'cold' compiles 1000 modules from source in a fresh directory; 'warm' reloads "
    "them with bytecode cached. Both include import of the modules and datever's checks.",
    "One machine, one process, no CPU pinning; a shared or throttled machine adds noise. "
    "Compare ratios measured in the same run rather than absolute numbers across runs.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter rounds (a smoke test, not a measurement)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write results as JSON")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS),
                        help="run only this scenario (repeatable)")
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings.full()
    started = time.perf_counter()
    load_before = report.load_average()
    scenarios = []
    for name, run in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        scenarios.append(run(settings))
    meta = {"mode": "quick" if args.quick else "full", "rounds": settings.rounds,
            "round_ms": settings.round_ns / 1e6, "startup_rounds": settings.startup_rounds,
            "seconds": round(time.perf_counter() - started, 1),
            "load_before": load_before, "load_after": report.load_average()}
    env = report.environment(data.REPO)
    print(report.markdown(scenarios, env, meta, CAVEATS), end="")
    if not args.only:
        print(extra.run(settings, quick=args.quick), end="")
    if args.json is not None:
        results = report.as_json(scenarios, env, meta, CAVEATS)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
