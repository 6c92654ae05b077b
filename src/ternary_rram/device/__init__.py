"""Device layer: RRAM resistance statistics (the ground floor)."""
