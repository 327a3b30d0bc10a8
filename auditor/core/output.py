"""Writing reports: atomically, and only where the user asked."""

from __future__ import annotations

import os
import tempfile

import click


def write_report(text: str, output: str | None) -> None:
    """Print to stdout, or replace ``output`` atomically (a reader never sees half a file)."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(output, text)


def write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=".audit-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(tmp, _default_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _default_mode(path: str) -> int:
    """An existing file keeps its mode; a new one gets what the umask allows (mkstemp would say 0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
