"""The ``datever`` command: resolve, inspect, diff, changelog, new, check, migrate,
schema and openapi.

rich is imported here and in datever.printer only, never by ``import datever``.
Nothing is said by colour alone: every tag and level is also written out.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import importlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from datever import bulk, changelog, scaffold
from datever.changes import SCHEMAS_FILE, Change, load_schemas
from datever.check import Problem, collect_problems, history_problems, lock_problems
from datever.cli_parser import parse
from datever.config import PYPROJECT, Config, ConfigError, find_config
from datever.engine import Engine
from datever.errors import ChangeError, VersionError
from datever.lifecycle import Lifecycle
from datever.lock import (
    LOCK_FILE,
    Lock,
    LockError,
    head_lock,
    head_schemas,
    loadable_changes,
    read_lock,
    write_lock,
)
from datever.versions import Timeline, Version, utc_today
from datever.web.routing import Routes

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main"]

_MB = 1 << 20
_DECODER = msgspec.json.Decoder()
Json = dict[str, Any]
Row = tuple[str, str | Sequence[str]]


class _UsageError(Exception):
    """A mistake on the command line: exit status 2."""


# -- setting up: options, today, the engine ----------------------------------------


def _import_object(spec: str, option: str, kinds: tuple[type, ...], what: str = "") -> Any:
    """``MODULE:ATTR`` imported, the current directory first on the path (as uvicorn
    does); it must be an instance of one of ``kinds`` (``what`` says so in words)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise _UsageError(f"{option} {spec!r}: write it as MODULE:ATTR (myapi.versions:engine)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise _UsageError(f"{option} {spec!r}: no module named {exc.name!r}") from None
        raise _UsageError(f"{option} {spec!r}: importing {module_name} needs {exc.name!r}, "
                          "which is not installed") from None
    for part in attr.split("."):
        if not hasattr(found, part):
            raise _UsageError(f"{option} {spec!r}: {module_name} has no attribute {attr!r}")
        found = getattr(found, part)
    if not isinstance(found, kinds):
        raise _UsageError(f"{option} {spec}: got {type(found).__name__}, not " + (
            what or " or ".join(f"a {kind.__module__}.{kind.__qualname__}" for kind in kinds)))
    return found


def _said(args: argparse.Namespace, key: str) -> str:
    """Who gave option ``key``: ``--key``, or the configuration file's table."""
    return str(getattr(args, "configured", {}).get(key, f"--{key}"))


class _Context:
    """What every command needs: the options, today, the consoles and (lazily) the engine."""

    def __init__(self, args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
        from rich.console import Console

        self.args, self.parser = args, parser
        self.today: dt.date = args.today or utc_today()
        # soft_wrap: lines stay whole when piped, so they can be grepped; the
        # terminal wraps them. markup off: descriptions may contain [brackets].
        options: dict[str, Any] = {"no_color": True if args.no_color else None,
                                   "highlight": False, "markup": False, "emoji": False,
                                   "soft_wrap": True}
        self.out = Console(**options)
        self.err = Console(stderr=True, **options)
        self._engine: Engine | None = None

    def error(self, message: str) -> None:
        self.err.print("datever: error: ", style="bold red", end="")
        self.err.print(message)

    @property
    def changes_dir(self) -> Path:
        return Path(self.args.changes or "changes")

    def engine(self) -> Engine:
        if self._engine is None and self.args.timeline:
            found = _import_object(self.args.timeline, _said(self.args, "timeline"),
                                   (Timeline, Engine))
            self._engine = Engine(found) if isinstance(found, Timeline) else found
        elif self._engine is None:
            if not self.changes_dir.is_dir():
                raise _UsageError(f"no changes directory at {str(self.changes_dir)!r}; give "
                                  "--changes DIR or --timeline MODULE:ATTR")
            self._engine = Engine.from_directory(self.changes_dir)
        return self._engine

    def resolve(self, text: str) -> Version:
        return self.engine().resolve(text, today=self.today)

    def lifecycle(self) -> Lifecycle | None:
        spec = getattr(self.args, "lifecycle", None)
        return None if spec is None else _import_object(spec, _said(self.args, "lifecycle"),
                                                             (Lifecycle,))

    def usage_error(self, message: str) -> int:
        """Say what is wrong with the command line, as argparse does: exit status 2."""
        self.parser.print_usage(sys.stderr)
        sys.stderr.write(f"{self.parser.prog}: error: {message}\n")
        return 2


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _rows(console: Console, rows: Sequence[Row]) -> None:
    """Aligned ``key  value`` lines; a list value continues on indented lines."""
    width = max(len(key) for key, _ in rows) + 2
    for key, value in rows:
        values = [value] if isinstance(value, str) else list(value) or ["none"]
        console.print(key.ljust(width), style="bold", end="")
        console.print(values[0])
        for more in values[1:]:
            console.print(" " * width + more)


# -- resolve -----------------------------------------------------------------------


def _resolution(ctx: _Context, version: Version) -> tuple[Json, list[Row]]:
    """What ``version`` resolved to, as JSON and as rows; with --lifecycle, its state."""
    lifecycle = ctx.lifecycle()
    data: Json = {
        "requested": version.requested, "name": version.name, "channel": version.channel,
        "release": version.release.isoformat() if version.release else None,
        "unstable": version.unstable, "warning": version.warning,
        "pending": len(version.pending), "pending_changes": [c.id for c in version.pending]}
    rows: list[Row] = [
        ("requested", version.requested), ("name", version.name), ("channel", version.channel),
        ("release", data["release"] or "none"), ("unstable", "yes" if version.unstable else "no"),
        ("warning", version.warning or "none"),
        ("pending", f"{_plural(len(version.pending), 'change')} to undo for this version")]
    if lifecycle is not None:
        status = lifecycle.status(version, ctx.today)
        signals = lifecycle.signals(version, ctx.today)
        data["status"] = msgspec.to_builtins(status)  # dates as YYYY-MM-DD
        data["http_status"] = signals.status
        data["headers"] = [list(header) for header in signals.headers]
        data["body"] = json.loads(signals.body) if signals.body else None
        rows += [("status", status.state), ("messages", status.messages),
                 ("http", f"{signals.status}" + ("" if signals.proceed else
                                                 f" {(signals.body or b'').decode()}")),
                 ("headers", [f"{name}: {value}" for name, value in signals.headers])]
    return data, rows


def _cmd_resolve(ctx: _Context) -> int:
    data, rows = _resolution(ctx, ctx.resolve(ctx.args.version))
    if ctx.args.json:
        _print_json(data)
    else:
        _rows(ctx.out, rows)
    return 0


# -- inspect -----------------------------------------------------------------------


def _pipelines_json(engine: Engine, version: Version, only: str | None) -> Json:
    """Per resource and direction, the changes in the order they apply, with their
    operations, and the generated source."""
    names = sorted({name for change in version.pending for name in change.resources})
    found: Json = {}
    for resource in names if only is None else [only] if only in names else []:
        found[resource] = {}
        for direction in ("down", "up"):
            pending = [c for c in version.pending if resource in c.resources]
            ops = [list(c.resources[resource]) for c in pending]
            if direction == "down":
                pending, ops = pending[::-1], [list(reversed(o)) for o in ops[::-1]]
            source = [f.source for f in engine.pipeline(version, direction).functions()
                      if f.resource == resource]
            found[resource][direction] = {
                "changes": [{"id": change.id, "release": change.label,
                             "operations": [str(op) for op in change_ops]}
                            for change, change_ops in zip(pending, ops, strict=True)],
                "source": "\n".join(source)}
    return found


def _cmd_inspect(ctx: _Context) -> int:
    engine, version, lifecycle = ctx.engine(), ctx.resolve(ctx.args.version), ctx.lifecycle()
    if ctx.args.json:
        data, _ = _resolution(ctx, version)
        _print_json({**data, "resources": _pipelines_json(engine, version, ctx.args.resource)})
        return 0
    try:
        from datever.printer import print_version
    except ModuleNotFoundError as exc:  # the rich printer is not there: plain text
        if exc.name != "datever.printer":
            raise
        ctx.out.print(f"{version.requested!r} resolves to {version.name} ({version.channel}); "
                      f"{_plural(len(version.pending), 'change')} to undo")
        for direction in ("down", "up"):
            for function in engine.pipeline(version, direction).functions():
                if ctx.args.resource in (None, function.resource):
                    ctx.out.print(f"{function.resource} {direction}: {function.source}")
        return 0
    from rich.console import Console

    # Its panels and trees wrap to the terminal, which the line-oriented out does not.
    console = Console(no_color=True if ctx.args.no_color else None)
    print_version(console, engine, version, ctx.args.resource, source=ctx.args.source,
                  lifecycle=lifecycle, today=ctx.today)
    return 0


# -- diff --------------------------------------------------------------------------


def _cmd_diff(ctx: _Context) -> int:
    a, b = ctx.resolve(ctx.args.a), ctx.resolve(ctx.args.b)
    timeline = ctx.engine().timeline
    only_a, only_b = set(b.pending) - set(a.pending), set(a.pending) - set(b.pending)
    changes = sorted(only_a | only_b, key=lambda change: change.sort_key)
    by_resource: dict[str, list[Change]] = {}
    for change in changes:
        for resource in change.resources or ["(side effects)"]:
            by_resource.setdefault(resource, []).append(change)
    if ctx.args.json:
        _print_json({
            "a": {"requested": a.requested, "name": a.name},
            "b": {"requested": b.requested, "name": b.name},
            "changes": [{**changelog.change_json(change, timeline),
                         "only_in": "a" if change in only_a else "b"} for change in changes]})
        return 0
    out = ctx.out
    out.print(f"A: {a.requested} resolves to {a.name}")
    out.print(f"B: {b.requested} resolves to {b.name}")
    if not changes:
        out.print("no changes between them")
        return 0
    out.print(f"{_plural(len(changes), 'change')}: {len(only_b)} only in B (+), "
              f"{len(only_a)} only in A (-)")
    for resource, found in sorted(by_resource.items()):
        out.print()
        out.print(resource, style="bold")
        for change in found:
            sign = "-" if change in only_a else "+"
            out.print(f"  {sign} {change.label}  {change.id}: {changelog.summary(change)}")
            for op in change.resources.get(resource, ()):
                out.print(f"      {op}", style="dim")
    return 0


# -- changelog ---------------------------------------------------------------------


def _cmd_changelog(ctx: _Context) -> int:
    timeline = ctx.engine().timeline
    since = ctx.resolve(ctx.args.since) if ctx.args.since else None
    changes = since.pending if since else timeline.changes
    releases = changelog.releases(changes, newest_first=since is None)
    title = (f"Upgrading from {since.requested} ({since.name}): {_plural(len(changes), 'change')}, "
             "oldest first" if since else "Changelog")
    if ctx.args.json or ctx.args.format == "json":
        _print_json({"since": {"requested": since.requested, "name": since.name}
                     if since else None,
                     "releases": [{"release": label,
                                   "changes": [changelog.change_json(change, timeline)
                                               for change in found]}
                                  for label, found in releases]})
    elif ctx.args.format == "markdown":
        sys.stdout.write(changelog.markdown(title, releases, timeline, since is not None))
    else:
        changelog.print_rich(ctx.out, title, releases, timeline, since is not None)
    return 0


# -- new ---------------------------------------------------------------------------


def _cmd_new(ctx: _Context) -> int:
    summary, stage = " ".join(ctx.args.summary.split()), ctx.args.stage
    if not scaffold.slug(summary):
        return ctx.usage_error(f"{summary!r}: the summary needs letters or digits for a "
                               "file name")
    path = ctx.changes_dir / scaffold.file_name(summary, ctx.today, stage)
    ctx.changes_dir.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(scaffold.source(summary, ctx.today, stage))
    except FileExistsError:
        ctx.error(f"{path} already exists; edit it, or choose another summary")
        return 1
    if ctx.args.json:
        _print_json({"path": str(path), "id": path.stem,
                     "release": stage or ctx.today.isoformat()})
    else:
        ctx.out.print(f"created {path}")
        ctx.out.print("next: describe the change and its operations (the TODOs), then run "
                      "`datever check`")
    return 0


# -- check -------------------------------------------------------------------------


def _routes_table(ctx: _Context) -> Routes | None:
    """--routes: a Routes, a "METHOD /path" -> resource (or (request, response)) mapping,
    or an object carrying its Routes as ``.routes`` (an API, a Versioning)."""
    spec = ctx.args.routes
    if spec is None:
        return None
    said = _said(ctx.args, "routes")
    found = _import_object(spec, said, (object,))
    table = getattr(found, "routes", found)
    if isinstance(table, Routes):
        return table
    if isinstance(table, Mapping):
        try:
            return Routes.from_mapping(table)
        except ValueError as exc:
            raise _UsageError(f"{said} {spec}: {exc}") from None
    raise _UsageError(f"{said} {spec}: got {type(found).__name__}, not a "
                      'datever.web.routing.Routes, a mapping of "METHOD /path" to resource, '
                      "or an object with such .routes")


def _routes(ctx: _Context) -> set[str]:
    """The request resources of --routes."""
    table = _routes_table(ctx)
    return {resource for _, _, resource in table} if table is not None else set()


def _cmd_check(ctx: _Context) -> int:
    lifecycle, routes = ctx.lifecycle(), _routes(ctx)
    if ctx.args.timeline:
        engine = ctx.engine()
        found = history_problems(engine.timeline.changes, lifecycle=lifecycle,
                                 today=ctx.today, routes=routes,
                                 discriminator=engine.discriminator)
    else:
        found = collect_problems(ctx.changes_dir, lifecycle=lifecycle, today=ctx.today,
                                 routes=routes)
    found += _lock_problems(ctx)
    errors = sum(problem.level == "error" for problem in found)
    warnings = sum(problem.level == "warning" for problem in found)
    infos = len(found) - errors - warnings
    failed = bool(errors or (warnings and ctx.args.strict))
    if ctx.args.json:
        _print_json({"ok": not failed, "errors": errors, "warnings": warnings,
                     "problems": [problem.as_json() for problem in found]})
        return 1 if failed else 0
    styles = {"error": "bold red", "warning": "yellow", "info": "dim"}
    for problem in found:
        ctx.out.print(f"{problem.level}: ", style=styles[problem.level], end="")
        ctx.out.print(f"{problem.kind}: {problem}")
    counted = _plural(warnings, "warning")
    ctx.out.print((f"{_plural(errors, 'problem')}, {counted}" if errors
                   else "no problems" + (f", {counted}" if warnings else "")
                   + (" (--strict: warnings fail)" if failed else ""))
                  + (f", {infos} info" if infos else ""))
    return 1 if failed else 0


# -- schema lock -------------------------------------------------------------------


def _lock_path(ctx: _Context) -> Path:
    return Path(ctx.args.lock) if ctx.args.lock else ctx.changes_dir / LOCK_FILE


def _head(spec: str | None, named_by: str = "--schemas", timeline: Timeline | None = None,
          directory: Path | None = None) -> Lock:
    """The lock of the head schemas ``spec`` names, or (None) of the ``schemas.py`` of the
    changes ``directory``; a bad object is a usage error."""
    try:
        if spec is None:
            found: object = load_schemas(directory) if directory is not None else None
            if found is None:
                raise _UsageError(f"no head schemas: give --schemas MODULE:ATTR or declare "
                                  f"them in {directory}/{SCHEMAS_FILE}")
            return head_lock(*head_schemas(found, str(directory)), timeline=timeline)
        found = _import_object(spec, named_by, (object,))
        return head_lock(*head_schemas(found, f"{named_by} {spec}"), timeline=timeline,
                         schemas=spec)
    except LockError as exc:
        raise _UsageError(str(exc)) from None


def _lock_problems(ctx: _Context) -> list[Problem]:
    """With a schema lock, the differences of the head from it (see datever.lock)."""
    path, spec = _lock_path(ctx), ctx.args.schemas
    if not path.is_file():
        return [] if spec is None else [Problem(
            "warning", "lock", f"no schema lock at {str(path)!r} to hold the head to: write "
            f"it with `datever schema lock --schemas {spec}` and commit it")]
    try:
        lock = read_lock(path)
    except LockError as exc:
        return [Problem("error", "lock", exc.detail, exc.file)]
    spec = spec or lock.schemas
    if spec is None and not (ctx.changes_dir / SCHEMAS_FILE).is_file():
        return [Problem("error", "lock", f"the lock names no head schemas: give --schemas "
                        f"MODULE:ATTR or declare them in {SCHEMAS_FILE}", str(path))]
    head = _head(spec, _said(ctx.args, "schemas") if ctx.args.schemas else f"{path} names schemas",
                 directory=ctx.changes_dir)
    changes = (ctx.engine().timeline.changes if ctx.args.timeline
               else loadable_changes(ctx.changes_dir))
    return lock_problems(str(path), lock, head, changes)


def _cmd_schema(ctx: _Context) -> int:
    spec, path = ctx.args.schemas, _lock_path(ctx)
    if spec is None and not (ctx.changes_dir / SCHEMAS_FILE).is_file():
        raise _UsageError(f"schema lock needs the head's msgspec Structs: --schemas "
                          f"MODULE:ATTR, or a {SCHEMAS_FILE} in the changes directory "
                          "(see --help)")
    timeline = (ctx.engine().timeline if ctx.args.timeline or ctx.changes_dir.is_dir()
                else None)
    lock = _head(spec, timeline=timeline, directory=ctx.changes_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_lock(path, lock)
    sides = {name: side for name, (side, _) in sorted(lock.resources.items())}
    if ctx.args.json:
        _print_json({"path": str(path), "schemas": spec, "newest_release": lock.newest,
                     "resources": sides})
        return 0
    requests = sum(side == "request" for side in sides.values())
    ctx.out.print(f"wrote {path}: {_plural(len(sides) - requests, 'response resource')}, "
                  f"{requests} request {'body' if requests == 1 else 'bodies'}, newest release "
                  f"{lock.newest or 'none'}")
    for name, side in sides.items():
        ctx.out.print(f"  {name}  ({side})")
    ctx.out.print("commit it: `datever check` compares the head with it")
    return 0


# -- openapi -----------------------------------------------------------------------


def _cmd_openapi(ctx: _Context) -> int:
    from datever.api import API
    from datever.schemas import Schemas

    routes, lifecycle = _routes_table(ctx), ctx.lifecycle()
    schemas = (_import_object(ctx.args.schemas, _said(ctx.args, "schemas"), (Schemas,))
               if ctx.args.schemas else None)
    source: Path | Timeline = ctx.changes_dir
    discriminator = "object"
    if ctx.args.timeline or not ctx.changes_dir.is_dir():  # the engine says what is missing
        engine = ctx.engine()
        source, discriminator = engine.timeline, engine.discriminator
    try:
        api = API(source, routes=routes, lifecycle=lifecycle, schemas=schemas,
                  discriminator=discriminator)
        _print_json(api.openapi(ctx.args.version, today=ctx.today, title=ctx.args.title))
    except ValueError as exc:
        ctx.error(str(exc))
        return 1
    return 0


# -- migrate -----------------------------------------------------------------------


class _Migration:
    """Migrates inputs (one JSON document, or NDJSON line by line, with ``--jobs``
    processes), writes the results in input order and counts them."""

    def __init__(self, ctx: _Context, version: Version, sink: IO[bytes],
                 advance: Callable[[int], object]) -> None:
        self.ctx, self.args, self.version, self.sink = ctx, ctx.args, version, sink
        self.engine, self.advance = ctx.engine(), advance
        self.task = bulk.Task(ctx.args.version, up=ctx.args.up, resource=ctx.args.resource,
                              today=ctx.today)
        self.factory = functools.partial(
            _rebuilt, None if ctx.args.timeline else str(ctx.changes_dir.resolve()),
            ctx.args.timeline, tuple(sys.path[:2]))
        self.lines = self.migrated = self.failed = self.bytes = 0
        self.stopped = False

    def _report(self, result: bulk.Result, name: str) -> None:
        if isinstance(result, bulk.Migrated):
            self.lines += result.count
            self.migrated += result.count
            self.sink.write(result.output)
            return
        self.lines += 1
        self.failed += 1
        self.stopped = self.args.strict
        self.ctx.error(f"{name}{result.error}")

    def stream(self, source: IO[bytes], name: str) -> None:
        """One JSON document (over one line or several), or NDJSON line by line."""
        lines: Iterable[bytes] = source
        first = source.readline()
        if first.strip() and not self._is_json(first):
            whole = first + source.read()
            if self._is_json(whole):
                self._counted(len(whole))
                for result in bulk.migrate_stream(self.engine, [whole], self.task):
                    self._report(result, f"{name}: ")
                return
            first, *lines = whole.splitlines(keepends=True)
        results = bulk.migrate_stream(self.engine, self._read(itertools.chain([first], lines)),
                                      self.task, jobs=self.args.jobs,
                                      engine_factory=self.factory)
        try:
            for result in results:
                number = result.number if isinstance(result, bulk.Failed) else 0
                self._report(result, f"{name}:{number}: ")
                if self.stopped:
                    return
        finally:
            results.close()  # --strict: the workers stop too

    def _counted(self, size: int) -> None:
        self.bytes += size
        self.advance(size)

    def _read(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        for line in lines:
            self._counted(len(line))
            yield line

    @staticmethod
    def _is_json(data: bytes) -> bool:
        try:
            _DECODER.decode(data)
        except msgspec.DecodeError:
            return False
        return True


def _rebuilt(changes: str | None, timeline: str | None, path: tuple[str, ...]) -> Engine:
    """The engine of --changes or --timeline, built again in a --jobs worker process."""
    for folder in reversed(path):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    if timeline is not None:
        found = _import_object(timeline, "--timeline", (Timeline, Engine))
        return Engine(found) if isinstance(found, Timeline) else found
    assert changes is not None
    return Engine.from_directory(changes)


def _size(name: str) -> int:
    try:
        return os.fstat(sys.stdin.fileno()).st_size if name == "-" else os.stat(name).st_size
    except (OSError, ValueError):
        return 0


def _cmd_migrate(ctx: _Context) -> int:
    args, names = ctx.args, ctx.args.files or ["-"]
    if args.up and not args.resource:
        raise _UsageError("--up needs --resource (the request body, e.g. charge.create)")
    for name in names:
        if name != "-" and not Path(name).is_file():
            raise _UsageError(f"{name}: no such file")
    version, total = ctx.resolve(args.version), sum(_size(name) for name in names)
    progress = None
    if total > _MB and (args.progress or ctx.err.is_terminal):
        import rich.progress as bar

        progress = bar.Progress(bar.TextColumn("migrating"), bar.BarColumn(),
                                bar.DownloadColumn(), bar.TransferSpeedColumn(),
                                bar.TimeRemainingColumn(), console=ctx.err)
    advance = (functools.partial(progress.advance, progress.add_task("", total=total))
               if progress else _ignore)
    migration = _Migration(ctx, version, sys.stdout.buffer, advance)
    started = time.perf_counter()
    with progress or contextlib.nullcontext():
        for name in names:
            if name == "-":
                migration.stream(sys.stdin.buffer, "<stdin>")
            else:
                with open(name, "rb") as source:
                    migration.stream(source, name)
            if migration.stopped:
                break
        sys.stdout.buffer.flush()
    elapsed = time.perf_counter() - started
    rate = (f" ({migration.bytes / _MB / elapsed:.1f} MB/s, "
            f"{migration.lines / elapsed:,.0f} documents/s)" if elapsed > 0 else "")
    ctx.err.print(f"{'up from' if args.up else 'down to'} {version.name}: "
                  f"{_plural(migration.lines, 'line')}, {migration.migrated} migrated, "
                  f"{migration.failed} failed, {elapsed:.2f} s{rate}"
                  + ("; stopped at the first failure (--strict)" if migration.stopped else ""))
    return 1 if migration.failed else 0


def _ignore(count: int) -> None:
    """No progress bar to advance."""


_HANDLERS: dict[str, Callable[[_Context], int]] = {
    "resolve": _cmd_resolve, "inspect": _cmd_inspect, "diff": _cmd_diff,
    "changelog": _cmd_changelog, "new": _cmd_new, "check": _cmd_check, "migrate": _cmd_migrate,
    "schema": _cmd_schema,
    "openapi": _cmd_openapi,
}


def _configure(args: argparse.Namespace) -> Config | None:
    """Fill the options the command line leaves unsaid from ``[tool.datever]`` (see
    datever.config), unless the command line names another history (--changes or
    --timeline)."""
    if args.changes or args.timeline:
        return None
    config = find_config()
    if config is None:
        return None
    table = f"{config.root / PYPROJECT} [tool.datever]"
    args.configured = {}
    if config.timeline and args.command != "new":
        args.timeline = config.timeline
        args.configured["timeline"] = f"{table} timeline"
    elif config.changes:
        args.changes = str(config.path(config.changes))
    for key in ("schemas", "routes", "lifecycle", "title"):
        if getattr(args, key, False) is None and getattr(config, key) is not None:
            setattr(args, key, getattr(config, key))
            args.configured[key] = f"{table} {key}"
    if getattr(args, "lock", False) is None and config.lock:
        args.lock = str(config.path(config.lock))
    root = str(config.root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args, command = parse(list(sys.argv[1:] if argv is None else argv))
    ctx = _Context(args, command)
    try:
        _configure(args)
    except ConfigError as exc:
        ctx.error(str(exc))
        return 2
    try:
        return int(_HANDLERS[args.command](ctx))
    except VersionError as exc:
        ctx.error(str(exc).removesuffix(f" (accepted forms: {exc.accepted})"))
        ctx.err.print(f"accepted forms: {exc.accepted}")
        return 2
    except _UsageError as exc:
        return ctx.usage_error(str(exc))
    except ChangeError as exc:
        ctx.error(str(exc))
        ctx.err.print("run `datever check` to list every problem")
        return 1
    except BrokenPipeError:  # e.g. `datever changelog | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
