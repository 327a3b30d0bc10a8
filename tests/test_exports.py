"""The report exporters: JSON v1 contract, SARIF 2.1.0, CSV, CI formats, and fingerprint stability."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from auditor.core.model import (
    LEFT_OUT_REASONS,
    Confidence,
    Diagnostic,
    Finding,
    LegacyObject,
    ObjectName,
    ScanResult,
    Span,
    Suggestion,
)
from auditor.core.rules import RULES
from auditor.gate.fingerprint import fingerprints
from auditor.reports.ci import to_github, to_gitlab, to_junit
from auditor.reports.csv import COLUMNS, to_csv
from auditor.reports.json import to_json
from auditor.reports.sarif import to_sarif

SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "shared/data/sarif-schema-2.1.0.json"

ITEMS = ObjectName("public", "order_line_items")
ITEMS_V2 = ObjectName("public", "order_line_items_v2")
CUSTOMERS = ObjectName("public", "customers_legacy")
CUSTOMERS_V2 = ObjectName("public", "customers")
UNUSED = ObjectName("public", "old_prices")
PRICES = ObjectName("public", "prices")

UNRESOLVED_MESSAGE = "table name comes from parameter `table`: 100% unknown\nCheck the callers, e.g. a,b"


def _result() -> ScanResult:
    catalog = (
        LegacyObject(
            ITEMS, ITEMS_V2, "view", "supabase/migrations/0002_compat.sql:4", (("qty", "quantity"),)
        ),
        LegacyObject(CUSTOMERS, CUSTOMERS_V2, "name", "config"),
        LegacyObject(UNUSED, PRICES, "name", "cli"),
    )
    findings = (
        Finding(
            rule="LR102",
            path="supabase/migrations/0007_summary.sql",
            span=Span(3, 36, 3, 58),
            legacy=ITEMS,
            target=ITEMS_V2,
            block="supabase/migrations/0007_summary.sql:view public.order_summary",
            confidence=Confidence.HIGH,
            message="view public.order_summary depends on legacy public.order_line_items",
            snippet="SELECT order_id, count(*) FROM public.order_line_items GROUP BY order_id;",
            suggestion=Suggestion(Span(3, 36, 3, 58), "public.order_line_items_v2", "Redefine on the target"),
            db_object="view public.order_summary",
        ),
        Finding(
            rule="LR001",
            path="app/orders.py",
            span=Span(12, 38, 12, 54),
            legacy=ITEMS,
            target=ITEMS_V2,
            block="app.orders:OrderRepo.items",
            confidence=Confidence.HIGH,
            message="`order_line_items` is a legacy name; use public.order_line_items_v2",
            snippet='cur.execute("SELECT id, qty FROM order_line_items WHERE order_id = %s", (oid,))',
            suggestion=Suggestion(Span(12, 38, 12, 54), "order_line_items_v2", "Rename the table"),
        ),
        Finding(
            rule="LR002",
            path="app/reports.py",
            span=Span(4, 13, 4, 31),
            legacy=CUSTOMERS,
            target=CUSTOMERS_V2,
            block="app.reports:<module>",
            confidence=Confidence.MEDIUM,
            message="`customers_legacy` is interpolated into SQL text",
            snippet='CUSTOMERS = "customers_legacy"',
            via=("app.reports.CUSTOMERS",),
        ),
        Finding(
            rule="LR005",
            path="app/util.py",
            span=Span(8, 40, 8, 47),
            legacy=None,
            target=None,
            block="app.util:count_rows",
            confidence=Confidence.LOW,
            message=UNRESOLVED_MESSAGE,
            snippet='return cur.execute(f"SELECT count(*) FROM {table}")',
        ),
    )
    diagnostics = (Diagnostic("app/broken.py", 3, "syntax-error", "invalid syntax"),)
    # a person checked the LR005 site: it blocks nothing (test_hostile covers the unaccepted case)
    return ScanResult("/srv/repo", catalog, findings, diagnostics, files_scanned=7, unresolved_accepted=True)


@pytest.fixture
def result() -> ScanResult:
    return _result()


@pytest.fixture
def prints(result: ScanResult) -> list[str]:
    return fingerprints(result.findings)


# ---------------------------------------------------------------------------------------------------
# JSON

_NAME = {"type": "string", "pattern": r"^[^.]+\.[^.]+$"}
_OPT_NAME = {"anyOf": [_NAME, {"type": "null"}]}
_POSITIVE = {"type": "integer", "minimum": 1}


def _object(properties: dict, optional: tuple[str, ...] = ()) -> dict:
    """An object with exactly ``properties``; all required except ``optional`` (the additive keys)."""
    return {
        "type": "object",
        "properties": properties,
        "required": [key for key in properties if key not in optional],
        "additionalProperties": False,
    }


JSON_V1_CONTRACT = _object(
    {
        "schema_version": {"const": 1},
        "tool": _object({"name": {"const": "auditor"}, "version": {"type": "string"}}),
        "catalog": {
            "type": "array",
            "items": _object(
                {
                    "legacy": _NAME,
                    "target": _OPT_NAME,
                    "kind": {"type": "string"},
                    "source": {"type": "string"},
                    "columns": {"type": "object", "additionalProperties": {"type": "string"}},
                    "evidence": {"type": "array", "items": {"type": "string"}},
                    "computed": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                optional=("evidence", "computed"),
            ),
        },
        "findings": {
            "type": "array",
            "items": _object(
                {
                    "rule": {"enum": list(RULES)},
                    "name": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                    "path": {"type": "string"},
                    "line": _POSITIVE,
                    "column": _POSITIVE,
                    "end_line": _POSITIVE,
                    "end_column": _POSITIVE,
                    "legacy": _OPT_NAME,
                    "target": _OPT_NAME,
                    "block": {"type": "string"},
                    "confidence": {"enum": ["high", "medium", "low"]},
                    "message": {"type": "string"},
                    "snippet": {"type": "string"},
                    "suggestion": {
                        "anyOf": [
                            {"type": "null"},
                            _object(
                                {
                                    "replacement": {"type": "string"},
                                    "description": {"type": "string"},
                                    "line": _POSITIVE,
                                    "column": _POSITIVE,
                                    "end_line": _POSITIVE,
                                    "end_column": _POSITIVE,
                                },
                                optional=("line", "column", "end_line", "end_column"),
                            ),
                        ]
                    },
                    "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                    "via": {"type": "array", "items": {"type": "string"}},
                    "db_object": {"type": ["string", "null"]},
                    "context": {"const": "migration"},
                },
                optional=("via", "db_object", "context"),
            ),
        },
        "diagnostics": {
            "type": "array",
            "items": _object(
                {
                    "path": {"type": "string"},
                    "line": {"type": ["integer", "null"]},
                    "kind": {"type": "string"},
                    "message": {"type": "string"},
                }
            ),
        },
        "summary": _object(
            {
                "files_scanned": {"type": "integer", "minimum": 0},
                "findings": {"type": "integer", "minimum": 0},
                "by_legacy": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                "ready_to_drop": {"type": "array", "items": _NAME},
                "left_out": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
            },
            optional=("left_out",),
        ),
        "left_out": {
            "type": "array",
            "items": _object({"path": {"type": "string"}, "reason": {"enum": list(LEFT_OUT_REASONS)}}),
        },
        "non_references": {
            "type": "array",
            "items": _object(
                {
                    "path": {"type": "string"},
                    "line": _POSITIVE,
                    "column": _POSITIVE,
                    "name": {"type": "string"},
                    "reason": {"type": "string", "minLength": 1},
                }
            ),
        },
    },
    optional=("left_out", "non_references"),
)


def test_json_matches_the_v1_contract(result: ScanResult, prints: list[str]) -> None:
    document = json.loads(to_json(result, prints))
    jsonschema.Draft202012Validator(JSON_V1_CONTRACT).validate(document)
    assert list(document) == [
        "schema_version", "tool", "catalog", "findings", "diagnostics", "summary", "non_references"
    ]  # fmt: skip
    assert (
        list(document["findings"][0])[:15]
        == list(JSON_V1_CONTRACT["properties"]["findings"]["items"]["properties"])[:15]
    )


def test_json_content(result: ScanResult, prints: list[str]) -> None:
    document = json.loads(to_json(result, prints))
    findings = document["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [
        ("app/orders.py", "LR001"),
        ("app/reports.py", "LR002"),
        ("app/util.py", "LR005"),
        ("supabase/migrations/0007_summary.sql", "LR102"),
    ]
    assert findings[0]["suggestion"] == {
        "replacement": "order_line_items_v2",
        "description": "Rename the table",
        "line": 12,
        "column": 38,
        "end_line": 12,
        "end_column": 54,
    }
    assert findings[1]["via"] == ["app.reports.CUSTOMERS"] and findings[1]["suggestion"] is None
    assert findings[2]["legacy"] is None and findings[2]["confidence"] == "low"
    assert findings[3]["db_object"] == "view public.order_summary"
    assert {f["fingerprint"] for f in findings} == set(prints)
    assert [entry["legacy"] for entry in document["catalog"]] == sorted(document["summary"]["by_legacy"])
    assert document["catalog"][2] == {
        "legacy": "public.order_line_items",
        "target": "public.order_line_items_v2",
        "kind": "view",
        "source": "supabase/migrations/0002_compat.sql:4",
        "columns": {"qty": "quantity"},
        "evidence": [],
        "computed": {},
    }
    assert document["summary"] == {
        "files_scanned": 7,
        "findings": 4,
        "by_legacy": {"public.customers_legacy": 1, "public.old_prices": 0, "public.order_line_items": 2},
        "ready_to_drop": ["public.old_prices"],
    }
    assert document["diagnostics"] == [
        {"path": "app/broken.py", "line": 3, "kind": "syntax-error", "message": "invalid syntax"}
    ]


def test_json_low_confidence_finding_still_blocks_the_drop(result: ScanResult) -> None:
    low = dataclasses.replace(result.findings[2], confidence=Confidence.LOW)
    changed = dataclasses.replace(result, findings=(*result.findings[:2], low, result.findings[3]))
    summary = json.loads(to_json(changed, fingerprints(changed.findings)))["summary"]
    assert summary["ready_to_drop"] == ["public.old_prices"]


def test_json_is_deterministic_and_takes_extra_keys(result: ScanResult, prints: list[str]) -> None:
    shuffled = dataclasses.replace(result, findings=result.findings[::-1], catalog=result.catalog[::-1])
    assert to_json(result, prints) == to_json(shuffled, prints[::-1])
    document = json.loads(to_json(result, prints, extra={"plan": {"steps": []}}))
    assert list(document)[-1] == "plan"
    with pytest.raises(ValueError, match="summary"):
        to_json(result, prints, extra={"summary": {}})


# ---------------------------------------------------------------------------------------------------
# SARIF


def test_sarif_validates_against_the_official_schema(result: ScanResult, prints: list[str]) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF 2.1.0 schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    log = json.loads(to_sarif(result, prints))
    jsonschema.Draft4Validator(schema).validate(log)


def test_sarif_content(result: ScanResult, prints: list[str]) -> None:
    log = json.loads(to_sarif(result, prints))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    assert rules[0]["name"] == "legacy-name-in-static-sql"
    assert "```python" in rules[0]["help"]["markdown"] and "Use instead" in rules[0]["help"]["text"]
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error"]
    for item in results:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        assert item["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    first = results[0]
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 12,
        "startColumn": 38,
        "endLine": 12,
        "endColumn": 54,
    }
    assert first["partialFingerprints"] == {"auditorFingerprint/v1": prints[1]}
    assert first["properties"]["legacy"] == "public.order_line_items"
    replacement = first["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"] == {"text": "order_line_items_v2"}
    assert "fixes" not in results[1]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert run["invocations"][0]["executionSuccessful"] is True
    assert notes[0]["descriptor"]["id"] == "syntax-error"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///srv/repo/"


# ---------------------------------------------------------------------------------------------------
# CSV


def test_csv_round_trips(result: ScanResult, prints: list[str]) -> None:
    text = to_csv(
        result, prints, owners=lambda path: ["@data-team", "@alice"] if path.startswith("app/") else []
    )
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 4 and list(rows[0]) == list(COLUMNS)
    assert rows[0]["owners"] == "@data-team @alice" and rows[3]["owners"] == ""
    assert rows[0]["suggestion_replacement"] == "order_line_items_v2"
    unresolved = next(row for row in rows if row["rule"] == "LR005")
    assert unresolved["message"] == UNRESOLVED_MESSAGE and unresolved["legacy"] == ""
    assert sorted(row["fingerprint"] for row in rows) == sorted(prints)
    no_owners = list(csv.DictReader(io.StringIO(to_csv(result, prints), newline="")))
    assert {row["owners"] for row in no_owners} == {""}


# ---------------------------------------------------------------------------------------------------
# CI formats


def test_github_annotations_escape_the_message(result: ScanResult, prints: list[str]) -> None:
    lines = to_github(result, prints).splitlines()
    assert len(lines) == 4
    assert lines[0] == (
        "::error file=app/orders.py,line=12,col=38,endLine=12,endColumn=54,"
        "title=LR001 legacy-name-in-static-sql::"
        "`order_line_items` is a legacy name; use public.order_line_items_v2"
    )
    unresolved = lines[2]
    assert unresolved.startswith("::notice file=app/util.py,line=8,")
    assert unresolved.endswith(
        "::table name comes from parameter `table`: 100%25 unknown%0ACheck the callers, e.g. a,b"
    )
    assert lines[1].startswith("::warning ")


def test_github_escapes_properties(result: ScanResult) -> None:
    odd = dataclasses.replace(result.findings[1], path="app/a:b,c%.py")
    line = to_github(dataclasses.replace(result, findings=(odd,)), ["0" * 16])
    assert line.startswith("::error file=app/a%3Ab%2Cc%25.py,line=12,")


def test_gitlab_code_quality(result: ScanResult, prints: list[str]) -> None:
    issues = json.loads(to_gitlab(result, prints))
    assert len(issues) == 4
    assert len({issue["fingerprint"] for issue in issues}) == 4
    assert [issue["severity"] for issue in issues] == ["major", "minor", "info", "major"]
    assert issues[0]["location"] == {"path": "app/orders.py", "lines": {"begin": 12}}
    assert issues[0]["check_name"] == "LR001"


def test_gitlab_fingerprints_stay_unique_for_identical_files(result: ScanResult) -> None:
    copy = dataclasses.replace(
        result.findings[1], path="app/orders_copy.py", block="app.orders_copy:OrderRepo.items"
    )
    doubled = dataclasses.replace(result, findings=(*result.findings, copy))
    prints = fingerprints(doubled.findings)
    assert prints[1] == prints[4]  # path-independent by design
    issues = json.loads(to_gitlab(doubled, prints))
    assert len({issue["fingerprint"] for issue in issues}) == 5


def test_junit_counts(result: ScanResult, prints: list[str]) -> None:
    root = ET.fromstring(to_junit(result, prints))
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "auditor"
    suite = suites[0]
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == [
        "public.customers_legacy",
        "public.old_prices",
        "public.order_line_items",
        "unresolved",
    ]
    assert len(cases["public.order_line_items"].findall("failure")) == 2
    assert len(cases["public.customers_legacy"].findall("failure")) == 1
    assert cases["public.old_prices"].findall("failure") == []
    unresolved = cases["unresolved"].findall("failure")
    assert len(unresolved) == 1 and unresolved[0].text.startswith("app/util.py:8:")
    assert unresolved[0].get("message") == UNRESOLVED_MESSAGE
    assert suite.get("tests") == "4" and suite.get("failures") == "3"
    assert root.get("tests") == "4" and root.get("failures") == "3"


# ---------------------------------------------------------------------------------------------------
# Fingerprints

_LINE = 'cur.execute("SELECT id FROM order_line_items WHERE order_id = %s", (oid,))'


def _ref(
    line: int, *, path: str = "app/orders.py", block: str = "app.orders:OrderRepo.items", snippet: str = _LINE
) -> Finding:
    return Finding(
        "LR001",
        path,
        Span(line, 30, line, 46),
        ITEMS,
        ITEMS_V2,
        block,
        Confidence.HIGH,
        "legacy name",
        snippet,
    )


def _one(finding: Finding) -> str:
    return fingerprints([finding])[0]


def test_fingerprint_survives_lines_inserted_above() -> None:
    assert _one(_ref(10)) == _one(_ref(15))


def test_fingerprint_survives_a_renamed_file() -> None:
    moved = _ref(10, path="app/repositories/orders.py", block="app.repositories.orders:OrderRepo.items")
    assert _one(_ref(10)) == _one(moved)


def test_fingerprint_survives_reformatting_and_unrelated_findings() -> None:
    # only the reference's own line counts, and only up to whitespace
    respaced = '    cur.execute( "SELECT id FROM order_line_items WHERE order_id = %s",\t(oid, ) )'
    assert _one(_ref(10)) == _one(_ref(31, snippet=respaced))
    unrelated = _ref(
        3, block="app.orders:OrderRepo.count", snippet='cur.execute("SELECT 1 FROM order_line_items")'
    )
    assert fingerprints([unrelated, _ref(12)])[1] == _one(_ref(10))


def test_identical_references_in_one_block_get_distinct_fingerprints() -> None:
    first, second = fingerprints([_ref(10), _ref(11)])
    assert first != second
    assert fingerprints([_ref(11), _ref(10)]) == [second, first]  # parallel to the input, by source order
    # moving both down keeps both
    assert fingerprints([_ref(20), _ref(21)]) == [first, second]


def test_changed_reference_line_changes_the_fingerprint() -> None:
    changed = _ref(
        10, snippet='cur.execute("SELECT id, qty FROM order_line_items WHERE order_id = %s", (oid,))'
    )
    assert _one(_ref(10)) != _one(changed)
    assert _one(_ref(10)) != _one(_ref(10, block="app.orders:OrderRepo.other"))
    assert len(_one(_ref(10))) == 16
