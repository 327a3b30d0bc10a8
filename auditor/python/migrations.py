"""Python migrations: Alembic version files, Django migration modules, peewee_migrate files, modules of
numbered steps (`migrations.py` with `def m001_...`) and the paths the config names.

A migration ran before the rename and is replayed in order on a fresh database, so what it says is history.
What matters is the database objects it leaves defined: the forward SQL it runs (``RunSQL``,
``op.execute``, ``cursor.execute``) is kept in place in a copy of the file where everything else is blank,
so the SQL migration replay reads it with the file's own line and column numbers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from auditor.core.model import Diagnostic
from auditor.core.source import LineIndex
from auditor.python.syntax import parse_python
from auditor.sql.order import migration_order

ALEMBIC = "alembic"
DJANGO = "django"
PEEWEE = "peewee"
STEPS = "steps"  # a `migrations.py` of numbered step functions, run in order by the application
CONFIGURED = "configured"

_ALEMBIC_MARK = re.compile(r"^down_revision\b", re.MULTILINE)
_DJANGO_MARK = re.compile(r"^class\s+Migration\s*\(", re.MULTILINE)
# peewee_migrate: `def migrate(migrator, database, ...)` forward, `def rollback(...)` backward
_PEEWEE_MARK = re.compile(r"^def\s+migrate\s*\(\s*migrator\b", re.MULTILINE)
_STEP = re.compile(r"^m\d+")  # a framework's `mNNN_*` migration functions in a configured migrations.py
# a module named migrations.py that defines them (LNbits and its extensions): its steps are migrations
_STEP_MARK = re.compile(r"^(?:async[ \t]+)?def[ \t]+m\d+_\w*[ \t]*\(", re.MULTILINE)
_STEPS_FILE = "migrations.py"
_BACKWARD = re.compile(r"^(?:downgrade|reverse|backward|rollback|unapply)", re.IGNORECASE)
_SQL_CALLS = {  # callee's last name -> the keywords that may hold its SQL (besides the first argument)
    "RunSQL": ("sql",),
    "execute": ("sql", "statement", "query", "sqltext"),
    "executescript": ("sql_script",),
    "exec_driver_sql": ("statement",),
    "sql": ("sql",),  # peewee_migrate's `migrator.sql(...)`
}
# a Django migration that names none of these runs no SQL of its own (RunPython code calls execute)
_SQL_WORDS = (*_SQL_CALLS, "rename_table", "drop_table")
_LITERAL_START = re.compile(r"[rRuU]{0,2}('''|\"\"\"|'|\")")


@dataclass(frozen=True)
class PythonMigration:
    path: str
    framework: str  # ALEMBIC, DJANGO, PEEWEE, STEPS or CONFIGURED
    sql: str  # the file's text with only its forward SQL literals kept in place, each ended by ";"
    # STEPS and configured files: the `mNNN_*` functions; empty: the whole file
    steps: frozenset[str] = frozenset()
    revision: str | None = None  # Alembic
    down_revisions: tuple[str, ...] = ()  # Alembic
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    def holds(self, block: str) -> bool:
        """Whether a finding in ``block`` ("pkg.mod:func.inner") is in a migration step of this file."""
        if not self.steps:
            return True
        return block.partition(":")[2].split(".", 1)[0] in self.steps


def could_be_migration(path: str, configured: Sequence[str]) -> bool:
    """Cheap test on the path: a file under `migrations/` or `versions/`, a `migrations.py`, or under a
    configured path."""
    folders = path.split("/")[:-1]
    return (
        "migrations" in folders
        or "versions" in folders
        or path.rsplit("/", 1)[-1] == _STEPS_FILE
        or any(_under(path, c) for c in configured)
    )


def _under(path: str, configured: str) -> bool:
    configured = configured.strip("/")
    return path == configured or path.startswith(configured + "/")


def read_migration(path: str, text: str, configured: Sequence[str]) -> PythonMigration | None:
    """The migration this file is, or None (a helper module that merely sits in a `migrations/` folder)."""
    folders = path.split("/")[:-1]
    if any(_under(path, c) for c in configured):
        framework = CONFIGURED
    elif "versions" in folders and _ALEMBIC_MARK.search(text):
        framework = ALEMBIC
    elif "migrations" in folders and _DJANGO_MARK.search(text):
        framework = DJANGO
    elif "migrations" in folders and _PEEWEE_MARK.search(text):
        framework = PEEWEE
    elif path.rsplit("/", 1)[-1] == _STEPS_FILE and _STEP_MARK.search(text):
        framework = STEPS
    else:
        return None
    if framework == DJANGO and not any(call in text for call in _SQL_WORDS):
        return PythonMigration(path, framework, "")  # models and fields only: no SQL to replay, no parse
    try:
        tree = parse_python(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return PythonMigration(path, framework, "")  # the extractor reports the syntax error
    steps = frozenset()
    if framework in (CONFIGURED, STEPS):
        steps = frozenset(
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and _STEP.match(n.name)
        )
    collector = _ForwardSql(tree, steps)
    sql, diagnostics = _sql_in_place(path, text, collector.literals, collector.operations)
    message = "the SQL of this migration step is built at run time; the objects it defines are not tracked"
    diagnostics.extend(Diagnostic(path, line, "migration-sql", message) for line in collector.unread)
    revision, down = _alembic_revisions(tree) if framework == ALEMBIC else (None, ())
    return PythonMigration(path, framework, sql, steps, revision, down, tuple(diagnostics))


class _ForwardSql(ast.NodeVisitor):
    """The string literals a migration runs as SQL when applied (not in downgrade / reverse code)."""

    def __init__(self, tree: ast.Module, steps: frozenset[str]) -> None:
        self.literals: list[ast.Constant] = []
        self.unread: list[int] = []  # lines of schema steps whose SQL is built at run time
        self.operations: list[tuple[ast.Call, str]] = []  # Alembic table operations, as SQL
        self.constants: dict[str, ast.expr] = {}
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                self.constants[node.targets[0].id] = node.value
        self.reverse = _reverse_functions(tree)
        for node in tree.body:
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if steps and not (is_function and node.name in steps):  # type: ignore[union-attr]
                continue
            self.visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not _BACKWARD.match(node.name) and node.name not in self.reverse:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        operation = _table_operation(node) if _schema_step(node.func) else None
        if operation is not None:
            self.operations.append((node, operation))
        keywords = _SQL_CALLS.get(_callee(node.func))
        if keywords is not None:
            for arg in [*node.args[:1], *(k.value for k in node.keywords if k.arg in keywords)]:
                if not self.collect(arg, 0) and _schema_step(node.func):
                    self.unread.append(arg.lineno)
        self.generic_visit(node)

    def collect(self, node: ast.expr, depth: int) -> bool:
        """Keep the SQL literals of ``node``; False when its text cannot be read statically."""
        if depth > 8:
            return False  # a constant defined through itself
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.literals.append(node)
            return True
        if isinstance(node, ast.List | ast.Tuple):
            # RunSQL(["...", ("... %s", [params])]): each statement, or the SQL of each (sql, params) pair
            read = [
                self.collect(e.elts[0] if isinstance(e, ast.Tuple) and e.elts else e, depth + 1)
                for e in node.elts
            ]
            return all(read)
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.collect(self.constants[node.id], depth + 1)
        if isinstance(node, ast.Call) and _callee(node.func) == "text" and node.args:
            return self.collect(node.args[0], depth + 1)  # sqlalchemy.text("...")
        return isinstance(node, ast.Attribute) and node.attr == "noop"  # RunSQL.noop runs nothing


def _table_operation(node: ast.Call) -> str | None:
    """`op.rename_table("a", "b")` / `op.drop_table("a")` as the SQL statement it runs (the history of a
    name that a compatibility view later takes)."""
    names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    schema = next(
        (k.value.value for k in node.keywords if k.arg == "schema" and isinstance(k.value, ast.Constant)),
        None,
    )
    prefix = f'"{schema}".' if isinstance(schema, str) else ""
    callee = _callee(node.func)
    if callee == "rename_table" and len(names) >= 2:
        return f"alter table {prefix}{names[0]} rename to {names[1]};"
    if callee == "drop_table" and names:
        return f"drop table {prefix}{names[0]};"
    return None


def _quoted(name: str) -> str:
    """An identifier as SQLAlchemy sends it: plain when lower case, quoted otherwise."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _schema_step(func: ast.expr) -> bool:
    """`migrations.RunSQL(...)` or Alembic's `op.execute(...)`: a step that may define objects."""
    if _callee(func) == "RunSQL":
        return True
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "op"


