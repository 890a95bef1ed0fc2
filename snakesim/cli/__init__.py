"""The ``snakesim`` command line: run, validate, sweep, schema, plot, report, compare,
examples, init.

No traceback reaches a user. Errors a user can cause (`SnakesimError`), and failures of
the environment (out of memory, a full disk, a missing permission, a numeric overflow
from an extreme input value), are printed as one line per problem and exit with code 2;
Ctrl-C prints ``interrupted`` (and where an interrupted run's partial results are) and
exits 130. Anything else is a bug in snakesim: its traceback is saved to a crash file
(in ``$SNAKESIM_CRASH_DIR``, else the system's temporary folder), one line names the
file, and the exit code is 70.

Each command lives in a module named for what it does; importing them registers them
on `app`.
"""

from snakesim.cli import (  # noqa: F401  (importing registers the commands)
    compare,
    examples,
    outputs,
    running,
)
from snakesim.cli.app import app, main

__all__ = ["app", "main"]
