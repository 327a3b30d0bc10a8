"""Ctrl-C exits with status 130, as shells expect (click would say "Aborted!" and exit 1: findings).

Light on purpose (no imports beyond the standard library): `python -m auditor` installs it before the
command line and its dependencies are imported.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # 128 + SIGINT


class Interrupted(BaseException):
    """Ctrl-C; not KeyboardInterrupt, which click catches."""


_MAIN_PID = os.getpid()


def _interrupt(signum: int, frame: object) -> None:
    if os.getpid() != _MAIN_PID:
        os._exit(EXIT_INTERRUPTED)  # a worker process: the main process reports the interruption
    raise Interrupted


@contextmanager
def exit_on_interrupt() -> Iterator[None]:
    """Inside: Ctrl-C ends the process with one line on stderr and status 130."""
    signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    except Interrupted:
        sys.stderr.write("audit: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
