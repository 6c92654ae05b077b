"""Shipped parameter sets (PARAMS.json documents) selectable with --process NAME; see README.md here."""
