"""The Cadwyn comparison and the scaling curves of ``benchmarks``: they run, check and draw.

The tests that need Cadwyn or matplotlib (the ``bench`` extra) skip without
it; the checks of answers and the note for a missing extra run everywhere.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from benchmarks import cadwyn_bench as cb
from benchmarks import extra, plots
from benchmarks import rename_history as h
from benchmarks.asgi_requests import cases, check_outputs
from benchmarks.contenders import BenchmarkError, Settings

LIGHT = Settings(rounds=2, round_ns=1_000_000, startup_rounds=1)
needs_cadwyn = pytest.mark.skipif(importlib.util.find_spec("cadwyn") is None,
                                  reason="cadwyn is not installed (pip install -e '.[bench]')")
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib is not installed (pip install -e '.[bench]')")


def test_datever_serves_the_rename_history_to_an_old_client() -> None:
    """Behind datever, the oldest client's POST and GET get the answers the history defines."""
    with cb.build(3, 2_000, libraries=("datever",)) as apps:
        for case in cases(3, 2_000):
            asyncio.run(cb.verify(apps, case))


def test_verification_fails_when_a_contender_answers_differently() -> None:
    """An app that does not migrate, standing in for a library, fails the check on title_0."""
    with cb.build(2, 2_000, libraries=("datever",)) as apps:
        apps.apps["cadwyn"] = apps.apps[cb.BARE]  # answers at head whatever the version
        oldest_get = cases(2, 2_000)[2]
        with pytest.raises(BenchmarkError, match=r"cadwyn gives a wrong answer: .*title_0"):
            asyncio.run(cb.verify(apps, oldest_get))


def test_check_outputs_names_the_two_contenders_that_differ() -> None:
    """Two contenders that answer 200 with different bodies are reported, with the path."""
    case = cases(1)[1]
    outputs = {"datever": (200, b'{"a": {"b": 1}}'), "cadwyn": (200, b'{"a": {"b": 2}}')}
    with pytest.raises(BenchmarkError, match=r"cadwyn gives a wrong answer: \$\.a\.b"):
        check_outputs(case, outputs, {"a": {"b": 1}})


def test_check_outputs_rejects_an_error_status() -> None:
    """A contender that answers 422 fails the check, its status and body in the message."""
    case = cases(1)[1]
    with pytest.raises(BenchmarkError, match="cadwyn answered 422"):
        check_outputs(case, {"cadwyn": (422, b'{"detail": []}')}, {})


def test_a_missing_extra_is_reported_with_how_to_install_it() -> None:
    """Without the bench extra, the run says what was skipped and the pip command."""
    text = extra.run(LIGHT, quick=True, required=("datever_no_such_module",))
    assert "skipped: datever_no_such_module not installed" in text
    assert extra.INSTALL in text


def test_changes_directory_has_one_module_per_change(tmp_path: Path) -> None:
    """The generated changes directory loads as N releases, the oldest before the first."""
    import datever

    h.write_changes(tmp_path, 4)
    engine = datever.Engine.from_directory(tmp_path)
    assert len(engine.timeline.changes) == 4
    assert engine.resolve(h.oldest_version()).name == "v1"
    assert engine.resolve(h.head_version(4)).name == h.head_version(4)


@needs_cadwyn
def test_quick_comparison_measures_both_libraries() -> None:
    """The quick comparison checks, times and cold-starts both libraries and says how."""
    result = cb.compare([1], LIGHT)
    assert [t.case for t in result.timings] == [case.label for case in cases(1)]
    for timing in result.timings:
        assert set(timing.overhead) == {"datever", "cadwyn", cb.CONTROL}
        assert timing.per_request[cb.BARE] > 0
    assert [(cold.library, cold.changes) for cold in result.cold] == [("datever", 1),
                                                                        ("cadwyn", 1)]
    assert all(cold.start_s > 0 and cold.peak_mib > 10 for cold in result.cold)
    text = cb.markdown(result, LIGHT)
    assert "Cadwyn validates each old request body" in text
    assert "datever runs here without declared schemas" in text


@needs_cadwyn
@needs_matplotlib
def test_scaling_curves_are_written_as_pngs(tmp_path: Path) -> None:
    """The quick plan draws the three figures and their data into the given directory."""
    plan = plots.Plan([1], [1], [1_000], 1, list_bytes=2_000)
    curves = plots.measure(plan, LIGHT)
    assert set(curves.by_changes) == {"floor (msgspec decode + encode)", "datever compiled",
                                      "datever compiled with shapes", "reference interpreter"}
    paths = plots.draw(curves, plan, tmp_path, plots.caption(LIGHT))
    assert [path.name for path in paths] == ["scaling_changes.png", "scaling_payload.png",
                                             "scaling_startup.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
    assert (tmp_path / "scaling.json").is_file()
