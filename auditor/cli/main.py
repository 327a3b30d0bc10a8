"""The `audit` command line (click). Exit status: 0 no findings, 1 findings, 2 bad usage or config.

This module only assembles the group: each command lives in the module of its group and registers here.
"""

from __future__ import annotations

import gc
import os
import sys

import click

from auditor import __version__
from auditor.cli.db import db_group
from auditor.cli.gate import baseline_command
from auditor.cli.interrupt import exit_on_interrupt
from auditor.cli.plan import graph_command, plan_command
from auditor.cli.scan import (
    catalog_command,
    explain_command,
    files_command,
    rules_command,
    scan_command,
    sinks_command,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audit")
def main() -> None:
    """Find the code that still blocks dropping legacy PostgreSQL compatibility views."""


_COMMANDS = (
    scan_command,
    files_command,
    catalog_command,
    rules_command,
    explain_command,
    sinks_command,
    plan_command,
    graph_command,
)
for _command in (*_COMMANDS, baseline_command, db_group):
    main.add_command(_command)


def entry() -> None:
    """The console script: a bug is reported in one line with exit status 2, never mistaken for findings;
    Ctrl-C exits with status 130."""
    # a scan builds and unpickles 10^5 small acyclic values: the default collector thresholds make the
    # cyclic GC rescan them all the time (measured: 9 % of a cold scan's CPU, half of a cache load)
    gc.set_threshold(100_000, 50, 100)
    with exit_on_interrupt():
        _run()


def _run() -> None:
    try:
        main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("AUDIT_DEBUG"):
            raise
        click.echo(
            f"audit: internal error: {type(exc).__name__}: {exc} (set AUDIT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(2)
