"""Currency codes are lowercase ISO 4217 codes (`usd` instead of `USD`).

Applies to the `currency` of charges, refunds and customers, in responses and
in charge and customer creation requests. Lowercase matches how currencies
appear in URLs and in every other property of the API. Older versions still
see and send uppercase codes; a customer without a currency keeps `null`.
"""

from typing import Annotated

from msgspec import Meta

from datever import Change, convert

# what older versions send and see: an uppercase ISO 4217 code
_CODE = Annotated[str, Meta(pattern="^[A-Z]{3}$")]


def _upper(code: str | None) -> str | None:
    return code.upper() if code is not None else None


def _lower(code: str | None) -> str | None:
    return code.lower() if code is not None else None


change = Change(
    released="2019-08-05",
    resources={
        resource: [convert("currency", down=_upper, up=_lower, lossless=True,
                            old_type=(_CODE | None) if resource == "customer" else _CODE)]
        for resource in ("charge", "refund", "customer")
    },
)
