"""The ``datever`` command: inspect a changes directory from the shell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from datever.changes import Direction
from datever.engine import Engine
from datever.errors import DateverError
from datever.versions import Version

__all__ = ["main"]

_EXAMPLES = """examples:
  datever inspect v1                 every pipeline of the initial version
  datever inspect 2021-06-07 charge  one resource, both directions
  datever --changes path/to/changes inspect X
"""


def _describe(engine: Engine, version: Version, resource: str | None) -> str:
    lines = [f"{version.requested!r} resolves to {version.name} ({version.channel}); "
             f"{len(version.pending)} changes to undo"]
    if version.warning:
        lines.append(f"warning: {version.warning}")
    directions: tuple[Direction, ...] = ("down", "up")
    for direction in directions:
        pipeline = engine.pipeline(version, direction)
        for function in pipeline.functions():
            if resource is not None and function.resource != resource:
                continue
            lines.append("")
            lines.append(f"== {function.resource} {direction} ({len(function.steps)} steps, "
                         f"{len(function.cancelled)} cancelled)")
            order = reversed(version.pending) if direction == "down" else version.pending
            for change in order:
                for op in change.resources.get(function.resource, ()):
                    lines.append(f"  {change.label}  {change.id}: {op}")
            lines.append(function.source.rstrip())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="datever", description="Inspect a datever changes directory.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", default="changes", help="changes directory (./changes)")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="show how a version resolves and its "
                                  "compiled pipelines")
    inspect.add_argument("version", help="2021-06-07, v2021-06-07, X or v1")
    inspect.add_argument("resource", nargs="?", help="only this resource")
    args = parser.parse_args(argv)
    try:
        engine = Engine.from_directory(args.changes)
        version = engine.resolve(args.version)
        print(_describe(engine, version, args.resource))
    except DateverError as exc:
        print(f"datever: {exc}", file=sys.stderr)
        return 2
    return 0
