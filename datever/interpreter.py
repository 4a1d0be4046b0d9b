"""The reference interpreter: the definition of what a migration does.

It applies the pending changes one at a time, each to the whole payload,
bottom-up, never entering a resource's opaque properties. It is slow and
plain on purpose: the compiler must agree with it on every well-formed
payload, and the engine replays it to locate a failure (see
:func:`reference_run`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from datever.changes import Change, Direction
from datever.errors import MigrationError
from datever.pipeline import MAX_DEPTH, deeper_than, too_deep
from datever.versions import Version

__all__ = ["reference_down", "reference_run", "reference_up"]


def reference_down(payload: Any, version: Version, *, discriminator: str = "object",
                   resource: str | None = None) -> Any:
    """Migrate a head-shaped payload down to ``version``; the input is not modified.

    As in the engine, a payload no step can touch is returned as is.
    """
    return reference_run(payload, tuple(reversed(version.pending)), "down",
                         discriminator=discriminator, resource=resource)


def reference_up(payload: Any, version: Version, *, resource: str,
                 discriminator: str = "object") -> Any:
    """Migrate a ``resource`` payload written at ``version`` up to the head; the input is kept.

    As in the engine, a payload no step can touch is returned as is.
    """
    return reference_run(payload, version.pending, "up", discriminator=discriminator,
                         resource=resource)


def reference_run(payload: Any, changes: Sequence[Change], direction: Direction, *,
                  discriminator: str = "object", resource: str | None = None) -> Any:
    """Apply ``changes`` in the order given, each to the whole payload; the input is kept.

    As in the engine, a payload no step in ``direction`` can touch is returned
    as is. Otherwise bad input raises the engine's errors: ``too_deep`` past
    MAX_DEPTH, ``not_an_object`` for a named resource that is not an object,
    ``transform`` naming the change whose step raised.
    """
    if not any(change.steps(name, direction) for change in changes
               for name in change.resources):
        return payload
    if deeper_than(payload, MAX_DEPTH):
        raise too_deep(resource)
    if resource is not None and type(payload) is not dict:
        raise MigrationError(f"expected an object for resource {resource!r}, "
                             f"got {type(payload).__name__}", resource=resource,
                             reason="not_an_object")
    result = copy.deepcopy(payload)
    # user data (opaque properties such as metadata) is never searched for resources
    opaque = changes[0].declarations.opaque if changes else {}
    for change in changes:
        result = _apply(result, change, direction, discriminator, resource, [], opaque)
    return result


def _apply(node: Any, change: Change, direction: Direction, discriminator: str,
           root: str | None, path: list[str | int], opaque: Mapping[str, frozenset[str]]) -> Any:
    if isinstance(node, list):
        return [_apply(item, change, direction, discriminator, None, [*path, index], opaque)
                for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    resource = root if root is not None else node.get(discriminator)
    # user data (an opaque property such as metadata) is never searched for resources
    skip = opaque.get(resource, frozenset()) if isinstance(resource, str) else frozenset()
    for key in list(node):
        if key not in skip:
            node[key] = _apply(node[key], change, direction, discriminator, None,
                               [*path, key], opaque)
    if not isinstance(resource, str) or resource not in change.operations:
        return node
    for step in change.steps(resource, direction):
        try:
            node = step.apply(node)
        except Exception as exc:
            raise MigrationError(
                f"{type(exc).__name__}: {exc}", change=change.id, release=change.label,
                resource=resource, path=path,
            ) from exc
    return node
