"""Every database object that depends on a legacy view, as the database itself records it.

``pg_depend`` (through ``pg_rewrite``) gives the views, materialized views and rules built on a view, and
their dependents in turn (PostgreSQL refuses the ``DROP VIEW`` for each of them); it also gives the
policies whose expressions read it. Triggers on the view other than its INSTEAD OF ones are somebody's
object. Function bodies are text that PostgreSQL resolves by name when they run, so ``pg_depend`` does
not know them: each body (``pg_get_functiondef``) is parsed with the same SQL analysis as the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditor.catalog.names import LegacyCatalog
from auditor.core.model import Confidence, DbObject, Finding, ObjectName, Span
from auditor.database.catalog import LiveView, legacy_in_sql
from auditor.database.connect import Session

# relations built on a relation (its rewrite rules), and the rules on other tables that name it
_REWRITE_QUERY = """
SELECT DISTINCT d.refobjid::bigint AS used, r.ev_class::bigint AS oid, r.rulename AS rule,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind
FROM pg_depend d
JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%s) AND r.ev_class <> d.refobjid
ORDER BY 1, 4, 5, 3
"""

_POLICY_QUERY = """
SELECT DISTINCT d.refobjid::bigint AS used, p.polname AS policy, n.nspname AS schema, c.relname AS name
FROM pg_depend d
JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%s) AND p.polrelid <> d.refobjid
ORDER BY 1, 3, 4, 2
"""

# triggers on the views that are not INSTEAD OF row triggers (those are the compatibility layer)
_TRIGGER_QUERY = """
SELECT t.tgrelid::bigint AS used, t.tgname AS trigger
FROM pg_trigger t
WHERE NOT t.tgisinternal AND (t.tgtype & 64) = 0 AND t.tgrelid = ANY(%s)
ORDER BY 1, 2
"""

# functions and procedures outside the system schemas and extensions, with their full definition
_FUNCTION_QUERY = """
SELECT n.nspname AS schema, p.proname AS name, p.prokind::text AS prokind, pg_get_functiondef(p.oid) AS source
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
WHERE l.lanname IN ('sql', 'plpgsql') AND p.prokind IN ('f', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                  AND e.objid = p.oid AND e.deptype = 'e')
ORDER BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class Dependent:
    """A database object that depends on a legacy view (``via``: the objects in between)."""

    kind: str  # "view", "materialized view", "rule", "policy", "trigger", "function", "procedure"
    name: str  # "public.order_summary", "pol on public.orders", "trg on public.v"
    legacy: ObjectName
    via: tuple[str, ...] = ()  # "view public.a" when it depends on a view that depends on the legacy one

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def read_dependents(session: Session, catalog: LegacyCatalog, views: Sequence[LiveView]) -> list[Dependent]:
    """The dependents of every legacy view the database has, transitively through views built on it."""
    by_oid = {v.oid: v for v in views}
    legacy_oids = {v.oid: v.name for v in views if catalog.get(v.name) is not None}
    found: dict[tuple[str, ObjectName], Dependent] = {}
    # chain[oid]: (the legacy view at its root, the views in between) for each relation reached
    chain: dict[int, tuple[ObjectName, tuple[str, ...]]] = {
        oid: (name, ()) for oid, name in legacy_oids.items()
    }
    frontier = sorted(legacy_oids)
    while frontier:
        reached: list[int] = []
        for row in session.rows(_REWRITE_QUERY, [frontier]):
            legacy, via = chain[int(row["used"])]
            relation = ObjectName(row["schema"], row["name"])
            if row["rule"] != "_RETURN":
                _add(found, Dependent("rule", f"{row['rule']} on {relation}", legacy, via))
                continue
            oid = int(row["oid"])
            kind = "materialized view" if row["relkind"] == "m" else "view"
            if oid in legacy_oids and by_oid[oid].target is not None:
                continue  # a compatibility view over a legacy one: the plan orders those drops
            dependent = Dependent(kind, str(relation), legacy, via)
            _add(found, dependent)
            if oid not in chain:
                chain[oid] = (legacy, (*via, dependent.label))
                reached.append(oid)
        frontier = sorted(reached)
    relations = sorted(chain)
    if relations:
        for row in session.rows(_POLICY_QUERY, [relations]):
            legacy, via = chain[int(row["used"])]
            name = f"{row['policy']} on {ObjectName(row['schema'], row['name'])}"
            _add(found, Dependent("policy", name, legacy, via))
        for row in session.rows(_TRIGGER_QUERY, [sorted(legacy_oids)]):
            legacy, via = chain[int(row["used"])]
            _add(found, Dependent("trigger", f"{row['trigger']} on {legacy}", legacy, via))
    compat = {f for v in views if v.oid in legacy_oids for f in v.functions}
    for row in session.rows(_FUNCTION_QUERY):
        function = ObjectName(row["schema"], row["name"])
        if function in compat:
            continue  # run by an INSTEAD OF trigger of a legacy view: dropped with it
        kind = "procedure" if row["prokind"] == "p" else "function"
        for legacy in legacy_in_sql(str(row["source"] or ""), catalog):
            _add(found, Dependent(kind, str(function), legacy))
    return sorted(found.values(), key=lambda d: (str(d.legacy), d.kind, d.name))


def _add(found: dict[tuple[str, ObjectName], Dependent], dependent: Dependent) -> None:
    found.setdefault((dependent.label, dependent.legacy), dependent)


def dependent_findings(
    dependents: Iterable[Dependent], catalog: LegacyCatalog, known: Sequence[DbObject]
) -> list[Finding]:
    """LR104 for each dependent, at the .sql file that defines it when the scan saw one, else at
    ``db:schema.object``."""
    defined = {f"{o.kind} {o.name}": o for o in known}
    findings: list[Finding] = []
    for dependent in dependents:
        entry = catalog.get(dependent.legacy)
        obj = defined.get(dependent.label)
        path, line = (obj.path, obj.line) if obj is not None else (f"db:{dependent.name}", 1)
        through = f" through {' → '.join(dependent.via)}" if dependent.via else ""
        if dependent.kind in ("function", "procedure"):
            effect = f"its body names it: the {dependent.kind} fails at run time after the drop"
        else:
            effect = "PostgreSQL refuses the DROP VIEW while it exists (without CASCADE)"
        findings.append(
            Finding(
                rule="LR104",
                path=path,
                span=Span(line, 1, line, 1),
                legacy=dependent.legacy,
                target=entry.target if entry is not None else None,
                block=f"db:{dependent.label}",
                confidence=Confidence.HIGH,
                message=f"In the live database, {dependent.kind} `{dependent.name}` depends on the legacy "
                f"view `{dependent.legacy}`{through}: {effect}.",
                snippet=dependent.label,
                via=dependent.via,
                db_object=dependent.label,
            )
        )
    return findings
