"""The changelog made from the change modules: grouped by release, tagged.

Used by ``datever changelog`` and ``datever diff``; rich is not imported here
(the rich form prints on a console it is given).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from datever.changes import Change
from datever.classify import change_is_retroactive
from datever.versions import Timeline

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["change_json", "markdown", "print_rich", "releases", "summary", "tags"]

Json = dict[str, Any]


def summary(change: Change) -> str:
    """The first line of a change's description."""
    return change.description.splitlines()[0] if change.description else "(no description)"


def tags(change: Change, timeline: Timeline) -> list[str]:
    """breaking, retroactive (applied to old versions too) or compatible (kept
    versioned), then side effects."""
    found = ["retroactive" if change in timeline.retroactive
             else "compatible" if change_is_retroactive(change) else "breaking"]
    return [*found, "side effects"] if change.side_effects else found


def change_json(change: Change, timeline: Timeline) -> Json:
    """A change as JSON for ``--json`` and ``--format json``."""
    marks = tags(change, timeline)
    return {"id": change.id, "release": change.label, "stage": change.stage,
            "summary": summary(change), "description": change.description, "tags": marks,
            "breaking": "breaking" in marks, "retroactive": "retroactive" in marks,
            "side_effects": change.side_effects,
            "operations": {resource: [str(op) for op in ops]
                           for resource, ops in change.resources.items()}}


def releases(changes: Iterable[Change], newest_first: bool) -> list[tuple[str, list[Change]]]:
    """Changes grouped by release, unreleased (beta, experimental) as one group."""
    groups: dict[str, list[Change]] = {}
    for change in sorted(changes, key=lambda change: change.sort_key):
        label = change.label if change.stage == "released" else "unreleased"
        groups.setdefault(label, []).append(change)
    grouped = list(groups.items())
    return grouped[::-1] if newest_first else grouped


def markdown(title: str, groups: list[tuple[str, list[Change]]], timeline: Timeline,
             operations: bool) -> str:
    """The changelog (or upgrade notes, with ``operations``) as Markdown."""
    lines = [f"# {title}"]
    for label, found in groups:
        lines += ["", f"## {label.capitalize()}"]
        for change in found:
            head, _, body = change.description.partition("\n")
            marks = [f"**{tag}**" for tag in tags(change, timeline)]
            marks += [change.stage] if change.stage != "released" else []
            lines += ["", f"### {head}", "", " · ".join([*marks, f"`{change.id}`"])]
            lines += ["", body.strip()] if body.strip() else []
            if operations and change.resources:
                lines.append("")
                lines += [f"- `{resource}`: {op}" for resource, ops in change.resources.items()
                          for op in ops]
    return "\n".join(lines) + "\n"


def print_rich(out: Console, title: str, groups: list[tuple[str, list[Change]]],
               timeline: Timeline, operations: bool) -> None:
    """The changelog (or upgrade notes) on a rich console; tags are words, not colours."""
    out.print(title, style="bold")
    out.print("" if groups else "no changes")
    for label, found in groups:
        out.rule(label)
        for change in found:
            for tag in tags(change, timeline):
                out.print(f"[{tag}]", end=" ", style="bold red" if tag == "breaking" else "yellow")
            out.print(change.id + (f" ({change.stage})" if change.stage != "released" else ""),
                      style="bold")
            for line in change.description.splitlines():
                out.print(f"  {line}".rstrip())
            if operations:
                for resource, ops in change.resources.items():
                    for op in ops:
                        out.print(f"  {resource}: {op}", style="cyan")
            out.print()
