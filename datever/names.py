"""Resource and property names that nothing but one change uses: likely typos.

A heuristic for histories without schemas (with schemas the check is exact).
A name is vouched for by the sample payloads of ``changes/_samples.py`` (at
every version: the samples are migrated down, and request bodies up then down,
by the reference interpreter), by the service's routes, or by another change.

``_samples.py`` conventions: every public function that takes one
``random.Random`` (annotated so, or not annotated) or no argument at all
returns head-shaped responses; ``REQUEST_RESOURCES`` with
``request_body(resource, rng)`` gives request bodies as the initial version
sends them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import importlib.util
import inspect
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from datever.changes import Change
from datever.errors import DateverError
from datever.interpreter import reference_down, reference_up
from datever.versions import Timeline

__all__ = ["NameWarning", "Samples", "load_samples", "name_problems"]

#: seeds each sample function is called with: enough to see its optional properties
SEEDS = range(5)
#: how alike two names must be for one to be offered as the other's spelling
_SUGGEST, _TYPO = 0.6, 0.8
_EPOCH = dt.date(1970, 1, 1)


@dataclass
class Samples:
    """Sample payloads: head-shaped responses, and request bodies by resource as
    the initial version sends them; ``file`` is where they come from."""

    file: str
    responses: list[tuple[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class NameWarning:
    """A name only one change uses (kind ``resource`` or ``property``), or samples that
    could not be used (kind ``samples``)."""

    kind: str
    message: str
    file: str | None
    change: str | None = None
    resource: str | None = None


def load_samples(path: Path) -> tuple[Samples | None, str | None]:
    """The payloads of a ``_samples.py``; (None, None) when there is no such file, and
    (None, why) when it cannot be imported or run."""
    if not path.is_file():
        return None, None
    name = "datever_samples_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-files
        return None, "cannot be imported"
    module = importlib.util.module_from_spec(spec)
    samples = Samples(str(path))
    sys.modules[name] = module  # as an import would: dataclasses and pickling look there
    try:
        spec.loader.exec_module(module)
        for label, make in _generators(module):
            samples.responses += [(label, make(random.Random(seed)))
                                  for seed in SEEDS] if label.endswith("(rng)") else [
                                      (label, make())]
        make_request: Any = getattr(module, "request_body", None)
        for resource in getattr(module, "REQUEST_RESOURCES", ()) if make_request else ():
            samples.requests += [(resource, make_request(resource, random.Random(seed)))
                                 for seed in SEEDS]
    except Exception as exc:
        return None, (f"the samples are not used for the name checks: {type(exc).__name__}: "
                      f"{exc}")
    finally:
        del sys.modules[name]
    return samples, None


def _generators(module: ModuleType) -> Iterable[tuple[str, Callable[..., Any]]]:
    """The module's public functions that take one ``random.Random`` or nothing."""
    public = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
    for name in public:
        function = getattr(module, name, None)
        if not inspect.isfunction(function) or function.__module__ != module.__name__:
            continue
        signature = inspect.signature(function)
        first = next(iter(signature.parameters.values()), None)
        if _binds(signature) and first is not None and (
                first.annotation is first.empty or "Random" in str(first.annotation)):
            yield f"{name}(rng)", function
        elif _binds(signature, ()):
            yield f"{name}()", function


def _binds(signature: inspect.Signature, args: tuple[object, ...] = (None,)) -> bool:
    try:
        signature.bind(*args)
    except TypeError:
        return False
    return True


