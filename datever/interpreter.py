"""The reference interpreter: the definition of what a migration does.

It applies the pending changes one at a time, each to the whole payload,
bottom-up. It is slow and plain on purpose: the compiler must agree with it
on every well-formed payload.
"""

from __future__ import annotations

import copy
from typing import Any

from datever.changes import Change, Direction
from datever.errors import MigrationError
from datever.versions import Version

__all__ = ["reference_down", "reference_up"]


def reference_down(payload: Any, version: Version, *, discriminator: str = "object",
                   resource: str | None = None) -> Any:
    """Migrate a head-shaped payload down to ``version``; the input is not modified."""
    result = copy.deepcopy(payload)
    for change in reversed(version.pending):
        result = _apply(result, change, "down", discriminator, resource, [])
    return result


def reference_up(payload: Any, version: Version, *, resource: str,
                 discriminator: str = "object") -> Any:
    """Migrate a ``resource`` payload written at ``version`` up to the head."""
    result = copy.deepcopy(payload)
    for change in version.pending:
        result = _apply(result, change, "up", discriminator, resource, [])
    return result


def _apply(node: Any, change: Change, direction: Direction, discriminator: str,
           root: str | None, path: list[str | int]) -> Any:
    if isinstance(node, list):
        return [_apply(item, change, direction, discriminator, None, [*path, index])
                for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    for key in list(node):
        node[key] = _apply(node[key], change, direction, discriminator, None, [*path, key])
    resource = root if root is not None else node.get(discriminator)
    if not isinstance(resource, str) or resource not in change.resources:
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
