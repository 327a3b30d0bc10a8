"""The Phase 3 plan, computed from the dependency graph: for each legacy object, ready or blocked, by what
(through which chain), owned by whom, and a safe order to drop the ready ones.

Blocking follows the graph's ``references`` edges into a legacy object. A legacy view defined over another
legacy view is a blocker of it, and so is everything that blocks that view: a blocker of a blocker is a
blocker. A legacy object whose only blockers are the compatibility views of ready legacy objects is ready
itself; those views are dropped first (``drop_after``). Legacy views that depend on each other in a cycle
(or on themselves) have no safe order: they stay blocked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from auditor.core.model import (
    MIGRATION,
    Confidence,
    DatabaseEvidence,
    Finding,
    ScanResult,
    UnanalysedFile,
    report_order,
    unverified_holds,
)
from auditor.plan.graph import (
    DB_OBJECT,
    DEFINED_ON,
    EXECUTES,
    LEGACY,
    REFERENCES,
    build_graph,
    legacy_id,
    legacy_nodes,
)

READY = "ready"
BLOCKED = "blocked"
PYTHON = "python"
SQL_FILE = "sql-file"
DB_OBJECT_KIND = "db-object"
# the live database's evidence: catalog drift, objects that depend on the view, statements that used it
DRIFT = "drift"
DATABASE = "database"
USAGE = "usage"
BLOCKER_KINDS = (PYTHON, SQL_FILE, DB_OBJECT_KIND, DRIFT, DATABASE, USAGE)
_DATABASE_RULES = {"LR106": DRIFT, "LR104": DATABASE, "LR105": USAGE}

Owners = Callable[[str], list[str]]

if TYPE_CHECKING:
    import networkx as nx


def _empty_graph() -> nx.DiGraph:
    import networkx as nx  # imported by the runs that plan: the terminal report needs none of it

    return nx.DiGraph()


def blocker_kind(finding: Finding) -> str:
    if finding.rule in _DATABASE_RULES:
        return _DATABASE_RULES[finding.rule]
    if finding.rule == "LR102":
        return DB_OBJECT_KIND
    if finding.rule == "LR101":
        return SQL_FILE
    return PYTHON


@dataclass(frozen=True, slots=True)
class Blocker:
    finding: Finding
    via: tuple[str, ...]  # the chain it blocks through, starting with the legacy object of the plan entry

    @property
    def kind(self) -> str:
        return blocker_kind(self.finding)

    @property
    def path(self) -> str:
        return self.finding.path

    @property
    def line(self) -> int:
        return self.finding.span.line

    @property
    def block(self) -> str:
        return self.finding.block

    @property
    def mechanical(self) -> bool:
        """A high-confidence suggested rewrite exists: the fix is mechanical; otherwise a person decides."""
        suggestion = self.finding.suggestion
        return suggestion is not None and suggestion.mechanical and self.finding.confidence >= Confidence.HIGH

    def sort_key(self) -> tuple[str, int, int, str, tuple[str, ...]]:
        return (self.path, self.line, self.finding.span.column, self.finding.rule, self.via)


@dataclass(frozen=True, slots=True)
class CompatLayer:
    """What Phase 3 drops for one legacy object, in order: triggers, their functions, the view."""

    triggers: tuple[str, ...]  # "trg on public.v"
    functions: tuple[str, ...]  # "public.f"
    view: str | None  # "view public.v" / "materialized view public.v"; None when no definition was found


@dataclass(frozen=True, slots=True)
class ObjectPlan:
    legacy: str
    target: str | None
    status: str
    blockers: tuple[Blocker, ...]
    owners: tuple[str, ...]
    drop_after: tuple[str, ...]
    compat: CompatLayer
    source: str | None = None
    path: str | None = None
    line: int | None = None
    cycle: bool = False
    # files that may name it (or a legacy view over it) but could not be analysed
    unanalysed: tuple[str, ...] = ()
    unresolved: bool = False  # unresolved table names (LR005) not accepted by a person may hold it

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it is blocked: "references", "unanalysed files", "unresolved table names", "cycle"."""
        if self.status != BLOCKED:
            return ()
        found = [
            ("references", bool(self.blockers)),
            ("unanalysed files", bool(self.unanalysed)),
            ("unresolved table names", self.unresolved),
            ("cycle", self.cycle),
        ]
        return tuple(reason for reason, present in found if present) or ("a blocked legacy view over it",)

    history: tuple[Finding, ...] = ()  # references in migrations: replayed before the rename, never blockers

    def count(self, kind: str) -> int:
        return sum(1 for b in self.blockers if b.kind == kind)

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(sorted({b.block for b in self.blockers}))

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(sorted({b.path for b in self.blockers}))

    @property
    def mechanical(self) -> int:
        return sum(1 for b in self.blockers if b.mechanical)

    @property
    def manual(self) -> int:
        return len(self.blockers) - self.mechanical


