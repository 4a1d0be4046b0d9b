"""Charge creation takes `capture_method` instead of the boolean `capture`.

`capture_method` is `automatic` or `manual`; a third capture method is
planned, which a boolean cannot grow into. Charges report the
`capture_method` they were created with. In requests of older versions
`capture: true` means `automatic` and `false` means `manual`; older versions
do not see `capture_method` on charges.
"""

from datever import Change, add, convert, rename


def _to_flag(method: str) -> bool:
    return method != "manual"


def _to_method(capture: bool) -> str:
    return "automatic" if capture else "manual"


change = Change(
    released="2022-05-16",
    resources={
        "charge": [add("capture_method", "automatic")],
        "charge.create": [
            rename("capture", "capture_method"),
            convert("capture_method", down=_to_flag, up=_to_method, lossless=True,
                    old_type=bool),
        ],
    },
)
