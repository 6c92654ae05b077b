"""Chip layer: deploy trained networks on simulated arrays; integer in-memory inference and energy."""
