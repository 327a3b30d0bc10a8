"""The values that flow between pipeline stages: plain, frozen, picklable dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def slots_reduce(self: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickle a frozen slots dataclass as a constructor call: several times faster to write, and faster
    to read, than the generated ``__getstate__``/``__setstate__`` (the cache holds 10^5 such values)."""
    return type(self), tuple([getattr(self, name) for name in self.__slots__])


class Confidence(enum.IntEnum):
    """How sure a finding is; ordered so that ``>=`` compares strength."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Confidence:
        return cls[text.strip().upper()]


@dataclass(frozen=True, slots=True)
class ObjectName:
    """A schema-qualified relation name, normalised the way PostgreSQL folds identifiers."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class LegacyObject:
    """One legacy name (a compatibility view) and the relation that replaces it."""

    legacy: ObjectName
    target: ObjectName | None
    kind: str  # "view" (found in migrations) or "name" (declared in config / on the command line)
    source: str  # where the entry came from: "supabase/migrations/0002_compat.sql:4", "config", "cli"
    # legacy column -> target column, only for columns the view renames; empty when it passes them through
    columns: tuple[tuple[str, str], ...] = ()
    # why it is a compatibility view: "was a table: table renamed to public.x_v2 at m/2.sql:3", ...
    evidence: tuple[str, ...] = ()
    # columns that exist only in the view, with the expression it computes them from
    computed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: 1-based lines and columns (code points); ``end_column`` is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The smallest edit that removes the reference: replace ``span`` of the finding's file."""

    span: Span
    replacement: str
    description: str
    mechanical: bool = True  # False: the rewrite needs a person (it reads columns the view computes)


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # stable code, e.g. "LR001"
    path: str  # relative to the scan root, "/"-separated
    span: Span  # the legacy name itself (or the unresolved expression for LR005)
    legacy: ObjectName | None  # None only for LR005
    target: ObjectName | None
    block: str  # "pkg.module:Class.method", "pkg.module:<module>", "db/x.sql:view public.v"
    confidence: Confidence
    message: str
    snippet: str  # the source line that holds the reference, stripped
    suggestion: Suggestion | None = None
    # names the reference travels through, e.g. ("app.db.tables.ORDER_ITEMS",) for a constant
    via: tuple[str, ...] = ()
    # for LR102: the database object that depends on the legacy name, e.g. "view public.order_summary"
    db_object: str | None = None
    # MIGRATION: in a migration, replayed before the rename on a fresh database; history, never a blocker
    context: str | None = None


MIGRATION = "migration"


def blocks_phase3(finding: Finding) -> bool:
    """A finding that keeps its legacy object from being dropped: not history, and names the object."""
    return finding.legacy is not None and finding.context != MIGRATION


def report_order(finding: Finding) -> tuple[str, int, int, str, str]:
    """The order findings are reported in: path, line, column, rule, legacy name."""
    return (finding.path, finding.span.line, finding.span.column, finding.rule, str(finding.legacy))


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something the scan could not do (bad input); the scan goes on."""

    path: str
    line: int | None
    kind: str  # "syntax-error", "decode-error", "unreadable", "too-large", "symlink-loop", "sql-parse", ...
    message: str


# diagnostics that mean the file's content was not analysed at all (a "sql-parse" statement still was)
UNANALYSED_KINDS = frozenset(
    {"syntax-error", "decode-error", "too-large", "binary", "parse-error", "unreadable", "analysis-crash"}
)


@dataclass(frozen=True, slots=True)
class UnanalysedFile:
    """A source file whose content could not be analysed, and the legacy objects its text may name."""

    path: str
    kind: str  # the diagnostic's kind: "syntax-error", "too-large", ...
    message: str
    names: tuple[ObjectName, ...]  # legacy objects whose name the text holds (whole word, any case)
    unreadable: bool = False  # the text itself could not be read: it may name any legacy object


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A file (or a directory, ``path`` ending in "/") the scan did not read, and why."""

    path: str
    reason: str  # one of LEFT_OUT_REASONS


# ignored: by .gitignore (untracked files only in a git work tree); excluded: by `exclude` in the config;
# linked: a symlink to a file or folder inside the tree, which the scan reads at its own path
LEFT_OUT_REASONS = ("ignored", "excluded", "too-large", "binary", "not-a-file", "linked")


@dataclass(frozen=True, slots=True)
class DbObject:
    """A persistent database object defined in a .sql file (after applying migrations in order)."""

    kind: str  # "view", "materialized view", "function", "trigger", "policy", "foreign key", "rule", "index"
    name: str  # "public.order_summary", "trg_x on public.orders", ...
    path: str
    line: int
    depends_on: tuple[ObjectName, ...]  # relations its definition names
    is_compat_layer: bool = False  # the legacy view itself, its INSTEAD OF triggers and their functions
    executes: ObjectName | None = None  # triggers: the function they run


