"""The rich debug printer: how a version resolves, what it undoes, and what the compiler made.

rich is imported here and in the CLI only, never at ``import datever`` (rich stays
off the hot path). Everything is said in words, so the output reads the same
without colour (pipes, ``NO_COLOR``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from datever.changes import Change, Direction
from datever.classify import is_breaking
from datever.compiler import CompiledFunction
from datever.engine import Engine
from datever.lifecycle import Lifecycle
from datever.operations import (
    Call,
    Collapse,
    Convert,
    Drop,
    Expand,
    Fill,
    MapValues,
    Move,
    Step,
)
from datever.planner import Cancelled, FusedStep, Rebuild
from datever.versions import Timeline, Version

__all__ = ["print_version", "render_timeline", "render_version"]

_DIRECTIONS: tuple[tuple[Direction, str, str], ...] = (
    ("down", "down (responses)", "newest first"),
    ("up", "up (requests)", "oldest first"),
)


def print_version(console: Console, engine: Engine, version: Version,
                  resource: str | None = None, *, source: bool = False,
                  lifecycle: Lifecycle | None = None, today: dt.date | None = None) -> None:
    """Print :func:`render_version` of ``version`` on ``console``."""
    console.print(render_version(engine, version, resource, source=source,
                                 lifecycle=lifecycle, today=today))


def render_version(engine: Engine, version: Version, resource: str | None = None, *,
                   source: bool = False, lifecycle: Lifecycle | None = None,
                   today: dt.date | None = None) -> RenderableType:
    """How ``version`` resolved and, per resource (or only ``resource``), what migrates it.

    A header (requested string, resolved name, release, channel, warning, and
    with ``lifecycle`` its state on ``today``), then for each resource a tree
    per direction: the changes in the order they apply with their operations,
    and what the compiler made of them. ``source=True`` adds the generated code.
    """
    parts: list[RenderableType] = [_header(engine, version, lifecycle, today)]
    if version.is_head:
        parts.append(Text(f"{version.name} is the head: nothing is migrated, payloads pass "
                          "through untouched."))
        return Group(*parts)
    resources = sorted({name for change in version.pending for name in change.operations})
    if resource is not None:
        if resource not in resources:
            parts.append(Text(f"no change pending at {version.name} touches {resource!r}: "
                              "it is served in the head shape."))
            return Group(*parts)
        resources = [resource]
    for name in resources:
        for direction, title, order in _DIRECTIONS:
            parts.append(Text(""))
            parts.append(_direction_tree(engine, version, name, direction, f"{name}  {title}, "
                                         f"{order}"))
            if source:
                parts.extend(_sources(engine, version, name, direction))
    return Group(*parts)


def render_timeline(timeline: Timeline) -> RenderableType:
    """A table of the timeline's versions, oldest first, with the changes each one brings.

    Unreleased stages (beta, experimental) come last; retroactive changes apply
    to every version and are counted apart.
    """
    table = Table(title=Text(f"timeline {timeline.name!r} ({timeline.scheme})"),
                  title_justify="left")
    for column in ("version", "changes", "breaking", "retroactive", "resources"):
        table.add_column(column, justify="right" if column in ("changes", "breaking",
                                                                "retroactive") else "left")
    rows: list[tuple[str, list[Change]]] = [(timeline.initial + " (initial)", [])]
    for name in timeline.versions[1:]:
        rows.append((name, [c for c in timeline.changes
                            if c.stage == "released" and c.label == name]))
    for stage in ("beta", "experimental"):
        staged = [c for c in timeline.changes if c.stage == stage]
        if staged:
            rows.append((f"{stage} (unreleased)", staged))
    for name, changes in rows:
        breaking = sum(_breaking(change) for change in changes)
        retroactive = sum(change in timeline.retroactive for change in changes)
        touched = sorted({r for change in changes for r in change.resources})
        cells = (name, str(len(changes)), str(breaking), str(retroactive),
                 ", ".join(touched) or "-")
        table.add_row(*(Text(cell) for cell in cells))
    return table


# -- the header ---------------------------------------------------------------


def _header(engine: Engine, version: Version, lifecycle: Lifecycle | None,
            today: dt.date | None) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    rows = [("requested", repr(version.requested)), ("resolved", _resolved(version)),
            ("channel", version.channel),
            ("unstable", "yes: it may change" if version.unstable else "no")]
    if version.warning:
        rows.append(("warning", version.warning))
    if lifecycle is not None:
        rows.append(("lifecycle", _lifecycle(lifecycle, version, today)))
    pending = len(version.pending)
    rows.append(("pending", f"{_plural(pending, 'change')} to migrate" if pending else "none"))
    retroactive = len(engine.timeline.retroactive)
    if retroactive:
        rows.append(("retroactive", f"{_plural(retroactive, 'change')} "
                     f"appl{'ies' if retroactive == 1 else 'y'} to every version, never migrated"))
    for key, value in rows:  # Text, not str: names and warnings are not console markup
        grid.add_row(Text(key), Text(value))
    return Panel(grid, title=Text(f"version {version.name}"), title_align="left", expand=False)


def _resolved(version: Version) -> str:
    if version.channel == "initial":
        return f"{version.name}, the initial version (before the first release)"
    if version.channel == "experimental":
        return f"{version.name}, the head (unreleased changes included)"
    released = f", released {version.release.isoformat()}" if version.release else ""
    if version.channel == "beta":
        return f"{version.name}, the newest release{released} plus the beta changes"
    return f"{version.name}{released}"


def _lifecycle(lifecycle: Lifecycle, version: Version, today: dt.date | None) -> str:
    status = lifecycle.status(version, today)
    since, sunset, days = status.deprecated_since, status.sunset, status.days_until_sunset
    if status.state == "removed" and sunset is not None and days is not None:
        return (f"removed since {sunset.isoformat()} ({_plural(-days, 'day')} ago): "
                "requests for it get 410 Gone")
    words: list[str] = [status.state]
    if since is not None:
        words = [f"deprecated since {since.isoformat()}" if status.state == "deprecated"
                 else f"{status.state}, to be deprecated on {since.isoformat()}"]
    if sunset is not None and days is not None:
        words.append(f"sunset on {sunset.isoformat()}, in {_plural(days, 'day')}")
    return "; ".join(words)


# -- the trees ----------------------------------------------------------------


def _direction_tree(engine: Engine, version: Version, resource: str, direction: Direction,
                    title: str) -> Tree:
    tree = Tree(Text(title))
    ordered = _in_order(version.pending, direction)
    for change in ordered:
        ops = change.operations.get(resource)
        if not ops:
            continue
        node = tree.add(_change_label(engine.timeline, change))
        for op in reversed(ops) if direction == "down" else ops:
            node.add(Text(op.description))
    kept = [c for c in _in_order(engine.timeline.retroactive, direction)
            if resource in c.operations]
    if kept:
        node = tree.add(Text("not migrated: retroactive changes apply to every version"))
        for change in kept:
            node.add(_change_label(engine.timeline, change))
    functions = _functions(engine, version, resource, direction)
    total = len(engine.pipeline(version, direction).passes)
    tree.add(_compiled(engine, functions, direction, total))
    return tree


def _in_order(changes: Iterable[Change], direction: Direction) -> list[Change]:
    """``changes`` in the order ``direction`` applies them: down newest first, up oldest first."""
    return sorted(changes, key=lambda change: change.sort_key, reverse=direction == "down")


def _change_label(timeline: Timeline, change: Change) -> Text:
    summary = change.description.splitlines()[0] if change.description else ""
    tags = ["breaking" if _breaking(change) else "compatible"]
    if change in timeline.retroactive:
        tags.append("retroactive")
    if change.side_effects:
        tags.append("side effects")
    return Text(f"{change.label}  {change.id}  [{', '.join(tags)}]  {summary}")


def _breaking(change: Change) -> bool:
    return any(is_breaking(op, resource, change.declarations)
               for resource, ops in change.resources.items() for op in ops)


def _functions(engine: Engine, version: Version, resource: str,
               direction: Direction) -> list[tuple[int, CompiledFunction]]:
    """The compiled functions of ``resource``, with the number of the pass each runs in."""
    passes = engine.pipeline(version, direction).passes
    return [(index, table[resource]) for index, table in enumerate(passes, 1)
            if resource in table]


def _compiled(engine: Engine, functions: Sequence[tuple[int, CompiledFunction]],
              direction: Direction, total: int) -> Tree:
    if not functions:
        return Tree(Text("compiled: nothing to run (no payload steps)"))
    steps = sum(len(function.steps) for _, function in functions)
    count = len(functions)
    passes = (_plural(count, "pass") if total == count
              else f"{count} of the pipeline's {total} passes")
    node = Tree(Text(f"compiled: {_plural(steps, 'step')} in {passes}"))
    if direction == "up":
        node.add(Text("requests run their steps as declared, without fusion"))
    for index, function in functions:
        parent = node
        if count > 1:
            origins = _in_order({c for fused in function.steps for c in fused.origins},
                                direction)
            why = ""
            if len(origins) == 1 and origins[0].is_barrier(engine.discriminator, direction):
                why = " (a barrier: it reaches nested resources, so it walks alone)"
            parent = node.add(Text(f"pass {index}: {_plural(len(function.steps), 'step')} "
                                   f"from {_ids(origins)}{why}"))
        for fused in function.steps:
            parent.add(Text(_code_text(fused, direction)))
        for gone in function.cancelled:
            parent.add(Text(_cancelled_text(gone)))
    return node


def _cancelled_text(gone: Cancelled) -> str:
    """A value set by some changes that a later change drops: it is never computed."""
    return (f"cancelled: {gone.key!r} is set by {_ids(gone.set_by)} and dropped by "
            f"{gone.dropped_by.id}, so its value is never computed")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'es' if word.endswith('s') else 's'}" if count != 1 \
        else f"1 {word}"


def _code_text(fused: FusedStep, direction: Direction) -> str:
    """What the generated code of one planned step does, and the changes it stands for."""
    step = fused.step
    origins = _ids(_in_order(fused.origins, direction))
    source = f" ({'fused from' if fused.fused else 'from'} {origins})" if origins else ""
    if isinstance(step, Rebuild):
        renames = [f"rename {old!r} to {new!r}" for old, new in step.renames.items()]
        drops = [f"drop {key!r}" for key in sorted(step.drops)]
        if step.form == "rebuild":
            return f"one dict rebuild{source}: {', '.join(renames + drops)}"
        if step.form == "filter":
            then = f", then statements: {', '.join(renames)}" if renames else ""
            return (f"one filter comprehension{source}: drop {len(drops)} properties "
                    f"({', '.join(repr(key) for key in sorted(step.drops))}){then}")
        kind = "statement" if len(drops) + len(renames) == 1 else "statements"
        return f"{kind}{source}: {', '.join(drops + renames)}"
    if fused.how == "composed":
        return f"one composed table{source}: {_step_text(step)}"
    if fused.how == "fill_absent":
        assert isinstance(step, Fill)
        return (f"statement{source}: set {step.key!r} to {step.default!r} "
                "(absent here, so without a check)")
    if _called(step):
        return f"call{source}: {_step_text(step)}"
    nested = isinstance(step, Move) and max(len(step.src), len(step.dst)) > 1
    return f"{'statements' if nested else 'statement'}{source}: {_step_text(step)}"


def _called(step: Step) -> bool:
    """True for the steps the generated code calls rather than inlines (as the compiler emits)."""
    if type(step) is Move:
        return len(step.src) > 2 or len(step.dst) > 2
    return type(step) not in (Drop, Fill, MapValues, Convert, Collapse)


def _ids(changes: Iterable[Change]) -> str:
    return ", ".join(dict.fromkeys(change.id for change in changes))


def _step_text(step: Step) -> str:
    """One step in plain words."""
    if isinstance(step, Move):
        verb = "rename" if len(step.src) == len(step.dst) == 1 else "move"
        return f"{verb} {'.'.join(step.src)!r} to {'.'.join(step.dst)!r}"
    if isinstance(step, Drop):
        return f"drop {step.key!r}"
    if isinstance(step, Fill):
        value = "a computed value" if step.compute is not None else repr(step.default)
        return f"fill {step.key!r} with {value} where it is absent"
    if isinstance(step, MapValues):
        items = (step.table.items() if step.exact is None
                 else [(old, new) for (_, old), new in step.exact.items()])
        pairs = ", ".join(f"{old!r} -> {new!r}" for old, new in items)
        return f"map values of {step.key!r}: {pairs}"
    if isinstance(step, Convert):
        return f"convert {step.key!r} with {getattr(step.fn, '__name__', 'a function')}"
    if isinstance(step, Collapse):
        return f"collapse {step.key!r} to its id"
    if isinstance(step, Expand):
        return f"expand the id in {step.key!r} to an object"
    if isinstance(step, Call):
        return f"custom transform {getattr(step.fn, '__name__', 'function')}"
    return type(step).__name__


# -- the source ---------------------------------------------------------------


def _sources(engine: Engine, version: Version, resource: str,
             direction: Direction) -> list[RenderableType]:
    parts: list[RenderableType] = []
    for index, function in _functions(engine, version, resource, direction):
        parts.append(Text(f"generated source, {direction} {resource}, pass {index}:"))
        parts.append(Syntax(function.source.rstrip("\n"), "python", theme="ansi_dark"))
    return parts
