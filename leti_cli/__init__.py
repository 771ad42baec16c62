"""The `leti` command line: one module per command."""
