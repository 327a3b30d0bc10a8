"""The dependency graph of a scan: the single source the plan and every planning report are computed from.

Nodes (attribute ``kind``):

* ``file``: a scanned file (``path``);
* ``block``: a code block, ``pkg.mod:Class.func`` (``path``; ``unresolved``: its LR005 findings);
* ``constant``: a constant a reference travels through (``Finding.via``);
* ``db-object``: a database object defined in a .sql file (``DbObject``), except a compatibility view,
  which *is* its legacy object's node;
* ``legacy``: a legacy name (``target``; ``path``/``line`` of the view's definition when known);
* ``relation``: any other relation: a legacy object's target, a table a database object uses.

Edges (attribute ``kind``), pointing from the user to the thing used:

* ``contains``: file -> block / db-object;
* ``references``: block / constant / db-object / legacy -> legacy, with the ``findings`` that say so (a
  use of an object built on a legacy view, LR103, goes block -> that db-object -> legacy);
* ``reads-constant``: block -> constant, constant -> constant (``via`` order);
* ``depends-on``: db-object / legacy -> the relation or db-object its definition names;
* ``defined-on``: trigger / policy / rule / index -> the relation it is attached to;
* ``executes``: trigger -> the function it runs;
* ``replaced-by``: legacy -> its target.

A pair of nodes has one edge: ``references`` wins over ``depends-on``, ``replaced-by`` over ``depends-on``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from auditor.core.model import MIGRATION, DbObject, Finding, ObjectName, ScanResult, report_order

FILE = "file"
BLOCK = "block"
CONSTANT = "constant"
DB_OBJECT = "db-object"
LEGACY = "legacy"
RELATION = "relation"
NODE_KINDS = (FILE, BLOCK, CONSTANT, DB_OBJECT, LEGACY, RELATION)

CONTAINS = "contains"
REFERENCES = "references"
READS_CONSTANT = "reads-constant"
DEPENDS_ON = "depends-on"
DEFINED_ON = "defined-on"
EXECUTES = "executes"
REPLACED_BY = "replaced-by"
EDGE_KINDS = (CONTAINS, REFERENCES, READS_CONSTANT, DEPENDS_ON, DEFINED_ON, EXECUTES, REPLACED_BY)

# when two facts connect the same pair of nodes, the stronger names the edge
_EDGE_RANK = {DEPENDS_ON: 0, DEFINED_ON: 1, EXECUTES: 1, READS_CONSTANT: 1, CONTAINS: 1, REPLACED_BY: 2}
_EDGE_RANK[REFERENCES] = 3
_VIEWS = frozenset({"view", "materialized view"})
_FUNCTIONS = frozenset({"function", "procedure"})
_ATTACHED = frozenset({"trigger", "policy", "rule", "index", "foreign key"})


if TYPE_CHECKING:
    import networkx as nx


def file_id(path: str) -> str:
    return f"file:{path}"


def block_id(block: str) -> str:
    return f"block:{block}"


def constant_id(name: str) -> str:
    return f"constant:{name}"


def db_id(label: str) -> str:
    """``label`` is ``"<kind> <name>"``, as in ``Finding.db_object``: ``"view public.order_summary"``."""
    return f"db:{label}"


def legacy_id(name: ObjectName | str) -> str:
    return f"legacy:{name}"


def relation_id(name: ObjectName | str) -> str:
    return f"relation:{name}"


def db_label(obj: DbObject) -> str:
    return f"{obj.kind} {obj.name}"


def build_graph(result: ScanResult) -> nx.DiGraph:
    """The graph of ``result``; node and edge insertion follows sorted order, so iteration is stable."""
    return _Builder(result).build()


class _Builder:
    def __init__(self, result: ScanResult) -> None:
        self.result = result
        import networkx as nx  # only the plan and graph commands pay for importing it

        self.graph = nx.DiGraph(root=result.root)
        self.legacy_names = {str(entry.legacy) for entry in result.catalog}
        self.legacy_names.update(str(f.legacy) for f in result.findings if f.legacy is not None)
        # the compatibility view of a legacy name is that legacy object's node
        self.db_nodes: dict[str, str] = {}
        for obj in result.db_objects:
            label = db_label(obj)
            merged = obj.kind in _VIEWS and obj.name in self.legacy_names
            self.db_nodes[label] = legacy_id(obj.name) if merged else db_id(label)
        self.edge_findings: dict[tuple[str, str], set[Finding]] = {}
        self.views = {
            obj.name: self.db_nodes[db_label(obj)] for obj in result.db_objects if obj.kind in _VIEWS
        }
        # a view or function a reference travels through (LR103) is its own node, not a constant
        self.usable = {
            **{o.name: self.db_nodes[db_label(o)] for o in result.db_objects if o.kind in _FUNCTIONS},
            **self.views,
        }

    def build(self) -> nx.DiGraph:
        for entry in sorted(self.result.catalog, key=lambda e: str(e.legacy)):
            node = self.legacy(str(entry.legacy))
            node.update(
                target=str(entry.target) if entry.target else None,
                legacy_kind=entry.kind,
                source=entry.source,
                columns=dict(entry.columns),
            )
            if entry.target is not None:
                self.edge(legacy_id(entry.legacy), self.relation(entry.target), REPLACED_BY)
        for name in sorted(self.legacy_names):
            self.legacy(name)
        for obj in sorted(self.result.db_objects, key=lambda o: (o.path, o.line, db_label(o))):
            self.db_object(obj)
        self.executes(self.result.db_objects)
        for finding in sorted(self.result.findings, key=report_order):
            self.finding(finding)
        return self.graph

    # nodes -------------------------------------------------------------------------------------------------

    def node(self, node_id: str, kind: str, label: str, **attrs: object) -> dict[str, object]:
        if node_id not in self.graph:
            self.graph.add_node(node_id, kind=kind, label=label, **attrs)
        return self.graph.nodes[node_id]

    def legacy(self, name: str) -> dict[str, object]:
        return self.node(
            legacy_id(name), LEGACY, name, target=None, legacy_kind="name", source=None, columns={}
        )

    def relation(self, name: ObjectName | str) -> str:
        """The node of a relation a definition names: a legacy object, a known view, or a plain relation."""
        text = str(name)
        if text in self.legacy_names:
            self.legacy(text)
            return legacy_id(text)
        if text in self.views:
            return self.views[text]
        self.node(relation_id(text), RELATION, text)
        return relation_id(text)

    def file(self, path: str) -> str:
        self.node(file_id(path), FILE, path, path=path)
        return file_id(path)

    # edges -------------------------------------------------------------------------------------------------

    def edge(self, source: str, target: str, kind: str, finding: Finding | None = None) -> None:
        data = self.graph.get_edge_data(source, target)
        if data is None:
            self.graph.add_edge(source, target, kind=kind, findings=[])
            data = self.graph.edges[source, target]
        elif _EDGE_RANK[kind] > _EDGE_RANK[data["kind"]]:
            data["kind"] = kind
        if finding is not None:
            seen = self.edge_findings.setdefault((source, target), set())
            if finding not in seen:  # a set beside the list: membership on the list is quadratic
                seen.add(finding)
                data["findings"].append(finding)

    def db_object(self, obj: DbObject) -> None:
        label = db_label(obj)
        node_id = self.db_nodes[label]
        if node_id.startswith("legacy:"):
            node = self.graph.nodes[node_id]
            node.update(path=obj.path, line=obj.line, definition=label)
        else:
            self.node(
                node_id,
                DB_OBJECT,
                label,
                db_kind=obj.kind,
                name=obj.name,
                path=obj.path,
                line=obj.line,
                compat=obj.is_compat_layer,
            )
        self.edge(self.file(obj.path), node_id, CONTAINS)
        attached = _attached_to(obj)
        for name in obj.depends_on:
            related = self.relation(name)
            if related == node_id:
                continue  # a definition that names itself is not a dependency
            kind = DEFINED_ON if attached is not None and str(name) == attached else DEPENDS_ON
            self.edge(node_id, related, kind)

    def executes(self, objects: Iterable[DbObject]) -> None:
        """Trigger -> the function it runs (read from the trigger's statement in its file)."""
        functions = {
            obj.name: db_id(db_label(obj)) for obj in objects if obj.kind in ("function", "procedure")
        }
        for trigger, function in sorted(trigger_functions(self.result).items()):
            source = self.db_nodes.get(trigger)
            if source is None:
                continue
            target = functions.get(str(function))
            if target is None:
                target = relation_id(function)
                self.node(target, RELATION, str(function))
            self.edge(source, target, EXECUTES)

    def finding(self, finding: Finding) -> None:
        if finding.context == MIGRATION:
            return  # history: replayed before the rename, it never blocks a drop (the plan lists it apart)
        if finding.db_object is not None:
            source = self.db_nodes.get(finding.db_object)
            if source is None:  # an object the scan did not list: still a node of its own
                source = db_id(finding.db_object)
                kind, _, name = finding.db_object.partition(" ")
                self.node(source, DB_OBJECT, finding.db_object, db_kind=kind, name=name, path=finding.path,
                          line=finding.span.line, compat=False)  # fmt: skip
                self.edge(self.file(finding.path), source, CONTAINS)
        else:
            source = block_id(finding.block)
            node = self.node(source, BLOCK, finding.block, path=finding.path, unresolved=0)
            self.edge(self.file(finding.path), source, CONTAINS)
            if finding.legacy is None:
                node["unresolved"] = int(node["unresolved"]) + 1  # type: ignore[call-overload]
                return
            # the reference travels block -> via[0] -> ... -> via[-1] -> legacy
            for name in finding.via:
                through = self.usable.get(name)
                if through is None:
                    through = constant_id(name)
                    self.node(through, CONSTANT, name, name=name)
                if through != source:
                    self.edge(
                        source, through, READS_CONSTANT if through.startswith("constant:") else DEPENDS_ON
                    )
                source = through
        if finding.legacy is None:
            return
        self.legacy(str(finding.legacy))
        self.edge(source, legacy_id(finding.legacy), REFERENCES, finding)


def _attached_to(obj: DbObject) -> str | None:
    """The relation a trigger / policy / rule / index / foreign key is on (from ``"name on schema.rel"``)."""
    if obj.kind not in _ATTACHED or " on " not in obj.name:
        return None
    return obj.name.rsplit(" on ", 1)[1]


def trigger_functions(result: ScanResult) -> dict[str, ObjectName]:
    """``"trigger <name> on <relation>"`` -> the function it executes, for the triggers ``result`` lists."""
    return {
        db_label(obj): obj.executes
        for obj in result.db_objects
        if obj.kind == "trigger" and obj.executes is not None
    }


def legacy_nodes(graph: nx.DiGraph) -> list[str]:
    return sorted(n for n, kind in graph.nodes(data="kind") if kind == LEGACY)


def subgraph_around(graph: nx.DiGraph, node: str) -> nx.DiGraph:
    import networkx as nx  # only the graph commands pay for importing it

    """Everything that leads to ``node`` (its blockers, their blocks and files, the compatibility layer on
    it) plus everything it leads to (its target, the legacy objects it is defined over)."""
    keep = {node} | nx.ancestors(graph, node) | nx.descendants(graph, node)
    keep |= {f for n in list(keep) for f in graph.successors(n) if graph.edges[n, f]["kind"] == EXECUTES}
    return graph.subgraph(sorted(keep)).copy()
