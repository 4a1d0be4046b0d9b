"""The grammar of the ``datever`` command: its commands, options, help and examples.

Options go anywhere: global ones before the command or among its own, a
command's own before, between or after its positional arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence

from datever.changes import parse_release_date
from datever.errors import ChangeError

__all__ = ["COMMANDS", "parse"]


def _jobs(text: str) -> int:
    """--jobs N: a count of processes, 0 for one per core."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (0: one "
                                         "per core)")
    return jobs


def _day(text: str) -> dt.date:
    try:
        return parse_release_date(text)
    except ChangeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


# Each example is a command, then (after two spaces or more) what it does; the tests
# run every one of them.
_EXAMPLES = """examples:
  datever resolve 2021-06-07                what a client on that date gets
  datever inspect v1 charge --source        the compiled pipelines of one resource
  datever diff 2021-06-07 X                 what changes between two versions
  datever changelog --since 2021-06-07      upgrade notes from that version
  datever new "Refunds carry a reason"      scaffold today's change module
  datever check                             every problem of ./changes
  datever migrate 2021-06-07 events.ndjson  migrate head-shaped JSON down
  datever schema lock --schemas myapi.schemas:SCHEMAS   lock the head schemas for check
  datever openapi 2021-06-07 --routes myapi.routes:ROUTES    its OpenAPI 3.1 document
  datever resolve X --today 2024-01-01      options go before or after the command

configuration: options left unsaid come from [tool.datever] in the nearest
pyproject.toml (changes, timeline, schemas, routes, lifecycle, lock, title),
unless --changes or --timeline names another history.

exit status: 0 ok, 1 problems found or failures, 2 usage error or bad version
"""

#: each command's summary and the examples its --help ends with
COMMANDS: dict[str, tuple[str, str]] = {
    "resolve": ("show what a version resolves to", """examples:
  datever resolve 2021-06-07
  datever resolve X --json
  datever resolve v1 --lifecycle myapi.lifecycle:LIFECYCLE --today 2025-01-01
"""),
    "inspect": ("show a version's compiled pipelines", """examples:
  datever inspect v1                        every pipeline of the initial version
  datever inspect 2021-06-07 charge         one resource, both directions
  datever inspect X --source                with the generated source
  datever inspect 2021-06-07 --json charge  as JSON: changes, operations, source
"""),
    "diff": ("show what changes between two versions", """examples:
  datever diff 2021-06-07 2024-01-01        + only in B, - only in A, per resource
  datever diff v1 X --json
"""),
    "changelog": ("the changelog, generated from the change modules", """examples:
  datever changelog                         newest first, unreleased on top
  datever changelog --format markdown > CHANGELOG.md
  datever changelog --since 2021-06-07      upgrade notes from that version, oldest first
  datever changelog --json                  the same as --format json
"""),
    "new": ("scaffold a change module", """examples:
  datever new "Refunds carry a reason"      changes/YYYY_MM_DD_refunds_carry_a_reason.py
  datever new "Declined charges" --stage beta    changes/beta_declined_charges.py
  datever new --changes api/changes "Refunds carry a reason" --json
"""),
    "check": ("validate a changes directory and list every problem", """examples:
  datever check
  datever check --changes path/to/changes --json
  datever check --lifecycle myapi.lifecycle:LIFECYCLE    support policies too
  datever check --routes myapi.routes:ROUTES --strict    names held against the routes
  datever check --schemas myapi.schemas:SCHEMAS          the head against its schema lock

errors (exit 1): modules that do not load, unedited `datever new` scaffolds,
collisions, ordering, policies, and with a schema lock (changes/schema.lock.json)
every breaking difference of the head that no change newer than the lock covers
(compatible differences and covered ones are listed as info). warnings (exit 0,
1 with --strict): a resource name no other change, sample (changes/_samples.py)
or route uses, and a property no sample has at any version and no other change
names (heuristics).
"""),
    "migrate": ("migrate JSON or NDJSON between versions", """examples:
  datever migrate 2021-06-07 charge.json    one JSON document down to 2021-06-07
  cat events.ndjson | datever migrate v1 > v1.ndjson     NDJSON from stdin
  datever migrate 2021-06-07 --up --resource charge.create body.json
  datever migrate v1 events.ndjson --jobs 0 > v1.ndjson  on every core, in order

output: the migrated JSON, one document per line (it is JSON already: no --json);
the summary and errors go to stderr.
"""),
    "schema": ("lock the head schemas, for check's breaking-change guard", """examples:
  datever schema lock                                         locks changes/schemas.py's head
  datever schema lock --schemas myapi.schemas:SCHEMAS         writes changes/schema.lock.json
  datever schema lock --json --schemas myapi.schemas:SCHEMAS --lock api.lock.json

SCHEMAS: a list of tagged msgspec Structs (the response resources, named by their
tag), or an object with .responses (that list) and .requests (a mapping of request
body name to Struct). The lock records it, so `datever check` finds it again.
Without --schemas, the changes directory's schemas.py is locked.
"""),
    "openapi": ("print a version's OpenAPI 3.1 document", """examples:
  datever openapi 2021-06-07 --routes myapi.routes:ROUTES    shapes from changes/schemas.py
  datever openapi v1 --routes myapi.routes:ROUTES --lifecycle myapi.lifecycle:LIFECYCLE
  datever openapi X --schemas changes.schemas:schemas --title Payments > openapi.json

output: the document as JSON (it is JSON already: no --json). Paths come from the
routes, as the version sees them after its endpoint changes; shapes from --schemas
or the changes directory's schemas.py.
"""),
}

#: the global options that take a value, to find where the command starts
_VALUED = frozenset(("--changes", "--timeline", "--today"))


