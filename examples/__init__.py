"""Example services built on datever (see examples/README.md)."""
