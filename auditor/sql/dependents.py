"""Objects built on a legacy view: views and functions that depend on one (LR102), directly or through
other such objects. They must be redefined before the drop, and the code that uses them is affected."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from auditor.catalog.names import LegacyCatalog, fold_identifier
from auditor.core.model import Confidence, Finding, LegacyObject, ObjectName, Span, report_order
from auditor.core.source import LineIndex
from auditor.sql.files import Definition
from auditor.sql.migrations import resolve_name
from auditor.sql.refs import StatementInfo

FUNCTIONS = frozenset({"function", "procedure"})
Chain = tuple[ObjectName, ...]  # from the legacy object to the object built on it


def _arrows(chain: Chain) -> str:
    return " → ".join(str(name) for name in chain)


def built_on_legacy(
    definitions: Iterable[Definition], findings: Iterable[Finding], catalog: LegacyCatalog
) -> dict[ObjectName, tuple[Chain, str]]:
    """Each dependent object -> (the chain of names from the legacy object to it, its kind)."""
    definitions = list(definitions)
    by_label = {d.label: d for d in definitions}
    users: dict[ObjectName, list[Definition]] = {}
    for definition in definitions:
        for name in definition.depends_on:
            users.setdefault(name, []).append(definition)
    found: dict[ObjectName, tuple[Chain, str]] = {}
    queue: deque[ObjectName] = deque()
    for finding in sorted(findings, key=report_order):
        definition = by_label.get(finding.db_object or "")
        if finding.rule != "LR102" or definition is None or finding.legacy is None:
            continue
        if definition.name not in found and catalog.get(definition.name) is None:
            found[definition.name] = ((finding.legacy, definition.name), definition.kind)
            queue.append(definition.name)
    while queue:  # breadth first: the shortest chain wins
        name = queue.popleft()
        for user in users.get(name, ()):
            if user.name not in found and catalog.get(user.name) is None:
                found[user.name] = ((*found[name][0], user.name), user.kind)
                queue.append(user.name)
    return found


_NAMED_BY_DDL = re.compile(r"\b(?:function|procedure|routine)\s+(?:if\s+exists\s+)?$", re.IGNORECASE)


def function_call_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """`name(` or `schema.name(` (quoted or not) for each function name, in SQL text."""
    alternation = "|".join(sorted({re.escape(n) for n in names}, key=lambda n: (-len(n), n))) or r"(?!x)x"
    return re.compile(
        rf'(?<![\w$."])(?:(?:"[^"]+"|[A-Za-z_][\w$]*)\s*\.\s*)?"?(?P<name>{alternation})"?(?=\s*\()',
        re.IGNORECASE,
    )


def function_calls(
    text: str, pattern: re.Pattern[str], functions: dict[str, list[ObjectName]]
) -> list[tuple[int, int, ObjectName]]:
    """(start, end, function) of each call of a dependent function in ``text`` (start: the qualifier)."""
    calls = []
    for match in pattern.finditer(text):
        if _NAMED_BY_DDL.search(text, max(0, match.start() - 40), match.start()):
            continue  # CREATE / DROP / ALTER / COMMENT ON / GRANT ... FUNCTION f(...): not a call
        written = match.group(0)
        qualifier = written[: match.start("name") - match.start()].rstrip('". \t').strip('"')
        for function in functions.get(match.group("name").lower(), ()):
            if not qualifier or fold_identifier(qualifier) == function.schema:
                calls.append((match.start(), match.end(), function))
                break
    return calls


@dataclass(frozen=True)
class DependentObjects:
    """The objects built on legacy views, and how their uses become LR103 findings."""

    chains: dict[ObjectName, tuple[Chain, str]]  # object -> (legacy, ..., object), its kind
    catalog: LegacyCatalog

    @property
    def relations(self) -> dict[ObjectName, Chain]:
        return {name: chain for name, (chain, kind) in self.chains.items() if kind not in FUNCTIONS}

    @property
    def functions(self) -> dict[str, list[ObjectName]]:
        """Bare (folded) function name -> the dependent functions of that name."""
        by_name: dict[str, list[ObjectName]] = {}
        for name, (_, kind) in sorted(self.chains.items(), key=lambda item: str(item[0])):
            if kind in FUNCTIONS:
                by_name.setdefault(name.name.lower(), []).append(name)
        return by_name

    def scan_catalog(self) -> LegacyCatalog:
        """The catalog plus the dependent views, so that their uses are found like legacy names."""
        if not self.relations:
            return self.catalog
        extra = [
            LegacyObject(name, None, "dependent", _arrows(chain)) for name, chain in self.relations.items()
        ]
        return LegacyCatalog([*self.catalog.objects, *extra], self.catalog.default_schema)

    def as_lr103(self, finding: Finding) -> Finding:
        """A finding on a dependent view (from the extended catalog) as LR103 under its legacy object."""
        chain = self.relations.get(finding.legacy) if finding.legacy is not None else None
        if chain is None or self.catalog.get(finding.legacy) is not None:  # type: ignore[arg-type]
            return finding
        return self._finding(finding.legacy, chain, finding)  # type: ignore[arg-type]

    def use(self, function: ObjectName, path: str, span: Span, block: str, confidence: Confidence) -> Finding:
        chain = self.chains[function][0]
        site = Finding("LR103", path, span, function, None, block, confidence, "", "")
        return self._finding(function, chain, site)

    def _finding(self, used: ObjectName, chain: Chain, site: Finding) -> Finding:
        legacy = self.catalog.get(chain[0])
        assert legacy is not None
        target = f" on `{legacy.target}`" if legacy.target else ""
        message = (
            f"Uses `{used}`, built on the legacy view `{legacy.legacy}` ({_arrows(chain)}): it must be "
            f"redefined{target} before the drop; check this use against its new definition."
        )
        return replace(
            site,
            rule="LR103",
            legacy=legacy.legacy,
            target=legacy.target,
            message=message,
            suggestion=None,
            via=(*site.via, *(str(name) for name in reversed(chain[1:]))),
        )

    def sql_uses(self, path: str, text: str, infos: Iterable[StatementInfo]) -> list[Finding]:
        """LR103 in a .sql file that is not a migration: dependent views read, dependent functions called."""
        lines = LineIndex(text)
        relations = self.relations
        sites: list[tuple[int, int, ObjectName, Confidence]] = []
        for info in infos:
            for ref in info.refs:
                name = resolve_name((ref.schema, ref.name), self.catalog.default_schema)
                if ref.position not in ("create", "drop", "grant", "comment", "alter") and name in relations:
                    confidence = Confidence.HIGH if ref.certain else Confidence.MEDIUM
                    sites.append((ref.start, ref.end, name, confidence))
        functions = self.functions
        if functions:
            pattern = function_call_pattern(functions)
            sites.extend((s, e, f, Confidence.MEDIUM) for s, e, f in function_calls(text, pattern, functions))
        out = []
        for start, end, used, confidence in sites:
            span = Span(*lines.position(start), *lines.position(end))
            out.append(self.use(used, path, span, f"{path}:<script>", confidence))
        return out
