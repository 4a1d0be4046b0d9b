"""The change module ``datever new`` writes, and how ``datever check`` tells it is unedited.

The scaffold loads as it is, so a new history stays usable while its author
writes the change; ``check`` refuses it until its TODOs and its example
operation are replaced.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Literal

from datever.changes import Change

__all__ = ["EXAMPLE_OPERATION", "TODO_MARKERS", "file_name", "source", "unedited"]

#: the lines the scaffold asks its author to replace
TODO_MARKERS = (
    "TODO: what changed and why",
    "# TODO: replace this example with the real resource and operations.",
)
#: the scaffold's placeholder operation, as its description reads
EXAMPLE_OPERATION = "rename 'old_name' to 'new_name'"

_TEMPLATE = '''"""{summary}

{todo}, what older versions still see, and whether going
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
        {example}
        "example_{slug}": [rename("old_name", "new_name")],
    }},
)
'''


def slug(summary: str) -> str:
    """The file-name part of a summary: ASCII lowercase words joined by ``_``, at most
    50 characters cut at a word; empty when it has no letter or digit."""
    ascii_text = unicodedata.normalize("NFKD", summary).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    while len(words) > 50 and "_" in words:
        words = words.rsplit("_", 1)[0]
    return words


def file_name(summary: str, today: dt.date,
              stage: Literal["beta", "experimental"] | None = None) -> str:
    """``YYYY_MM_DD_<slug>.py`` for a change released today, ``<stage>_<slug>.py`` otherwise."""
    prefix = stage if stage else f"{today:%Y_%m_%d}"
    return f"{prefix}_{slug(summary)}.py"


def source(summary: str, today: dt.date,
           stage: Literal["beta", "experimental"] | None = None) -> str:
    """The scaffold module for a change summarised by ``summary`` (one line)."""
    day = today.isoformat()
    when = (f'released="{day}"' if stage is None else f'stage="{stage}"' + (
        f',\n    beta_since="{day}"' if stage == "beta" else ""))
    docstring = summary.replace("\\", "\\\\").replace('"', '\\"')
    return _TEMPLATE.format(summary=docstring, todo=TODO_MARKERS[0], when=when,
                            example=TODO_MARKERS[1], slug=slug(summary))


def unedited(change: Change, text: str | None) -> list[str]:
    """What of the scaffold is still in ``change`` (in its module's ``text`` when there
    is one), in words: its TODO lines, its example operation; empty once edited."""
    left = ["its TODO lines"] if any(
        marker in (text if text is not None else change.description)
        for marker in TODO_MARKERS) else []
    left += [f"its example {resource!r} ({EXAMPLE_OPERATION})"
             for resource, ops in change.resources.items()
             if [str(op) for op in ops] == [EXAMPLE_OPERATION]]
    return left
