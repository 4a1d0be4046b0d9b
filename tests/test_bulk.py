"""Bulk migration: NDJSON in order on one core or on all, the same bytes either way."""

from __future__ import annotations

import functools
import json
import random
import threading
from pathlib import Path

import msgspec
import pytest

from datever import Engine
from datever.bulk import Failed, Migrated, Task, available_cores, migrate_stream
from datever.errors import VersionError
from tests.cli_runs import REFERENCE, reference
from tests.reference import load_samples

FACTORY = functools.partial(Engine.from_directory, REFERENCE)
ENGINE = FACTORY()
SAMPLES = load_samples()


def stored(count: int, *, seed: int = 7) -> list[bytes]:
    """``count`` head-shaped charges and customers, one JSON document per line."""
    rng = random.Random(seed)
    return [msgspec.json.encode(SAMPLES.charge(rng) if index % 2 else SAMPLES.customer(rng))
            + b"\n" for index in range(count)]


def output(results: list[Migrated | Failed]) -> bytes:
    """The NDJSON the migrated runs hold, in order."""
    return b"".join(r.output for r in results if isinstance(r, Migrated))


def sequential(lines: list[bytes], version: str = "v1") -> list[bytes]:
    """Each line migrated on its own by the engine: what every run must equal."""
    resolved = ENGINE.resolve(version)
    return [ENGINE.down_json(line.strip(), resolved) + b"\n" for line in lines]


def test_parallel_output_equals_sequential_byte_for_byte() -> None:
    """Two workers over many small chunks give exactly the sequential output, in order."""
    lines = stored(300)
    results = list(migrate_stream(ENGINE, lines, Task("v1"), jobs=2, engine_factory=FACTORY,
                                  chunk_bytes=4096))
    assert output(results) == b"".join(sequential(lines))
    assert sum(r.count for r in results if isinstance(r, Migrated)) == 300
    assert len(results) > 10  # many chunks did come back, in order


def test_spawned_workers_build_their_own_engine() -> None:
    """With another thread running, workers are spawned (never forked from a threaded
    process) and build the engine from the factory: the output is the same."""
    lines = stored(60)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        results = list(migrate_stream(ENGINE, lines, Task("2021-06-07"), jobs=2,
                                      engine_factory=FACTORY, chunk_bytes=8192))
    finally:
        stop.set()
        other.join()
    assert output(results) == b"".join(sequential(lines, "2021-06-07"))


def test_a_bad_line_is_reported_in_place_and_the_rest_migrated() -> None:
    """A line that is not JSON, or that a transform refuses, is a Failed with its number,
    between the runs of the lines around it; blank lines are skipped but counted."""
    lines = stored(6)
    lines[2] = b"{not json\n"
    lines[4] = b"\n"
    results = list(migrate_stream(ENGINE, lines, Task("v1"), jobs=2, engine_factory=FACTORY,
                                  chunk_bytes=1))
    failed = [r for r in results if isinstance(r, Failed)]
    assert [f.number for f in failed] == [3]
    assert failed[0].error.startswith("invalid JSON: ")
    firsts = [r.first for r in results if isinstance(r, Migrated)]
    assert firsts == [1, 2, 4, 6]
    expected = sequential([lines[0], lines[1], lines[3], lines[5]])
    assert output(results) == b"".join(expected)


def test_one_process_groups_a_chunk_into_one_run() -> None:
    """On one core, consecutive migrated lines come back as one run per chunk."""
    lines = stored(20)
    results = list(migrate_stream(ENGINE, lines, Task("v1")))
    assert [(r.first, r.count) for r in results if isinstance(r, Migrated)] == [(1, 20)]
    assert output(results) == b"".join(sequential(lines))


@pytest.mark.parametrize("jobs", [-1, 1.5, True, "2"])
def test_jobs_must_be_a_count(jobs: object) -> None:
    """jobs is an int >= 0; anything else is a ValueError saying so."""
    with pytest.raises(ValueError, match="jobs is a number of processes"):
        next(migrate_stream(ENGINE, stored(1), Task("v1"), jobs=jobs))  # type: ignore[arg-type]


def test_workers_need_a_factory() -> None:
    """More than one job without engine_factory is a ValueError naming what to give."""
    with pytest.raises(ValueError, match="engine_factory="):
        next(migrate_stream(ENGINE, stored(1), Task("v1"), jobs=2))


def test_a_bad_version_fails_before_any_work() -> None:
    """The version is resolved first: a bad one raises VersionError at once."""
    with pytest.raises(VersionError):
        next(migrate_stream(ENGINE, stored(1), Task("2015-13-01"), jobs=2,
                            engine_factory=FACTORY))


def test_zero_jobs_means_every_core() -> None:
    """jobs=0 runs one worker per available core, with the same output."""
    lines = stored(40)
    results = list(migrate_stream(ENGINE, lines, Task("v1"), jobs=0, engine_factory=FACTORY,
                                  chunk_bytes=2048))
    assert available_cores() >= 1
    assert output(results) == b"".join(sequential(lines))


# -- the command line ----------------------------------------------------------------


def test_cli_jobs_gives_the_same_bytes_and_reports_throughput(tmp_path: Path) -> None:
    """`datever migrate --jobs 2` writes exactly what one process writes, and the summary
    gives MB/s and documents/s."""
    path = tmp_path / "stored.ndjson"
    path.write_bytes(b"".join(stored(400)))
    one = reference("migrate", "v1", str(path))
    two = reference("migrate", "v1", str(path), "--jobs", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    assert two.stdout == one.stdout
    assert len(two.stdout.splitlines()) == 400
    assert "400 lines, 400 migrated, 0 failed" in two.stderr
    assert " MB/s, " in two.stderr
    assert " documents/s)" in two.stderr


def test_cli_jobs_strict_stops_at_the_first_failure(tmp_path: Path) -> None:
    """--strict with --jobs writes the lines before the first failure, in order, and stops."""
    lines = stored(50)
    lines[10] = b'{"object": "charge", "amount": "ten"\n'
    path = tmp_path / "stored.ndjson"
    path.write_bytes(b"".join(lines))
    result = reference("migrate", "v1", str(path), "--jobs", "2", "--strict")
    assert result.returncode == 1
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        json.loads(line) for line in sequential(lines[:10])]
    assert f"{path}:11: invalid JSON" in result.stderr
    assert "stopped at the first failure (--strict)" in result.stderr


@pytest.mark.parametrize("value", ["-1", "two"])
def test_cli_jobs_must_be_a_count(value: str) -> None:
    """--jobs takes a count of processes; anything else is a usage error (exit 2)."""
    result = reference("migrate", "v1", "--jobs", value, stdin="{}\n")
    assert result.returncode == 2
    assert "is not a number of processes" in result.stderr