@dataclass(frozen=True, slots=True)
class Plan:
    objects: tuple[ObjectPlan, ...]
    drop_order: tuple[str, ...]
    unresolved: tuple[Finding, ...] = ()  # LR005: table names a person must check
    owners_file: str | None = None
    graph: nx.DiGraph = field(default_factory=_empty_graph, compare=False, repr=False)
    database: DatabaseEvidence | None = None  # None: static analysis only
    unanalysed: tuple[UnanalysedFile, ...] = ()  # every source file whose content was not analysed
    unresolved_accepted: bool = False  # the LR005 sites were accepted: they block nothing

    @property
    def ready(self) -> tuple[ObjectPlan, ...]:
        return tuple(o for o in self.objects if o.status == READY)

    @property
    def blocked(self) -> tuple[ObjectPlan, ...]:
        return tuple(o for o in self.objects if o.status == BLOCKED)

    def get(self, legacy: str) -> ObjectPlan:
        for obj in self.objects:
            if obj.legacy == legacy:
                return obj
        raise KeyError(legacy)


def build_plan(result: ScanResult, graph: nx.DiGraph | None = None, owners: Owners | None = None) -> Plan:
    """The plan for ``result``; ``owners`` maps a path to its owners (default: the root's CODEOWNERS)."""
    owners_file: str | None = None
    if owners is None:
        from auditor.plan import codeowners

        found = codeowners.load(result.root)
        owners, owners_file = found.owners, found.path
    if graph is None:
        graph = build_graph(result)
    return _Planner(graph, owners).plan(result, owners_file)


