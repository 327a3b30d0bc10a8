"""The dependency graph as text: Graphviz dot, GraphML, JSON and Mermaid; nodes and edges sorted."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from auditor.core.model import Finding

GRAPH_FORMATS = ("dot", "graphml", "json", "mermaid")

_DOT_SHAPE = {
    "file": "note",
    "block": "box",
    "constant": "hexagon",
    "db-object": "component",
    "legacy": "doubleoctagon",
    "relation": "cylinder",
}
_MERMAID_SHAPE = {
    "file": ('["', '"]'),
    "block": ('("', '")'),
    "constant": ('{{"', '"}}'),
    "db-object": ('[["', '"]]'),
    "legacy": ('{"', '"}'),
    "relation": ('[("', '")]'),
}


if TYPE_CHECKING:
    import networkx as nx


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "path": finding.path,
        "line": finding.span.line,
        "column": finding.span.column,
        "confidence": str(finding.confidence),
        "block": finding.block,
    }


def _scalar(value: object) -> str | int | bool:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k} -> {v}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def _nodes(graph: nx.DiGraph) -> list[tuple[str, dict[str, Any]]]:
    return sorted(graph.nodes(data=True), key=lambda item: item[0])


def _edges(graph: nx.DiGraph) -> list[tuple[str, str, dict[str, Any]]]:
    return sorted(graph.edges(data=True), key=lambda item: (item[0], item[1]))


def to_json(graph: nx.DiGraph) -> str:
    """``{"nodes": [{"id", "kind", "label", ...}], "edges": [{"source", "target", "kind", "findings"}]}``."""
    nodes = []
    for node, attrs in _nodes(graph):
        entry: dict[str, Any] = {"id": node}
        entry.update({k: attrs[k] for k in sorted(attrs)})
        nodes.append(entry)
    edges = [
        {
            "source": source,
            "target": target,
            "kind": attrs["kind"],
            "findings": [_finding(f) for f in attrs.get("findings", ())],
        }
        for source, target, attrs in _edges(graph)
    ]
    return json.dumps({"directed": True, "nodes": nodes, "edges": edges}, indent=2, ensure_ascii=False) + "\n"


def to_graphml(graph: nx.DiGraph) -> str:
    import networkx as nx  # only the graph commands pay for importing it

    flat = nx.DiGraph()
    for node, attrs in _nodes(graph):
        flat.add_node(node, **{k: _scalar(v) for k, v in sorted(attrs.items())})
    for source, target, attrs in _edges(graph):
        findings = attrs.get("findings", ())
        flat.add_edge(
            source,
            target,
            kind=attrs["kind"],
            findings=len(findings),
            rules=" ".join(sorted({f.rule for f in findings})),
            locations=" ".join(sorted(f"{f.path}:{f.span.line}" for f in findings)),
        )
    return "\n".join(nx.generate_graphml(flat, prettyprint=True)) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: nx.DiGraph) -> str:
    lines = ["digraph audit {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for node, attrs in _nodes(graph):
        kind = attrs.get("kind", "")
        extra = ', style=filled, fillcolor="#fde2e1"' if kind == "legacy" else ""
        lines.append(
            f"  {_dot_quote(node)} [label={_dot_quote(str(attrs.get('label', node)))}, "
            f"shape={_DOT_SHAPE.get(kind, 'box')}{extra}];"
        )
    for source, target, attrs in _edges(graph):
        findings = attrs.get("findings", ())
        label = attrs["kind"] + (f" ({len(findings)})" if findings else "")
        lines.append(f"  {_dot_quote(source)} -> {_dot_quote(target)} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph: nx.DiGraph) -> str:
    ids = {node: f"n{index}" for index, (node, _) in enumerate(_nodes(graph))}
    lines = ["flowchart LR"]
    for node, attrs in _nodes(graph):
        opening, closing = _MERMAID_SHAPE.get(attrs.get("kind", ""), ('["', '"]'))
        lines.append(f"  {ids[node]}{opening}{_mermaid_text(str(attrs.get('label', node)))}{closing}")
    for source, target, attrs in _edges(graph):
        findings = attrs.get("findings", ())
        label = attrs["kind"] + (f" ({len(findings)})" if findings else "")
        lines.append(f"  {ids[source]} -->|{_mermaid_text(label)}| {ids[target]}")
    lines.append("  classDef legacy fill:#fde2e1,stroke:#b42318;")
    legacy = [ids[n] for n, attrs in _nodes(graph) if attrs.get("kind") == "legacy"]
    if legacy:
        lines.append(f"  class {','.join(legacy)} legacy;")
    return "\n".join(lines) + "\n"


def export_graph(graph: nx.DiGraph, fmt: str) -> str:
    return {"dot": to_dot, "graphml": to_graphml, "json": to_json, "mermaid": to_mermaid}[fmt](graph)
