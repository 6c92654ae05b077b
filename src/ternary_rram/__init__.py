"""ternary-rram: binary and ternary neural networks in 2T2R RRAM, read by precharge sense amplifiers.

Layers, each importing only those before it:
device -> circuit -> array -> nn -> chip -> experiments -> cli.
"""

__version__ = "0.1.0"
