"""Recall at least grep's: every whole-word occurrence of a legacy name gets exactly one verdict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.catalog.config import load_config
from auditor.discover.files import discover
from auditor.python.mentions import classify_python
from tests.conftest import FIXTURES, ROOTS_WITH_LABELS, run_cli, scan_json

EVERY = FIXTURES / "cases" / "every_occurrence"


def grep_hits(root: Path, names: list[str]) -> set[tuple[str, int, int]]:
    """(path, line, column) of each whole-word, case-insensitive occurrence, as `grep -rniw -o` sees them
    (a word is letters, digits and `_`: `$ledger` and `ledger$x` hold one), in the .py, .sql and .sh files
    the scan reads (the configured and .gitignore exclusions apply)."""
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
    hits: set[tuple[str, int, int]] = set()
    for file in discover(str(root), load_config(str(root), None).exclude).files:
        if not file.path.endswith((".py", ".sql", ".sh")):
            continue
        text = Path(file.full_path).read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
        for number, line in enumerate(text.split("\n"), start=1):
            for match in pattern.finditer(line):
                hits.add((file.path, number, match.start() + 1))
    return hits


@pytest.mark.parametrize(
    "root", ROOTS_WITH_LABELS, ids=[str(p.relative_to(FIXTURES)) for p in ROOTS_WITH_LABELS]
)
def test_every_occurrence_is_a_finding_or_a_non_reference(root: Path) -> None:
    data = scan_json(root)
    names = sorted({entry["legacy"].split(".")[-1] for entry in data["catalog"]})
    if not all(n.isidentifier() for n in names):
        pytest.skip("quoted legacy names")
    found = {(f["path"], f["line"], f["column"]) for f in data["findings"] if f["legacy"]}
    explained = [(n["path"], n["line"], n["column"]) for n in data["non_references"]]
    assert len(explained) == len(set(explained))
    hits = grep_hits(root, names)
    unexplained = sorted(hits - found - set(explained))
    assert unexplained == []
    assert not (found & set(explained)), "an occurrence is both a finding and a non-reference"


def test_non_references_carry_their_reason() -> None:
    data = scan_json(EVERY)
    reasons = {(n["path"], n["line"], n["column"]): n["reason"] for n in data["non_references"]}
    assert reasons[("ledger.py", 13, 7)] == "a comment"
    assert reasons[("ledger.py", 9, 13)] == "a dict key"
    assert reasons[("ledger.py", 12, 5)] == "a Python identifier"
    assert "shadowed by an alias of ledger_v2" in reasons[("ledger.py", 20, 25)]
    assert "CTE" in reasons[("ledger.py", 21, 57)]
    assert reasons[("db/migrations/0001_ledger.sql", 2, 14)].startswith("migration history")
    assert "archive.ledger" in reasons[("ledger.py", 33, 40)]
    names = {n["name"] for n in data["non_references"]}
    assert names == {"ledger", "Ledger"}


def test_explain_shows_each_occurrence_on_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EVERY)
    code, out, _ = run_cli("explain", "ledger.py:20")
    assert code == 0
    assert out.splitlines() == [
        "ledger.py:20",
        "  column 25: `ledger` -> not a reference: in SQL (execute()): a column qualifier shadowed by an "
        "alias of ledger_v2 AS ledger",
        "  column 53: `ledger` -> not a reference: in SQL (execute()): a table alias",
    ]
    code, out, _ = run_cli("explain", "ledger.py:28")
    assert "LR006 unclassified: a string that holds the name" in out
    code, out, _ = run_cli("explain", "ledger.py:15")
    assert out.count("-> finding: LR001") == 4
    code, out, _ = run_cli("explain", "ledger.py:3")
    assert "no whole-word occurrence" in out


def test_explain_rejects_a_bad_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EVERY)
    code, _, err = run_cli("explain", "ledger.py")
    assert code == 2
    assert err.startswith("audit: error: expected PATH:LINE")


def test_unclassified_occurrence_blocks_the_plan(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text('REPORT_TABLE = "ledger"\n', encoding="utf-8")
    _, out, _ = run_cli("plan", str(tmp_path), "--legacy", "ledger=ledger_v2", "--format", "json")
    (plan,) = json.loads(out)["objects"]
    assert plan["status"] == "blocked"
    assert [b["rule"] for b in plan["blockers"]] == ["LR006"]


@pytest.mark.parametrize(
    ("source", "verdict", "reason"),
    [
        ('send(file=File(fp, "ledger.csv"))\n', "not-a-reference", "a file name"),
        ('path = os.path.join(tmp, "ledger.jsonl")\n', "not-a-reference", "a file name"),
        ('owner = ForeignKey(User, related_name="ledger")\n', "not-a-reference", "a Python attribute name"),
        ('x = f"{ledger.total} rows"\n', "not-a-reference", "a Python expression inside an f-string"),
        ('if kind != "ledger":\n    pass\n', "not-a-reference", "a value compared in Python"),
        ('ok = "ledger" not in names\n', "not-a-reference", "a value compared in Python"),
        ('if table_name == "ledger":\n    pass\n', "unclassified", "a value compared with `table_name`"),
        ('skip = relname != "ledger"\n', "unclassified", "a value compared with `relname`"),
        ('if tables_done == "ledger":\n    pass\n', "unclassified", "a value compared with"),
        ('if "ledger" in statement:\n    blocked.set()\n', "unclassified", "looked for in `statement`"),
        ('assert "ledger" not in query_sql\n', "unclassified", "looked for in `query_sql`"),
        ('if "ledger" in seen:\n    pass\n', "not-a-reference", "a value compared in Python"),
        ('ddl = "AFTER INSERT OR UPDATE ON ledger FOR EACH ROW"\n', "unclassified", "SQL-shaped text"),
        ('ddl = "CREATE POLICY own ON public.ledger USING (true)"\n', "unclassified", "SQL-shaped text"),
        ('note = "totals depend on ledger rows"\n', "not-a-reference", "prose text"),
        ('points = request.data.get("ledger", [])\n', "not-a-reference", "a key of request, form or model"),
        ('ids = request.GET.getlist("ledger")\n', "not-a-reference", "a key of request, form or model"),
        ('rows = store.get("ledger")\n', "unclassified", "a string that holds the name"),
        ('wanted = payload.get("ledger")\n', "unclassified", "a string that holds the name"),
        ('f = self.request.data.get("ledger")\n', "not-a-reference", "a key of request, form or model"),
        ('if stable == "ledger":\n    pass\n', "not-a-reference", "a value compared in Python"),
        ('n = getattr(report, "ledger", None)\n', "not-a-reference", "a Python attribute name"),
        ('n = getattr(settings, "LEDGER_TABLE", "ledger")\n', "unclassified", "a string that holds the name"),
        ('heading = "Ledger Totals"\n', "not-a-reference", "prose text"),
        ('url = "/api/ledger/"\n', "not-a-reference", "a URL or file path"),
        ('key = "cache:ledger"\n', "not-a-reference", "a key or label"),
        ('parts.append("ledger.total > %s")\n', "sql-fragment", "a SQL fragment"),
        ('assert "ORDER BY ledger.id DESC" in sql\n', "sql-fragment", "a SQL fragment"),
        ('orders = {"new": "ledger.created DESC"}\n', "sql-fragment", "a SQL fragment"),
        ('note = "ledger.json = the export"\n', "unclassified", "SQL-shaped text"),
        # a column named like a file extension, read with a JSON operator: SQL, not a file name
        ('or_where.extend(["ledger.json->>%s IS NULL"])\n', "sql-fragment", "a SQL fragment"),
        # the words prose shares with SQL count in capitals, as SQL writes them
        ('clause = f"ledger.id NOT IN ({marks})"\n', "sql-fragment", "a SQL fragment"),
        ('clause = "ledger.closed_at IS NULL"\n', "sql-fragment", "a SQL fragment"),
        ('note = "ledger.notes in (appendix) is null"\n', "unclassified", "SQL-shaped text"),
        # a JSON key in SQL (`->>`, `->`, `?`): never a relation; the same value compared is one
        ("sql = \"SELECT info->>'ledger' FROM docs\"\n", "not-a-reference", "a JSON key"),
        ("sql = \"SELECT id FROM docs WHERE kind = 'ledger'\"\n", "unclassified", "exactly the name"),
        ('t = Table("books", meta, Column("ledger", Text))\n', "not-a-reference", "a column name"),
        ('owner = models.ForeignKey(User, db_column="ledger")\n', "not-a-reference", "a column name"),
        ('@cache.memoize(engine="memcache", key="ledger")\n', "not-a-reference", "a key (`key=`)"),
        ('limit = RateLimit(key_suffix="ledger")\n', "not-a-reference", "a key (`key_suffix=`)"),
        ('router = APIRouter(prefix="/x", tags=["ledger"])\n', "not-a-reference", "a label of an API"),
        # Django: a QuerySet's field arguments, and an admin's or serializer's lists of fields
        ('qs = Site.objects.select_related("owner", "ledger")\n', "not-a-reference", "a model field"),
        ('cache_fields = ["ledger", "zone"]\n', "not-a-reference", "a field name"),
        ('rows = Entry.objects.order_by("ledger.created DESC")\n', "sql-fragment", "a SQL fragment"),
        ('ORDER = {"when": "-ledger-created_at"}\n', "unclassified", "a `table-column` pair"),
        ('ORDER = {"when": "ledger-runtime"}\n', "unclassified", "a `table-column` pair"),
        ('@users.command("cleanup-ledger")\n', "not-a-reference", "the name of a CLI command"),
        ('headers = ["Total-Ledger"]\n', "not-a-reference", "a key or label"),
        ('api.add(View, "/api/x", endpoint="ledger")\n', "not-a-reference", "a route's endpoint name"),
        ('t = context.get("ledger")\n', "unclassified", "a string that holds the name"),
        (
            'lines = fields.Nested(LineSchema, many=True, attribute="ledger")\n',
            "not-a-reference",
            "(`attribute=`)",
        ),
        ('bp = Blueprint("ledger", __name__)\n', "not-a-reference", "the name of a CLI command"),
        ('@click.group(name="ledger", help="x")\n', "not-a-reference", "the name of a CLI command"),
        ('cli.add_command(ledger_cli, "ledger")\n', "not-a-reference", "the name of a CLI command"),
        ('ns = Namespace("ledger", description="x")\n', "not-a-reference", "the name of a CLI command"),
        ('run.command(cli, "ledger")\n', "unclassified", "a string that holds the name"),
        ('page = db.fetch_page(q, group_by=["ledger.id"])\n', "sql-fragment", "a SQL fragment"),
        ('rows = paginate(q, order_by="ledger.created")\n', "sql-fragment", "a SQL fragment"),
        ('rows = paginate(q, label="ledger.created")\n', "not-a-reference", "text for people"),
        ('entries = relationship("Entry", order_by="Ledger.created")\n', "unclassified", "SQL-shaped text"),
        ('rows = paginate(q, field="ledger.created")\n', "unclassified", "SQL-shaped text"),
        ('__all__ = ["Ledger", "Books"]\n', "not-a-reference", "a name the module exports"),
        ('__all__ += (\n    "ledger",\n)\n', "not-a-reference", "a name the module exports"),
        ('exported = ["Ledger"]\n', "unclassified", "a string that holds the name"),
        ('notice = render("cannot close {ledger.owner.name} now")\n', "not-a-reference", "a format field"),
        ('line = "{ledger.total} rows"\n', "not-a-reference", "a format field"),
        ('q = "SELECT ledger.total FROM ledger"\n', "unclassified", "SQL"),
        ('q = "SELECT {ledger.total} FROM books"\n', "not-a-reference", "a format field"),
        ('t = Base.metadata.tables.get("ledger")\n', "unclassified", "a key of `tables`"),
        ('t = Base.metadata.tables["ledger"]\n', "unclassified", "a key of `tables`"),
        ('config = ConfigDict(exclude={"id", "ledger"})\n', "not-a-reference", "a field or attribute name"),
        ('config.include(".ledger")\n', "not-a-reference", "a relative Python module path"),
        ('total = count_rows(session, ["ledger"])\n', "unclassified", "a string that holds the name"),
        ('total = rows["ledger"] + {"a": 1}["ledger"]\n', "not-a-reference", "a subscript key"),
        ('sql += " JOIN ledger USING (id)"\n', "unclassified", "SQL-shaped text"),
        ('TABLE = "ledger"\n', "unclassified", "a string that holds the name"),
        (
            "q = \"SELECT 1 FROM pg_class WHERE relname = 'ledger'\"\n",
            "unclassified",
            "in SQL text: a quoted SQL",
        ),
        ('q = "SELECT ledger FROM books"\n', "not-a-reference", "in SQL text: a column name"),
        ('q = "SELECT * FROM archive.ledger"\n', "not-a-reference", "another relation"),
        ("def f(:\n    'ledger'\n", "unclassified", "could not be tokenized"),
        (
            'fields = [F("a", "Account name"), F("b", "Ledger"), F("c", "Opened on")]\n',
            "not-a-reference",
            "a label: other calls of `F(...)`",
        ),
        (
            'fields = [F("a", "Ledger"), F("c", "SELECT 1 FROM t"), F("d", "a b")]\n',
            "unclassified",
            "a string",
        ),
        ('raise ExportError([{"loc": "ledger"}])\n', "not-a-reference", "data of a log, print or exception"),
        ('summary = summarize({"loc": "ledger"})\n', "unclassified", "a string that holds the name"),
        ('out = os.path.join(root, "ledger")\n', "not-a-reference", "a file path component (`path.join"),
        ('out = Path(root, "ledger")\n', "not-a-reference", "a file path component (`Path"),
        ('prompt = "Empty for a new ledger. Use it to enrich the rest of it"\n', "not-a-reference", "prose"),
        ('clause = "ledger. total > 0 AND ledger. id = %s"\n', "sql-fragment", "a SQL fragment"),
    ],
)
def test_python_occurrences_are_classified_by_their_tokens(source: str, verdict: str, reason: str) -> None:
    occurrences = [(m.start(), m.end()) for m in re.finditer(r"(?i)\bledger\b", source)]
    assert occurrences
    verdicts = classify_python(source, occurrences, lambda schema, name: schema in (None, "public"))
    for start, _ in occurrences:
        assert verdicts[start].verdict == verdict
        assert verdicts[start].reason.startswith(reason) or reason in verdicts[start].reason


def test_the_post_pass_reuses_the_extractions_parse_unless_the_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The post-pass classifies a Python file's occurrences within its statements, which the extraction
    already found while parsing it: the file is not parsed again. A file that changes between the two
    passes is parsed again from the text the post-pass reads (the statements of the old text would put
    its occurrences in the wrong places)."""
    import ast

    from auditor import scan as scan_module
    from auditor.python import mentions
    from auditor.scan import ScanOptions, scan

    parsed: list[int] = []
    real_parse = ast.parse

    def counting(text: str, *args: object, **kwargs: object) -> ast.Module:
        parsed.append(1)
        return real_parse(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mentions.ast, "parse", counting)
    root = tmp_path / "app"
    root.mkdir()
    ledger = root / "ledger.py"
    text = (
        "# ledger moved to ledger_v2\n"
        "def total(cur):\n"
        '    """Sum of the ledger."""\n'
        '    return cur.execute("SELECT sum(amount) FROM ledger_v2").fetchone()\n'
    )
    ledger.write_text(text)

    def run() -> dict[tuple[int, int], str]:
        parsed.clear()
        options = ScanOptions(str(root), load_config(str(root), None), [("ledger", "ledger_v2")], 1, None)
        result = scan(options)  # no cache: the post-pass runs each time
        assert not [f for f in result.findings if f.rule == "LR006"]
        return {(m.line, m.column): m.reason for m in result.mentions}

    assert run() == {(1, 3): "a comment", (3, 19): "a docstring or bare string statement (never executed)"}
    assert parsed == [1]  # the extraction's own parse (module-level ast.parse): the post-pass parsed nothing
    real_resolve = scan_module._resolve

    def edited(*args: object) -> object:  # the file changes after its extraction, before the post-pass
        ledger.write_text("import os\nCONSTANT = 1\n\n\n" + text)
        return real_resolve(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "_resolve", edited)
    assert run() == {(5, 3): "a comment", (7, 19): "a docstring or bare string statement (never executed)"}
