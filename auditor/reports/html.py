"""The plan as one self-contained HTML page: summary, a drawing of the dependency graph (inline SVG, laid out
here in layers by node kind), a section per legacy object, and filtering by owner and status (plain JS,
also driven by the URL hash: ``#owner=@team-a&status=blocked``). Nothing is fetched at view time."""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

from auditor import __version__
from auditor.plan.graph import LEGACY, NODE_KINDS, subgraph_around
from auditor.plan.plan import BLOCKED, ObjectPlan, Plan
from auditor.reports.common import unanalysed_note
from auditor.reports.evidence import database_line, object_evidence, usage_per_role

_COLUMN_WIDTH = 270
_NODE_WIDTH = 220
_ROW_HEIGHT = 30
_NODE_HEIGHT = 22
_MARGIN = 20
_LABEL_CHARS = 34
_EDGE_COLOUR = {
    "contains": "#b8bfc9",
    "references": "#c0392b",
    "reads-constant": "#8e44ad",
    "depends-on": "#7f8c8d",
    "defined-on": "#16a085",
    "executes": "#16a085",
    "replaced-by": "#27ae60",
}
_NODE_FILL = {
    "file": "#eef2f7",
    "block": "#dde8f6",
    "constant": "#efe3f7",
    "db-object": "#fdf1d8",
    "legacy": "#fde2e1",
    "relation": "#e0f3e6",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;
padding:1rem 2rem;color:#1f2328}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}code{font-family:ui-monospace,Menlo,monospace;
font-size:.9em}table{border-collapse:collapse;margin:.5rem 0;width:100%}th,td{border:1px solid #d0d7de;
padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}th{background:#f6f8fa}
td.n{text-align:right}.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.8rem;
font-weight:600}.ready{background:#dafbe1;color:#116329}.blocked{background:#ffebe9;color:#a40e26}
#filters{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #d0d7de;z-index:1}
#filters label{margin-right:1rem}.graph{overflow:auto;border:1px solid #d0d7de;max-height:80vh}
svg text{font-family:ui-monospace,Menlo,monospace;font-size:11px}svg .node rect{stroke:#57606a;
stroke-width:.7}svg .dim{opacity:.12}svg path{fill:none;stroke-width:1.1;opacity:.75}
[hidden]{display:none!important}.muted{color:#57606a}
"""

_JS = """
(function () {
  var owner = document.getElementById('owner');
  var status = document.getElementById('status');
  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      if (!part) { return; }
      var i = part.indexOf('=');
      if (i > 0) { out[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1)); }
    });
    return out;
  }
  function owns(el, who) {
    if (!who) { return true; }
    var list = JSON.parse(el.getAttribute('data-owners') || '[]');
    return who === '(none)' ? list.length === 0 : list.indexOf(who) >= 0;
  }
  function apply() {
    var who = owner.value, st = status.value, visible = [];
    document.querySelectorAll('[data-object]').forEach(function (el) {
      var show = owns(el, who) && (!st || el.getAttribute('data-status') === st);
      el.hidden = !show;
      if (show && el.tagName === 'SECTION') { visible.push(el.getAttribute('data-object')); }
    });
    document.querySelectorAll('tr[data-blocker]').forEach(function (row) { row.hidden = !owns(row, who); });
    document.querySelectorAll('svg .node, svg .edge').forEach(function (el) {
      var related = JSON.parse(el.getAttribute('data-legacy') || '[]');
      var on = related.some(function (name) { return visible.indexOf(name) >= 0; });
      el.classList.toggle('dim', !on);
    });
    document.getElementById('visible-count').textContent = String(visible.length);
    document.body.setAttribute('data-filter-owner', who);
    document.body.setAttribute('data-filter-status', st);
    document.body.setAttribute('data-visible', visible.join(' '));
    document.body.setAttribute('data-filtered', 'true');
  }
  function fromHash() {
    var h = parseHash();
    owner.value = h.owner && Array.prototype.some.call(owner.options, function (o) {
      return o.value === h.owner; }) ? h.owner : '';
    status.value = h.status === 'ready' || h.status === 'blocked' ? h.status : '';
    apply();
  }
  function toHash() {
    var parts = [];
    if (owner.value) { parts.push('owner=' + encodeURIComponent(owner.value)); }
    if (status.value) { parts.push('status=' + status.value); }
    var bare = location.pathname + location.search;
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : bare);
    apply();
  }
  owner.addEventListener('change', toHash);
  status.addEventListener('change', toHash);
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""


