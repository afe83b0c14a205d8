"""Subcommands of the ``pqms`` command line: one module each, with ``add_arguments`` and ``run``."""
