"""The customer's `tax_exempt` is an enum (`none`, `exempt`, `reverse`) instead of a boolean.

EU reverse-charge customers pay no tax to the merchant but are not exempt,
which a boolean could not say. Customers and customer creation requests use
the enum. Older versions see `true` for `exempt` and `reverse` (no tax is
charged in either case) and `false` for `none`; `true` in an old request
means `exempt`.
"""

from datever import Change, convert


def _to_flag(status: str) -> bool:
    return status != "none"


def _to_status(flag: bool) -> str:
    return "exempt" if flag else "none"


change = Change(
    released="2021-08-02",
    resources={
        "customer": [convert("tax_exempt", down=_to_flag, up=_to_status, lossless=False,
                           old_type=bool)],
    },
)
