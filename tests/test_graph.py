from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import networkx as nx

from auditor.core.model import Confidence, DbObject, Finding, LegacyObject, ObjectName, ScanResult, Span
from auditor.plan.graph import build_graph
from tests.conftest import FIXTURES, run_cli

SHOP = FIXTURES / "shop"


def _name(text: str) -> ObjectName:
    schema, name = text.split(".")
    return ObjectName(schema, name)


def _finding(rule: str, path: str, line: int, legacy: str, block: str, **extra: object) -> Finding:
    return Finding(
        rule=rule,
        path=path,
        span=Span(line, 1, line, 10),
        legacy=_name(legacy),
        target=None,
        block=block,
        confidence=Confidence.HIGH,
        message="m",
        snippet="s",
        **extra,  # type: ignore[arg-type]
    )


def small_result(root: str = "/nonexistent") -> ScanResult:
    mig = "db/migrations/0002.sql"
    return ScanResult(
        root=root,
        catalog=(LegacyObject(_name("public.items"), _name("public.items_v2"), "view", f"{mig}:1"),),
        findings=(
            _finding("LR001", "app/q.py", 3, "public.items", "app.q:count"),
            # a reference through two constants: the use reads OUTER, which holds INNER, which holds the name
            _finding(
                "LR002", "app/r.py", 7, "public.items", "app.r:Report.run", via=("app.t.OUTER", "app.t.INNER")
            ),
            _finding(
                "LR102", mig, 9, "public.items", f"{mig}:view public.summary", db_object="view public.summary"
            ),
        ),
        diagnostics=(),
        files_scanned=3,
        db_objects=(
            DbObject("view", "public.items", mig, 1, (_name("public.items_v2"),), True),
            DbObject("trigger", "items_ins on public.items", mig, 4, (_name("public.items"),), True),
            DbObject(
                "view", "public.summary", mig, 8, (_name("public.orders"), _name("public.items")), False
            ),
        ),
    )


def _edge(graph: nx.DiGraph, source: str, target: str) -> str:
    assert graph.has_edge(source, target), f"no edge {source} -> {target}"
    return str(graph.edges[source, target]["kind"])


def test_nodes_and_edges_of_a_small_scan() -> None:
    graph = build_graph(small_result())
    kinds = dict(graph.nodes(data="kind"))
    assert kinds["legacy:public.items"] == "legacy"
    assert "db:view public.items" not in graph  # the compatibility view is the legacy object's node
    assert graph.nodes["legacy:public.items"]["path"] == "db/migrations/0002.sql"
    assert kinds["relation:public.items_v2"] == "relation"
    assert kinds["block:app.q:count"] == "block"
    assert kinds["constant:app.t.OUTER"] == "constant"
    assert kinds["db:view public.summary"] == "db-object"
    assert kinds["file:app/q.py"] == "file"

    assert _edge(graph, "file:app/q.py", "block:app.q:count") == "contains"
    assert _edge(graph, "block:app.q:count", "legacy:public.items") == "references"
    # block -> constant -> constant -> legacy, in the order the reference travels
    assert _edge(graph, "block:app.r:Report.run", "constant:app.t.OUTER") == "reads-constant"
    assert _edge(graph, "constant:app.t.OUTER", "constant:app.t.INNER") == "reads-constant"
    assert _edge(graph, "constant:app.t.INNER", "legacy:public.items") == "references"
    assert not graph.has_edge("block:app.r:Report.run", "legacy:public.items")
    assert _edge(graph, "db:view public.summary", "legacy:public.items") == "references"
    assert _edge(graph, "db:view public.summary", "relation:public.orders") == "depends-on"
    assert _edge(graph, "db:trigger items_ins on public.items", "legacy:public.items") == "defined-on"
    assert _edge(graph, "legacy:public.items", "relation:public.items_v2") == "replaced-by"
    assert _edge(graph, "file:db/migrations/0002.sql", "db:view public.summary") == "contains"

    findings = graph.edges["db:view public.summary", "legacy:public.items"]["findings"]
    assert [f.rule for f in findings] == ["LR102"]


