"""Migrating many documents at once: NDJSON streams, in order, on one core or on all.

Stored payloads, event logs and exports are migrated line by line. With
``jobs > 1`` the lines go in chunks to worker processes, each with its own
engine built by ``engine_factory`` (a picklable callable, such as
``functools.partial(Engine.from_directory, "changes")``), and the results come
back in input order: the output of a parallel run is byte for byte the output
of a sequential one. A line that cannot be migrated is reported with its
number and never stops the others (the caller may stop at the first).
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

import msgspec

from datever.engine import Engine
from datever.errors import DateverError
from datever.versions import Version

__all__ = ["CHUNK_BYTES", "Failed", "Migrated", "Result", "Task", "available_cores",
           "migrate_one", "migrate_stream"]

#: how many bytes of input go to a worker at a time: big enough that handing a
#: chunk over costs little next to migrating it, small enough that output flows
CHUNK_BYTES = 1 << 20

_DECODER = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class Task:
    """What to do with every line: migrate ``down`` to ``version`` (a name a worker can
    resolve again), or ``up`` from it for ``resource``. ``today`` resolves dates."""

    version: str
    up: bool = False
    resource: str | None = None
    today: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Migrated:
    """A run of ``count`` consecutive input lines, from line ``first`` on, all migrated:
    ``output`` holds their results, each followed by a newline (NDJSON)."""

    first: int
    count: int
    output: bytes


@dataclass(frozen=True, slots=True)
class Failed:
    """Input line ``number`` (1-based), which could not be migrated, and why."""

    number: int
    error: str


Result = Migrated | Failed


def available_cores() -> int:
    """The cores this process may run on (what ``--jobs 0`` uses)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def migrate_one(engine: Engine, data: bytes, version: Version, task: Task) -> bytes:
    """``data`` migrated as ``task`` says; raises DateverError or msgspec.DecodeError.

    A document the pipeline need not touch is still checked to be JSON.
    """
    if task.up:
        if task.resource is None:
            raise ValueError("migrating up needs the request body's resource")
        out = engine.up_json(data, version, resource=task.resource)
    else:
        out = engine.down_json(data, version, resource=task.resource)
    if out is data:
        _DECODER.decode(data)
    return out


def _results(engine: Engine, version: Version, task: Task,
             numbered: Iterable[tuple[int, bytes]]) -> list[Result]:
    """The chunk's lines migrated, runs of successes joined into one Migrated each."""
    found: list[Result] = []
    run: list[bytes] = []
    first = 0
    for number, data in numbered:
        try:
            out = migrate_one(engine, data, version, task)
        except (msgspec.DecodeError, DateverError) as exc:
            if run:
                found.append(Migrated(first, len(run), b"".join(run)))
                run = []
            found.append(Failed(number, f"invalid JSON: {exc}" if isinstance(
                exc, msgspec.DecodeError) else str(exc)))
            continue
        if not run:
            first = number
        run.append(out + b"\n")
    if run:
        found.append(Migrated(first, len(run), b"".join(run)))
    return found


def migrate_stream(engine: Engine, lines: Iterable[bytes], task: Task, *, jobs: int = 1,
                   engine_factory: Callable[[], Engine] | None = None,
                   chunk_bytes: int = CHUNK_BYTES) -> Generator[Result, None, None]:
    """The non-blank lines of ``lines`` migrated by ``engine`` as ``task`` says, in input
    order: runs of migrated lines (Migrated, their NDJSON output) and the lines
    that failed (Failed), each where it was in the input.

    With ``jobs`` above 1 (0: one per core), that many worker processes share
    the work. On POSIX, from a process running no other thread, they are
    forked and use ``engine`` as it is; otherwise they are spawned, each with
    the engine ``engine_factory`` builds (required for ``jobs`` above 1: a
    spawned worker imports the caller's main module again, so a script guards
    its entry point with ``if __name__ == "__main__":``). Closing the
    generator stops the workers.
    The version is resolved before any work starts, so a bad version raises
    VersionError at once.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs is a number of processes (0: one per core), not {jobs!r}")
    jobs = jobs or available_cores()
    if jobs > 1 and engine_factory is None:
        raise ValueError("jobs > 1 builds an engine in each worker: give engine_factory= "
                         "(a picklable callable, e.g. functools.partial(Engine.from_directory, "
                         "'changes'))")
    version = engine.resolve(task.version, today=task.today)
    numbered = ((number, line.strip()) for number, line in enumerate(lines, 1)
                if line.strip())
    chunks = _chunks(numbered, chunk_bytes)
    if jobs == 1 or engine_factory is None:
        for chunk in chunks:
            yield from _results(engine, version, task, chunk)
        return
    yield from _parallel(engine, version, engine_factory, chunks, task, jobs)


def _chunks(numbered: Iterable[tuple[int, bytes]],
            size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    held = 0
    for pair in numbered:
        chunk.append(pair)
        held += len(pair[1])
        if held >= size:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _parallel(engine: Engine, version: Version, engine_factory: Callable[[], Engine],
              chunks: Iterator[list[tuple[int, bytes]]], task: Task,
              jobs: int) -> Iterator[Result]:
    # A worker forked from a process with no other thread inherits the engine
    # already built (no start-up cost); otherwise it is spawned, a fresh
    # interpreter that builds its own. At most two chunks per worker are in
    # flight, so memory stays bounded whatever the input's size.
    global _worker
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if forkable and threading.active_count() == 1:
        _worker = (engine, version, task)
        pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("fork"))
    else:
        pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
            initargs=(engine_factory, task))
    with pool:
        pending: collections.deque[concurrent.futures.Future[list[Result]]] = (
            collections.deque(pool.submit(_work, chunk)
                              for chunk in itertools.islice(chunks, 2 * jobs)))
        try:
            while pending:
                done = pending.popleft().result()
                for chunk in itertools.islice(chunks, 1):
                    pending.append(pool.submit(_work, chunk))
                yield from done
        finally:
            for future in pending:
                future.cancel()


_worker: tuple[Engine, Version, Task] | None = None


def _start(engine_factory: Callable[[], Engine], task: Task) -> None:
    """Build this worker's engine once."""
    global _worker
    engine = engine_factory()
    _worker = (engine, engine.resolve(task.version, today=task.today), task)


def _work(chunk: list[tuple[int, bytes]]) -> list[Result]:
    assert _worker is not None, "the worker was started without its engine"
    engine, version, task = _worker
    return _results(engine, version, task, chunk)