@dataclass(frozen=True, slots=True)
class InferredSink:
    """A function of the scanned code whose parameter reaches a table position (a helper summary)."""

    function: str  # dotted: "app.db.Database.insert"
    parameter: str
    path: str  # where the function is defined
    line: int
    reaches: str  # the sink the parameter reaches inside it: "execute()", "count_rows()"
    chain: tuple[str, ...]  # the helpers below it, outermost first, ending at the one that runs the SQL


@dataclass(frozen=True, slots=True)
class HeldHelper:
    """A method whose callers in the parsed modules all pass known table names: its LR005s (and those of
    the helpers resolved through it) stand when a module the scan did not parse may call it with another
    value."""

    method: str  # its name: calls `.method(...)`; "__init__": calls of the class
    cls: str  # the class, for a constructor
    position: int  # the parameter's place among the call's positional arguments (-1: by keyword only)
    parameter: str
    findings: tuple[tuple[Finding, int | None], ...]  # each LR005, with its expression (positions pending)

    @property
    def called_as(self) -> str:
        """The word a call of it is written with: the method's name, or a constructor's class."""
        return self.cls if self.method == "__init__" else self.method

    @property
    def label(self) -> str:
        return f"{self.cls}.__init__()" if self.method == "__init__" else f".{self.method}()"


@dataclass(frozen=True, slots=True)
class StatementUsage:
    """One normalized statement (``pg_stat_statements``) that read a legacy view in the observation window."""

    role: str  # the role that ran it: "authenticated" and "anon" are PostgREST clients
    queryid: int
    query: str  # normalized text, constants as $1, $2...
    calls: int  # in the window
    rows: int
    total_ms: float
    legacy: tuple[ObjectName, ...]  # the legacy views its parsed tables include


@dataclass(frozen=True, slots=True)
class DatabaseEvidence:
    """What the live database said: where it was read, the usage and the window it covers."""

    database: str  # "host:port/dbname as user", never the password
    read_at: str  # the database's clock, ISO 8601
    usage_observed: bool  # False: pg_stat_statements unreadable, so usage is unknown
    usage_note: str  # why not observed, or "" when observed
    window_start: str | None  # ISO 8601; None when the counters' start is unknown
    window_source: str  # "snapshot FILE" or "pg_stat_statements reset"
    usage: tuple[StatementUsage, ...] = ()

    @property
    def window_seconds(self) -> float | None:
        if self.window_start is None:
            return None
        start, end = datetime.fromisoformat(self.window_start), datetime.fromisoformat(self.read_at)
        return max(0.0, (end - start).total_seconds())


@dataclass(frozen=True, slots=True)
class Mention:
    """One whole-word, case-insensitive occurrence of a legacy name in a scanned file, and its verdict.

    Every occurrence `grep -rniw NAME` would see ends as a finding, as a classified non-reference
    (``reason`` says why), or as an LR006 finding when nothing could classify it.
    """

    path: str
    line: int
    column: int
    name: str  # the occurrence as written
    verdict: str  # "finding" | "not-a-reference" | "unclassified"
    reason: str  # the finding's rule and message, why it is not a reference, or why it is unclassified


@dataclass(frozen=True, slots=True)
class ScanResult:
    root: str
    catalog: tuple[LegacyObject, ...]
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]
    files_scanned: int
    db_objects: tuple[DbObject, ...] = field(default_factory=tuple)
    suppression_files: tuple[str, ...] = ()  # files whose text holds "audit: ignore" comments
    database: DatabaseEvidence | None = None  # None: a static-only scan
    unanalysed: tuple[UnanalysedFile, ...] = ()  # source files whose content was not analysed
    unresolved_accepted: bool = False  # a person accepted the LR005 sites: they block nothing
    left_out: tuple[LeftOut, ...] = ()  # files the scan did not read, sorted by path
    mentions: tuple[Mention, ...] = ()  # every occurrence of a legacy name, with its verdict
    inferred_sinks: tuple[InferredSink, ...] = ()  # helpers that take a table name, sorted


def unverified_holds(result: ScanResult) -> dict[str, tuple[str, ...]]:
    """Legacy object -> why the scan cannot call it unused: the unanalysed files that may name it, and
    ``"LR005"`` when unresolved table names (not accepted) may hold it. Empty: nothing unverified."""
    held: dict[str, list[str]] = {str(entry.legacy): [] for entry in result.catalog}
    for file in result.unanalysed:
        for name in held if file.unreadable else (str(n) for n in file.names):
            held.setdefault(name, []).append(file.path)
    if not result.unresolved_accepted and any(f.rule == "LR005" for f in result.findings):
        for reasons in held.values():
            reasons.append("LR005")
    return {name: tuple(reasons) for name, reasons in held.items() if reasons}


# pickled as constructor calls: the cache's stages hold thousands of findings and mentions
for _cls in (
    ObjectName,
    LegacyObject,
    Span,
    Suggestion,
    Finding,
    Diagnostic,
    DbObject,
    InferredSink,
    Mention,
):
    _cls.__reduce__ = slots_reduce  # type: ignore[method-assign,assignment]
