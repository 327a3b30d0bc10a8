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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.core.model import Diagnostic, LeftOut
from auditor.core.source import read_source, starts_binary, too_large
from auditor.discover.cache import ScanCache, content_key, file_status
from auditor.discover.prefilter import SUPPRESSION_MARK_BYTES, NamePrefilter, names_in_file

if TYPE_CHECKING:
    from auditor.discover.files import SourceFile

TEMPLATE = "template"  # a template or an example of a file of another kind, named by its inner suffix
PLAIN_TEXT = "plain text"  # documentation; also what a file without a suffix named like LICENSE is
PYTHON_SCRIPT = "Python script"  # a script whose `#!` line names Python, read as a `.py` file's text is
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
    ".gs": "JavaScript",  # Google Apps Script
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
    ".pxd": "Cython",
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
    ".mdx": "Markdown",  # Markdown with JSX components (documentation sites)
    ".apib": "Markdown",  # API Blueprint: an HTTP API's documentation, written in Markdown
    ".rst": "reStructuredText",
    ".adoc": "AsciiDoc",
    ".txt": PLAIN_TEXT,
    # configuration that names the tables a tool reads: Hasura metadata, dbt sources, seed configs
    ".yaml": "YAML",
    ".yml": "YAML",
    # CI pipelines and build scripts in Groovy (a Jenkinsfile's `sh "psql ..."` steps)
    "Jenkinsfile": "Groovy",
    "jenkinsfile": "Groovy",
    ".groovy": "Groovy",
    ".gradle": "Groovy",
    # what is never code: styles, and the messages a translation catalog shows people
    ".css": "stylesheet",
    ".scss": "stylesheet",
    ".sass": "stylesheet",
    ".less": "stylesheet",
    ".svg": "image",
    ".po": "translation catalog",
    ".pot": "translation catalog",
    # data and definitions a tool may load: XML (a MyBatis mapper's SQL, a Hibernate mapping's table), a
    # database dump (restored, it writes the tables it names), Nix
    ".xml": "XML",
    ".dump": "database dump",
    ".pg_dump": "database dump",
    ".nix": "Nix",
    # a template or an example of another file (`.env.example`, `settings.ini.tpl`): read as that file
    ".example": TEMPLATE,
    ".sample": TEMPLATE,
    ".dist": TEMPLATE,
    ".tpl": TEMPLATE,
    ".template": TEMPLATE,
    ".tmpl": TEMPLATE,
    ".mako": TEMPLATE,  # Alembic's `script.py.mako`
    ".j2": TEMPLATE,
    ".jinja": TEMPLATE,
    ".jinja2": TEMPLATE,
    # other template engines: `show.html.erb`, `page.html.hbs` are read as HTML
    ".erb": TEMPLATE,
    ".ejs": TEMPLATE,
    ".hbs": TEMPLATE,
    ".handlebars": TEMPLATE,
    ".mustache": TEMPLATE,
    ".njk": TEMPLATE,
    ".twig": TEMPLATE,
    ".liquid": TEMPLATE,
    # Python nobody runs as a module: type stubs, and Django's `startapp` templates (`models.py-tpl`)
    ".pyi": PYTHON_SCRIPT,
    ".py-tpl": PYTHON_SCRIPT,
    # lists of path patterns and of package versions: never code
    ".gitignore": "list of path patterns",
    ".dockerignore": "list of path patterns",
    ".gitattributes": "list of path patterns",
    ".lock": "lock file",
    # configuration: a job's or a tool's settings may name the tables it reads
    ".json": "JSON",
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
# never code, whatever it names: each mention is a non-reference with this reason
NOT_CODE = {
    "stylesheet": "a stylesheet (styles a browser reads, never run against a database)",
    "translation catalog": "a translation catalog (messages shown to people)",
    "image": "an image (SVG markup a browser draws)",
    "list of path patterns": "a list of path patterns (a .gitignore-like file)",
    "lock file": "a lock file (the packages and versions an installer pins)",
}
# content that is never text (images, fonts, archives, compiled code, media, office documents, columnar
# data): not listed, as `grep -I` does not read it; any other file is listed, of a known kind or not
BINARY_SUFFIXES = (
    *(".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ico", ".icns", ".avif", ".heic"),
    *(".psd", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".lzma"),
    *(".zst", ".7z", ".rar", ".tar", ".whl", ".egg", ".jar", ".war", ".pyc", ".pyo", ".so", ".dll"),
    *(".dylib", ".exe", ".o", ".a", ".class", ".wasm", ".mo", ".mp3", ".mp4", ".m4a", ".wav", ".ogg"),
    *(".flac", ".mov", ".avi", ".webm", ".mkv", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt"),
    *(".pptx", ".odt", ".ods", ".parquet", ".feather", ".avro", ".orc", ".npy", ".npz", ".h5", ".hdf5"),
    *(".pkl", ".pickle", ".mmdb", ".dbf", ".shp", ".shx", ".sqlite", ".sqlite3", ".db", ".ds_store"),
)
# prose: every mention in it is read by people, never run
DOCUMENTATION = frozenset({"Markdown", "reStructuredText", "AsciiDoc", PLAIN_TEXT})
# how a suppression comment (`audit: ignore[LR006] reason`) is written in each language: "//" (`//` line
# and `/* */` block comments, and HTML comments in components), "#" (a `#` that starts a word, outside
# quotes), "--" (SQL's); a notebook and a simplate have none the scan reads
COMMENT_STYLES: dict[str, str] = {
    **dict.fromkeys(("JavaScript", "TypeScript", "Vue", "Svelte", "Astro", "HTML", "Prisma schema"), "//"),
    **dict.fromkeys(("Go", "Java", "Kotlin", "Scala", "Groovy", "PHP", "C#", "Rust"), "//"),
    **dict.fromkeys(("Ruby", "Elixir", "shell", "YAML", "Cython", PYTHON_SCRIPT, "script"), "#"),
    **dict.fromkeys(CONFIGURATION, "#"),
    **{language: "--" for language in LANGUAGES.values() if language.startswith("SQL")},
}
# the keys that are file names, not suffixes (`Makefile`, `GNUmakefile`), in lower case
_NAME_KEYS = tuple(key for key in LANGUAGES if not key.startswith(".") and key == key.lower())


def language_of(path: str, full_path: str | None = None) -> str:
    """The language of a file the scan lists but does not analyse ("" for a .py or .sql file). A file
    whose name has no suffix (`bin/run`, `scripts/backfill`) is a script in the language its `#!` line
    names, or plain text (a LICENSE, a CODEOWNERS file) when it has none; ``full_path`` is read for it.
    A file of no kind known here is named by its suffix (`.csv`, `.lua`: see `unknown_kind`)."""
    name = path.rsplit("/", 1)[-1].lower()
    suffix = _suffix_of(name)
    found = LANGUAGES[suffix] if suffix else ""
    if not found and not unsuffixed(name) and not name.endswith((".py", ".sql")):
        suffix = name[name.rfind(".") :]  # `data.csv` -> `.csv`, `.prettierrc` -> itself
        return "HTML" if suffix.startswith((".html", ".htm")) else suffix  # `.html-fragment`, `.htmlx`
    if found == TEMPLATE:  # `.env.example` is dotenv, `query.sql.tpl` an SQL template, `x.py.tpl` Python
        inner = path[: -len(suffix)]
        if inner.lower().endswith(".py"):
            return PYTHON_SCRIPT
        if inner.lower().endswith(".sql"):
            return "SQL template"
        return (language_of(inner) or TEMPLATE) if not unsuffixed(inner) else TEMPLATE
    if found or full_path is None or not unsuffixed(path):
        return found
    try:
        with open(full_path, "rb") as handle:
            head = handle.read(_SHEBANG_BYTES)
    except OSError:
        return "script"  # read again later; an unreadable file gets its diagnostic there
    return script_language(head, path)


def _suffix_of(name: str) -> str:
    """The longest key of LANGUAGES a lower-cased file name ends with ("" for none): dict lookups of the
    name's suffixes from its first dot on (a warm scan asks this of every listed file), then file names."""
    at = name.find(".")
    while at >= 0:
        if name[at:] in LANGUAGES:
            return name[at:]
        at = name.find(".", at + 1)
    return next((key for key in _NAME_KEYS if name.endswith(key)), "")


def unknown_kind(language: str) -> bool:
    """A file of no kind known here (`language_of` gave its suffix): each mention in it is unclassified."""
    return language.startswith(".")


def listed(name: str) -> bool:
    """Whether discovery lists a file of this name: any but those whose suffix says binary content."""
    return not name.lower().endswith(BINARY_SUFFIXES)


def unsuffixed(path: str) -> bool:
    """A file name without a suffix (and not a dotfile): a script or text, whose content says which."""
    return "." not in path.rsplit("/", 1)[-1]


def script_language(head: bytes, path: str = "") -> str:
    """The language a file's `#!` line names ("script" for an interpreter not known here); without one,
    plain text for the names prose goes by (LICENSE, AUTHORS, CODEOWNERS), else "script": a file without a
    suffix may be code whose language nothing says (unclassified, never prose by default)."""
    match = _SHEBANG.match(head)
    if match is None:
        return PLAIN_TEXT if path.rsplit("/", 1)[-1].lower() in _PROSE_NAMES else "script"
    return _INTERPRETERS.get(match.group(1).decode("ascii", "replace"), "script")


_PROSE_NAMES = frozenset(
    [
        "license",
        "licence",
        "copying",
        "authors",
        "contributors",
        "maintainers",
        "owners",
        "codeowners",
        "notice",
        "readme",
        "changes",
        "changelog",
        "history",
        "news",
        "version",
        "manifest",
        "todo",
        "thanks",
        "credits",
    ]
)


_SHEBANG_BYTES = 256
# `#!/usr/bin/env python3`, `#!/bin/bash -e`, `#!/usr/bin/env -S node --flag`: the interpreter's name
_SHEBANG = re.compile(rb"#![ \t]*(?:\S*/)?(?:env[ \t]+(?:-\S+[ \t]+)*)?([A-Za-z]+)")
_INTERPRETERS = {
    **dict.fromkeys(("python", "pypy"), PYTHON_SCRIPT),
    **dict.fromkeys(("sh", "bash", "zsh", "dash", "ksh", "ash"), "shell"),
    **dict.fromkeys(("node", "deno", "bun"), "JavaScript"),
    "ruby": "Ruby",
    "php": "PHP",
    "elixir": "Elixir",
}


@dataclass(frozen=True, slots=True)
class OtherSource:
    """A file in another language whose text names a legacy object."""

    path: str
    full_path: str
    language: str
    key: str  # its content key
    text: str | None  # decoded leniently; None when unchanged since the last scan (see `read_text`)
    marked: bool = False  # its text holds a suppression comment's mark (`audit: ignore`)

    def read_text(self) -> str | None:
        """The text (read again for an unchanged file, when its mentions must be classified anew)."""
        if self.text is not None:
            return self.text
        read = read_source(self.full_path, self.path, 1 << 40)
        return read[0].decode("utf-8", "replace") if not isinstance(read, Diagnostic) else None


_TOO_LARGE = "too-large"  # remembered for a file too large to read whole that names a legacy object
_BINARY = "binary"  # remembered for binary content


@dataclass(frozen=True, slots=True)
class OtherRead:
    """What reading one file in another language found: ``verdict`` is the content key of a file that names
    a legacy object ("" for one that names none), or _TOO_LARGE / _BINARY; ``diagnostic`` one to report."""

    path: str
    status: tuple[int, int, int, int] | None  # None: not recorded (the next scan reads the file again)
    verdict: str
    language: str
    marked: bool = False  # the text holds `audit: ignore` (its suppressions are read after the scan)
    # the table calls of a client whose table is not a literal (line, column, call, argument): LR005
    dynamic: tuple[tuple[int, int, str, str], ...] = ()
    text: str | None = None  # the text of a file that names a legacy object
    diagnostic: Diagnostic | None = None

    def remembered(self) -> _Remembered | None:
        """What the cache keeps of it (None: nothing, the next scan reads the file again)."""
        if self.status is None:
            return None
        return (self.status, self.verdict, self.language, self.marked, self.dynamic)


# what the cache keeps of a file in another language: its status, verdict, language, mark, dynamic calls
_Remembered = tuple[tuple[int, int, int, int], str, str, bool, tuple[tuple[int, int, str, str], ...]]
# reads a file's bytes for table calls whose table is not a literal (by language; see `read_other`)
DynamicCalls = Callable[[str, bytes], tuple[tuple[int, int, str, str], ...]]


def read_other(
    file: SourceFile, language: str, names: NamePrefilter, max_bytes: int, calls: DynamicCalls | None = None
) -> OtherRead:
    """Read one file in another language and test it with the name pre-filter (on any core); ``calls``
    finds its table calls whose table is not a literal. A file of no known kind whose head is binary
    (`grep -I` reads no such file) is left out as binary without being read whole."""
    if unknown_kind(language) and _binary_head(file.full_path):
        with contextlib.suppress(OSError):
            return OtherRead(file.path, file_status(os.stat(file.full_path)), _BINARY, language)
    read = read_source(file.full_path, file.path, max_bytes)
    if not isinstance(read, Diagnostic):
        data, read_status = read
        key = content_key(data) if names.matches(data, data.lower()) else ""
        text = data.decode("utf-8", "replace") if key else None
        dynamic = calls(language, data) if calls is not None else ()
        marked = bool(key or dynamic) and SUPPRESSION_MARK_BYTES in data
        return OtherRead(file.path, file_status(read_status), key, language, marked, dynamic, text)
    status: tuple[int, int, int, int] | None = None
    with contextlib.suppress(OSError):
        status = file_status(os.stat(file.full_path))
    # prose and what is never code hold nothing; plain text may hold SQL a script runs (see htmlpages.py)
    if (
        read.kind == "too-large"
        and (language in DOCUMENTATION or language in NOT_CODE)
        and language != PLAIN_TEXT
    ):
        return OtherRead(file.path, None, _TOO_LARGE, language)
    if read.kind == "too-large":  # unanalysed, and holding what it names (when it names any)
        named = names_in_file(file.full_path, names) != set()  # None: unreadable, may name any
        verdict = _TOO_LARGE if named else ""
        return OtherRead(file.path, status, verdict, language, diagnostic=read if named else None)
    if read.kind == "binary":
        return OtherRead(file.path, status, _BINARY, language)
    return OtherRead(file.path, None, "", language, diagnostic=read)


def _binary_head(path: str) -> bool:
    try:
        return starts_binary(path)
    except OSError:
        return False  # read (and diagnosed) as any file is


@dataclass
class OtherFiles:
    """The files in other languages of a scan: those whose status the last scan recorded (not read again)
    and those to read (`read_other`, on the workers when there are many)."""

    inputs: str
    known: dict[str, OtherRead]
    to_read: list[tuple[SourceFile, str]]  # with its language
    files: dict[str, SourceFile] = field(default_factory=dict)

    def finish(
        self, reads: Sequence[OtherRead], max_bytes: int, cache: ScanCache
    ) -> tuple[list[OtherSource], list[Diagnostic], list[LeftOut], list[OtherRead]]:
        """The files that name a legacy object, the diagnostics of those that could not be read (an
        unreadable one, and one too large to read whole that holds a legacy name: both unanalysed, they hold
        what they may name), and those left out (binary content under such a suffix, an MPEG transport
        stream named `.ts`, is no code; documentation too large to read), and the reads of the files whose
        table calls take a table that is not a literal. What each file's status was read with is
        remembered: an unchanged file's verdict stands at the next scan."""
        seen: dict[str, _Remembered] = {}
        dynamic: list[OtherRead] = []
        sources: list[OtherSource] = []
        diagnostics: list[Diagnostic] = []
        left_out: list[LeftOut] = []
        for read in [*self.known.values(), *reads]:
            remembered = read.remembered()
            if remembered is not None:
                seen[read.path] = remembered
            if read.dynamic:
                dynamic.append(read)
            if read.diagnostic is not None:
                diagnostics.append(read.diagnostic)
            elif read.verdict == _TOO_LARGE and read.path in self.known:
                diagnostics.append(too_large(read.path, max_bytes))
            elif read.verdict == _TOO_LARGE:
                left_out.append(LeftOut(read.path, "too-large"))  # documentation: no diagnostic, no hold
            elif read.verdict == _BINARY:
                left_out.append(LeftOut(read.path, "binary"))
            elif read.verdict:
                full_path = self.files[read.path].full_path
                sources.append(
                    OtherSource(read.path, full_path, read.language, read.verdict, read.text, read.marked)
                )
        sources.sort(key=lambda source: source.path)
        dynamic.sort(key=lambda read: read.path)
        cache.put_stage("other languages", self.inputs, seen)
        return sources, diagnostics, left_out, dynamic


def other_files(
    files: Sequence[SourceFile], names: NamePrefilter, max_bytes: int, cache: ScanCache
) -> OtherFiles:
    """Which files in other languages must be read: a file whose status is as the last scan recorded it is
    not read again (what it named then, its content key or "" for nothing, its language and whether it holds
    a suppression comment stand: a warm scan neither reads it nor its `#!` line)."""
    inputs = repr((names.exact.pattern, max_bytes, "language, marked, dynamic"))
    known: dict[str, _Remembered] = cache.stage("other languages", inputs) or {}
    plan = OtherFiles(inputs, {}, [], {f.path: f for f in files})
    for file in files:
        remembered = known.get(file.path)
        if remembered is not None and _unchanged(file.full_path, remembered[0], cache):
            plan.known[file.path] = OtherRead(file.path, *remembered)
        else:
            plan.to_read.append((file, language_of(file.path, file.full_path)))
    return plan


def read_others(
    files: Sequence[tuple[SourceFile, str]],
    names: NamePrefilter,
    max_bytes: int,
    calls: DynamicCalls | None = None,
) -> list[OtherRead]:
    """`read_other` for each (file, language): one task of a worker."""
    return [read_other(file, language, names, max_bytes, calls) for file, language in files]


def _unchanged(path: str, recorded: tuple[int, int, int, int], cache: ScanCache) -> bool:
    """The file's status is as recorded, and it was not racily clean when recorded."""
    try:
        status = os.stat(path)
    except OSError:
        return False
    return file_status(status) == recorded and cache.settled(status)
