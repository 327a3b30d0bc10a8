"""Code in languages the scan does not analyse: a web client in TypeScript that calls Supabase's
`.from("orders")`, a shell script around `psql`, a Ruby or Go service, a notebook, an HTML page's scripts;
configuration that names the tables a tool reads (Hasura's metadata, dbt's sources, in YAML); and
documentation, whose mentions are read by people (each gets its verdict: recall is grep's).

Such code may still read or write a legacy view, so nothing it says is dropped in silence: each file
is tested with the name pre-filter, and every occurrence of a legacy name in one that passes gets a
verdict in the post-pass (an LR006 finding: nobody analysed that code, so a person has to look). A file
whose status is unchanged since the last scan is not read again unless its mentions must be classified
anew.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.core.model import Diagnostic, LeftOut
from auditor.core.source import read_source, too_large
from auditor.discover.cache import RACY_NS, ScanCache, content_key, file_status
from auditor.discover.prefilter import NamePrefilter, names_in_file

if TYPE_CHECKING:
    from auditor.discover.files import SourceFile

# suffix -> the language's name, as messages say it
LANGUAGES: dict[str, str] = {
    ".js": "JavaScript",
    ".jsx": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".astro": "Astro",
    ".spt": "Simplate",
    ".prisma": "Prisma schema",
    ".ipynb": "Jupyter notebook",
    ".pyx": "Cython",
    ".rb": "Ruby",
    ".go": "Go",
    ".java": "Java",
    ".kt": "Kotlin",
    ".scala": "Scala",
    ".php": "PHP",
    ".cs": "C#",
    ".rs": "Rust",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    # pages a browser runs the scripts of, and documentation (prose: its mentions are no references)
    ".html": "HTML",
    ".htm": "HTML",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".rst": "reStructuredText",
    ".adoc": "AsciiDoc",
    ".txt": "plain text",
    # configuration that names the tables a tool reads: Hasura metadata, dbt sources, seed configs
    ".yaml": "YAML",
    ".yml": "YAML",
    # configuration: a job's or a tool's settings may name the tables it reads
    ".toml": "TOML",
    ".ini": "INI",
    ".cfg": "INI",
    ".conf": "configuration",
    ".env": "dotenv",
    "Makefile": "Makefile",  # file names (the walk compares them as written, `language_of` in lower case)
    "makefile": "Makefile",
    ".mk": "Makefile",
    "Dockerfile": "Dockerfile",
    "dockerfile": "Dockerfile",
    "Procfile": "Procfile",
    "procfile": "Procfile",
    "Justfile": "Justfile",
    "justfile": "Justfile",
    # SQL the scan does not read as SQL: other suffixes, and templates that render to SQL
    ".psql": "SQL (.psql)",
    ".pgsql": "SQL (.pgsql)",
    ".plpgsql": "SQL (.plpgsql)",
    ".ddl": "SQL (.ddl)",
    ".sql.j2": "SQL template",
    ".sql.jinja": "SQL template",
    ".sql.jinja2": "SQL template",
    ".sql.tpl": "SQL template",
    ".sql.tmpl": "SQL template",
    ".sql.mustache": "SQL template",
}
# configuration read as such: a comment is no reference, anything else is unclassified
CONFIGURATION = frozenset(
    {"TOML", "INI", "configuration", "dotenv", "Makefile", "Dockerfile", "Procfile", "Justfile"}
)
# prose: every mention in it is read by people, never run
DOCUMENTATION = frozenset({"Markdown", "reStructuredText", "AsciiDoc", "plain text"})
# how a suppression comment (`audit: ignore[LR006] reason`) is written in each language: "//" (`//` line
# and `/* */` block comments, and HTML comments in components), "#" (a `#` that starts a word, outside
# quotes), "--" (SQL's); a notebook and a simplate have none the scan reads
COMMENT_STYLES: dict[str, str] = {
    **dict.fromkeys(("JavaScript", "TypeScript", "Vue", "Svelte", "Astro", "HTML", "Prisma schema"), "//"),
    **dict.fromkeys(("Go", "Java", "Kotlin", "Scala", "PHP", "C#", "Rust"), "//"),
    **dict.fromkeys(("Ruby", "Elixir", "shell", "YAML", "Cython", *CONFIGURATION), "#"),
    **{language: "--" for language in LANGUAGES.values() if language.startswith("SQL")},
}
# longest first: `.sql.j2` before any shorter suffix it ends with
OTHER_SUFFIXES = tuple(sorted(LANGUAGES, key=len, reverse=True))


def language_of(path: str) -> str:
    """The language of a file the scan lists but does not analyse ("" for a .py or .sql file)."""
    lowered = path.lower()
    return next((LANGUAGES[s] for s in OTHER_SUFFIXES if lowered.endswith(s)), "")


@dataclass(frozen=True, slots=True)
class OtherSource:
    """A file in another language whose text names a legacy object."""

    path: str
    full_path: str
    language: str
    key: str  # its content key
    text: str | None  # decoded leniently; None when unchanged since the last scan (see `read_text`)

    def read_text(self) -> str | None:
        """The text (read again for an unchanged file, when its mentions must be classified anew)."""
        if self.text is not None:
            return self.text
        read = read_source(self.full_path, self.path, 1 << 40)
        return read[0].decode("utf-8", "replace") if not isinstance(read, Diagnostic) else None


_TOO_LARGE = "too-large"  # remembered for a file too large to read whole that names a legacy object
_BINARY = "binary"  # remembered for binary content


def other_language_sources(
    files: Sequence[SourceFile], names: NamePrefilter, max_bytes: int, cache: ScanCache
) -> tuple[list[OtherSource], list[Diagnostic], list[LeftOut]]:
    """The files in other languages that name a legacy object, and the diagnostics of those that could not
    be read: an unreadable one, and one too large to read whole that holds a legacy name (both unanalysed:
    they hold what they may name), and those left out: binary content under such a suffix (an MPEG
    transport stream named `.ts`) is no code. A file whose status is as the last scan recorded it is not
    read again: what it named then (its content key, "" for nothing) stands."""
    inputs = repr((names.exact.pattern, max_bytes))
    known: dict[str, tuple[tuple[int, int, int, int], str]] = cache.stage("other languages", inputs) or {}
    seen: dict[str, tuple[tuple[int, int, int, int], str]] = {}
    sources: list[OtherSource] = []
    diagnostics: list[Diagnostic] = []
    left_out: list[LeftOut] = []
    for file in files:
        language = language_of(file.path)
        remembered = known.get(file.path)
        if remembered is not None and _unchanged(file.full_path, remembered[0], cache):
            seen[file.path] = remembered
            verdict = remembered[1]
            if verdict == _TOO_LARGE:
                diagnostics.append(too_large(file.path, max_bytes))
            elif verdict == _BINARY:
                left_out.append(LeftOut(file.path, "binary"))
            elif verdict:
                sources.append(OtherSource(file.path, file.full_path, language, verdict, None))
            continue
        read = read_source(file.full_path, file.path, max_bytes)
        if isinstance(read, Diagnostic):
            if read.kind == "too-large" and language in DOCUMENTATION:  # prose holds nothing: left out
                left_out.append(LeftOut(file.path, "too-large"))
            elif read.kind == "too-large":  # unanalysed, and holding what it names (when it names any)
                named = names_in_file(file.full_path, names) != set()  # None: unreadable, may name any
                if named:
                    diagnostics.append(read)
                with contextlib.suppress(OSError):
                    seen[file.path] = (file_status(os.stat(file.full_path)), _TOO_LARGE if named else "")
            elif read.kind == "binary":
                left_out.append(LeftOut(file.path, "binary"))
                with contextlib.suppress(OSError):
                    seen[file.path] = (file_status(os.stat(file.full_path)), _BINARY)
            else:
                diagnostics.append(read)
            continue
        data, status = read
        key = content_key(data) if names.matches(data, data.lower()) else ""
        seen[file.path] = (file_status(status), key)
        if key:
            text = data.decode("utf-8", "replace")
            sources.append(OtherSource(file.path, file.full_path, language, key, text))
    cache.put_stage("other languages", inputs, seen)
    return sources, diagnostics, left_out


def _unchanged(path: str, recorded: tuple[int, int, int, int], cache: ScanCache) -> bool:
    """The file's status is as recorded, and it was not racily clean when recorded."""
    try:
        status = os.stat(path)
    except OSError:
        return False
    return file_status(status) == recorded and status.st_mtime_ns < cache.recorded_ns - RACY_NS
