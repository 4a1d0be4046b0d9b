"""The ``datever`` command: resolve, inspect, diff, changelog, new, check and migrate.

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
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from datever import changelog
from datever.changes import Change, parse_release_date
from datever.check import collect_problems, history_problems
from datever.engine import Engine
from datever.errors import ChangeError, DateverError, VersionError
from datever.lifecycle import Lifecycle
from datever.versions import Timeline, Version, utc_today

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main"]

_MB = 1 << 20
Json = dict[str, Any]


class _UsageError(Exception):
    """A mistake on the command line: exit status 2."""


# -- setting up: options, today, the engine ----------------------------------------


def _day(text: str) -> dt.date:
    try:
        return parse_release_date(text)
    except ChangeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _import_object(spec: str, option: str, kinds: tuple[type, ...]) -> Any:
    """``MODULE:ATTR`` imported, the current directory first on the path (as uvicorn
    does); it must be an instance of one of ``kinds``."""
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
        raise
    for part in attr.split("."):
        if not hasattr(found, part):
            raise _UsageError(f"{option} {spec!r}: {module_name} has no attribute {attr!r}")
        found = getattr(found, part)
    if not isinstance(found, kinds):
        raise _UsageError(f"{option} {spec}: got {type(found).__name__}, not a "
                          + " or ".join(f"datever.{kind.__name__}" for kind in kinds))
    return found


class _Context:
    """What every command needs: the options, today, the consoles and (lazily) the engine."""

    def __init__(self, args: argparse.Namespace) -> None:
        from rich.console import Console

        self.args = args
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
            found = _import_object(self.args.timeline, "--timeline", (Timeline, Engine))
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
        return None if spec is None else _import_object(spec, "--lifecycle", (Lifecycle,))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _rows(console: Console, rows: Sequence[tuple[str, str | Sequence[str]]]) -> None:
    """Aligned ``key  value`` lines; a list value continues on indented lines."""
    width = max(len(key) for key, _ in rows) + 2
    for key, value in rows:
        values = [value] if isinstance(value, str) else list(value) or ["none"]
        console.print(key.ljust(width), style="bold", end="")
        console.print(values[0])
        for more in values[1:]:
            console.print(" " * width + more)


# -- changes as text and JSON ------------------------------------------------------


# -- resolve -----------------------------------------------------------------------


def _cmd_resolve(ctx: _Context) -> int:
    version, lifecycle = ctx.resolve(ctx.args.version), ctx.lifecycle()
    data: Json = {
        "requested": version.requested, "name": version.name, "channel": version.channel,
        "release": version.release.isoformat() if version.release else None,
        "unstable": version.unstable, "warning": version.warning,
        "pending": len(version.pending), "pending_changes": [c.id for c in version.pending]}
    rows: list[tuple[str, str | Sequence[str]]] = [
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
    if ctx.args.json:
        _print_json(data)
    else:
        _rows(ctx.out, rows)
    return 0


# -- inspect -----------------------------------------------------------------------


def _cmd_inspect(ctx: _Context) -> int:
    engine, version, lifecycle = ctx.engine(), ctx.resolve(ctx.args.version), ctx.lifecycle()
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
    if ctx.args.format == "json":
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

_SCAFFOLD = '''"""{summary}

