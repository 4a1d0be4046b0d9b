"""The reference API of ``changes/`` holds every law of datever.testing at every version."""

from __future__ import annotations

import datever.testing
from tests.reference import CHANGES

test_versions = datever.testing.verify(CHANGES, max_examples=30)
