"""Command-line layer: thin commands that parse, validate, call the layers below and print."""