def _callee(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _reverse_functions(tree: ast.Module) -> set[str]:
    """Functions Django runs only when unapplying: RunPython(forward, reverse) / reverse_code=reverse."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node.func) == "RunPython":
            candidates = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "reverse_code")]
            names.update(c.id for c in candidates if isinstance(c, ast.Name))
    return names


def _sql_in_place(
    path: str, text: str, literals: Iterable[ast.Constant], operations: Iterable[tuple[ast.Call, str]]
) -> tuple[str, list[Diagnostic]]:
    """``text`` blanked (newlines kept) except the SQL literals; each closing quote becomes ";". A table
    operation's SQL is written over its line when the line leaves room (it is replayed, never reported)."""
    chars = list(re.sub(r"[^\n]", " ", text))
    lines = LineIndex(text)
    diagnostics: list[Diagnostic] = []
    for node, statement in operations:
        start = _offset(text, lines, node.lineno, node.col_offset)
        if not text[lines.starts[node.lineno - 1] : start].strip():
            start = lines.starts[node.lineno - 1]  # the indentation is room too
        line_end = text.find("\n", start)
        if len(statement) <= (line_end if line_end >= 0 else len(text)) - start:
            chars[start : start + len(statement)] = statement
    for node in literals:
        start = _offset(text, lines, node.lineno, node.col_offset)
        end = _offset(text, lines, node.end_lineno or node.lineno, node.end_col_offset or 0)
        segment = text[start:end]
        opening = _LITERAL_START.match(segment)
        value = str(node.value)
        if opening is None:
            continue
        quote = opening.group(1)
        inner_start, inner_end = start + opening.end(), end - len(quote)
        if segment.endswith(quote) and text[inner_start:inner_end] == value:
            chars[inner_start:inner_end] = value
        elif len(value) <= inner_end - inner_start:
            # escapes or implicit concatenation: the SQL is kept, its positions are approximate
            flat = value.replace("\n", " ")
            chars[inner_start:inner_end] = flat + " " * (inner_end - inner_start - len(flat))
        else:
            message = "could not place the SQL of this literal; the objects it defines are not tracked"
            diagnostics.append(Diagnostic(path, node.lineno, "sql-parse", message))
            continue
        chars[inner_end] = ";"
    return "".join(chars), diagnostics


def _offset(text: str, lines: LineIndex, line: int, byte_column: int) -> int:
    """The character offset of an ast position (1-based line, UTF-8 byte column)."""
    start = lines.starts[line - 1]
    end = text.find("\n", start)
    line_text = text[start : end if end >= 0 else len(text)]
    return start + len(line_text.encode("utf-8")[:byte_column].decode("utf-8", "ignore"))


def _module_values(tree: ast.Module) -> dict[str, ast.expr]:
    """``NAME = value`` (or ``NAME: type = value``) at module level."""
    values: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            values[target.id] = value
    return values


def _alembic_revisions(tree: ast.Module) -> tuple[str | None, tuple[str, ...]]:
    values = _module_values(tree)
    revision = values.get("revision")
    down = values.get("down_revision")
    downs = down.elts if isinstance(down, ast.Tuple | ast.List) else [down] if down is not None else []
    return (
        revision.value if isinstance(revision, ast.Constant) and isinstance(revision.value, str) else None,
        tuple(d.value for d in downs if isinstance(d, ast.Constant) and isinstance(d.value, str)),
    )


def application_order(migrations: Sequence[PythonMigration]) -> list[PythonMigration]:
    """Django, peewee_migrate, numbered-step and configured migrations in file-name order; Alembic ones
    along their revision chain."""
    ordered = sorted((m for m in migrations if m.framework != ALEMBIC), key=lambda m: migration_order(m.path))
    alembic = sorted((m for m in migrations if m.framework == ALEMBIC), key=lambda m: migration_order(m.path))
    by_revision = {m.revision: m for m in alembic if m.revision is not None}
    placed: set[str] = set()
    seen: set[str] = set()  # a revision cycle ends where it closes
    for first in alembic:
        stack = [(first, False)]
        while stack:  # depth first, parents before children, without recursion (long histories)
            migration, parents_done = stack.pop()
            if parents_done:
                if migration.path not in placed:
                    placed.add(migration.path)
                    ordered.append(migration)
                continue
            if migration.path in seen:
                continue
            seen.add(migration.path)
            stack.append((migration, True))
            for down in reversed(migration.down_revisions):
                parent = by_revision.get(down)
                if parent is not None and parent.path not in seen:
                    stack.append((parent, False))
    return ordered
