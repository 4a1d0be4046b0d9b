"""The contenders and the one harness that times them all the same way.

Every contender is a callable timed by :func:`measure`: calibrate a number of
calls that fills a round, run several interleaved rounds with the garbage
collector off, report the median time per call. Before anything is timed,
:func:`verify` calls each contender once and compares its output with what it
must give (for datever's compiled pipeline: the reference interpreter's output);
a contender that gives anything else stops the run.
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

import datever
import datever.pipeline
import datever.versions

_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


class BenchmarkError(AssertionError):
    """A contender gave a wrong answer: the numbers would mean nothing."""


class _Unchecked:
    """The expected output of a contender whose output means nothing (the harness)."""

    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED: Any = _Unchecked()


@dataclass(frozen=True)
class Settings:
    """How hard to measure: ``rounds`` rounds of at least ``round_ns`` nanoseconds each."""

    rounds: int
    round_ns: int
    #: rounds of the start-up scenario, each of which loads 1000 modules twice
    startup_rounds: int

    @classmethod
    def full(cls) -> Settings:
        return cls(rounds=15, round_ns=40_000_000, startup_rounds=5)

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=3, round_ns=3_000_000, startup_rounds=1)


@dataclass(frozen=True)
class Contender:
    """One way to do the job. ``role`` is ``floor``, ``baseline`` or ``candidate``.

    ``setup``, when given, makes one fresh argument per call outside the
    timed loop (for functions that consume their input). ``expected`` is what
    one call must return (JSON bytes are compared decoded); only a baseline may
    leave it UNCHECKED.
    """

    name: str
    run: Callable[..., Any]
    expected: Any
    role: str = "candidate"
    setup: Callable[[], Any] | None = None


@dataclass(frozen=True)
class Measurement:
    """The timings of one contender, in nanoseconds per call."""

    name: str
    role: str
    median_ns: float
    min_ns: float
    max_ns: float
    rounds: int
    calls_per_round: int
    #: True when one call's output was compared with the expected one before timing
    verified: bool


def verify(contender: Contender) -> bool:
    """Call ``contender`` once and raise BenchmarkError unless it gives its expected output.

    Returns False for an UNCHECKED baseline, True for a verified contender.
    """
    if contender.expected is UNCHECKED:
        if contender.role != "baseline":
            raise BenchmarkError(f"{contender.name}: a {contender.role} must say what it "
                                 "returns, so that it is checked before it is timed")
        return False
    result = contender.run(contender.setup()) if contender.setup else contender.run()
    got = _DECODER.decode(result) if isinstance(result, bytes) else result
    if got != contender.expected:
        raise BenchmarkError(f"{contender.name} gives a wrong answer: "
                             f"{first_difference(got, contender.expected)}")
    return True


def _round(contender: Contender, calls: int) -> int:
    run = contender.run
    if contender.setup is None:
        start = time.perf_counter_ns()
        for _ in range(calls):
            run()
        return time.perf_counter_ns() - start
    args = [contender.setup() for _ in range(calls)]
    start = time.perf_counter_ns()
    for arg in args:
        run(arg)
    return time.perf_counter_ns() - start


def _calibrate(contender: Contender, settings: Settings) -> int:
    """How many calls fill one round, as timeit.autorange finds it."""
    calls = 1
    while True:
        elapsed = _round(contender, calls)
        if elapsed >= settings.round_ns or calls >= 1 << 24:
            return calls
        calls = max(calls * 2, int(calls * settings.round_ns / max(elapsed, 1) * 1.1))


def measure(entries: list[Contender], settings: Settings) -> list[Measurement]:
    """Median time per call of each contender over ``settings.rounds`` rounds.

    Rounds are interleaved (one round of each contender in turn), so that a
    machine that gets busier or quieter during the run skews every contender
    alike and the ratios between them stay meaningful.
    """
    verified = [verify(entry) for entry in entries]
    calls = [_calibrate(entry, settings) for entry in entries]
    per_call: list[list[float]] = [[] for _ in entries]
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(settings.rounds):
            for entry, count, times in zip(entries, calls, per_call, strict=True):
                times.append(_round(entry, count) / count)
    finally:
        if enabled:
            gc.enable()
    return [Measurement(entry.name, entry.role, statistics.median(times), min(times),
                        max(times), settings.rounds, count, checked)
            for entry, count, times, checked in zip(entries, calls, per_call, verified,
                                                    strict=True)]


def _identity(value: Any) -> Any:
    return value


def harness_baseline(data: bytes) -> Contender:
    """A call that does nothing: what the harness itself costs per call."""
    return Contender("harness: a call that returns its argument", functools.partial(
        _identity, data), UNCHECKED, role="baseline")


def search_baseline(data: bytes, needle: bytes) -> Contender:
    """One ``needle in data`` search: the floor of any scan that must read every byte."""
    return Contender(f"bytes search: {needle.decode()!r} in the payload",
                     functools.partial(_contains, data, needle), UNCHECKED, role="baseline")


def _contains(data: bytes, needle: bytes) -> bool:
    return needle in data


# -- the three ways to migrate bytes -----------------------------------------


def reference_output(data: bytes, version: datever.Version) -> Any:
    """What the reference interpreter (the definition) makes of ``data`` at ``version``."""
    return datever.reference_down(_DECODER.decode(data), version)


def compiled(engine: datever.Engine, data: bytes, version: datever.Version) -> Contender:
    """datever's compiled pipeline, bytes to bytes; it must agree with the reference."""
    return Contender("datever compiled: engine.down_json", functools.partial(
        engine.down_json, data, version), reference_output(data, version))


