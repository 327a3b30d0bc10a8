"""The live database's evidence in a plan, as every plan report states it: per object, one line for each
kind of evidence (code, database dependents, usage), the observation window, and the usage per role."""

from __future__ import annotations

from auditor.core.model import DatabaseEvidence
from auditor.database.usage import describe_window, per_role
from auditor.plan.plan import DATABASE, DB_OBJECT_KIND, DRIFT, PYTHON, SQL_FILE, USAGE, ObjectPlan, Plan


def database_line(evidence: DatabaseEvidence) -> str:
    """Where the database was read and the observation window, in one sentence."""
    if not evidence.usage_observed:
        return f"Database {evidence.database}: usage unknown ({evidence.usage_note}); nothing can be ready."
    return f"Database {evidence.database}: usage observed {describe_window(evidence)}."


def object_evidence(plan: Plan, obj: ObjectPlan) -> list[tuple[str, str]]:
    """(kind, what it says) for each kind of evidence about ``obj``; only code without a database."""
    code = sum(obj.count(kind) for kind in (PYTHON, SQL_FILE, DB_OBJECT_KIND))
    lines = [("code", f"{code} blocker(s) in the repository" if code else "no blocker in the repository")]
    evidence = plan.database
    if evidence is None:
        return lines
    dependents, drift = obj.count(DATABASE), obj.count(DRIFT)
    lines.append(("database", f"{dependents} dependent object(s)" if dependents else "no dependent object"))
    if drift:
        lines.append(("drift", f"{drift} difference(s) from the migrations"))
    if not evidence.usage_observed:
        lines.append(("usage", f"unknown: {evidence.usage_note}"))
        return lines
    roles = sorted({b.finding.block.removeprefix("db:role ") for b in obj.blockers if b.kind == USAGE})
    window = describe_window(evidence)
    if roles:
        lines.append(("usage", f"{obj.count(USAGE)} statement(s) by {', '.join(roles)} {window}"))
    else:
        lines.append(("usage", f"no statement {window}"))
    return lines


def usage_per_role(plan: Plan) -> list[tuple[str, str, int, int, int]]:
    """(role, legacy view, statements, calls, rows) in the window."""
    return per_role(plan.database.usage) if plan.database is not None else []
