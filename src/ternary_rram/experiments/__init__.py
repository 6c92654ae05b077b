"""Experiments layer: studies that write data and figures, reports, design-space sweeps."""