class _Planner:
    def __init__(self, graph: nx.DiGraph, owners: Owners) -> None:
        self.graph = graph
        self.owners = owners
        self.legacy = legacy_nodes(graph)
        self.holds: dict[str, tuple[str, ...]] = {}  # node -> unanalysed files / "LR005" that may name it
        # M -> L when legacy M (its compatibility view) is defined over legacy L: by an LR102 finding, the
        # view's dependencies, or its target being another legacy name (a rename of a renamed table)
        self.over = _empty_graph()
        self.over.add_nodes_from(self.legacy)
        for node in self.legacy:
            for source in graph.predecessors(node):
                if graph.nodes[source]["kind"] == LEGACY:
                    self.over.add_edge(source, node)

    def plan(self, result: ScanResult, owners_file: str | None) -> Plan:
        labels = {str(self.graph.nodes[n]["label"]): n for n in self.legacy}
        self.holds = {labels[name]: why for name, why in unverified_holds(result).items() if name in labels}
        cyclic = self.cyclic()
        blocked = self.blocked(cyclic)
        if result.database is not None and not result.database.usage_observed:
            blocked = set(self.legacy)  # never fail open: who still queries the views is unknown
        history: dict[str, list[Finding]] = {}
        for finding in sorted(result.findings, key=report_order):
            if finding.context == MIGRATION and finding.legacy is not None:
                history.setdefault(legacy_id(finding.legacy), []).append(finding)
        objects = tuple(
            replace(
                self.object(node, node not in blocked, node in cyclic), history=tuple(history.get(node, ()))
            )
            for node in self.legacy
        )
        ready = [node for node in self.legacy if node not in blocked]
        # dependents first: an edge M -> L (M over L) puts M before L
        import networkx as nx

        order = nx.lexicographical_topological_sort(self.over.subgraph(ready))
        unresolved = sorted(
            (f for f in result.findings if f.legacy is None and f.rule == "LR005"),
            key=lambda f: (f.path, f.span.line, f.span.column),
        )
        return Plan(
            objects=objects,
            drop_order=tuple(self.graph.nodes[n]["label"] for n in order),
            unresolved=tuple(unresolved),
            owners_file=owners_file,
            graph=self.graph,
            database=result.database,
            unanalysed=result.unanalysed,
            unresolved_accepted=result.unresolved_accepted,
        )

    def cyclic(self) -> set[str]:
        import networkx as nx

        found: set[str] = set()
        for component in nx.strongly_connected_components(self.over):
            if len(component) > 1 or any(self.over.has_edge(n, n) for n in component):
                found |= component
        return found

    def direct(self, node: str) -> list[tuple[str, Finding]]:
        """(source node, finding) of each ``references`` edge into ``node``."""
        pairs = []
        for source, _, data in self.graph.in_edges(node, data=True):
            if data["kind"] == REFERENCES:
                pairs.extend((source, finding) for finding in data["findings"])
        return pairs

    def blocked(self, cyclic: set[str]) -> set[str]:
        """Blocked: a blocker other than a legacy view, a cycle, or a legacy view over it that is blocked."""
        seeds = {
            node
            for node in self.legacy
            if node in cyclic
            or node in self.holds
            or any(self.graph.nodes[source]["kind"] != LEGACY for source, _ in self.direct(node))
        }
        blocked = set(seeds)
        queue = deque(sorted(seeds))
        while queue:
            node = queue.popleft()
            for below in sorted(self.over.successors(node)):
                if below not in blocked:
                    blocked.add(below)
                    queue.append(below)
        return blocked

    def upstream(self, node: str) -> dict[str, tuple[str, ...]]:
        """Each legacy object whose view is defined over ``node``, directly or not, with the shortest chain
        of legacy names from ``node`` to it (breadth first, in sorted order: deterministic; cycles end)."""
        chains = {node: (self.graph.nodes[node]["label"],)}
        queue = deque([node])
        while queue:
            current = queue.popleft()
            for above in sorted(self.over.predecessors(current)):
                if above not in chains:
                    chains[above] = (*chains[current], self.graph.nodes[above]["label"])
                    queue.append(above)
        return chains

    def object(self, node: str, ready: bool, cycle: bool) -> ObjectPlan:
        attrs = self.graph.nodes[node]
        chains = self.upstream(node)
        blockers: list[Blocker] = []
        if not ready:
            for holder, chain in chains.items():
                for _, finding in self.direct(holder):
                    # the constants between the legacy name and the block, nearest to the name first
                    blockers.append(Blocker(finding, chain + tuple(reversed(finding.via))))
        blockers.sort(key=Blocker.sort_key)
        # a file that may name a legacy view over this object holds that view, and so this object
        held = {why for holder in chains for why in self.holds.get(holder, ())}
        unanalysed = tuple(sorted(held - {"LR005"}))
        owners = sorted(
            {owner for path in (*(b.path for b in blockers), *unanalysed) for owner in self.owners(path)}
        )
        return ObjectPlan(
            legacy=str(attrs["label"]),
            target=attrs.get("target"),
            status=READY if ready else BLOCKED,
            blockers=tuple(blockers),
            owners=tuple(owners),
            drop_after=tuple(sorted(self.graph.nodes[n]["label"] for n in chains if n != node)),
            compat=self.compat(node),
            source=attrs.get("source"),
            path=attrs.get("path"),
            line=attrs.get("line"),
            cycle=cycle,
            unanalysed=unanalysed if not ready else (),
            unresolved="LR005" in held and not ready,
        )

    def compat(self, node: str) -> CompatLayer:
        """The compatibility layer on a legacy object: the compat triggers attached to it, the compat
        functions only those triggers run, and the view itself."""
        triggers: list[str] = []
        functions: set[str] = set()
        for source, _, kind in self.graph.in_edges(node, data="kind"):
            attrs = self.graph.nodes[source]
            if kind != DEFINED_ON or attrs["kind"] != DB_OBJECT or attrs.get("db_kind") != "trigger":
                continue
            if not attrs.get("compat"):
                continue
            triggers.append(str(attrs["name"]))
            for _, function, edge_kind in self.graph.out_edges(source, data="kind"):
                fattrs = self.graph.nodes[function]
                if edge_kind == EXECUTES and fattrs["kind"] == DB_OBJECT and fattrs.get("compat"):
                    runners = [s for s, _, k in self.graph.in_edges(function, data="kind") if k == EXECUTES]
                    if all(self.graph.has_edge(r, node) for r in runners):
                        functions.add(str(fattrs["name"]))
        attrs = self.graph.nodes[node]
        view = attrs.get("definition")
        if view is None and attrs.get("legacy_kind") == "name":
            view = f"view {attrs['label']}"
        return CompatLayer(tuple(sorted(triggers)), tuple(sorted(functions)), view)


