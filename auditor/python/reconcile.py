"""The post-pass that gives recall at least grep's: every occurrence of a legacy name gets a verdict.

Per file that names a legacy object (the files the name pre-filter keeps), each whole-word,
case-insensitive occurrence is matched against the findings' spans; the rest are classified from the
file's tokens (Python `tokenize`, the SQL tokenizer) as not a reference, with the reason, or reported as
LR006 (unclassified-mention) at low confidence. Files without an uncovered occurrence are not tokenized.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from auditor.catalog.names import LegacyCatalog, dollar_spans, name_spans
from auditor.core.model import Confidence, Finding, LegacyObject, Mention, Span, Suggestion
from auditor.core.source import LineIndex, snippet_of
from auditor.discover.languages import (
    COMMENT_STYLES,
    CONFIGURATION,
    DOCUMENTATION,
    NOT_CODE,
    PYTHON_SCRIPT,
)
from auditor.python.configfiles import classify_config, classify_json, own_configuration
from auditor.python.htmlpages import HTML, classify_documentation, classify_html
from auditor.python.javascript import CLIENT_LANGUAGES, CLIENT_TABLE, classify_javascript
from auditor.python.mentions import Columns, classify_python
from auditor.python.notebooks import NOTEBOOK, classify_notebook
from auditor.python.yamlfiles import YAML, classify_yaml
from auditor.sql.mentions import (
    MIGRATION_HISTORY,
    NOT_A_REFERENCE,
    SQL_FRAGMENT,
    UNCLASSIFIED,
    Verdict,
    classify_sql_file,
)
from auditor.sql.rewrite import rewrite_reference

FINDING = "finding"
# `$orders`, `orders$archive`: a `$` joins the name to a longer one (SQL, shell, PHP and JavaScript names)
_JOINED = "part of a longer name that a `$` joins it to (`$x`, `x$y`), not the table's"
_NAME_CHAR = re.compile(r"[\w$]")
_UNDECODABLE = Verdict(UNCLASSIFIED, "the file could not be decoded, so its text was not analysed")


@dataclass(frozen=True, slots=True)
class MentionSource:
    """A scanned file that names a legacy object."""

    path: str
    text: str
    # "python", "sql", "undecodable" (read leniently) or "other" (code in ``language``, which the scan does
    # not analyse): every occurrence of the last two is unclassified
    kind: str
    migration: bool = False  # a migration file (SQL, or Python under a migrations directory): history
    spans: list[tuple[int, int]] | None = None  # Python: its statements, from the extraction's parse
    language: str = ""


def reconcile_mentions(
    sources: Iterable[MentionSource],
    findings: list[Finding],
    catalog: LegacyCatalog,
    pattern: re.Pattern[str],
    examined: dict[tuple[str, int, int], str],
    columns: Columns | None = None,
) -> tuple[list[Mention], list[Finding]]:
    """Every occurrence's verdict, and the LR006 findings for those nothing could classify.

    ``examined`` holds the occurrences the matching stage looked at and ruled out, with the reason;
    ``columns``, each legacy table's columns where the scanned code gives them all.
    """
    spans: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.legacy is not None:
            spans.setdefault(finding.path, []).append(finding)

    def is_legacy(schema: str | None, name: str) -> bool:
        # an unqualified name goes through the search path, which may hold the schema of a legacy view of
        # that name: not another relation for certain
        return catalog.lookup(schema, name) is not None or (schema is None and bool(catalog.named(name)))

    mentions: list[Mention] = []
    unclassified: list[Finding] = []
    for source in sources:
        found = name_spans(pattern, source.text)
        joined = dollar_spans(pattern, source.text)  # `$orders`, `orders$x`, `'^orders$'`: grep sees them
        if not found and not joined:
            continue
        commented = source.language in COMMENT_STYLES  # its findings can be suppressed by a comment
        lines = LineIndex(source.text)
        covering = _Covering(spans.get(source.path, []))
        uncovered: list[tuple[int, int]] = []
        for start, end in found:
            line, column = lines.position(start)
            finding = covering.at(line, column)
            written = source.text[start:end]
            ruled_out = examined.get((source.path, line, column))
            if finding is not None:
                reason = f"{finding.rule}: {finding.message}"
                mentions.append(Mention(source.path, line, column, written, FINDING, reason))
            elif ruled_out is not None:
                mentions.append(Mention(source.path, line, column, written, NOT_A_REFERENCE, ruled_out))
            elif source.migration:
                mentions.append(
                    Mention(source.path, line, column, written, NOT_A_REFERENCE, MIGRATION_HISTORY)
                )
            else:
                uncovered.append((start, end))
        for start, end in joined:
            line, column = lines.position(start)
            written = source.text[start:end]
            if source.migration:
                mentions.append(
                    Mention(source.path, line, column, written, NOT_A_REFERENCE, MIGRATION_HISTORY)
                )
            elif source.text[start - 1 : start] == "$" or _NAME_CHAR.match(source.text, end + 1):
                mentions.append(Mention(source.path, line, column, written, NOT_A_REFERENCE, _JOINED))
            else:  # `name$` and then no name: maybe a regex's end anchor, judged where it stands
                uncovered.append((start, end))
        uncovered.sort()
        if not uncovered:
            continue
        if source.kind == "python":
            verdicts = classify_python(source.text, uncovered, is_legacy, source.spans, columns)
        elif source.kind == "sql":
            verdicts = classify_sql_file(source.text, uncovered, is_legacy)
        elif source.kind == "other":
            unread = f"it is in a {source.language} file, which the scan does not analyse"
            why = Verdict(UNCLASSIFIED, unread)
            verdicts = {start: why for start, _ in uncovered}
            try:
                if source.language in CLIENT_LANGUAGES:  # where each stands: a string, a comment, a name
                    vue = source.language == "Vue"  # its bound attributes hold JavaScript
                    verdicts = classify_javascript(source.text, uncovered, is_legacy, vue)
                elif source.language == NOTEBOOK:  # the cell each is in: Markdown, an output, code
                    verdicts = classify_notebook(source.text, uncovered, is_legacy)
                elif source.language == YAML:  # a comment, or a value a tool may read
                    verdicts = classify_yaml(source.text, uncovered, is_legacy)
                elif source.language == HTML:  # its scripts are JavaScript, the rest is read by people
                    verdicts = classify_html(source.text, uncovered, is_legacy)
                elif source.language == PYTHON_SCRIPT:  # a script without `.py`: read as Python's text
                    verdicts = classify_python(source.text, uncovered, is_legacy, columns=columns)
                elif source.language in NOT_CODE:  # styles, translated messages
                    verdicts = dict.fromkeys((s for s, _ in uncovered), NOT_A_REFERENCE_OF[source.language])
                elif source.language in DOCUMENTATION:  # prose, or a plain-text file of SQL statements
                    verdicts = classify_documentation(source.language, source.text, uncovered, is_legacy)
                elif source.language == "JSON":  # a string's text, or an API's description
                    verdicts = classify_json(source.text, uncovered, why, is_legacy)
                elif source.language in CONFIGURATION:
                    verdicts = classify_config(source.text, uncovered, why, is_legacy)
                # the auditor's own settings (audit.toml, [tool.audit], `--legacy OLD=NEW` in a CI job)
                verdicts.update(own_configuration(source.path, source.text, uncovered))
            except Exception:  # a reading that fails leaves every occurrence unclassified, never dropped
                verdicts = {start: why for start, _ in uncovered}
            for start, verdict in verdicts.items():  # SQL-shaped text in code nobody analysed: unclassified
                if verdict.verdict == SQL_FRAGMENT:
                    verdicts[start] = Verdict(UNCLASSIFIED, verdict.reason)
        else:
            verdicts = {start: _UNDECODABLE for start, _ in uncovered}
        made = len(unclassified)
        for start, end in uncovered:
            verdict = verdicts[start]
            line, column = lines.position(start)
            written = source.text[start:end]
            legacy = next(iter(catalog.named(written.lower())), None)
            if verdict.reason.startswith(CLIENT_TABLE) and legacy is not None:
                call = verdict.reason[len(CLIENT_TABLE) :]
                finding = _client_call(source, line, column, written, legacy, catalog.default_schema, call)
                mentions.append(
                    Mention(source.path, line, column, written, FINDING, f"LR004: {finding.message}")
                )
                unclassified.append(finding)
                continue
            if verdict.verdict == SQL_FRAGMENT and legacy is not None:
                finding = _fragment(
                    source.path, line, column, written, legacy, verdict.reason, catalog.default_schema
                )
                mentions.append(
                    Mention(source.path, line, column, written, FINDING, f"LR001: {finding.message}")
                )
                unclassified.append(finding)
                continue
            kind = UNCLASSIFIED if verdict.verdict == SQL_FRAGMENT else verdict.verdict
            mentions.append(Mention(source.path, line, column, written, kind, verdict.reason))
            if kind == UNCLASSIFIED and legacy is not None:
                settle = _SETTLE_OTHER if source.kind == "other" and not commented else _SETTLE
                found_here = _lr006(source.path, line, column, written, legacy, verdict.reason, settle)
                unclassified.append(found_here)
        if source.kind == "other":  # its snippets from the text at hand (a bundle is not read again)
            for index in range(made, len(unclassified)):
                found_here = unclassified[index]
                begin = lines.starts[found_here.span.line - 1]
                end = source.text.find("\n", begin)
                text = source.text[begin : end if end >= 0 else len(source.text)]
                unclassified[index] = replace(found_here, snippet=snippet_of(text, found_here.span.column))
    mentions.sort(key=lambda m: (m.path, m.line, m.column))
    return mentions, unclassified


def non_references(mentions: Iterable[Mention]) -> list[Mention]:
    return [m for m in mentions if m.verdict == NOT_A_REFERENCE]


class _Covering:
    """One file's findings by the lines their spans cover, so that finding the one that covers an
    occurrence looks at that line's findings only (a file of 20,000 legacy statements was quadratic)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.by_line: dict[int, list[Finding]] = {}
        for finding in findings:  # in list order: the first that covers a position wins, as it always did
            for line in range(finding.span.line, finding.span.end_line + 1):
                self.by_line.setdefault(line, []).append(finding)

    def at(self, line: int, column: int) -> Finding | None:
        for finding in self.by_line.get(line, ()):
            span = finding.span
            if (span.line, span.column) <= (line, column) < (span.end_line, span.end_column):
                return finding
        return None


