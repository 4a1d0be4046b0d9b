"""Estimates call their emissions `co2e` instead of `co2`."""

from datever import Change, rename

change = Change(released="v2-preview1",
                resources={"estimate": [rename("co2", "co2e")]})
