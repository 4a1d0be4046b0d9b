"""The benchmark package runs end to end and checks every contender's output before timing it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

import datever
import datever.versions
from benchmarks import contenders as c

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = {"reference_api_v1", "synthetic_100", "fusion_1000_vs_10", "nothing_to_do",
             "startup_1000", "bulk_stored", "bulk_events"}
QUICK = c.Settings(rounds=1, round_ns=1, startup_rounds=1)


def test_quick_run_reports_every_scenario_with_verified_outputs(tmp_path: Path) -> None:
    """`python -m benchmarks --quick --json` succeeds, covers every scenario with positive
    times, and every timed row but the harness baseline had its output checked."""
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| contender |" in proc.stdout
    results = json.loads(out.read_text())
    scenarios = {scenario["id"]: scenario for scenario in results["scenarios"]}
    assert set(scenarios) == SCENARIOS
    for scenario in scenarios.values():
        assert scenario["rows"], scenario["id"]
        for row in scenario["rows"]:
            assert row["median"] > 0, (scenario["id"], row["name"])
            assert row["min"] > 0, (scenario["id"], row["name"])
            if scenario["compare"] or scenario["id"] == "nothing_to_do":
                assert row["verified"] == (row["role"] != "baseline"), row["name"]
        for target in scenario["targets"]:
            assert target["value"] > 0, (scenario["id"], target["text"])
    assert scenarios["startup_1000"]["checks"]
    assert scenarios["nothing_to_do"]["checks"]
    for key in ("cpu", "cores", "python", "msgspec", "pendulum", "datever"):
        assert results["environment"][key], key


@pytest.fixture
def case() -> tuple[datever.Engine, bytes]:
    """An engine with one rename on charges, and a head charge as JSON bytes."""
    change = datever.Change(released="2021-01-01", id="c1", description="a is b",
                            resources={"charge": [datever.rename("a", "b")]})
    return datever.Engine(datever.versions.Timeline([change])), msgspec.json.encode(
        {"object": "charge", "b": 1})


def test_compiled_contender_is_checked_against_the_reference(
        case: tuple[datever.Engine, bytes]) -> None:
    """The compiled contender passes its check: its output is the reference output."""
    engine, raw = case
    contender = c.compiled(engine, raw, engine.resolve("v1"))
    assert contender.expected == {"object": "charge", "a": 1}
    assert c.verify(contender) is True


def test_wrong_contender_stops_the_measurement(case: tuple[datever.Engine, bytes]) -> None:
    """A contender that migrates to the wrong version fails its check before any timing."""
    engine, raw = case
    right = c.compiled(engine, raw, engine.resolve("v1"))
    wrong = replace(right, run=lambda: engine.down_json(raw, "X"))
    with pytest.raises(c.BenchmarkError, match=r"wrong answer: \$: extra keys \['b'\]"):
        c.measure([right, wrong], QUICK)


def test_wrong_transform_only_contender_fails_its_check(
        case: tuple[datever.Engine, bytes]) -> None:
    """pipeline.run of another version's pipeline is caught on decoded objects too."""
    engine, raw = case
    contender = c.transform_only(engine.pipeline("X", "down"), raw, engine.resolve("v1"),
                                 "wrong")
    with pytest.raises(c.BenchmarkError, match="wrong answer"):
        c.verify(contender)


def test_unchecked_candidate_is_refused() -> None:
    """Only a baseline may go unchecked: a candidate without an expected output is an error."""
    with pytest.raises(c.BenchmarkError, match="must say what it returns"):
        c.verify(c.Contender("anything", lambda: b"{}", c.UNCHECKED))


def test_a_bulk_job_that_differs_stops_the_measurement() -> None:
    """A bulk contender whose output differs from the one-process output is refused
    before anything is timed."""
    from benchmarks import bulk
    from benchmarks.report import Scenario

    jobs = {"one": lambda: b"a\n", "all cores": lambda: b"b\n", "floor": lambda: b"x\n"}
    with pytest.raises(c.BenchmarkError, match="all cores differs"):
        bulk._scenario(Scenario("s", "s", "s"), jobs, [b"a\n"], QUICK)


def test_bulk_rows_give_throughput_of_equal_outputs() -> None:
    """Equal outputs are timed: one row per job and a MB/s note each."""
    from benchmarks import bulk
    from benchmarks.report import Scenario

    jobs = {"one": lambda: b"a\n", "two": lambda: b"a\n", "floor": lambda: b"z\n"}
    scenario = bulk._scenario(Scenario("s", "s", "s"), jobs, [b"a\n"], QUICK)
    assert [row.name for row in scenario.rows] == ["one", "two", "floor"]
    assert [row.role for row in scenario.rows] == ["candidate", "candidate", "floor"]
    assert all(" MB/s, " in note for note in scenario.notes)


def test_the_report_names_the_commit_of_a_worktree(tmp_path: Path) -> None:
    """The commit is read through git, so a linked worktree (whose .git is a file) is
    named too; a folder outside any repository is 'unknown'."""
    from benchmarks import report

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    repo, linked = tmp_path / "repo", tmp_path / "linked"
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"],
                   check=True)
    subprocess.run([*git, "-C", str(repo), "worktree", "add", "-q", str(linked)], check=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    assert (linked / ".git").is_file()
    assert report._commit(linked) == head[:12]
    outside = tmp_path / "outside"
    outside.mkdir()
    assert report._commit(outside) in ("unknown", report._commit(REPO))
