"""The order migrations run in (no sqlglot here: a warm scan reads it without the SQL stage)."""

from __future__ import annotations

import os
import re

# Scripts a migration tool runs again on every migrate, after the versioned ones: Flyway's repeatable
# migrations (`R__views.sql`) and its SQL callbacks (`afterMigrate.sql`, `beforeEachMigrate__x.sql`), and
# the files of a folder of idempotent or repeatable scripts (`sql/idempotent/010-functions.sql`).
_REPEATABLE_NAME = re.compile(r"R__|(?:before|after)(?:Each)?Migrate(?:__|\.)")
_REPEATABLE_FOLDERS = frozenset({"idempotent", "repeatable", "repeatables"})


def is_repeatable(path: str) -> bool:
    """A migration script that runs again on every migrate: what it reads runs against today's schema, so
    its uses of a legacy view are live code, not history (the view's drop breaks the next migrate)."""
    folder, name = os.path.split(path)
    return _REPEATABLE_NAME.match(name) is not None or any(
        part.lower() in _REPEATABLE_FOLDERS for part in folder.split("/")
    )


def migration_order(path: str) -> tuple[bool, str, list[int | str]]:
    """File-name order with numbers compared as numbers (Flyway's V2__ before V10__); the scripts that run
    on every migrate come after every versioned one, as Flyway applies them."""
    parts = re.split(r"(\d+)", os.path.basename(path))
    return is_repeatable(path), os.path.dirname(path), [int(p) if p.isdigit() else p for p in parts]
