"""Every problem of a changes directory at once, for ``datever check``.

``load_changes`` stops at the first error; this imports each module on its
own, so that one bad file does not hide the others, then checks the history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from datever.changes import (
    Change,
    _check_file_name,
    change_files,
    check_collisions,
    load_resources,
)
from datever.classify import change_is_retroactive
from datever.errors import ChangeError
from datever.lifecycle import Lifecycle, check_policies
from datever.versions import Timeline

__all__ = ["Problem", "collect_problems", "history_problems"]

Level = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``kind`` is load, unreachable, description, file_name, resources,
    order, collision, beta_since or policy; ``file`` names the module when there is one."""

    level: Level
    kind: str
    message: str
    file: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message


def collect_problems(directory: str | Path, *, lifecycle: Lifecycle | None = None,
                     today: dt.date | None = None) -> list[Problem]:
    """Import every change module of ``directory`` separately and check the history;
    with ``lifecycle``, check its policies too."""
    root = Path(directory)
    if not root.is_dir():
        return [Problem("error", "load", f"no changes directory at {str(root)!r}")]
    # Not the package name load_changes uses, so a check never sees its modules.
    package = "datever_check_" + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]
    problems: list[Problem] = _unreachable(root)
    changes = [change for path in change_files(root)
               if (change := _load(path, package, problems)) is not None]
    changes = _declared(root, changes, problems)
    return problems + history_problems(changes, lifecycle=lifecycle, today=today)


def _declared(root: Path, changes: list[Change], problems: list[Problem]) -> list[Change]:
    """The changes bound to the directory's resource declarations; a change naming an
    undeclared resource, or declarations that do not load, are problems."""
    try:
        resources = load_resources(root)
    except ChangeError as exc:
        problems.append(Problem("error", "load", exc.detail, exc.file))
        return changes
    bound = []
    for change in changes:
        try:
            change.bind(resources)
        except ChangeError as exc:
            problems.append(Problem("error", "resources", exc.detail, exc.file))
        else:
            bound.append(change)
    return bound


_DATED_NAME = re.compile(r"(?:[0-9]{4}_[0-9]{2}_[0-9]{2}|v[0-9]+|beta|experimental)_")


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
        elif (path.suffix != ".py" and _DATED_NAME.match(path.name)
              and path.suffix not in (".pyc", ".md")):
            problems.append(Problem(
                "error", "unreachable", "named like a change module but is never loaded: "
                "only *.py files are read", str(path)))
    return problems


def _load(path: Path, package: str, problems: list[Problem]) -> Change | None:
    """The module's Change, or None after appending why it has none; a change that
    loads with a missing description or a wrong file name is still returned."""
    file = str(path)
    name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-files
        problems.append(Problem("error", "load", "cannot be imported", file))
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ChangeError as exc:
        problems.append(Problem("error", "load", exc.detail, file))
    except (Exception, SystemExit) as exc:
        problems.append(Problem("error", "load",
                                f"importing it raised {type(exc).__name__}: {exc}", file))
    else:
        found = [value for value in vars(module).values() if isinstance(value, Change)]
        if len(found) == 1:
            return _checked(found[0], path, module.__doc__, problems)
        problems.append(Problem("error", "load", "a change module defines exactly one "
                                f"Change, found {len(found)}", file))
    del sys.modules[name]
    return None


def _checked(change: Change, path: Path, doc: str | None, problems: list[Problem]) -> Change:
    change.id = change.id or path.stem
    change.file = str(path)
    change.description = change.description or (doc or "").strip()
    if not change.description:
        problems.append(Problem("error", "description", "missing description: give the "
                                "module a docstring or Change(description=...)", change.file))
    try:
        _check_file_name(change, path)
    except ChangeError as exc:
        problems.append(Problem("error", "file_name", exc.detail, change.file))
    return change


def history_problems(changes: Sequence[Change], *, lifecycle: Lifecycle | None = None,
                     today: dt.date | None = None) -> list[Problem]:
    """The problems of loaded changes taken together: repeated ids, collisions,
    what stops them forming one timeline, beta changes without ``beta_since``
    (warnings) and, with ``lifecycle``, policy violations."""
    problems: list[Problem] = []
    unique: dict[str, Change] = {}
    for change in changes:
        first = unique.setdefault(change.id, change)
        if first is not change:
            problems.append(Problem("error", "order", f"the change id {change.id!r} is "
                                    f"also used by {first.file or first.id}; ids must be "
                                    "unique", change.file))
    problems += _collisions(unique.values())
    valid = []
    for change in unique.values():
        if change.retroactive and not change_is_retroactive(change):
            problems.append(Problem("error", "order", "retroactive=True, but it has "
                                    "breaking operations (see datever.classify); old "
                                    "versions must not see it", change.file))
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
                         "checked", unique[change_id].file) for change_id in sorted(undated)]
    if lifecycle is not None and timeline is not None:
        problems += [Problem("error", "policy", str(violation))
                     for violation in check_policies(lifecycle, order=timeline.versions,
                                                     beta_changes=timeline.changes, today=today)
                     if not (violation.rule == "beta_promotion"
                             and violation.version_or_change in undated)]
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
