"""An estimate's `source` is its `source_trail`."""

from datever import Change, rename

change = Change(released="v2", resources={"estimate": [rename("source", "source_trail")]})
