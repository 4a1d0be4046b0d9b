"""The reference API of ``changes/`` holds every law of datever.testing at every version.

Down of a valid head response is valid at each version, up of each version's
valid requests is valid at the head, compiled equals reference and lossless
changes round trip: the same one-line check a service puts in its own suite.
"""

from __future__ import annotations

import datever.testing
from tests.reference import CHANGES

# about 1.5 s a version on one core: the whole history, beta included, in under a minute
test_versions = datever.testing.verify(CHANGES, max_examples=100)