def reference(data: bytes, version: datever.Version) -> Contender:
    """The reference interpreter between msgspec's module-level decode and encode."""
    decode, encode = msgspec.json.decode, msgspec.json.encode

    def run() -> bytes:
        return encode(datever.reference_down(decode(data), version))

    return Contender("datever reference: decode + reference_down + encode", run,
                     reference_output(data, version))


def floor(data: bytes) -> Contender:
    """Touching the payload at all: msgspec decode and encode of the same bytes."""
    decoder, encoder = msgspec.json.Decoder(), msgspec.json.Encoder()

    def run() -> bytes:
        return encoder.encode(decoder.decode(data))

    return Contender("floor: msgspec Decoder + Encoder", run, _DECODER.decode(data),
                     role="floor")


def transform_only(pipeline: datever.pipeline.Pipeline, data: bytes, version: datever.Version,
                   label: str) -> Contender:
    """The compiled pipeline on decoded objects: no JSON, one fresh object per call."""
    decode = _DECODER.decode
    return Contender(f"{label}: pipeline.run on a decoded object", pipeline.run,
                     reference_output(data, version), setup=lambda: decode(data))


def check_same(engine: datever.Engine, data: bytes, version: datever.Version,
               what: str) -> Any:
    """Raise BenchmarkError unless compiled and reference outputs decode equal.

    For checks outside :func:`measure` (start-up); returns the reference output.
    """
    contender = compiled(engine, data, version)
    verify(replace(contender, name=f"{what}: {contender.name} at {version.name}"))
    return contender.expected


def first_difference(got: Any, expected: Any, path: str = "$") -> str:
    """Where two JSON values first differ, for an error message that can be acted on."""
    if type(got) is not type(expected):
        return f"{path}: got {got!r:.80}, expected {expected!r:.80}"
    if isinstance(got, dict):
        if got.keys() != expected.keys():
            return (f"{path}: extra keys {sorted(got.keys() - expected.keys())}, "
                    f"missing keys {sorted(expected.keys() - got.keys())}")
        for key in got:
            if got[key] != expected[key]:
                return first_difference(got[key], expected[key], f"{path}.{key}")
    if isinstance(got, list):
        if len(got) != len(expected):
            return f"{path}: {len(got)} items, expected {len(expected)}"
        for index, (a, b) in enumerate(zip(got, expected, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{index}]")
    return f"{path}: got {got!r:.80}, expected {expected!r:.80}"


# -- the same pipelines compiled with the head shapes declared ----------------


def compiled_with_schemas(engine: datever.Engine, data: bytes,
                          version: datever.Version) -> Contender:
    """datever's compiled pipeline with the head shapes declared (``engine.schemas``): it
    walks only where a touched resource can occur; it must agree with the reference."""
    if engine.schemas is None:
        raise BenchmarkError("compiled_with_schemas needs an engine with schemas")
    return Contender("datever compiled with schemas: engine.down_json", functools.partial(
        engine.down_json, data, version), reference_output(data, version))


def synthetic_schemas(head: dict[str, Any], order: tuple[str, ...]) -> datever.Schemas:
    """Strict msgspec Structs for a synthetic history's head (``benchmarks.data.Schema`` by
    resource name), plus the ``list`` envelope of the first resource type in ``order``."""
    scalars: dict[str, Any] = {"int": int, "str": str, "bool": bool, "float": float,
                               "digits": str}
    structs: dict[str, type[msgspec.Struct]] = {}

    def field_type(prop: Any, schema: Any, name: str) -> Any:
        if prop.kind == "enum":
            return Literal[prop.values]
        if prop.kind == "details":
            return msgspec.defstruct(f"{name}Details", [
                (key, scalars[inner.kind]) for key, inner in schema.details.items()],
                forbid_unknown_fields=True)
        if prop.kind == "resource":
            return structs[prop.target]
        if prop.kind == "resources":
            return list[structs[prop.target]]  # type: ignore[index]
        return scalars[prop.kind]

    pending = list(reversed(order))
    while pending:  # nested resources first: a Struct's annotations name built Structs
        name = next(n for n in pending if all(
            p.target in structs for p in head[n].props.values() if p.target))
        pending.remove(name)
        schema = head[name]
        structs[name] = msgspec.defstruct(
            name.title().replace("_", ""),
            [(key, field_type(prop, schema, name.title())) for key, prop in schema.props.items()
             if key != "object"],
            tag_field="object", tag=name, forbid_unknown_fields=True)
    envelope = msgspec.defstruct("List", [("url", str), ("has_more", bool),
                                          ("data", list[structs[order[0]]])],  # type: ignore[index]
                                 tag_field="object", tag="list", forbid_unknown_fields=True)
    return datever.Schemas([*structs.values(), envelope])
