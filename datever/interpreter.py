"""The reference interpreter: the definition of what a migration does.

It applies the pending changes one at a time, each to the whole payload,
bottom-up, never entering a resource's opaque properties. It is slow and
plain on purpose: the compiler must agree with it on every well-formed
payload.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from datever.changes import Change, Direction
from datever.errors import MigrationError
from datever.versions import Version

__all__ = ["reference_down", "reference_up"]


def reference_down(payload: Any, version: Version, *, discriminator: str = "object",
                   resource: str | None = None) -> Any:
    """Migrate a head-shaped payload down to ``version``; the input is not modified."""
    result = copy.deepcopy(payload)
    opaque = version.timeline.resources.opaque
    for change in reversed(version.pending):
        result = _apply(result, change, "down", discriminator, resource, [], opaque)
    return result


def reference_up(payload: Any, version: Version, *, resource: str,
                 discriminator: str = "object") -> Any:
    """Migrate a ``resource`` payload written at ``version`` up to the head."""
    result = copy.deepcopy(payload)
    opaque = version.timeline.resources.opaque
    for change in version.pending:
        result = _apply(result, change, "up", discriminator, resource, [], opaque)
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
