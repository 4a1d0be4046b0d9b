"""Estimates say the unit of `co2e`."""

from datever import Change, add

change = Change(released="v2-preview2", retroactive=False,
                resources={"estimate": [add("co2e_unit", "kg")]})
