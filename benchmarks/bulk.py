"""Throughput of bulk work: stored payloads and webhook events migrated as NDJSON streams.

Each row is the wall-clock time of one whole job (seconds), median of the
rounds; the notes turn them into MB/s and documents/s. One process is the
engine alone; every core is :func:`datever.bulk.migrate_stream` with one
worker per core (forked, the engine inherited). The floor decodes and
encodes every line with msgspec and nothing else.
"""

from __future__ import annotations

import functools
import random
import statistics
import time
from collections.abc import Callable

import msgspec

import datever
from benchmarks import contenders as c
from benchmarks import data
from benchmarks.report import Row, Scenario
from datever.bulk import Migrated, Task, available_cores, migrate_stream
from datever.webhooks import render_event

SEED = 0
_MB = 1 << 20


def _documents(kind: str, megabytes: float) -> list[bytes]:
    """Seeded head-shaped documents of the reference API, one per line, ``megabytes`` in all."""
    samples, rng = data.load_samples(), random.Random(SEED)
    makers: dict[str, Callable[[random.Random], object]] = {
        "stored": lambda r: samples.charge(r) if r.random() < 0.5 else samples.customer(r),
        "events": samples.event,
    }
    make, lines, size = makers[kind], [], 0
    while size < megabytes * _MB:
        line = msgspec.json.encode(make(rng)) + b"\n"
        lines.append(line)
        size += len(line)
    return lines


def _floor(lines: list[bytes]) -> bytes:
    decode, encode = msgspec.json.decode, msgspec.json.encode
    return b"".join(encode(decode(line)) + b"\n" for line in lines)


def _stream(engine: datever.Engine, factory: Callable[[], datever.Engine], lines: list[bytes],
            version: str, jobs: int) -> bytes:
    return b"".join(result.output for result in migrate_stream(
        engine, lines, Task(version), jobs=jobs, engine_factory=factory)
        if isinstance(result, Migrated))


def _rendered(engine: datever.Engine, lines: list[bytes], version: str) -> bytes:
    resolved = engine.resolve(version)
    return b"".join(render_event(engine, line.rstrip(b"\n"), resolved).body + b"\n"
                    for line in lines)


def _scenario(scenario: Scenario, jobs: dict[str, Callable[[], bytes]], lines: list[bytes],
              settings: c.Settings) -> Scenario:
    expected = jobs[next(iter(jobs))]()
    for name, job in jobs.items():
        if name != "floor" and job() != expected:
            raise c.BenchmarkError(f"{scenario.id}: {name} differs from the one-process output")
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(max(3, settings.rounds // 3)):
        for name, job in jobs.items():  # interleaved, so drifting load skews all alike
            started = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - started)
    size, count = sum(map(len, lines)), len(lines)
    for name, values in times.items():
        median = statistics.median(values)
        scenario.rows.append(Row(name, "floor" if name == "floor" else "candidate", median,
                                 min(values), max(values), len(values), 1, verified=True))
        scenario.notes.append(f"{name}: {size / _MB / median:.1f} MB/s, "
                              f"{count / median:,.0f} documents/s")
    scenario.checks.append("every contender's output equals the one-process output, byte for "
                           "byte, before timing")
    return scenario


def stored_payloads(settings: c.Settings) -> Scenario:
    """6. Stored charges and customers, NDJSON, migrated down to v1 on one core and on all."""
    megabytes = 2 if settings.rounds < 5 else 16
    lines = _documents("stored", megabytes)
    factory = functools.partial(datever.Engine.from_directory, data.CHANGES)
    engine = factory()
    cores = available_cores()
    scenario = Scenario("bulk_stored", f"6. Bulk: {megabytes} MB of stored payloads "
                        f"({len(lines):,} documents) down to v1", "s")
    jobs = {
        "migrate_stream, 1 process": functools.partial(_stream, engine, factory, lines, "v1",
                                                       1),
        f"migrate_stream, {cores} processes (every core)": functools.partial(
            _stream, engine, factory, lines, "v1", cores),
        "floor": functools.partial(_floor, lines),
    }
    scenario.notes.append(f"{cores} cores available; workers forked with the engine "
                          "inherited, 1 MB chunks, at most two in flight per worker")
    return _scenario(scenario, jobs, lines, settings)


def webhook_batch(settings: c.Settings) -> Scenario:
    """7. A batch of webhook events rendered at 2021-06-07, one by one and on every core."""
    megabytes = 1 if settings.rounds < 5 else 8
    lines = _documents("events", megabytes)
    factory = functools.partial(datever.Engine.from_directory, data.CHANGES)
    engine = factory()
    cores = available_cores()
    scenario = Scenario("bulk_events", f"7. Webhooks: {len(lines):,} events ({megabytes} MB) "
                        "rendered at 2021-06-07", "s")
    jobs = {
        "render_event per event, 1 process": functools.partial(_rendered, engine, lines,
                                                                "2021-06-07"),
        "migrate_stream, 1 process": functools.partial(_stream, engine, factory, lines,
                                                       "2021-06-07", 1),
        f"migrate_stream, {cores} processes (every core)": functools.partial(
            _stream, engine, factory, lines, "2021-06-07", cores),
        "floor": functools.partial(_floor, lines),
    }
    return _scenario(scenario, jobs, lines, settings)
