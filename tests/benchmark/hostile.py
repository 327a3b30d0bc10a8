"""Benchmark the hostile inputs of issue 15: cost must stay linear in the size of one file.

Usage: python tests/benchmark/hostile.py [--sizes 5000,10000,20000] [--chain 1000] [--source DIR]

Cases (each generated into a temporary scan root, scanned with `--format json`, which builds the plan):

- ``statements``: one .sql file with N statements that each name the legacy view (``orders``); the time
  per statement must not grow with N (it did: list membership in the graph builder made it quadratic);
- ``chain``: one .sql file whose query is a ``||`` chain of N terms (the SQL walker recursed once per
  term and died with RecursionError at about 1,000);
- ``renames``: a migration that creates N views over the legacy view and renames each (every rename
  looked at every view: quadratic in the migration replay and in the catalog);
- ``clients``: one TypeScript file with N `supabase.from(table)` calls whose table is a variable (each is an
  LR005; counting the lines before each call made it quadratic: 300 s for 200,000).

``--source DIR`` runs the `auditor` package found in DIR (another checkout: the figures before a fix).
Standard library only; it prints one line per case: seconds, peak memory, findings.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def statements_sql(count: int) -> str:
    return "".join(f"SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = {i};\n"
                   for i in range(count))  # fmt: skip


def chain_sql(terms: int) -> str:
    return "SELECT " + " || ".join(f"'part{i}'" for i in range(terms)) + " AS joined FROM orders;\n"


def renames_sql(count: int) -> str:
    return "".join(f"CREATE VIEW public.v{i} AS SELECT * FROM orders WHERE id = {i};\n"
                   f"ALTER VIEW public.v{i} RENAME TO w{i};\n" for i in range(count))  # fmt: skip


def clients_ts(count: int) -> str:
    return "".join(
        f"export const rows{i} = (t: string) => supabase.from(t).select();\n" for i in range(count)
    )


# where each case's file goes in its scan root
_FILES = {"renames": "supabase/migrations/queries.sql", "clients": "web/rows.ts"}


def run_case(name: str, sql: str, source: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="audit-hostile-") as tmp:
        root = Path(tmp) / "root"
        file = root / _FILES.get(name.split("=")[0], "db/queries.sql")
        file.parent.mkdir(parents=True)
        file.write_text(sql, encoding="utf-8")
        command = [sys.executable, "-m", "auditor", "scan", str(root), "--legacy", "orders=orders_v2",
                   "--no-cache", "--jobs", "1", "--format", "json"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(source)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        # cwd: not this checkout, whose auditor would shadow the one of --source (`-m` puts cwd first)
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp)
        seconds = time.perf_counter() - start
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    if done.returncode not in (0, 1):
        return {"case": name, "error": done.stderr.strip().splitlines()[-1:] or done.returncode}
    report = json.loads(done.stdout)
    errors = [d for d in report["diagnostics"] if d["kind"] not in ("sql-parse",)]
    return {
        "case": name,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak / 1024),
        "findings": len(report["findings"]),
        "diagnostics": [d["kind"] for d in errors],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,20000", help="statement counts (comma-separated)")
    parser.add_argument("--chain", type=int, default=1000, help="terms of the `||` chain")
    parser.add_argument("--renames", default="2000,4000", help="views renamed in one migration")
    parser.add_argument("--clients", default="50000,100000", help="client calls in one TypeScript file")
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="the checkout whose auditor to run")
    args = parser.parse_args(argv)
    cases = [(f"statements={n}", statements_sql(int(n))) for n in args.sizes.split(",") if n]
    cases.append((f"chain={args.chain}", chain_sql(args.chain)))
    cases += [(f"renames={n}", renames_sql(int(n))) for n in args.renames.split(",") if n]
    cases += [(f"clients={n}", clients_ts(int(n))) for n in args.clients.split(",") if n]
    print(f"auditor from {args.source}; peak memory is the largest child process so far")
    for name, sql in cases:
        result = run_case(name, sql, args.source)
        if "error" in result:
            print(f"{name:>20}  error: {result['error']}")
            continue
        per = ""
        if not name.startswith("chain="):
            per = f"  {1000 * float(result['seconds']) / int(name.split('=')[1]):.2f} ms/statement"  # type: ignore[arg-type]
        found = f"{result['findings']} finding(s){per}"
        print(f"{name:>20}  {result['seconds']:>8} s  {result['peak_mb']:>6} MB  {found}  "
              f"diagnostics: {result['diagnostics'] or '-'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
