"""One read of the live database for a scan: its compatibility views, drift, dependents and usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.catalog.names import LegacyCatalog
from auditor.core.model import DatabaseEvidence, DbObject, Finding
from auditor.database.catalog import (
    Drift,
    LiveView,
    catalog_schemas,
    compare,
    drift_findings,
    migration_views,
    read_views,
    with_live_views,
)
from auditor.database.connect import DatabaseRequest, describe, read_only_session
from auditor.database.dependents import Dependent, dependent_findings, read_dependents
from auditor.database.usage import read_snapshot, read_statements, usage_evidence, usage_findings
from auditor.sql.migrations import MigrationCatalog


@dataclass(frozen=True)
class LiveReading:
    catalog: LegacyCatalog  # the scan's catalog plus the compatibility views only the database has
    views: tuple[LiveView, ...]
    drift: tuple[Drift, ...]
    dependents: tuple[Dependent, ...]
    evidence: DatabaseEvidence

    def findings(self, known: Sequence[DbObject]) -> list[Finding]:
        """LR106 (drift), LR104 (dependents; at their ``known`` definitions when the scan saw them), LR105."""
        return [
            *drift_findings(self.drift, self.catalog),
            *dependent_findings(self.dependents, self.catalog, known),
            *usage_findings(self.evidence, self.catalog),
        ]


def read_database(
    request: DatabaseRequest, catalog: LegacyCatalog, migrations: MigrationCatalog
) -> LiveReading:
    """Everything the scan needs from the database, in one read-only session (raises DatabaseError).

    Drift compares the database with the migrations; a compatibility view named in the configuration or
    on the command line is not drift.
    """
    since = read_snapshot(request.since) if request.since else None
    defined = migration_views(migrations.statements, migrations.order, catalog.default_schema)
    with read_only_session(request.url) as session:
        views = read_views(session, catalog_schemas(catalog), catalog.default_schema)
        live_catalog = with_live_views(catalog, views)
        declared = {o.legacy for o in catalog.objects if o.source in ("config", "cli")}
        drift = compare(migrations.objects, defined | declared, views)
        dependents = read_dependents(session, live_catalog, views)
        evidence = usage_evidence(read_statements(session), live_catalog, describe(request.url), since)
    return LiveReading(live_catalog, tuple(views), tuple(drift), tuple(dependents), evidence)
