"""The ``edgevision`` command line: one module per sub-command."""
