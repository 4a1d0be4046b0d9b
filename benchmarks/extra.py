"""The comparisons that need the ``bench`` extra (Cadwyn, FastAPI, matplotlib).

``python -m benchmarks`` calls :func:`run` after its own scenarios: with the
extra installed it adds the Cadwyn comparison and draws the scaling curves;
without it, it says what was skipped and how to install it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

from benchmarks.contenders import Settings

REQUIRED = ("cadwyn", "fastapi", "matplotlib")
INSTALL = "pip install -e '.[bench]'"
TITLE = "## datever and Cadwyn; scaling curves"


def missing(modules: tuple[str, ...] = REQUIRED) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def run(settings: Settings, *, quick: bool, out: Path | None = None,
        required: tuple[str, ...] = REQUIRED) -> str:
    """The comparison and the curves as markdown, or a note saying why they were skipped.

    The PNGs go to ``out``: by default ``benchmarks/results`` for a full run and
    ``datever-bench-quick`` in the temporary directory for ``--quick``, so that a
    smoke test never replaces the committed figures.
    """
    absent = missing(required)
    if absent:
        return (f"\n{TITLE}\n\n- skipped: {', '.join(absent)} not installed; install the "
                f"bench extra with `{INSTALL}` to compare with Cadwyn and draw the "
                "scaling curves\n")
    from benchmarks import cadwyn_bench, plots

    plan = plots.Plan.quick() if quick else plots.Plan.full()
    if out is None:
        out = Path(tempfile.gettempdir()) / "datever-bench-quick" if quick else plots.RESULTS
    comparison = cadwyn_bench.compare(plan.cadwyn_lengths, settings)
    text = cadwyn_bench.markdown(comparison, settings)
    if not quick:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cadwyn.md").write_text(text.lstrip())
    curves = plots.measure(plan, settings, comparison)
    paths = plots.draw(curves, plan, out, plots.caption(settings))
    return text + "\n- scaling curves: " + ", ".join(str(path) for path in paths) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.extra [--quick]``: the comparison and the curves alone."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.extra", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer points, shorter rounds")
    parser.add_argument("--out", type=Path, help="where the PNGs go")
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings.full()
    print(run(settings, quick=args.quick, out=args.out), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