def test_graph_is_deterministic() -> None:
    first, second = build_graph(small_result()), build_graph(small_result())
    assert list(first.nodes(data=True)) == list(second.nodes(data=True))
    assert list(first.edges) == list(second.edges)


def test_graph_json_of_the_shop(tmp_path: Path) -> None:
    code, out, err = run_cli("graph", str(SHOP), "--format", "json", "--jobs", "1")
    assert code == 0, err
    data = json.loads(out)
    nodes = {n["id"]: n for n in data["nodes"]}
    edges = {(e["source"], e["target"]): e for e in data["edges"]}
    assert {
        "legacy:public.order_line_items",
        "legacy:public.customer_addresses",
        "legacy:public.products",
    } <= set(nodes)
    # the compatibility layer: INSTEAD OF triggers on the view, each running its compat function
    for action in ("insert", "update", "delete"):
        trigger = f"db:trigger order_line_items_{action} on public.order_line_items"
        function = f"db:function public.order_line_items_compat_{action}"
        assert edges[(trigger, "legacy:public.order_line_items")]["kind"] == "defined-on"
        assert edges[(trigger, function)]["kind"] == "executes"
        assert nodes[function]["compat"] is True
    summary = edges[("db:view public.order_summary", "legacy:public.order_line_items")]
    assert summary["kind"] == "references"
    assert [f["rule"] for f in summary["findings"]] == ["LR102"]
    assert edges[("legacy:public.products", "relation:public.catalog_items")]["kind"] == "replaced-by"
    assert [n["id"] for n in data["nodes"]] == sorted(nodes)


def test_subgraph_around_one_object_in_every_format(tmp_path: Path) -> None:
    code, out, err = run_cli("graph", str(SHOP), "--format", "json", "--object", "products", "-j", "1")
    assert code == 0, err
    ids = {n["id"] for n in json.loads(out)["nodes"]}
    assert "legacy:public.products" in ids and "relation:public.catalog_items" in ids
    assert "legacy:public.order_line_items" not in ids and not any(i.startswith("block:") for i in ids)

    code, out, _ = run_cli(
        "graph", str(SHOP), "--format", "dot", "--legacy-object", "public.customer_addresses"
    )
    assert code == 0
    assert out.startswith("digraph audit {") and out.rstrip().endswith("}")
    assert '"block:shop.api.addresses:list_addresses" -> "legacy:public.customer_addresses"' in out
    assert "order_line_items_v2" not in out

    code, out, _ = run_cli("graph", str(SHOP), "--format", "mermaid", "--object", "customer_addresses")
    assert code == 0
    assert out.startswith("flowchart LR\n") and "-->|references" in out

    output = tmp_path / "g.graphml"
    code, _, _ = run_cli(
        "graph", str(SHOP), "--format", "graphml", "--object", "customer_addresses", "-o", str(output)
    )
    assert code == 0
    ElementTree.parse(output)  # well-formed
    read = nx.read_graphml(output)
    assert read.nodes["legacy:public.customer_addresses"]["kind"] == "legacy"


def test_unknown_object_is_a_usage_error() -> None:
    code, _, err = run_cli("graph", str(SHOP), "--object", "nope")
    assert code == 2
    assert "not a legacy object" in err and "public.products" in err


def test_graph_command_on_a_copy_without_findings(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "migrations" / "0001_init.sql").write_text(
        "create table public.t (id int);\nalter table public.t rename to t_v2;\n"
        "create view public.t as select id from public.t_v2;\n"
    )
    code, out, err = run_cli("graph", str(root), "--format", "json")
    assert code == 0, err
    edges = json.loads(out)["edges"]
    assert {
        "source": "legacy:public.t",
        "target": "relation:public.t_v2",
        "kind": "replaced-by",
        "findings": [],
    } in (edges)
    shutil.rmtree(root)
