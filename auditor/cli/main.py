"""The `audit` command line (click). Exit status: 0 no findings, 1 findings, 2 bad usage or config.

This module only assembles the group: each command lives in the module of its group and registers here.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

import click

from auditor import __version__
from auditor.cli.interrupt import exit_on_interrupt

# command name -> (module, attribute): a command's module is imported only when it runs (or for --help),
# so `audit scan` does not pay for importing `audit db`'s database and rich tables
_COMMANDS = {
    "scan": ("auditor.cli.scan", "scan_command"),
    "files": ("auditor.cli.scan", "files_command"),
    "catalog": ("auditor.cli.scan", "catalog_command"),
    "rules": ("auditor.cli.scan", "rules_command"),
    "explain": ("auditor.cli.scan", "explain_command"),
    "sinks": ("auditor.cli.scan", "sinks_command"),
    "plan": ("auditor.cli.plan", "plan_command"),
    "graph": ("auditor.cli.plan", "graph_command"),
    "baseline": ("auditor.cli.gate", "baseline_command"),
    "db": ("auditor.cli.db", "db_group"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = _COMMANDS.get(cmd_name)
        if where is None:
            return None
        command: click.Command = getattr(importlib.import_module(where[0]), where[1])
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audit")
def main() -> None:
    """Find the code that still blocks dropping legacy PostgreSQL compatibility views."""


def entry() -> None:
    """The console script: a bug is reported in one line with exit status 2, never mistaken for findings;
    Ctrl-C exits with status 130."""
    # a scan builds and unpickles 10^5 small acyclic values: the default collector thresholds make the
    # cyclic GC rescan them all the time (measured: 9 % of a cold scan's CPU, half of a cache load)
    gc.set_threshold(100_000, 50, 100)
    try:
        with exit_on_interrupt():
            _run()
    except SystemExit as done:
        _hard_exit(done.code)


def _hard_exit(code: object) -> None:
    """Exit without tearing the heap down: freeing a scan's 10^5-10^6 objects one by one took longer than
    a warm re-scan itself (measured: 1.3 s after a one-file edit on the bench corpus). Every output is
    written and closed by now, the worker pool is shut down; only the standard streams need a flush."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 1  # a closed pipe: what was printed may be lost
    os._exit(status)


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