TODO: what changed and why, what older versions still see, and whether going
down loses anything. This docstring is the changelog entry; its first line is
the summary.
"""

from datever import Change, rename

change = Change(
    {when},
    resources={{
        # One entry per resource type it touches: "charge" for a response resource
        # (found by its "object"), "charge.create" for a request body. Operations
        # take the old shape to the new one, in order: rename, move, add, remove,
        # map_values, convert, collapse, custom (all from datever).
        # TODO: replace this example with the real resource and operations.
        "example_{slug}": [rename("old_name", "new_name")],
    }},
)
'''


def _slug(summary: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", summary).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    while len(slug) > 50 and "_" in slug:
        slug = slug.rsplit("_", 1)[0]
    return slug


def _cmd_new(ctx: _Context) -> int:
    summary, stage = " ".join(ctx.args.summary.split()), ctx.args.stage
    slug = _slug(summary)
    if not slug:
        raise _UsageError(f"{summary!r}: the summary needs letters or digits for a file name")
    if ctx.args.timeline:
        raise _UsageError("new writes a module into --changes DIR, not into a --timeline")
    today = ctx.today.isoformat()
    name = f"{stage}_{slug}.py" if stage else f"{ctx.today:%Y_%m_%d}_{slug}.py"
    when = (f'released="{today}"' if stage is None else f'stage="{stage}"' + (
        f',\n    beta_since="{today}"' if stage == "beta" else ""))
    docstring = summary.replace("\\", "\\\\").replace('"', '\\"')
    path = ctx.changes_dir / name
    ctx.changes_dir.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(_SCAFFOLD.format(summary=docstring, when=when, slug=slug))
    except FileExistsError:
        ctx.error(f"{path} already exists; edit it, or choose another summary")
        return 1
    ctx.out.print(f"created {path}")
    return 0


# -- check -------------------------------------------------------------------------


def _cmd_check(ctx: _Context) -> int:
    lifecycle = ctx.lifecycle()
    if ctx.args.timeline:
        found = history_problems(ctx.engine().timeline.changes, lifecycle=lifecycle,
                                 today=ctx.today)
    else:
        found = collect_problems(ctx.changes_dir, lifecycle=lifecycle, today=ctx.today)
    errors = sum(problem.level == "error" for problem in found)
    warnings = len(found) - errors
    if ctx.args.json:
        _print_json({"errors": errors, "warnings": warnings, "problems": [
            {"level": p.level, "kind": p.kind, "file": p.file, "message": p.message}
            for p in found]})
        return 1 if errors else 0
    for problem in found:
        style = "bold red" if problem.level == "error" else "yellow"
        ctx.out.print(f"{problem.level}: ", style=style, end="")
        ctx.out.print(f"{problem.kind}: {problem}")
    counted = _plural(warnings, "warning")
    ctx.out.print(f"{_plural(errors, 'problem')}, {counted}" if errors
                  else "no problems" + (f", {counted}" if warnings else ""))
    return 1 if errors else 0


# -- migrate -----------------------------------------------------------------------


class _Migration:
    """Migrates inputs one JSON document or NDJSON line at a time, and counts them."""

    def __init__(self, ctx: _Context, version: Version, sink: IO[bytes],
                 advance: Callable[[int], object]) -> None:
        self.ctx, self.args, self.version, self.sink = ctx, ctx.args, version, sink
        self.engine, self.decoder, self.advance = ctx.engine(), msgspec.json.Decoder(), advance
        self.lines = self.migrated = self.failed = 0
        self.stopped = False

    def one(self, data: bytes, where: str) -> None:
        """Write ``data`` migrated, or report why it could not be."""
        self.lines += 1
        try:
            if self.args.up:
                out = self.engine.up_json(data, self.version, resource=self.args.resource)
            else:
                out = self.engine.down_json(data, self.version, resource=self.args.resource)
            if out is data:  # returned without decoding: still say when it is not JSON
                self.decoder.decode(data)
        except (DateverError, msgspec.DecodeError) as exc:
            self.failed += 1
            self.stopped = self.args.strict
            self.ctx.error(f"{where}: " + (f"invalid JSON: {exc}"
                                           if isinstance(exc, msgspec.DecodeError) else str(exc)))
            return
        self.migrated += 1
        self.sink.write(out + b"\n")

    def stream(self, source: IO[bytes], name: str) -> None:
        """One JSON document (over one line or several), or NDJSON line by line."""
        lines: Iterable[bytes] = source
        first = source.readline()
        if first.strip() and not self._is_json(first):
            whole = first + source.read()
            if self._is_json(whole):
                self.advance(len(whole))
                self.one(whole, name)
                return
            first, *lines = whole.splitlines(keepends=True)
        for number, line in enumerate(itertools.chain([first], lines), 1):
            self.advance(len(line))
            if line.strip():
                self.one(line.strip(), f"{name}:{number}")
            if self.stopped:
                return

    def _is_json(self, data: bytes) -> bool:
        try:
            self.decoder.decode(data)
        except msgspec.DecodeError:
            return False
        return True


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
    ctx.err.print(f"{'up from' if args.up else 'down to'} {version.name}: "
                  f"{_plural(migration.lines, 'line')}, {migration.migrated} migrated, "
                  f"{migration.failed} failed, {time.perf_counter() - started:.2f} s"
                  + ("; stopped at the first failure (--strict)" if migration.stopped else ""))
    return 1 if migration.failed else 0


def _ignore(count: int) -> None:
    """No progress bar to advance."""


# -- the parser --------------------------------------------------------------------

_EXAMPLES = """examples:
  datever resolve 2021-06-07               what a client on that date gets
  datever inspect v1 charge --source       the compiled pipelines of one resource
  datever diff 2021-06-07 X                what changes between two versions
  datever changelog --since 2021-06-07     upgrade notes from that version
  datever new "Refunds carry a reason"     scaffold today's change module
  datever check                            every problem of ./changes
  datever migrate 2021-06-07 events.ndjson migrate head-shaped JSON down

global options may also follow the command: datever resolve X --today 2024-01-01
exit status: 0 ok, 1 problems found or failures, 2 usage error or bad version
"""

_COMMANDS: dict[str, tuple[Callable[[_Context], int], str, str]] = {
    "resolve": (_cmd_resolve, "show what a version resolves to", """examples:
  datever resolve 2021-06-07
  datever resolve X --json
  datever resolve v1 --lifecycle myapi.lifecycle:LIFECYCLE --today 2025-01-01
"""),
    "inspect": (_cmd_inspect, "show a version's compiled pipelines", """examples:
  datever inspect v1                       every pipeline of the initial version
  datever inspect 2021-06-07 charge        one resource, both directions
  datever inspect X --source               with the generated source
