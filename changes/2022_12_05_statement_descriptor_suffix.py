"""The charge's `statement_descriptor` is renamed `statement_descriptor_suffix`.

Card networks now print the account's fixed prefix followed by this text, so
the old name promised more than it did. Charges and charge creation requests
use the new name.
"""

from datever import Change, rename

change = Change(
    released="2022-12-05",
    resources={"charge": [rename("statement_descriptor", "statement_descriptor_suffix")]},
)
