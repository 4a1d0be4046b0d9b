"""Every problem of a changes directory at once, for ``datever check``.

``load_changes`` stops at the first error; :func:`collect_problems` loads each
module on its own (``datever.changes.load_each``) so that one bad file does not
hide the others, then checks the history. Errors make ``check`` fail; warnings
are heuristics (names no sample, route or other change uses) that it prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from datever import scaffold
from datever.changes import Change, check_collisions, load_declarations, load_each
from datever.classify import change_is_retroactive
from datever.errors import ChangeError
from datever.lifecycle import Lifecycle, check_policies
from datever.lock import Lock, compare
from datever.names import Samples, load_samples, name_problems
from datever.versions import Timeline, file_release

__all__ = ["Problem", "collect_problems", "history_problems", "lock_problems"]

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem. ``kind`` names the check: load, unreachable, scaffold, resources,
    schema (a name the head shapes do not have at that point), order, collision and
    policy give errors; beta_since, resource, property and samples give warnings; lock
    gives errors (uncovered breaking differences from the schema lock) and info (the
    other differences). ``file``, ``change`` and ``resource`` say where it is, when
    known."""

    level: Level
    kind: str
    message: str
    file: str | None = None
    change: str | None = None
    resource: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message

    def as_json(self) -> dict[str, Any]:
        """The problem as ``check --json`` prints it."""
        return {"level": self.level, "kind": self.kind, "file": self.file,
                "change": self.change, "resource": self.resource, "message": self.message}


def collect_problems(directory: str | Path, *, lifecycle: Lifecycle | None = None,
                     today: dt.date | None = None,
                     routes: Iterable[str] = ()) -> list[Problem]:
    """Load every change module of ``directory`` separately and check the history;
    with ``lifecycle``, its policies too. ``routes`` are the request resources of
    the service's endpoints; with ``<directory>/_samples.py``, they vouch for names."""
    root = Path(directory)
    if not root.is_dir():
        return [Problem("error", "load", f"no changes directory at {str(root)!r}")]
    problems: list[Problem] = _unreachable(root)
    changes = []
    for loaded in load_each(root):
        if isinstance(loaded, ChangeError):
            problems.append(Problem("error", "load", loaded.detail, loaded.file))
        else:
            changes.append(loaded)
    changes = _declared(root, changes, problems)
    samples, failure = load_samples(root / "_samples.py")
    if failure is not None:
        problems.append(Problem("warning", "samples", failure, str(root / "_samples.py")))
    return problems + history_problems(changes, lifecycle=lifecycle, today=today,
                                       samples=samples, routes=routes)


def _declared(root: Path, changes: list[Change], problems: list[Problem]) -> list[Change]:
    """The changes bound to the directory's resource declarations; a change naming an
    undeclared resource, or declarations that do not load, are problems. With
    ``<directory>/schemas.py``, so is every operation naming a resource or property the
    head shapes do not have at that point of history (the loader stops at the first)."""
    try:
        resources, schemas = load_declarations(root)
    except ChangeError as exc:
        problems.append(Problem("error", "load", exc.detail, exc.file))
        return changes
    bound = []
    for change in changes:
        try:
            change.bind(resources)
        except ChangeError as exc:
            problems.append(Problem("error", "resources", exc.detail, exc.file,
                                    change=change.id))
        else:
            bound.append(change)
    if schemas is not None:
        problems += [Problem("error", "schema", problem.message, problem.change.file,
                             problem.change.id, problem.resource)
                     for problem in schemas.problems(bound)]
    return bound


def lock_problems(lock_file: str, lock: Lock, head: Lock,
                  changes: Sequence[Change]) -> list[Problem]:
    """The head's differences from the schema lock read from ``lock_file``: an error for
    each breaking one that no change newer than the lock covers, info for the rest."""
    return [Problem(finding.level, "lock", finding.message, lock_file,
                    finding.covered_by.id if finding.covered_by else None,
                    finding.difference.resource)
            for finding in compare(lock, head, changes)]


