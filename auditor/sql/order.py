"""The order migrations run in (no sqlglot here: a warm scan reads it without the SQL stage)."""

from __future__ import annotations

import os
import re


def migration_order(path: str) -> tuple[str, list[int | str]]:
    """File-name order with numbers compared as numbers (Flyway's V2__ before V10__)."""
    parts = re.split(r"(\d+)", os.path.basename(path))
    return os.path.dirname(path), [int(p) if p.isdigit() else p for p in parts]
