"""The ``kb`` command line: the one place where domain errors become one clear line and an exit status."""