"""),
    "diff": (_cmd_diff, "show what changes between two versions", """examples:
  datever diff 2021-06-07 2024-01-01       + only in B, - only in A, per resource
  datever diff v1 X --json
"""),
    "changelog": (_cmd_changelog, "the changelog, generated from the change modules", """examples:
  datever changelog                        newest first, unreleased on top
  datever changelog --format markdown > CHANGELOG.md
  datever changelog --since 2021-06-07     upgrade notes from that version, oldest first
"""),
    "new": (_cmd_new, "scaffold a change module", """examples:
  datever new "Refunds carry a reason"     changes/YYYY_MM_DD_refunds_carry_a_reason.py
  datever new "Declined charges" --stage beta    changes/beta_declined_charges.py
"""),
    "check": (_cmd_check, "validate a changes directory and list every problem", """examples:
  datever check
  datever --changes path/to/changes check --json
  datever check --lifecycle myapi.lifecycle:LIFECYCLE    support policies too
"""),
    "migrate": (_cmd_migrate, "migrate JSON or NDJSON between versions", """examples:
  datever migrate 2021-06-07 charge.json   one JSON document down to 2021-06-07
  cat events.ndjson | datever migrate v1 > v1.ndjson     NDJSON from stdin
  datever migrate 2021-06-07 --up --resource charge.create body.json
"""),
}


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # After a command they default to SUPPRESS, so they do not undo the ones before it.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    where = parser.add_mutually_exclusive_group()
    where.add_argument("--changes", metavar="DIR", default=default(None),
                       help="the changes directory (default ./changes)")
    where.add_argument("--timeline", metavar="MODULE:ATTR", default=default(None),
                       help="a Timeline or Engine to import instead")
    parser.add_argument("--today", metavar="YYYY-MM-DD", type=_day, default=default(None),
                        help="pin today's date (default: today in UTC)")
    parser.add_argument("--no-color", action="store_true", default=default(False),
                        help="no colours (NO_COLOR=1 does the same)")


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="datever", epilog=_EXAMPLES, formatter_class=raw,
                                     description="Work with a datever changes directory.")
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub: dict[str, argparse.ArgumentParser] = {}
    for name, (handler, summary, examples) in _COMMANDS.items():
        sub[name] = commands.add_parser(name, help=summary, description=summary + ".",
                                        epilog=examples, formatter_class=raw)
        sub[name].set_defaults(handler=handler)
        _global_options(sub[name], top=False)
    version_help = "2021-06-07, v2021-06-07, X, beta or v1"
    for name in ("resolve", "inspect", "migrate"):
        sub[name].add_argument("version", help=version_help)
    for name in ("resolve", "inspect", "check"):
        sub[name].add_argument("--lifecycle", metavar="MODULE:ATTR",
                               help="a datever.Lifecycle: status, headers and policies")
    for name in ("resolve", "diff", "check"):
        sub[name].add_argument("--json", action="store_true", help="print JSON")
    sub["inspect"].add_argument("resource", nargs="?", help="only this resource")
    sub["inspect"].add_argument("--source", action="store_true", help="the generated source")
    sub["diff"].add_argument("a", metavar="A", help=version_help)
    sub["diff"].add_argument("b", metavar="B", help=version_help)
    sub["changelog"].add_argument("--format", choices=("rich", "markdown", "json"),
                                  default="rich", help="output format (default rich)")
    sub["changelog"].add_argument("--since", metavar="VERSION",
                                  help="upgrade notes: only the changes newer than VERSION")
    sub["new"].add_argument("summary", help="one line: the module docstring's summary")
    sub["new"].add_argument("--stage", choices=("beta", "experimental"),
                            help="an unreleased change (beta_<slug>.py)")
    migrate = sub["migrate"]
    migrate.add_argument("files", nargs="*", metavar="FILE", help="JSON or NDJSON (- or none: "
                         "stdin)")
    migrate.add_argument("--up", action="store_true",
                         help="migrate requests up from VERSION instead of responses down")
    migrate.add_argument("--resource", help="the root's resource type (required with --up)")
    migrate.add_argument("--strict", action="store_true", help="stop at the first failure")
    migrate.add_argument("--progress", action="store_true",
                         help="a progress bar even when stderr is not a terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.changes and args.timeline:
        parser.error("--changes and --timeline exclude each other")
    ctx = _Context(args)
    try:
        return int(args.handler(ctx))
    except VersionError as exc:
        ctx.error(str(exc).removesuffix(f" (accepted forms: {exc.accepted})"))
        ctx.err.print(f"accepted forms: {exc.accepted}")
        return 2
    except _UsageError as exc:
        ctx.error(str(exc))
        return 2
    except ChangeError as exc:
        ctx.error(str(exc))
        ctx.err.print("run `datever check` to list every problem")
        return 1
    except BrokenPipeError:  # e.g. `datever changelog | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