def name_problems(changes: Sequence[Change], timeline: Timeline | None,
                  samples: Samples | None, routes: set[str],
                  discriminator: str = "object") -> list[NameWarning]:
    """Warnings for resource names only one change uses (suggesting the closest
    known name) and property names no sample has and no other change names."""
    found: list[NameWarning] = []
    sampled: dict[str, set[str]] = {}
    if samples is not None:
        sampled, found = _sampled_names(samples, timeline, discriminator)
    users: dict[str, list[Change]] = {}
    for change in changes:
        for resource in change.resources:
            users.setdefault(resource, []).append(change)
    vouched = set(sampled) | routes | {resource for resource, _ in
                                       (samples.requests if samples else [])}
    evidence = samples is not None or bool(routes)
    for resource, using in users.items():
        if len(using) > 1 or resource in vouched:
            continue
        others = sorted((set(users) - {resource}) | vouched)
        close = difflib.get_close_matches(resource, others, 1, _SUGGEST if evidence else _TYPO)
        if not close and not evidence:
            continue  # no samples or routes to hold it against, and no near twin
        where = "other change, sample or route" if evidence else (
            "other change (and there are no samples or --routes to confirm it)")
        hint = (f"did you mean {close[0]!r}?" if close
                else "if it is new, add it to the samples or routes")
        found.append(NameWarning("resource", f"resource {resource!r} is used by no {where}; "
                                 + hint, using[0].file, using[0].id, resource))
    return found + _property_warnings(changes, sampled)


def _property_warnings(changes: Sequence[Change],
                       sampled: dict[str, set[str]]) -> list[NameWarning]:
    """Properties of sampled resources that no sample has at any version and no other
    change names."""
    naming: dict[tuple[str, str], set[str]] = {}
    for change in changes:
        for resource, ops in change.resources.items():
            for prop in {prop for op in ops for prop in op.touches}:
                naming.setdefault((resource, prop), set()).add(change.id)
    found = []
    for change in changes:
        for resource, ops in change.resources.items():
            known = sampled.get(resource)
            if known is None:
                continue
            for prop in sorted({prop for op in ops for prop in op.touches}):
                if prop in known or naming[resource, prop] != {change.id}:
                    continue
                close = difflib.get_close_matches(prop, sorted(known), 1, _SUGGEST)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                found.append(NameWarning(
                    "property", f"property {prop!r} of {resource!r}: no sample has it at any "
                    f"version and no other change names it{hint}", change.file, change.id,
                    resource))
    return found


def _sampled_names(samples: Samples, timeline: Timeline | None,
                   discriminator: str) -> tuple[dict[str, set[str]], list[NameWarning]]:
    """Each resource's properties in the samples at any version, and the samples that
    could not be migrated (one warning per sample function or request resource)."""
    names: dict[str, set[str]] = {}
    failed: dict[str, NameWarning] = {}
    # One change at a time, newest first, from the head down to the initial version:
    # every version's shape is passed on the way (beta's among the first).
    initial = timeline.resolve(timeline.initial, today=_EPOCH) if timeline else None
    steps = [replace(initial, pending=(change,)) for change in reversed(initial.pending)
             ] if initial else []
    work: list[tuple[str, str | None, Any]] = [
        (label, None, payload) for label, payload in samples.responses]
    work += [(f"request_body({resource!r}, rng)", resource, payload)
             for resource, payload in samples.requests]
    for label, resource, payload in work:
        try:
            if resource is not None and initial is not None:
                _collect(payload, resource, discriminator, names)
                payload = reference_up(payload, initial, resource=resource,
                                       discriminator=discriminator)
            _collect(payload, resource, discriminator, names)
            for step in steps:
                payload = reference_down(payload, step, resource=resource,
                                         discriminator=discriminator)
                _collect(payload, resource, discriminator, names)
        except DateverError as exc:
            failed.setdefault(label, NameWarning(
                "samples", f"{label} fails to migrate, so its names are not used: {exc}",
                samples.file, getattr(exc, "change", None), resource))
    return names, list(failed.values())


def _collect(node: Any, resource: str | None, discriminator: str,
             names: dict[str, set[str]]) -> None:
    """Add the properties of every resource in ``node`` (its root is ``resource``)."""
    if isinstance(node, list):
        for item in node:
            _collect(item, None, discriminator, names)
    elif isinstance(node, dict):
        kind = resource if resource is not None else node.get(discriminator)
        if isinstance(kind, str):
            names.setdefault(kind, set()).update(key for key in node if isinstance(key, str))
        for value in node.values():
            _collect(value, None, discriminator, names)
