"""List every whole-word, case-insensitive occurrence of some names in an application's .py/.sql files.

Usage: python tests/benchmark/occurrences.py APP_DIR NAME [NAME ...] [-o TEMPLATE.csv]

This is the labelling sheet of the blind evaluation: it imports nothing from auditor, so a labeller can
run it without ever seeing the engine's output. Each row is one occurrence (path, line, column, name,
the line's text) with empty `label` and `reason` columns for the labeller to fill:

- `ref`: code that runs names the database table (SQL text or a fragment of it, a qualifier, a table
  name handed to a helper or an ORM, a model's table declaration, a constant that reaches SQL, ...);
- `non`: not a reference to the table (comment, docstring, prose, log text, a Python identifier or
  attribute, a column or alias of the same spelling, a URL, a dict key that reaches no SQL, ...);
- `history`: migration history (a Django/Alembic migration or a `.sql` migration replayed in order).

"Whole word" is grep's: the name is not preceded or followed by a letter, a digit or `_`.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

SUFFIXES = (".py", ".sql")
SKIPPED_DIRS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox"}
FIELDS = ["path", "line", "col", "name", "label", "reason", "text"]


def source_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(SUFFIXES):
                yield Path(folder, name)


def occurrences(root: Path, names: Sequence[str]) -> Iterator[dict[str, str | int]]:
    """One row per occurrence; columns are 1-based character offsets in the line."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])", re.IGNORECASE)
    for path in source_files(root):
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                yield {
                    "path": path.relative_to(root).as_posix(),
                    "line": number,
                    "col": match.start() + 1,
                    "name": match.group(0).lower(),
                    "label": "",
                    "reason": "",
                    "text": line.strip()[:300],
                }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", type=Path)
    parser.add_argument("names", nargs="+")
    parser.add_argument("-o", "--output", type=Path, help="write the CSV here (default: standard output)")
    args = parser.parse_args(argv)
    rows = list(occurrences(args.app.resolve(), args.names))
    out = args.output.open("w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if args.output:
            out.close()
    print(f"{len(rows)} occurrences", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