# JSON (schema version 1) ------------------------------------------------------------------------------------


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "objects": [
            {
                "legacy": obj.legacy,
                "target": obj.target,
                "status": obj.status,
                "blockers": [_blocker(b) for b in obj.blockers],
                "owners": list(obj.owners),
                "drop_after": list(obj.drop_after),
                "reasons": list(obj.reasons),
                "unanalysed": list(obj.unanalysed),
                "unresolved": obj.unresolved,
                "history": [_history(f) for f in obj.history],
                "counts": {
                    **{kind: obj.count(kind) for kind in BLOCKER_KINDS},
                    "blocks": len(obj.blocks),
                    "files": len(obj.files),
                    "mechanical": obj.mechanical,
                    "manual": obj.manual,
                },
            }
            for obj in plan.objects
        ],
        "drop_order": list(plan.drop_order),
        "unanalysed_files": [
            {
                "path": f.path,
                "kind": f.kind,
                "message": f.message,
                "names": ["*"] if f.unreadable else [str(n) for n in f.names],
            }
            for f in plan.unanalysed
        ],
        "unresolved": len(plan.unresolved),
        "unresolved_accepted": plan.unresolved_accepted,
        **({"database": database_to_dict(plan.database)} if plan.database is not None else {}),
    }


def database_to_dict(evidence: DatabaseEvidence) -> dict[str, Any]:
    """The live database's evidence: where it was read, the observation window, the usage per role."""
    return {
        "database": evidence.database,
        "read_at": evidence.read_at,
        "usage_observed": evidence.usage_observed,
        "usage_note": evidence.usage_note,
        "window": {
            "start": evidence.window_start,
            "end": evidence.read_at,
            "seconds": evidence.window_seconds,
            "source": evidence.window_source,
        },
        "usage": [
            {
                "role": u.role,
                "queryid": u.queryid,
                "query": u.query,
                "calls": u.calls,
                "rows": u.rows,
                "total_ms": u.total_ms,
                "legacy": [str(n) for n in u.legacy],
            }
            for u in evidence.usage
        ],
    }


def _blocker(blocker: Blocker) -> dict[str, Any]:
    return {
        "kind": blocker.kind,
        "path": blocker.path,
        "line": blocker.line,
        "block": blocker.block,
        "rule": blocker.finding.rule,
        "confidence": str(blocker.finding.confidence),
        "via": list(blocker.via),
    }


def _history(finding: Finding) -> dict[str, Any]:
    return {"path": finding.path, "line": finding.span.line, "block": finding.block, "rule": finding.rule}


def plan_json(result: ScanResult) -> dict[str, Any]:
    """The ``"plan"`` key of ``audit scan --format json`` (owners from the root's CODEOWNERS)."""
    return plan_to_dict(build_plan(result))