# JavaScript's family: its occurrences are classified by where they stand (see javascript.py)
def _client_call(
    source: MentionSource,
    line: int,
    column: int,
    written: str,
    legacy: LegacyObject,
    default_schema: str,
    call: str,
) -> Finding:
    """`supabase.from("orders")` in a web client (``call``: "`.from()`"), Kysely's `.selectFrom("orders")`:
    a reference, at medium confidence (the code is read as written, not analysed)."""
    message = (
        f"`{written}` names the legacy view `{legacy.legacy}` as the table argument of {call} in a "
        f"{source.language} file (read as written: the scan does not analyse {source.language})."
    )
    return _reference("LR004", source.path, line, column, written, legacy, default_schema, message, False)


def _fragment(
    path: str, line: int, column: int, written: str, legacy: LegacyObject, why: str, default_schema: str
) -> Finding:
    """A qualifier in SQL text that no analysed query runs (a test's expected SQL, a fragment kept in a
    structure the analysis does not follow): a reference, at medium confidence."""
    message = f"`{written}` names the legacy view `{legacy.legacy}`: {why}."
    return _reference("LR001", path, line, column, written, legacy, default_schema, message, True)


def _reference(
    rule: str,
    path: str,
    line: int,
    column: int,
    written: str,
    legacy: LegacyObject,
    default_schema: str,
    message: str,
    renames: bool,
) -> Finding:
    """A reference the post-pass finds at one occurrence, at medium confidence, with the name's rewrite
    (``renames``: and the columns the view renames, in its description)."""
    span = Span(line, column, line, column + len(written))
    suggestion = None
    if legacy.target is not None:
        replacement = rewrite_reference(written, False, legacy.target, default_schema)
        description = f"Use {legacy.target} instead of the legacy view {legacy.legacy}"
        if renames and legacy.columns:
            columns = ", ".join(f"{old} -> {new}" for old, new in legacy.columns)
            description += f", and rename the columns the view renames: {columns}"
        suggestion = Suggestion(span, replacement, description + ".")
    return Finding(
        rule=rule,
        path=path,
        span=span,
        legacy=legacy.legacy,
        target=legacy.target,
        block=f"{path}:<occurrence>",
        confidence=Confidence.MEDIUM,
        message=message,
        snippet="",
        suggestion=suggestion,
    )


NOT_A_REFERENCE_OF = {language: Verdict(NOT_A_REFERENCE, why) for language, why in NOT_CODE.items()}
_SETTLE = "check it by hand, then fix it or suppress it with a reason"
# a language with no suppression comment the scan reads (a notebook, a simplate)
_SETTLE_OTHER = "check it by hand, then fix it, or record it in a baseline or exclude the file"


def _lr006(
    path: str, line: int, column: int, written: str, legacy: LegacyObject, why: str, settle: str = _SETTLE
) -> Finding:
    target = f" (replaced by `{legacy.target}`)" if legacy.target else ""
    message = (
        f"`{written}` may name the legacy view `{legacy.legacy}`{target}: {why}. No rule could classify this "
        f"occurrence; {settle}."
    )
    return Finding(
        rule="LR006",
        path=path,
        span=Span(line, column, line, column + len(written)),
        legacy=legacy.legacy,
        target=legacy.target,
        block=f"{path}:<occurrence>",
        confidence=Confidence.LOW,
        message=message,
        snippet="",
    )
