"""The values that flow between pipeline stages: plain, frozen, picklable dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
    mentions: tuple[Mention, ...] = ()  # every occurrence of a legacy name, with its verdict
