"""Reading source files: size limits, PEP 263 decoding for Python, UTF-8 for SQL, line offsets."""

from __future__ import annotations

import bisect
import codecs
import io
import itertools
import os
import stat
import tokenize
from dataclasses import dataclass

from auditor.core.model import Diagnostic


@dataclass(frozen=True, slots=True)
class SourceText:
    path: str  # relative to the scan root
    text: str


class LineIndex:
    """Maps absolute character offsets of a text to 1-based (line, column)."""

    __slots__ = ("starts",)

    def __init__(self, text: str) -> None:
        # offset of the first character of each line: after each "\n" (the sums run at C speed)
        ends = itertools.accumulate(map((1).__add__, map(len, text.split("\n"))))
        self.starts = [0, *ends][:-1]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def utf16_text(data: bytes, path: str) -> str | Diagnostic | None:
    """The text of a UTF-16 file with a byte order mark; a diagnostic for NUL bytes without one (UTF-16
    without a BOM, or a binary file); None for anything else."""
    for bom, encoding in _UTF16_BOMS:
        if data.startswith(bom):
            try:
                return _normalise_newlines(data[len(bom) :].decode(encoding))
            except UnicodeDecodeError as exc:
                return Diagnostic(path, None, "decode-error", f"not valid {encoding}: {exc}")
    nul = data.find(b"\0")
    if nul >= 0:
        message = "NUL bytes and no byte order mark: UTF-16 without a BOM, or not a text file"
        return Diagnostic(path, data.count(b"\n", 0, nul) + 1, "decode-error", message)
    return None


def decode_python(data: bytes, path: str) -> str | Diagnostic:
    """Decode Python source the way the interpreter does (BOM, PEP 263 cookie, UTF-8 default), and
    UTF-16 with a byte order mark (which editors on Windows write)."""
    wide = utf16_text(data, path)
    if wide is not None:
        return wide
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return Diagnostic(path, None, "decode-error", f"cannot determine the source encoding: {exc}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        return Diagnostic(path, _error_line(data, exc), "decode-error", f"not valid {encoding}: {exc}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return _normalise_newlines(text)


def decode_sql(data: bytes, path: str) -> str | Diagnostic:
    wide = utf16_text(data, path)
    if wide is not None:
        return wide
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Diagnostic(path, _error_line(data, exc), "decode-error", f"not valid UTF-8: {exc}")
    return _normalise_newlines(text)


def _normalise_newlines(text: str) -> str:
    # Positions are reported in lines as editors count them; "\r\n" and "\r" both end one line.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _error_line(data: bytes, exc: Exception) -> int | None:
    start = getattr(exc, "start", None)
    return data.count(b"\n", 0, start) + 1 if isinstance(start, int) else None


def read_bytes(full_path: str, rel_path: str, max_bytes: int) -> bytes | Diagnostic:
    read = read_source(full_path, rel_path, max_bytes)
    return read if isinstance(read, Diagnostic) else read[0]


def too_large(rel_path: str, max_bytes: int) -> Diagnostic:
    return Diagnostic(
        rel_path, None, "too-large", f"skipped: larger than {max_bytes:,} bytes (max_file_bytes)"
    )


def read_source(full_path: str, rel_path: str, max_bytes: int) -> tuple[bytes, os.stat_result] | Diagnostic:
    """The bytes of a regular file and the status they were read under (a FIFO or device is never
    opened for reading: it could block the scan forever)."""
    try:
        data, status = read_regular(full_path, max_bytes + 1)
    except NotRegularFileError:
        return Diagnostic(rel_path, None, "unreadable", "skipped: not a regular file")
    except OSError as exc:
        kind = "symlink-loop" if exc.errno == 40 else "unreadable"
        return Diagnostic(rel_path, None, kind, f"cannot read the file: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return too_large(rel_path, max_bytes)
    if is_binary(data):
        return Diagnostic(rel_path, None, "binary", "skipped: binary content (NUL bytes), not source text")
    return data, status


_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-16/32 text holds NUL bytes too
BINARY_SNIFF_BYTES = 8192


def is_binary(data: bytes) -> bool:
    """NUL bytes near the start, and no UTF-16/32 byte order mark: not source text."""
    return b"\0" in data[:BINARY_SNIFF_BYTES] and not data.startswith(_WIDE_BOMS)


def starts_binary(path: str) -> bool:
    """Does the regular file at ``path`` start with binary content (`is_binary` of its head)? Reads only the
    head, never opens a FIFO for reading; raises OSError (NotRegularFileError for anything but a file)."""
    return is_binary(read_regular(path, BINARY_SNIFF_BYTES)[0])


class NotRegularFileError(OSError):
    pass


def read_regular(path: str, limit: int = -1) -> tuple[bytes, os.stat_result]:
    """Read a regular file (at most ``limit`` bytes); raises NotRegularFileError for anything else."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFileError(f"{path}: not a regular file")
        chunks = []
        remaining = limit if limit >= 0 else status.st_size + 1
        # os.read allocates what it is asked for: a generous limit (1 TiB) must not become the buffer's size
        size = max(status.st_size + 1, 1 << 16)
        while True:
            chunk = os.read(fd, size if limit < 0 else min(remaining, size))
            if not chunk:
                break
            chunks.append(chunk)
            if limit >= 0:
                remaining -= len(chunk)
                if remaining <= 0:
                    break
        return b"".join(chunks), status
    finally:
        os.close(fd)


def line_around(text: str, offset: int) -> tuple[int, str]:
    """The start offset and the text (without its newline) of the line that holds ``offset``."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, text[start : end if end >= 0 else len(text)]


_SNIPPET_WIDTH = 240  # a longer line (minified code, a generated bundle) is shown around the finding


def snippet_of(line: str, column: int) -> str:
    """A finding's line as its snippet: whole when it is short, else the part around the finding."""
    if len(line) <= _SNIPPET_WIDTH:
        return line.strip()
    start = max(0, column - 1 - _SNIPPET_WIDTH // 2)
    end = start + _SNIPPET_WIDTH
    return ("…" if start else "") + line[start:end].strip() + ("…" if end < len(line) else "")