def _global_options(parser: argparse.ArgumentParser, *, top: bool,
                    timeline: bool = True) -> None:
    # After a command they default to SUPPRESS, so they do not undo the ones before it.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    where = parser.add_mutually_exclusive_group()
    where.add_argument("--changes", metavar="DIR", default=default(None),
                       help="the changes directory (default ./changes)")
    where.add_argument("--timeline", metavar="MODULE:ATTR", default=default(None),
                       help="a Timeline or Engine to import instead" if timeline
                       else argparse.SUPPRESS)
    parser.add_argument("--today", metavar="YYYY-MM-DD", type=_day, default=default(None),
                        help="pin today's date (default: today in UTC)")
    parser.add_argument("--no-color", action="store_true", default=default(False),
                        help="no colours (NO_COLOR=1 does the same)")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser (global options only) and one parser per command."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="datever", epilog=_EXAMPLES, formatter_class=raw,
                                     description="Work with a datever changes directory.",
                                     allow_abbrev=False)
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub: dict[str, argparse.ArgumentParser] = {}
    for name, (summary, examples) in COMMANDS.items():
        sub[name] = commands.add_parser(name, help=summary, description=summary + ".",
                                        epilog=examples, formatter_class=raw,
                                        allow_abbrev=False)
        _global_options(sub[name], top=False, timeline=name != "new")
    version_help = "2021-06-07, v2021-06-07, X, beta or v1"
    for name in ("resolve", "inspect", "migrate", "openapi"):
        sub[name].add_argument("version", help=version_help)
    for name in ("resolve", "inspect", "check", "openapi"):
        sub[name].add_argument("--lifecycle", metavar="MODULE:ATTR",
                               help="a datever.Lifecycle: status, headers and policies")
    for name in ("resolve", "inspect", "diff", "check", "new", "schema"):
        sub[name].add_argument("--json", action="store_true", help="print JSON")
    sub["inspect"].add_argument("resource", nargs="?", help="only this resource")
    sub["inspect"].add_argument("--source", action="store_true", help="the generated source")
    sub["diff"].add_argument("a", metavar="A", help=version_help)
    sub["diff"].add_argument("b", metavar="B", help=version_help)
    output = sub["changelog"].add_mutually_exclusive_group()
    output.add_argument("--format", choices=("rich", "markdown", "json"),
                        default="rich", help="output format (default rich)")
    output.add_argument("--json", action="store_true", help="print JSON (--format json)")
    sub["changelog"].add_argument("--since", metavar="VERSION",
                                  help="upgrade notes: only the changes newer than VERSION")
    sub["new"].add_argument("summary", help="one line: the module docstring's summary")
    sub["new"].add_argument("--stage", choices=("beta", "experimental"),
                            help="an unreleased change (beta_<slug>.py)")
    sub["check"].add_argument("--routes", metavar="MODULE:ATTR",
                              help='a Routes, a mapping of "METHOD /path" to resource, or an '
                              "object with .routes: resource names the service uses")
    sub["check"].add_argument("--strict", action="store_true",
                              help="warnings fail too (exit 1)")
    sub["schema"].add_argument("action", choices=("lock",), help="lock: write the lock file")
    for name in ("schema", "check"):
        sub[name].add_argument("--schemas", metavar="MODULE:ATTR",
                               help="the head schemas (default for check: the one the lock "
                               "names)")
        sub[name].add_argument("--lock", metavar="FILE",
                               help="the schema lock (default CHANGES/schema.lock.json)")
    openapi = sub["openapi"]
    openapi.add_argument("--routes", metavar="MODULE:ATTR",
                         help='a Routes, a mapping of "METHOD /path" to resources, or an '
                         "object with .routes (an API): the paths")
    openapi.add_argument("--schemas", metavar="MODULE:ATTR",
                         help="a datever.Schemas (default: the changes directory's schemas.py)")
    openapi.add_argument("--title", default=None, help="the document's title")
    migrate = sub["migrate"]
    migrate.add_argument("files", nargs="*", metavar="FILE", help="JSON or NDJSON (- or none: "
                         "stdin)")
    migrate.add_argument("--up", action="store_true",
                         help="migrate requests up from VERSION instead of responses down")
    migrate.add_argument("--resource", help="the root's resource type (required with --up)")
    migrate.add_argument("--strict", action="store_true", help="stop at the first failure")
    migrate.add_argument("--jobs", metavar="N", type=_jobs, default=1,
                         help="worker processes for NDJSON (default 1; 0: one per core); "
                         "output keeps the input's order")
    migrate.add_argument("--progress", action="store_true",
                         help="a progress bar even when stderr is not a terminal")
    return parser, sub


def _command_index(argv: Sequence[str]) -> int | None:
    """Where the command is in ``argv``: the first word that is no global option or
    its value."""
    value = False
    for index, word in enumerate(argv):
        if value or word.startswith("-"):
            value = not value and word in _VALUED
            continue
        return index
    return None


def parse(argv: list[str]) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """The options, wherever they are, and the parser of the command they are for.

    Global options may come before the command or among its own; a command's
    options may come before, between or after its positional arguments.
    """
    parser, commands = _parser()
    index = _command_index(argv)
    if index is None or argv[index] not in commands:
        parser.parse_args(argv)  # exits with the help, or with what is wrong
        parser.error("give a COMMAND: " + ", ".join(COMMANDS))
    args = parser.parse_args(argv[:index])
    command = commands[argv[index]]
    command.parse_intermixed_args(argv[index + 1:], namespace=args)
    args.command = argv[index]
    if args.command == "new" and args.timeline:
        command.error("new writes a module into the changes directory (--changes DIR); "
                      "it cannot add one to a --timeline object")
    if args.changes and args.timeline:
        command.error("--changes and --timeline exclude each other")
    return args, command
