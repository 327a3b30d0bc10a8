"""Writing reports: atomically, and only where the user asked; never damaging what is not a report.

A regular file (or a missing one) is replaced atomically: a reader never sees half a file. A symlink is
followed and its target written the same way. Anything else (``/dev/null``, ``/dev/full``, a FIFO, a
terminal) is written in place, as a shell redirection would: replacing it would destroy it. A file or
directory without any write permission bit is refused, even for root. The temporary file is named
after the output and the writing process, so a later write removes the ones a killed run left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time

import click


def _escape_table() -> dict[int, str]:
    # C0 and C1 controls but newline and tab, DEL, and the bidirectional overrides ("trojan source")
    codes = [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F)]
    codes += [*range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
    return {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in codes}


_ESCAPES = _escape_table()


def printable(text: str) -> str:
    """``text`` from a scanned file, safe for a terminal: control characters (an escape sequence that
    clears the screen, a carriage return that hides a line, a bidi override) are shown as escapes."""
    return text.translate(_ESCAPES)


class OutputError(Exception):
    """The report cannot be written where asked: one line, exit status 2."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"cannot write {self.path!r}: {self.reason}"
            if not self.path
            else f"cannot write {self.path}: {self.reason}"
        )


_STALE_AFTER = 24 * 3600  # seconds; a temporary of a live process is never older than its run


def write_report(text: str, output: str | None) -> None:
    """Print to stdout, or write ``output`` (see the module docstring)."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(output, text)


def check_output(path: str) -> None:
    """Refuse, before any work, an output the report could not be written to."""
    if not path:
        raise OutputError(path, "the file name is empty")
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise OutputError(path, "it is a directory")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise OutputError(path, f"directory {os.path.dirname(path) or '.'} does not exist")
    _refuse_read_only(target, path)


def write_atomic(path: str, text: str, exclusive: bool = False) -> None:
    """Write ``text`` to ``path``: an atomic replace for a regular (or new) file, in place for anything
    else. ``exclusive``: never replace an existing file (``FileExistsError``)."""
    check_output(path)
    target = os.path.realpath(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    try:
        if mode is not None and not stat.S_ISREG(mode):
            if exclusive:
                raise FileExistsError(path)
            with open(target, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            return
        _replace(target, text, exclusive)
    except (FileExistsError, OutputError):
        raise
    except OSError as exc:
        raise OutputError(path, str(exc.strerror or exc)) from None


def _replace(target: str, text: str, exclusive: bool) -> None:
    directory, name = os.path.split(target)
    prefix = f".{name}.audit-"
    _remove_stale(directory, prefix)
    handle, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(tmp, _default_mode(target))
        _keep_owner(target, tmp)
        if exclusive:
            os.link(tmp, target)  # fails if the name is taken, with no window between check and write
        else:
            os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _remove_stale(directory: str, prefix: str) -> None:
    """Remove the temporaries of this output that a killed run left (its process is gone, or old)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-[^/]*\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        path = os.path.join(directory, name)
        try:
            old = time.time() - os.lstat(path).st_mtime > _STALE_AFTER
            if old or not _alive(int(match.group(1))):
                os.unlink(path)
        except OSError:
            continue  # another run removed it, or it is not ours to remove


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one temporary at a time: an older one is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _refuse_read_only(target: str, shown: str) -> None:
    """A file (or, for a new file, its directory) without any write bit is read-only by intent: root
    could write it anyway, but the user said not to."""
    try:
        mode = os.stat(target).st_mode
        what = shown
    except FileNotFoundError:
        mode = os.stat(os.path.dirname(target)).st_mode
        what = f"directory {os.path.dirname(shown) or '.'}"
    if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and not mode & 0o222:
        raise OutputError(shown, f"{what} is read-only")


def _keep_owner(target: str, tmp: str) -> None:
    """A replaced file keeps its owner (root replacing a user's report would take it over)."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return
    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        # not root: the file becomes the writer's, as with any editor's atomic save
        with contextlib.suppress(PermissionError):
            os.chown(tmp, info.st_uid, info.st_gid)


def _default_mode(path: str) -> int:
    """An existing file keeps its mode; a new one gets what the umask allows (mkstemp would say 0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