if TYPE_CHECKING:
    import networkx as nx


def _attr(value: object) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value), quote=True)


def _href(path: str) -> str:
    """A relative link to a scanned file: never a scheme (a file may be named `javascript:x.py`)."""
    return "./" + quote(path)


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def layout(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    import networkx as nx  # only the HTML report pays for importing it

    """Top-left corner of each node: one column per node kind; in a column, nodes follow the first legacy
    object they lead to (so a blocker sits near what it blocks), then their label."""
    legacy = sorted(n for n, kind in graph.nodes(data="kind") if kind == LEGACY)
    rank = {node: index for index, node in enumerate(legacy)}
    near: dict[str, int] = {}
    for node in legacy:
        for other in nx.ancestors(graph, node) | nx.descendants(graph, node):
            near.setdefault(other, rank[node])
    columns: dict[str, list[str]] = defaultdict(list)
    for node, kind in graph.nodes(data="kind"):
        columns[kind].append(node)
    positions: dict[str, tuple[float, float]] = {}
    x_index = 0
    for kind in NODE_KINDS:
        nodes = sorted(columns.get(kind, ()), key=lambda n: (rank.get(n, near.get(n, len(legacy))), n))
        if not nodes:
            continue
        for y_index, node in enumerate(nodes):
            positions[node] = (_MARGIN + x_index * _COLUMN_WIDTH, _MARGIN + 24 + y_index * _ROW_HEIGHT)
        x_index += 1
    return positions


def _related(graph: nx.DiGraph, plan: Plan) -> dict[str, set[str]]:
    """node -> the legacy objects whose neighbourhood holds it (for dimming the drawing when filtering)."""
    related: dict[str, set[str]] = defaultdict(set)
    for obj in plan.objects:
        node = f"legacy:{obj.legacy}"
        if node in graph:
            for other in subgraph_around(graph, node):
                related[other].add(obj.legacy)
    return related


def svg(graph: nx.DiGraph, plan: Plan) -> str:
    positions = layout(graph)
    related = _related(graph, plan)
    width = max((x for x, _ in positions.values()), default=0) + _NODE_WIDTH + 2 * _MARGIN
    height = max((y for _, y in positions.values()), default=0) + _NODE_HEIGHT + 2 * _MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="dependency graph">'
    ]
    seen_columns: set[float] = set()
    for node, (x, _) in sorted(positions.items(), key=lambda item: item[1]):
        if x not in seen_columns:
            seen_columns.add(x)
            kind = graph.nodes[node]["kind"]
            parts.append(f'<text x="{x}" y="{_MARGIN + 8}" font-weight="bold">{escape(kind)}</text>')
    for source, target, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        sx, sy = positions[source]
        tx, ty = positions[target]
        sy += _NODE_HEIGHT / 2
        ty += _NODE_HEIGHT / 2
        if tx > sx:
            start, end = sx + _NODE_WIDTH, tx
            bend = (end - start) / 2
            d = f"M{start},{sy} C{start + bend},{sy} {end - bend},{ty} {end},{ty}"
        else:  # same column (or backwards): loop out on the right
            start, end = sx + _NODE_WIDTH, tx + _NODE_WIDTH
            d = f"M{start},{sy} C{start + 60},{sy} {end + 60},{ty} {end},{ty}"
        legacy = sorted(related.get(source, set()) & related.get(target, set()))
        findings = len(data.get("findings", ()))
        title = data["kind"] + (f" ({findings} finding(s))" if findings else "")
        parts.append(
            f'<path class="edge" data-kind="{_attr(data["kind"])}" data-legacy="{_attr(legacy)}" '
            f'stroke="{_EDGE_COLOUR.get(data["kind"], "#999")}" d="{d}"><title>{escape(title)}</title></path>'
        )
    for node, attrs in sorted(graph.nodes(data=True), key=lambda item: item[0]):
        x, y = positions[node]
        label = str(attrs.get("label", node))
        kind = attrs["kind"]
        parts.append(
            f'<g class="node" data-id="{_attr(node)}" data-kind="{_attr(kind)}" '
            f'data-legacy="{_attr(sorted(related.get(node, ())))}">'
            f"<title>{escape(kind)}: {escape(label)}</title>"
            f'<rect x="{x}" y="{y}" width="{_NODE_WIDTH}" height="{_NODE_HEIGHT}" rx="4" '
            f'fill="{_NODE_FILL.get(kind, "#fff")}"/>'
            f'<text x="{x + 6}" y="{y + 15}">{escape(_short(label))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _status(obj: ObjectPlan) -> str:
    """ "ready", "blocked", or "blocked: unanalysed files" (or unresolved table names) when those hold it."""
    extra = [r for r in obj.reasons if r in ("unanalysed files", "unresolved table names")]
    return f"{obj.status}: {', '.join(extra)}" if extra else obj.status


def _section(obj: ObjectPlan, owners_of: dict[str, list[str]], evidence: str = "") -> str:
    status = f'<span class="badge {obj.status}">{escape(_status(obj))}</span>'
    target = f" → <code>{escape(obj.target)}</code>" if obj.target else ""
    out = [
        f'<section data-object="{_attr(obj.legacy)}" data-status="{obj.status}" '
        f'data-owners="{_attr(list(obj.owners))}" id="{_attr("object-" + obj.legacy)}">',
        f"<h2><code>{escape(obj.legacy)}</code>{target} {status}</h2>",
    ]
    if obj.status == BLOCKED:
        out.append(
            f"<p>{len(obj.blockers)} blocker(s): {obj.count('python')} python, {obj.count('sql-file')} "
            f"sql-file, {obj.count('db-object')} db-object; in {len(obj.blocks)} block(s) of "
            f"{len(obj.files)} file(s). {obj.mechanical} with a mechanical rewrite, "
            f"{obj.manual} need a person.</p>"
        )
    else:
        out.append("<p>Nothing uses it any more: it is in the Phase 3 migration.</p>")
    if obj.unanalysed:
        files = "".join(f"<li><code>{escape(path)}</code></li>" for path in obj.unanalysed)
        out.append(f"<p>Blocked: unanalysed files. These files may name it but could not be analysed:</p>"
                   f"<ul>{files}</ul>")  # fmt: skip
    if obj.unresolved:
        out.append("<p>Blocked: unresolved table names (LR005, listed below) may hold it; check them, then "
                   "accept them with <code>--accept-unresolved</code>.</p>")  # fmt: skip
    if obj.cycle:
        out.append("<p>Its view is part of a cycle of legacy views: there is no safe order to drop them.</p>")
    if obj.drop_after:
        names = ", ".join(f"<code>{escape(n)}</code>" for n in obj.drop_after)
        out.append(f"<p>Drop first: {names}</p>")
    if obj.owners:
        out.append(f"<p>Owners: {escape(', '.join(obj.owners))}</p>")
    if obj.blockers:
        out.append(
            "<table><thead><tr><th>where</th><th>kind</th><th>rule</th><th>block</th><th>confidence</th>"
            "<th>via</th><th>owners</th><th>suggested rewrite</th></tr></thead><tbody>"
        )
        for blocker in obj.blockers:
            suggestion = blocker.finding.suggestion
            rewrite = (
                f"<code>{escape(suggestion.replacement)}</code>"
                + ("" if blocker.mechanical else ' <span class="muted">(check by hand)</span>')
                if suggestion is not None
                else '<span class="muted">needs a person</span>'
            )
            owners = owners_of.get(blocker.path, [])
            out.append(
                f'<tr data-blocker data-owners="{_attr(owners)}">'
                f'<td><a href="{_attr(_href(blocker.path))}#L{blocker.line}">'
                f"{escape(blocker.path)}:{blocker.line}</a></td>"
                f"<td>{escape(blocker.kind)}</td><td>{escape(blocker.finding.rule)}</td>"
                f"<td><code>{escape(blocker.block)}</code></td><td>{blocker.finding.confidence!s}</td>"
                f"<td>{escape(' → '.join(blocker.via))}</td><td>{escape(' '.join(owners))}</td>"
                f"<td>{rewrite}</td></tr>"
            )
        out.append("</tbody></table>")
    if evidence:
        out.append(evidence)
    if obj.history:
        places = ", ".join(f"{escape(f.path)}:{f.span.line} {escape(f.rule)}" for f in obj.history)
        out.append(
            f'<p class="muted">Migration history (replayed before the rename, never a blocker): {places}</p>'
        )
    out.append("</section>")
    return "\n".join(out)


def _evidence(plan: Plan, obj: ObjectPlan) -> str:
    if plan.database is None:
        return ""
    items = "".join(f"<li>{escape(kind)}: {escape(text)}</li>" for kind, text in object_evidence(plan, obj))
    return f'<ul class="evidence">{items}</ul>'


def _database(plan: Plan) -> str:
    """The database read, the observation window and the usage per role."""
    if plan.database is None:
        return ""
    rows = "".join(
        f'<tr><td>{escape(role)}</td><td><code>{escape(legacy)}</code></td><td class="n">{n}</td>'
        f'<td class="n">{calls}</td><td class="n">{count}</td></tr>'
        for role, legacy, n, calls, count in usage_per_role(plan)
    )
    table = (
        '<table id="usage"><thead><tr><th>role</th><th>legacy view</th><th>statements</th><th>calls</th>'
        f"<th>rows</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    return f"<h2>The live database</h2><p>{escape(database_line(plan.database))}</p>{table}"


def to_html(plan: Plan, owners_of: dict[str, list[str]] | None = None) -> str:
    """``owners_of`` maps each blocking path to its owners (for filtering single blockers by owner)."""
    owners_of = owners_of or {}
    all_owners = sorted({o for obj in plan.objects for o in obj.owners})
    options = ['<option value="">all</option>', '<option value="(none)">(no owner)</option>']
    options += [f'<option value="{_attr(o)}">{escape(o)}</option>' for o in all_owners]
    rows = []
    for obj in plan.objects:
        rows.append(
            f'<tr data-object="{_attr(obj.legacy)}" data-status="{obj.status}" '
            f'data-owners="{_attr(list(obj.owners))}">'
            f'<td><a href="#{_attr("object-" + obj.legacy)}"><code>{escape(obj.legacy)}</code></a></td>'
            f"<td><code>{escape(obj.target or '–')}</code></td>"
            f'<td><span class="badge {obj.status}">{escape(_status(obj))}</span></td>'
            f'<td class="n">{obj.count("python")}</td><td class="n">{obj.count("sql-file")}</td>'
            f'<td class="n">{obj.count("db-object")}</td><td class="n">{len(obj.blocks)}</td>'
            f'<td class="n">{len(obj.files)}</td><td class="n">{obj.mechanical}</td>'
            f'<td class="n">{obj.manual}</td><td>{escape(", ".join(obj.owners)) or "–"}</td>'
            f"<td>{escape(', '.join(obj.drop_after)) or '–'}</td></tr>"
        )
    order = " → ".join(f"<code>{escape(n)}</code>" for n in plan.drop_order) or "nothing is ready yet"
    unresolved = ""
    if plan.unresolved:
        items = "".join(
            f"<li>{escape(f.path)}:{f.span.line} in <code>{escape(f.block)}</code></li>"
            for f in plan.unresolved
        )
        unresolved = (
            "<h2>Table names to check by hand (LR005)</h2><p>The analyzer could not resolve these table "
            f"names; check the values that reach them.</p><ul>{items}</ul>"
        )
    not_analysed = ""
    if plan.unanalysed:
        items = "".join(
            f"<li><code>{escape(f.path)}</code>: {escape(f.kind)}: {escape(f.message)}; "
            f"{escape(unanalysed_note(f))}</li>"
            for f in plan.unanalysed
        )
        not_analysed = f"<h2>Files not analysed</h2><ul>{items}</ul>"
    body = f"""<h1>Phase 3 plan: dropping the legacy compatibility views</h1>
<p>{len(plan.ready)} of {len(plan.objects)} legacy object(s) ready to drop, {len(plan.blocked)} blocked.
Safe drop order: {order}.</p>
<div id="filters"><label>Owner <select id="owner">{"".join(options)}</select></label>
<label>Status <select id="status"><option value="">all</option><option value="ready">ready</option>
<option value="blocked">blocked</option></select></label>
<span class="muted"><span id="visible-count">{len(plan.objects)}</span> object(s) shown</span></div>
<h2>Summary</h2>
<table id="summary"><thead><tr><th>legacy object</th><th>target</th><th>status</th><th>python</th>
<th>sql files</th><th>db objects</th><th>blocks</th><th>files</th><th>mechanical</th><th>needs a person</th>
<th>owners</th><th>drop after</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<h2>Dependency graph</h2>
<div class="graph">{svg(plan.graph, plan)}</div>
{_database(plan)}
{"".join(_section(obj, owners_of, _evidence(plan, obj)) for obj in plan.objects)}
{unresolved}
{not_analysed}
<p class="muted">Generated by auditor {escape(__version__)}.</p>"""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Phase 3 plan</title><style>{_CSS}</style></head>
<body data-filtered="false">
{body}
<script>{_JS}</script>
</body></html>
"""
