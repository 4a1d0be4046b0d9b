"""datever's benchmarks: run them all with ``python -m benchmarks`` from the repository root.

``data`` makes the seeded histories and payloads, ``contenders`` times every
contender the same way, ``scenarios`` holds the five scenarios of DESIGN.md's
performance targets and ``report`` prints the tables.
"""