def _unreachable(root: Path) -> list[Problem]:
    """Files the loader never reads though they look like changes: a skipped
    ``_module.py`` that declares a Change, or a change-like name without ``.py``."""
    problems = []
    for path in sorted(root.iterdir()):
        if path.suffix == ".py" and path.name.startswith("_"):
            if "Change(" in path.read_text(encoding="utf-8", errors="replace"):
                problems.append(Problem(
                    "error", "unreachable", "declares a Change but is never loaded: files "
                    "starting with _ are skipped; rename it", str(path)))
        elif (path.suffix != ".py" and file_release(path.stem) is not None
              and path.suffix not in (".pyc", ".md")):
            problems.append(Problem(
                "error", "unreachable", "named like a change module but is never loaded: "
                "only *.py files are read", str(path)))
    return problems


def history_problems(changes: Sequence[Change], *, lifecycle: Lifecycle | None = None,
                     today: dt.date | None = None, samples: Samples | None = None,
                     routes: Iterable[str] = (), discriminator: str = "object",
                     ) -> list[Problem]:
    """The problems of loaded changes taken together: unedited ``datever new``
    scaffolds, repeated ids, collisions, what stops them forming one timeline,
    beta changes without ``beta_since`` (warnings), resource and property names
    nothing else uses (warnings: see :mod:`datever.names`) and, with
    ``lifecycle``, policy violations."""
    problems = _scaffolds(changes)
    unedited = {problem.change for problem in problems}
    unique: dict[str, Change] = {}
    for change in changes:
        first = unique.setdefault(change.id, change)
        if first is not change:
            problems.append(Problem("error", "order", f"the change id {change.id!r} is "
                                    f"also used by {first.file or first.id}; ids must be "
                                    "unique", change.file, change.id))
    problems += _collisions(unique.values())
    valid = []
    for change in unique.values():
        if change.retroactive and not change_is_retroactive(change):
            problems.append(Problem("error", "order", "retroactive=True, but it has "
                                    "breaking operations (see datever.classify); old "
                                    "versions must not see it", change.file, change.id))
        else:
            valid.append(change)
    timeline: Timeline | None = None
    try:
        timeline = Timeline(valid)
    except (ChangeError, ValueError) as exc:
        file = exc.file if isinstance(exc, ChangeError) else None
        detail = exc.detail if isinstance(exc, ChangeError) else str(exc)
        problems.append(Problem("error", "order", detail, file))
    undated = {change.id for change in valid
               if change.stage == "beta" and change.beta_since is None}
    problems += [Problem("warning", "beta_since", "a beta change without beta_since=: the "
                         "promotion policy (released within about 3 months) cannot be "
                         "checked", unique[change_id].file, change_id)
                 for change_id in sorted(undated)]
    edited = [change for change in valid if change.id not in unedited]
    for warning in name_problems(edited, timeline, samples, set(routes), discriminator):
        problems.append(Problem("warning", warning.kind, warning.message, warning.file,
                                warning.change, warning.resource))
    if lifecycle is not None and timeline is not None:
        problems += [Problem("error", "policy", str(violation))
                     for violation in check_policies(lifecycle, order=timeline.versions,
                                                     beta_changes=timeline.changes, today=today)
                     if not (violation.rule == "beta_promotion"
                             and violation.version_or_change in undated)]
    return problems


def _text(change: Change) -> str | None:
    """The source of the change's module, None when it has none to read."""
    try:
        return Path(change.file).read_text(encoding="utf-8") if change.file else None
    except OSError:
        return None


def _scaffolds(changes: Iterable[Change]) -> list[Problem]:
    """An error for each change still holding what ``datever new`` wrote to be replaced."""
    problems = []
    for change in changes:
        left = scaffold.unedited(change, _text(change))
        if left:
            problems.append(Problem(
                "error", "scaffold", "an unedited `datever new` scaffold: it still has "
                + " and ".join(left) + "; describe the change and give its real resources "
                "and operations",
                change.file, change.id))
    return problems


def _collisions(changes: Iterable[Change]) -> list[Problem]:
    """Every pair of changes of one release that rewrite one property (check_collisions
    stops at the first)."""
    releases: dict[object, list[Change]] = {}
    for change in changes:
        releases.setdefault(change.released or change.named or change.stage, []).append(change)
    problems = []
    for group in releases.values():
        for index, first in enumerate(group):
            for second in group[index + 1:]:
                try:
                    check_collisions([first, second])
                except ChangeError as exc:
                    problems.append(Problem("error", "collision", exc.detail, exc.file))
    return problems
