"""Extract, from one Python module, where SQL text and table names enter database code (CPython's ast).

The result is symbolic (see values.py): names of constants and imports are resolved later, across
modules, by resolve.py. CPython's parser gives every node its exact start and end; the pieces of an
implicit string concatenation and the parts of an f-string, which ast merges, are found by a small
scanner over the source of that one expression (strings.py).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import itertools
import pickle
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.catalog.names import names_in
from auditor.core.pickles import safe_loads
from auditor.core.source import LineIndex
from auditor.python.mentions import MESSAGE_CALLS, MESSAGE_CLASS, statement_spans
from auditor.python.rulepacks import Lookup, MappingRule, RulePacks, Sink
from auditor.python.strings import StringToken, scan_strings
from auditor.python.syntax import parse_python
from auditor.python.values import (
    Formatting,
    Hole,
    Lit,
    Piece,
    Ref,
    Value,
    literal_text,
    member_name,
    slots_reduce,
)
from auditor.sql.binds import bind_lookups

SQL_START = re.compile(
    r"\A\s*(?:--[^\n]*\n\s*)*\(*\s*(?:select|insert|update|delete|with|create|alter|drop|truncate|copy|merge|"
    r"grant|revoke|comment|lock|refresh|call|values|table|analy[sz]e|vacuum|reindex|cluster|explain)\b",
    re.IGNORECASE,
)
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
# PostgREST's REST API path (Supabase): the segment after it names a table or view (`rpc/f`: a function)
POSTGREST_PATH = "/rest/v1/"
# the reason of a schema read from `__table_args__` built in a way the walk does not follow (a call, a name)
UNKNOWN_TABLE_ARGS = "table arguments built where this analysis does not follow"
# a bind entry that stands for the whole parameters container, a parameter of the enclosing function
FORWARDED_BINDS = "*"
# the callee of a call of a parameter (`table_factory("orders")` in a test), followed by "<module> <name>":
# the fixture of that name, as pytest finds it from that module
FIXTURE_CALLEE = "pytest fixture "
# the callee of a method called on an object of unknown type: this, then the method's name (`?.count`)
UNATTRIBUTED = "?."
_CLASS_NAME = re.compile(r"class\s+(\w+)")


@dataclass(frozen=True, slots=True)
class Site:
    """A place where a value enters database code (or a SQL-looking string stands on its own)."""

    kind: str  # a sink kind ("sql", "table", ...), "mapping" (ORM) or "standalone"
    value: Value
    block: str
    what: str  # how it enters, for messages: "execute()", "__tablename__", ...
    schema: Value | None = None
    through: tuple[str, ...] = ()  # the helpers a call-site argument goes through to reach a sink
    # an inherited mapping: the dotted class that declares it (the table is that of its mapped heirs)
    owner: str = ""
    holder: str = ""  # a Table() kept in a variable: its dotted name, for the class mapped onto it
    names_only: bool = False  # from a names-only sink: an unresolved value is not reported (no LR005)
    # a sink on an object imported from another module (Flask-SQLAlchemy's `db`): the dotted name of the
    # object, and the types it must have there for the site to count (decided across modules)
    receiver: str = ""
    receiver_types: tuple[str, ...] = ()
    # the bind parameters passed beside the SQL: (key, the value, the values of its elements when it is a
    # list); key "$1" for asyncpg's one-argument-each form, "1" for a sequence's first, a mapping's keys
    binds: tuple[tuple[str, Value, tuple[Value, ...]], ...] = ()
    prefix: str = ""  # the sink's text the SQL is the rest of (Sink.prefix)


@dataclass(frozen=True, slots=True)
class ModelClass:
    """A Django model class, for its default table name."""

    name: str
    block: str
    node: int
    app_label: str | None  # Meta.app_label when set
    has_table: bool  # Meta.db_table set, or abstract/proxy: no default name applies
    direct: bool = True  # a base is the ORM's model class; else a model only if a scanned base is one
    bases: tuple[str, ...] = ()  # dotted, as written (resolved across modules later)
    abstract: bool = False
    proxy: bool = False
    db_table: bool = False
    own_meta: bool = False  # the class declares its own Meta (else Django inherits an abstract base's)
    m2m: tuple[tuple[str, int], ...] = ()  # ManyToManyField without db_table/through: (field, node)


@dataclass(frozen=True, slots=True)
class TableClass:
    """What a class body says about the table an ORM maps it to (SQLAlchemy declarative)."""

    abstract: bool = False  # `__abstract__ = True`: maps nothing, passes its table settings on
    # built directly on the ORM's declarative base class, or `@as_declarative()`: maps nothing, no mixin
    declarative_base: bool = False
    mapped: bool = False  # `@registry.mapped`: mapped by its decorator, whatever its bases
    names_table: bool = False  # sets its own table name or `__table__` (an inherited one stops here)
    cascades: bool = False  # its table name is a declared_attr: every mapped subclass computes its own
    computed: str = ""  # a declared_attr that returns the class name: "lower" or "name"
    schema: Value | None = None  # from its own `__table_args__`


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """A function or method defined in the module: its parameters, for matching call arguments."""

    params: tuple[str, ...]  # positional parameters in order, `self`/`cls` included
    keyword_only: tuple[str, ...]
    bound: bool  # a method called on an instance or class: the first parameter is not passed
    line: int


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call of something that may be a function of the scanned code, with its string-like arguments."""

    callee: str  # dotted target: "app.db.count_rows", "app.Repo.db.insert" (through the type of `db`)
    # (position or -1, keyword or "*"/"**" for unpacked arguments, value; () when unknown)
    args: tuple[tuple[int, str | None, Value], ...]
    block: str
    what: str  # the call as written, for messages: "db.insert()"


@dataclass
class ModuleFacts:
    path: str
    module: str
    constants: dict[str, Value] = field(default_factory=dict)  # "NAME", "Class.NAME", "NAME[key]"
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    sites: list[Site] = field(default_factory=list)
    models: list[ModelClass] = field(default_factory=list)
    app_labels: dict[str, str] = field(default_factory=dict)  # AppConfig name -> label (apps.py)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)  # "count_rows", "Repo.insert"
    calls: list[CallSite] = field(default_factory=list)
    # (callee, position or keyword or "*"/"**"): an unknown value passed in a call not kept in `calls`
    unknown_arguments: set[tuple[str, str]] = field(default_factory=set)
    attribute_types: dict[str, str] = field(default_factory=dict)  # "Repo.db" -> "app.db.Database"
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "Repo" -> dotted bases
    class_nodes: dict[str, int] = field(default_factory=dict)  # "Repo" -> node of its name
    table_classes: dict[str, TableClass] = field(default_factory=dict)  # classes that say how they map
    # classes defined in a function ("make.Item"): their dotted bases, and whether they name their table
    local_classes: dict[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)
    # (dotted class, dotted table variable): `registry.map_imperatively(Class, table)`, `mapper(...)`
    imperative: list[tuple[str, str]] = field(default_factory=list)
    node_positions: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    # a module that names a legacy object: the (start, end) offsets of its statements, packed (see
    # `statement_spans`), for the post-pass over every occurrence; None when not taken
    statement_spans: bytes | None = None
    # the targets of the calls that pass a legacy name, kept apart from the packed call records: the rounds
    # read it to find the objects whose module must be parsed (see scan._receiver_modules)
    legacy_callees: tuple[str, ...] = ()
    # pytest fixtures that hand a function to the tests: fixture name -> that function's dotted name
    fixtures: dict[str, str] = field(default_factory=dict)
    # the schemas SQLAlchemy's `schema_translate_map={...}` replaces at run time (its keys' values)
    translated_schemas: list[Value] = field(default_factory=list)
    # functions that return one text-like value (other returns empty): "Repo.table_name" -> that value
    returns: dict[str, Value] = field(default_factory=dict)
    # a dict looked up by a parameter (`CONFIG[table]`, `CONFIG.get(table)`): (the function, dotted, the
    # parameter, the dict's name, "" when it is a local, its literal keys that may name a legacy object);
    # where that parameter is a table name, the dict is keyed by table names (see Resolver._registries)
    registries: list[tuple[str, str, str, tuple[Value, ...]]] = field(default_factory=list)
    # `CONFIG["orders"]` of a module-level dict, a key that may name a legacy object: (the dict, the key)
    key_reads: list[tuple[str, Value]] = field(default_factory=list)
    # what a module-level class body binds (its columns, if it is a model): class -> (the table it names
    # itself with a literal, `__tablename__` or `Meta.db_table`, lowered, or ""; the names, lowered)
    class_columns: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # `Table("orders", metadata, Column("id", ...), ...)`: (the table's literal name, lowered; its columns)
    table_columns: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    # Pickled, the call records (half the bytes of all facts, and most of the time to load them) stay
    # packed: a stage asks `callees()` first, and unpacks `calls` only for a module that calls a helper.
    # The node positions (a tuple and four ints per expression) are packed too, as one array of ints.
    # The bytes are a function of the facts alone (sets written sorted, no string interned by the walk):
    # equal facts pickle equal, which the cache's early cutoff relies on.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        calls = state.pop("calls", None)
        if calls is not None:
            state["_callees"] = self.callees()
            state["_forwards"] = self.forwards()
            state["_packed_calls"] = pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)
        positions = state.pop("node_positions", None)
        if positions is not None:  # read only for the few findings located at an expression
            rows = ((ordinal, *span) for ordinal, span in sorted(positions.items()))
            state["_packed_positions"] = _pack_rows(rows)
        for name in _SETS:
            state[name] = tuple(sorted(state[name]))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["unknown_arguments"] = set(state["unknown_arguments"])
        for name in ("_callees", "_forwards"):
            state[name] = frozenset(state[name])
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        """Only for an attribute not set: the packed call records or node positions, unpacked when first
        read."""
        if name == "node_positions" and "_packed_positions" in self.__dict__:
            # rows that do not unpack: no position known (the findings keep theirs)
            rows = _unpack_rows(self.__dict__["_packed_positions"], 5) or []
            positions = {row[0]: row[1:] for row in rows}
            self.__dict__["node_positions"] = positions
            del self.__dict__["_packed_positions"]
            return positions
        packed = self.__dict__.get("_packed_calls")
        if name != "calls" or packed is None:
            raise AttributeError(name)
        try:
            calls = safe_loads(packed)
            if not (isinstance(calls, list) and all(isinstance(c, CallSite) for c in calls)):
                raise ValueError("not a list of call records")
        except Exception:  # unreadable (the entry's digest held, so never by accident): no argument known
            calls = []
            self.unknown_arguments = self.unknown_arguments | {(c, "**") for c in self.callees()}
        self.__dict__["calls"] = calls
        del self.__dict__["_packed_calls"]
        return calls

    def callees(self) -> frozenset[str]:
        """The dotted targets of the recorded calls (read without unpacking them)."""
        known = self.__dict__.get("_callees")
        if known is None:
            known = self.__dict__["_callees"] = frozenset(c.callee for c in self.calls)
        return known

    def forwards(self) -> frozenset[tuple[str, str]]:
        """(callee, function) for each call that passes a parameter of the calling function on, as it is
        (read without unpacking the call records)."""
        known = self.__dict__.get("_forwards")
        if known is None:
            known = self.__dict__["_forwards"] = frozenset(
                (c.callee, hole.function)
                for c in self.calls
                for _, _, value in c.args
                if (hole := passes_parameter(value)) is not None
            )
        return known


_SETS = ("unknown_arguments", "_callees", "_forwards")  # ModuleFacts' sets, pickled sorted


def _claimed(sinks: list[Sink]) -> list[Sink]:
    """The sinks of a call, where a names-only sink (a method name other APIs share) stands aside for an
    argument that a sink of the API itself reads (PostgREST's `.table(...).select(...)` columns); not for
    one whose receiver's type is decided later, which may not apply."""
    if len(sinks) < 2:  # none, or one: nothing stands aside
        return sinks
    strong = [s for s in sinks if not s.names_only and not s.receiver]
    if not strong or len(strong) == len(sinks):
        return sinks
    read = {a for s in strong for a in s.args} | {k for s in strong for k in s.keywords}
    every = any(s.all_args for s in strong)
    return [s for s in sinks if not s.names_only or not (every or read & {*s.args, *s.keywords})]


def passes_parameter(value: Value | None) -> Hole | None:
    """The parameter of the calling function that a call argument is, passed on as it is."""
    if value is not None and len(value) == 1 and isinstance(value[0], Hole) and value[0].param:
        return value[0]
    return None


def module_name(path: str) -> str:
    stem = path[:-3] if path.endswith(".py") else path
    parts = [p for p in stem.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def extract_module(
    path: str,
    source: str,
    packs: RulePacks,
    legacy_pattern: re.Pattern[str],
    components: frozenset[str] | None = None,
    modules: frozenset[str] | None = None,
) -> ModuleFacts:
    """Walk one module; raises SyntaxError (or RecursionError, MemoryError) when it does not parse.

    ``components``: every name a scanned module's dotted name is made of; a call whose dotted target
    starts with another name cannot reach scanned code, and its arguments are not recorded. ``modules``:
    every dotted name a scanned module may be imported by (an imported name that is one is no object)."""
    tree = parse_python(source, path)
    facts = ModuleFacts(path, module_name(path))
    extractor = _Extractor(facts, source, packs, legacy_pattern, components, modules)
    extractor.visit(tree)
    extractor.handlers = extractor.evaluators = {}  # its own bound methods: a cycle that kept the tree
    if names_in(legacy_pattern, source):  # the post-pass classifies its occurrences without parsing it again
        facts.statement_spans = _pack_rows(statement_spans(tree, source, extractor.lines))
        call_sinks = extractor.call_sinks
        facts.legacy_callees = tuple(
            sorted(
                {
                    call.callee
                    for call in facts.calls
                    if any(
                        isinstance(p, Lit) and legacy_pattern.search(p.text)
                        for _, _, v in call.args
                        for p in v
                    )
                    and not any(  # a sink of the rule packs: its arguments are read at the call
                        call_matches(sink.call or "", call.callee)
                        for sink in call_sinks.get(call.callee.rpartition(".")[2], ())
                    )
                }
            )
        )
    return facts


def unpack_spans(packed: bytes) -> list[tuple[int, int]] | None:
    """The statement spans `extract_module` packed; None when they are not whole pairs."""
    return _unpack_rows(packed, 2)  # type: ignore[return-value]


def _pack_rows(rows: Iterable[Sequence[int]]) -> bytes:
    """Rows of ints as the bytes of one array: pickled and loaded as one object, not a tuple per row."""
    return array("q", [n for row in rows for n in row]).tobytes()


def _unpack_rows(packed: bytes, width: int) -> list[tuple[int, ...]] | None:
    """The rows `_pack_rows` packed, ``width`` ints each; None when the bytes are not whole rows."""
    flat = array("q")
    try:
        flat.frombytes(packed)
    except (TypeError, ValueError):
        return None
    if len(flat) % width:
        return None
    return [tuple(flat[i : i + width]) for i in range(0, len(flat), width)]


# --- source order --------------------------------------------------------------------------------


def _call_args(call: ast.Call) -> list[_Arg]:
    """Positional, starred and keyword arguments in the order they are written (kept on the node:
    the walk, the sinks and the value of a call all ask for them)."""
    found: list[_Arg] | None = getattr(call, "_auditor_args", None)
    if found is None:
        found = _ordered_args(call)
        call._auditor_args = found  # type: ignore[attr-defined]
    return found


def _ordered_args(call: ast.Call) -> list[_Arg]:
    args = [_Arg(None, "*", a.value) if isinstance(a, ast.Starred) else _Arg(None, "", a) for a in call.args]
    keywords = [_Arg(k.arg, "" if k.arg is not None else "**", k.value, k) for k in call.keywords]
    if not keywords or not args or _start(keywords[0].node) > _start(args[-1].node):
        return args + keywords
    return sorted(args + keywords, key=lambda a: _start(a.node))


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset  # type: ignore[attr-defined]


class _Arg:
    """One argument of a call as written (built for every call the walk meets: a plain class, about four
    times cheaper to build than a frozen dataclass; never changed after)."""

    __slots__ = ("keyword", "keyword_node", "star", "value")

    def __init__(
        self, keyword: str | None, star: str, value: ast.expr, keyword_node: ast.keyword | None = None
    ) -> None:
        self.keyword = keyword
        self.star = star  # "", "*" or "**"
        self.value = value
        self.keyword_node = keyword_node

    @property
    def node(self) -> ast.AST:
        return self.keyword_node if self.keyword_node is not None else self.value


def _arguments(args: ast.arguments) -> Iterator[ast.AST]:
    """Parameters with their annotations and defaults, in source order."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for param, default in zip(positional, defaults, strict=True):
        yield param
        if default is not None:
            yield default
    if args.vararg is not None:
        yield args.vararg
    for param, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        yield param
        if kw_default is not None:
            yield kw_default
    if args.kwarg is not None:
        yield args.kwarg


def _children(node: ast.AST) -> Iterator[ast.AST]:
    """The children of a node in source order (ast's field order differs for a few node types)."""
    if isinstance(node, ast.Call):
        yield node.func
        for arg in _call_args(node):
            yield arg.value
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None:
                yield key
            yield value
    elif isinstance(node, ast.IfExp):
        yield from (node.body, node.test, node.orelse)
    elif isinstance(node, ast.arguments):
        yield from _arguments(node)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield from _header(node)
        yield from node.body
    else:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SYNTAX_ONLY):
                yield child


# argument expressions whose string value a helper summary may need (a call's result never is)
_ARGUMENT_TYPES = (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Attribute, ast.Subscript)
_BUILTINS = frozenset(dir(builtins))
# operators and contexts: no position, nothing to analyse
_SYNTAX_ONLY = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
# the walk: nodes with nothing inside to analyse, nodes whose fields are not in source order
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal})
_REORDERED = frozenset({ast.Call, ast.Dict, ast.IfExp, ast.arguments})
_FIELDS: dict[type, tuple[str, ...]] = {}


# calls that define a column, whose first positional string (or `name=`) is the column's name in the table
_COLUMN_CALLS = frozenset({"Column", "mapped_column", "column_property", "deferred"})


def _column_name(value: ast.expr) -> str | None:
    """The name a column definition gives its column (`Column("Total", ...)`, `mapped_column("total")`,
    `models.IntegerField(db_column="total")`), lowered; None when it gives none (the attribute's name is
    the column's)."""
    if value.__class__ is not ast.Call:
        return None
    for keyword in value.keywords:  # type: ignore[attr-defined]
        if keyword.arg in ("db_column", "name") and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value).lower()
    func = value.func  # type: ignore[attr-defined]
    called = func.attr if func.__class__ is ast.Attribute else getattr(func, "id", "")
    first = value.args[0] if value.args else None  # type: ignore[attr-defined]
    if called in _COLUMN_CALLS and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value.lower()
    return None


def _class_columns(node: ast.ClassDef) -> tuple[str, tuple[str, ...]]:
    """What a class body binds, lowered: every attribute, method and nested class, and the names its column
    definitions give (a model's columns are among them); and the table the class names itself with a
    literal (`__tablename__ = "orders"`, Django's `class Meta: db_table = "orders"`), or ""."""
    names: set[str] = set()
    table = ""
    for statement in node.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name.lower())
            if isinstance(statement, ast.ClassDef) and statement.name == "Meta":
                for inner in statement.body:
                    if (
                        isinstance(inner, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "db_table" for t in inner.targets)
                        and isinstance(inner.value, ast.Constant)
                        and isinstance(inner.value.value, str)
                    ):
                        table = inner.value.value.lower()
            continue
        for target in targets:
            for name in ast.walk(target) if isinstance(target, ast.Tuple | ast.List) else (target,):
                if isinstance(name, ast.Name):
                    names.add(name.id.lower())
                    if name.id == "__tablename__" and isinstance(value, ast.Constant):
                        table = value.value.lower() if isinstance(value.value, str) else table
        if value is not None:
            column = _column_name(value)
            if column is not None:
                names.add(column)
    names.discard("__tablename__")
    return table, tuple(sorted(names))


def _table_call_columns(node: ast.Call) -> tuple[str, tuple[str, ...]] | None:
    """`Table("orders", metadata, Column("id", ...), ...)`: the table's name and its columns, lowered; None
    when the name is not a literal or no column is written out."""
    first = node.args[0] if node.args else None
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    columns = tuple(sorted({c for c in map(_column_name, node.args[1:]) if c is not None}))
    return (first.value.lower(), columns) if columns else None


def _header(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Iterator[ast.AST]:
    """What a definition evaluates before its body: decorators, type parameters, bases or parameters."""
    yield from node.decorator_list
    yield from getattr(node, "type_params", ())
    if isinstance(node, ast.ClassDef):
        yield from node.bases
        yield from node.keywords
    else:
        yield from _arguments(node.args)
        if node.returns is not None:
            yield node.returns


def _unstar(node: ast.expr) -> ast.expr:
    """The expression of a `*x` element (an element's value, as the analysis reads it)."""
    return node.value if isinstance(node, ast.Starred) else node


_LABEL_WIDTH = 80  # an unresolved value's source text in messages, at most
_UNBOUND = object()  # a name with no value before a branch
_NAME_CONSTANTS = (True, False, None)


@dataclass(frozen=True, slots=True)
class _CaseStart:
    """A `case`'s pattern and guard, visited first in that case's branch of a `match`."""

    case: ast.match_case


@dataclass
class _Scope:
    kind: str  # "module", "class", "function"
    name: str
    values: dict[str, Value] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)
    pending: list[Site] = field(default_factory=list)  # ORM mappings, emitted with the class's schema
    types: dict[str, str] = field(default_factory=dict)  # local or parameter -> dotted class it holds
    lists: dict[str, list[Value]] = field(default_factory=dict)  # SQL fragments collected in a list
    qualname: str = ""  # dotted, from the module: "app.db.Repo.insert"
    block: str = ""  # "app.db:Repo.insert", once asked
    param_values: dict[str, Value] = field(default_factory=dict)  # parameters as call arguments
    schema: Value | None = None  # from SQLAlchemy __table_args__ = {"schema": ...}
    table: dict[str, Any] | None = None  # a class: TableClass fields its body sets
    declares: bool = False  # a function: a declared_attr that computes the class's table name
    table_args: bool = False  # a function: a declared_attr `__table_args__`, whose return says the schema
    local_defs: dict[str, str] = field(default_factory=dict)  # a function: nested `def` name -> qualname
    # a function: locals that hold the database's list of table names (`names = inspector.get_table_names()`,
    # True) or one name of it (`for t in names`, False), with the lookup rule that says so
    catalog: dict[str, tuple[Lookup, bool]] = field(default_factory=dict)
    # a class or the module: its context managers (`@contextmanager def connect(self): ... yield conn`) and
    # the class of what each yields, for `with self.connect() as conn:`
    managers: dict[str, str] = field(default_factory=dict)
    vararg: str = ""  # a function: the name of its `*args` parameter
    # a function: the values of its `return` statements (None: empty, `return` / `return None` / "")
    returns: list[Value | None] = field(default_factory=list)


class _Extractor:
    def __init__(
        self,
        facts: ModuleFacts,
        source: str,
        packs: RulePacks,
        legacy_pattern: re.Pattern[str],
        components: frozenset[str] | None = None,
        modules: frozenset[str] | None = None,
    ) -> None:
        self.facts = facts
        self.components = components
        self.modules = modules
        self.source = source
        self.legacy = legacy_pattern
        self.method_sinks = packs.method_sinks()
        self.call_sinks = packs.call_sinks()
        self.lookups = tuple(lookup for lookup in packs.lookups if not lookup.returned_by)
        self.name_lists = {m: lookup for lookup in packs.lookups for m in lookup.returned_by}
        self.catalog_marked = False  # a local of this module holds the database's list of table names
        self.lookup_methods: dict[str, list[Lookup]] = {}
        for lookup in self.lookups:
            for method in lookup.methods:
                self.lookup_methods.setdefault(method, []).append(lookup)
        self.mappings: dict[str, list[MappingRule]] = {}
        for rule in packs.mappings:
            self.mappings.setdefault(rule.attribute, []).append(rule)
        self.model_bases = tuple(b for d in packs.model_defaults for b in d.bases)
        self.inherited = frozenset(r.attribute for r in packs.mappings if r.inherited)
        self.abstract_flags = frozenset(r.abstract for r in packs.mappings if r.abstract)
        self.declarative_bases = tuple(b for r in packs.mappings for b in r.base_classes)
        self.scopes: list[_Scope] = [_Scope("module", "")]
        self.lines = LineIndex(source)
        self.ascii = source.isascii()
        self.ordinal = 0
        self.model_stack: list[dict[str, object] | None] = []
        self.direct_models: set[str] = set()  # the names of this file's models built on the ORM's class
        self.tokens: dict[int, list[StringToken]] = {}  # id(string node) -> its tokens
        self.table_calls: dict[int, list[int]] = {}  # id(Table() call) -> indices of its sites
        self.non_ascii: dict[int, tuple[bytes, list[int]]] = {}  # line -> (its UTF-8, [byte, char] cursor)
        # the branches of the `if` statements being walked in a function: (its scope, the value each name
        # written in the branch had before it, _UNBOUND when none)
        self.branches: list[tuple[_Scope, dict[str, Value | object]]] = []
        # the variables of the comprehensions being walked outside any function (in one, they are its own)
        self.comprehension_frames: list[dict[str, Value]] = []
        # module-level names bound to a list or tuple written out, for the loops over their rows
        self.module_rows: dict[str, ast.List | ast.Tuple] = {}
        self.handlers: dict[type, Callable[[Any], None]] = {
            ast.Module: self._module,
            ast.ClassDef: self._class,
            ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function,
            ast.Import: self._import,
            ast.ImportFrom: self._import_from,
            ast.Assign: self._assign,
            ast.AnnAssign: self._ann_assign,
            ast.AugAssign: self._aug_assign,
            ast.Return: self._return,
            ast.Expr: self._expr,
            ast.For: self._for,
            ast.With: self._with,
            ast.If: self._if,
            ast.While: self._while,
            ast.Try: self._try,
            ast.TryStar: self._try,
            ast.Match: self._match,
            ast.Lambda: self._lambda,
            _CaseStart: self._case_start,
            ast.AsyncWith: self._with,
            ast.AsyncFor: self._for,
            ast.Call: self._call,
            ast.Subscript: self._subscript_site,
        }
        if self.name_lists:  # lookups in a list of table names the database returns
            self.handlers[ast.Compare] = self._compare
            for kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
                self.handlers[kind] = self._comprehension
        # the value of an expression, by the class of its node (a constant is read directly)
        self.evaluators: dict[type, Callable[[Any], Value | None]] = {
            ast.Name: self._name,
            ast.Attribute: self._attribute,
            ast.Call: self._call_value,
            ast.JoinedStr: self._strings,
            ast.BinOp: self._binary,
            ast.Subscript: self._subscript,
        }

    def visit(self, node: ast.AST) -> None:
        cls = node.__class__
        handler = self.handlers.get(cls)
        if handler is not None:
            handler(node)
        elif cls not in _LEAVES:
            self._visit_children(node)

    def _visit_children(self, node: ast.AST) -> None:
        # `visit`, inlined for each child: this loop runs for every node of every parsed file (two copies
        # of the dispatch, not one loop over a list of children: building that list measured 5-30% slower)
        handlers = self.handlers
        cls = node.__class__
        if cls in _REORDERED:
            # a call (the most common of them): its callee, then its arguments as written
            children = (
                [node.func, *[a.value for a in _call_args(node)]] if cls is ast.Call else _children(node)
            )  # type: ignore[attr-defined]
            for child in children:
                kind = child.__class__
                handler = handlers.get(kind)
                if handler is not None:
                    handler(child)
                elif kind not in _LEAVES and not (
                    kind is ast.Attribute and child.value.__class__ is ast.Name
                ):
                    self._visit_children(child)  # (`a.b`: nothing inside to visit)
            return
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _FIELDS[cls] = tuple(f for f in cls._fields if f not in ("ctx", "op", "ops"))
        for name in fields:
            value = getattr(node, name, None)
            for item in value if value.__class__ is list else (value,):
                kind = item.__class__
                handler = handlers.get(kind)
                if handler is not None:
                    handler(item)
                elif (
                    kind not in _LEAVES
                    and isinstance(item, ast.AST)
                    and not (kind is ast.Attribute and item.value.__class__ is ast.Name)  # type: ignore[attr-defined]
                ):
                    self._visit_children(item)

    # --- positions -------------------------------------------------------------------------------

    def _column(self, line: int, byte_column: int) -> int:
        """ast's UTF-8 byte column as a 0-based character column."""
        if byte_column == 0 or self.ascii:  # an ASCII source: bytes are characters
            return byte_column
        known = self.non_ascii.get(line)
        if known is None:
            starts = self.lines.starts
            end = starts[line] - 1 if line < len(starts) else len(self.source)
            text = self.source[starts[line - 1] : end]
            if text.isascii():
                self.non_ascii[line] = known = (b"", [])
            else:
                self.non_ascii[line] = known = (text.encode("utf-8"), [0, 0])
        encoded, cursor = known
        if not cursor:
            return byte_column
        # a cursor per line: elements of one long line are met left to right, so decoding stays linear
        if byte_column < cursor[0]:
            cursor[0] = cursor[1] = 0
        cursor[1] += len(encoded[cursor[0] : byte_column].decode("utf-8", "replace"))
        cursor[0] = byte_column
        return cursor[1]

    def _offset(self, line: int, byte_column: int) -> int:
        """The absolute character offset in the source of an ast position."""
        return self.lines.starts[line - 1] + self._column(line, byte_column)

    def _offset_position(self, offset: int) -> tuple[int, int]:
        return self.lines.position(offset)

    def _node(self, node: ast.AST) -> int:
        """A stable ordinal for an expression, with the position of its first name or string token
        (its whole extent when it has none)."""
        self.ordinal += 1
        leaf = self._first_leaf(node)
        if leaf is None:
            line, column = node.lineno, self._column(node.lineno, node.col_offset)  # type: ignore[attr-defined]
            end_line = node.end_lineno  # type: ignore[attr-defined]
            end_column = self._column(end_line, node.end_col_offset)  # type: ignore[attr-defined]
            self.facts.node_positions[self.ordinal] = (line, column + 1, end_line, end_column + 1)
        else:
            line, column, width = leaf
            self.facts.node_positions[self.ordinal] = (line, column + 1, line, column + 1 + width)
        return self.ordinal

    def _name_node(self, line: int, column: int, name: str) -> int:
        """An ordinal for a name whose 0-based character position is known."""
        self.ordinal += 1
        self.facts.node_positions[self.ordinal] = (line, column + 1, line, column + 1 + len(name))
        return self.ordinal

    def _attr_node(self, node: ast.Attribute) -> int:
        """An ordinal for the attribute name of `a.b` (ast gives only the whole expression's end)."""
        line = node.end_lineno or node.lineno
        column = self._column(line, node.end_col_offset or 0) - len(node.attr)
        return self._name_node(line, column, node.attr)

    def _first_leaf(self, node: ast.AST) -> tuple[int, int, int] | None:
        """(line, 0-based column, width) of the first name or string token of an expression."""
        inner = node  # the common case first: a chain of calls, attributes and subscripts on a name
        while True:
            kind = inner.__class__
            if kind is ast.Call:
                inner = inner.func  # type: ignore[attr-defined]
            elif kind is ast.Attribute or kind is ast.Subscript:
                inner = inner.value  # type: ignore[attr-defined]
            else:
                break
        if inner.__class__ is ast.Name:
            line = inner.lineno  # type: ignore[attr-defined]
            return line, self._column(line, inner.col_offset), len(inner.id)  # type: ignore[attr-defined]
        stack: list[object] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Name):
                return current.lineno, self._column(current.lineno, current.col_offset), len(current.id)
            if isinstance(current, ast.Constant):
                value = current.value
                if isinstance(value, (str, bytes)):
                    first = self._tokens(current)[0]
                    line, column = self._offset_position(first.start)
                    return line, column - 1, first.end - first.start
                if value is None or value is True or value is False:
                    return current.lineno, self._column(current.lineno, current.col_offset), len(str(value))
                continue
            if isinstance(current, ast.JoinedStr):
                first = self._tokens(current)[0]
                line, column = self._offset_position(first.start)
                return line, column - 1, 1 if first.is_f else first.end - first.start
            if isinstance(current, ast.arg):
                return current.lineno, self._column(current.lineno, current.col_offset), len(current.arg)
            if isinstance(current, ast.keyword) and current.arg is not None:
                return current.lineno, self._column(current.lineno, current.col_offset), len(current.arg)
            if isinstance(current, ast.Attribute):
                stack.append(_AttrName(current))
                stack.append(current.value)
                continue
            if isinstance(current, _AttrName):
                attribute = current.node
                line = attribute.end_lineno or attribute.lineno
                column = self._column(line, attribute.end_col_offset or 0) - len(attribute.attr)
                return line, column, len(attribute.attr)
            if isinstance(current, ast.Call):
                children: list[object] = [current.func]
                children.extend(a.keyword_node or a.value for a in _call_args(current))
            else:
                children = list(_children(current))
            stack.extend(reversed(children))
        return None

    def _tokens(self, node: ast.Constant | ast.JoinedStr) -> list[StringToken]:
        """The string tokens an ast string node was built from (several for an implicit concatenation)."""
        found = self.tokens.get(id(node))
        if found is None:
            start = self._offset(node.lineno, node.col_offset)
            end = self._offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
            found = self.tokens[id(node)] = scan_strings(self.source, start, end)
        return found

    # --- scopes ----------------------------------------------------------------------------------

    @property
    def block(self) -> str:
        scope = self.scopes[-1]
        if not scope.block:  # computed once per scope: every site and call of the scope names it
            names = [s.name for s in self.scopes[1:]]
            scope.block = f"{self.facts.module}:{'.'.join(names) if names else '<module>'}"
        return scope.block

    @property
    def class_path(self) -> str:
        names: list[str] = []
        for scope in self.scopes[1:]:
            if scope.kind == "function":
                return ""
            names.append(scope.name)
        return ".".join(names)

    def _module(self, node: ast.Module) -> None:
        self.scopes[0].managers = self._context_managers(node.body)
        self._visit_children(node)

    def _context_managers(self, body: list[ast.stmt]) -> dict[str, str]:
        """The functions of a body decorated as context managers, and the class of the object each
        yields: a local built by a call (`conn = Connection(...)`; `yield conn`), a call yielded as it is,
        or the first argument of an `Iterator[...]`/`AsyncGenerator[...]` return annotation."""
        found: dict[str, str] = {}
        for statement in body:
            if statement.__class__ not in (ast.FunctionDef, ast.AsyncFunctionDef) or not any(
                (_attr_dotted(d) or "").endswith("contextmanager") for d in statement.decorator_list
            ):
                continue
            held = ""
            returns = statement.returns  # type: ignore[attr-defined]
            if isinstance(returns, ast.Subscript):
                first = returns.slice.elts[0] if isinstance(returns.slice, ast.Tuple) else returns.slice
                held = _attr_dotted(first) or ""
            if not held:
                built: dict[str, str] = {}
                for inner in ast.walk(statement):
                    if isinstance(inner, ast.Assign) and isinstance(inner.value, ast.Call):
                        dotted = _attr_dotted(inner.value.func)
                        for target in inner.targets:
                            if isinstance(target, ast.Name) and dotted is not None:
                                built[target.id] = dotted
                    elif isinstance(inner, ast.Yield) and inner.value is not None:
                        value = inner.value
                        if isinstance(value, ast.Name) and value.id in built:
                            held = built[value.id]
                        elif isinstance(value, ast.Call):
                            held = _attr_dotted(value.func) or ""
            if held and held.rpartition(".")[2][:1].isupper():  # a class (CamelCase), not a factory
                found[statement.name] = self._qualify(held)  # type: ignore[attr-defined]
        return found

    def _class(self, node: ast.ClassDef) -> None:
        for child in _header(node):
            self.visit(child)
        path = ""
        class_scope = _Scope("class", node.name)
        if not any(s.kind == "function" for s in self.scopes):
            path = ".".join([*(s.name for s in self.scopes[1:]), node.name])
            # a generic base (`Repository[Order]`, `Generic[T]`) is its class
            unsubscripted = (b.value if b.__class__ is ast.Subscript else b for b in node.bases)  # type: ignore[attr-defined]
            bases = tuple(self._qualify(b) for b in map(_attr_dotted, unsubscripted) if b is not None)
            self.facts.classes[path] = bases
            decorated = _declarative(node)
            if decorated or any(call_matches(d, b) for b in bases for d in self.declarative_bases):
                class_scope.table = {decorated or "declarative_base": True}
        class_scope.managers = self._context_managers(node.body)
        self.scopes.append(class_scope)
        self.model_stack.append(self._model_info(node))
        for statement in node.body:
            self.visit(statement)
        scope = self.scopes.pop()
        if path:
            self._implicit_constructor(node, path)
        else:  # in a function: it maps the table it names where it is written, as below; a mixin
            # it inherits gives it a table (the resolver looks for such heirs of a mixin nothing else maps)
            local = ".".join([*(s.name for s in self.scopes[1:]), node.name])
            bases = tuple(self._qualify(b) for b in map(_attr_dotted, node.bases) if b is not None)
            names_table = bool(scope.table and scope.table.get("names_table"))
            self.facts.local_classes[local] = (bases, names_table)
        owner = f"{self.facts.module}.{path}" if path else ""
        for site in scope.pending:
            inherited = owner if site.owner else ""
            self.facts.sites.append(
                Site(site.kind, site.value, site.block, site.what, scope.schema, owner=inherited)
            )
        name_node = 0
        if path:
            name_node = self.facts.class_nodes[path] = self._class_name_node(node)
            bound = _class_columns(node)
            if bound[1]:
                self.facts.class_columns[path] = bound
            if scope.table or scope.schema is not None:
                self.facts.table_classes[path] = TableClass(**(scope.table or {}), schema=scope.schema)
        info = self.model_stack.pop()
        if info is not None:
            self.facts.models.append(
                ModelClass(
                    name=scope.name,
                    block=f"{self.facts.module}:{'.'.join([*(s.name for s in self.scopes[1:]), scope.name])}",
                    node=name_node or self._class_name_node(node),
                    app_label=info.get("app_label"),  # type: ignore[arg-type]
                    has_table=bool(info.get("has_table")),
                    direct=bool(info.get("direct", True)),
                    bases=tuple(self._qualify(b) for b in map(_attr_dotted, node.bases) if b is not None),
                    abstract=bool(info.get("abstract")),
                    proxy=bool(info.get("proxy")),
                    db_table=bool(info.get("db_table")),
                    own_meta=bool(info.get("own_meta")),
                    m2m=tuple(info.get("m2m", ())),  # type: ignore[arg-type]
                )
            )
            if self.facts.models[-1].direct:
                self.direct_models.add(scope.name)
        if scope.name and self.facts.path.endswith("apps.py"):
            label = scope.values.get("label")
            name = scope.values.get("name")
            if label and name and all(isinstance(p, Lit) for p in (*label, *name)):
                self.facts.app_labels[literal_text(name)] = literal_text(label)

    def _implicit_constructor(self, node: ast.ClassDef, path: str) -> None:
        """A dataclass, a pydantic model or a NamedTuple without an `__init__` of its own: the constructor
        Python writes takes its fields (by keyword for pydantic), so a field without a default holds what
        the callers pass, as `self.field = field` in an `__init__` would."""
        if any(
            isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == "__init__" for s in node.body
        ):
            return
        kind = self._fields_class(node)
        if not kind:
            return
        fields = [
            s.target
            for s in node.body
            if isinstance(s, ast.AnnAssign)
            and isinstance(s.target, ast.Name)
            and "ClassVar" not in (_attr_dotted(s.annotation) or self._code(s.annotation))
        ]
        names = tuple(f.id for f in fields)
        positional, keyword_only = (("self",), names) if kind == "pydantic" else (("self", *names), ())
        self.facts.functions.setdefault(
            f"{path}.__init__", FunctionInfo(positional, keyword_only, True, node.lineno)
        )
        function = f"{self.facts.module}.{path}.__init__"
        for target in fields:
            name = target.id
            ordinal = self._name_node(target.lineno, self._column(target.lineno, target.col_offset), name)
            hole = Hole(name, f"parameter `{name}` of `{node.name}`", ordinal, function=function, param=name)
            if self.facts.constants.setdefault(f"{path}.{name}", (hole,)) == (hole,):  # a default stays
                # such a class is also built where no call shows its arguments (`Model.model_validate(data)`,
                # `dataclasses.replace(x, ...)`, `cls(...)`): the field's own LR005 is never resolved by the
                # callers seen, only their names are findings
                self.facts.unknown_arguments.add((function, name))

    def _fields_class(self, node: ast.ClassDef) -> str:
        """ "dataclass", "pydantic" or "namedtuple" for a class whose constructor takes its fields."""
        for decorator in node.decorator_list:
            dotted = _attr_dotted(decorator.func if isinstance(decorator, ast.Call) else decorator)
            if dotted is not None and self._qualify(dotted) in _DATACLASS_DECORATORS:
                return "dataclass"
        for base in node.bases:
            dotted = _attr_dotted(base)
            qualified = self._qualify(dotted) if dotted is not None else ""
            if qualified in _PYDANTIC_MODELS:
                return "pydantic"
            if qualified == "typing.NamedTuple":
                return "namedtuple"
        return ""

    def _default_m2m(self, call: ast.Call) -> bool:
        """A ManyToManyField whose join table Django names (no db_table, no through model)."""
        dotted = _attr_dotted(call.func)
        if dotted is None or not dotted.endswith("ManyToManyField"):
            return False
        return not any(k.arg in ("db_table", "through") for k in call.keywords)

    def _class_name_node(self, node: ast.ClassDef) -> int:
        found = _CLASS_NAME.search(self.source, self._offset(node.lineno, node.col_offset))
        line, column = self._offset_position(found.start(1)) if found else (node.lineno, 1)
        return self._name_node(line, column - 1, node.name)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in _header(node):
            self.visit(child)
        local = ".".join([*(s.name for s in self.scopes[1:]), node.name])
        scope = _Scope("function", node.name, qualname=f"{self.facts.module}.{local}")
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        in_class = self.scopes[-1].kind == "class"
        static = any(_attr_dotted(d) == "staticmethod" for d in node.decorator_list)
        if (
            in_class
            and node.name in self.inherited
            and any("declared_attr" in (_attr_dotted(d) or "") for d in node.decorator_list)
        ):
            scope.declares = True  # `@declared_attr def __tablename__(cls)`: each mapped subclass's own name
            self._table_fact(names_table=True, cascades=True)
        scope.table_args = in_class and node.name == "__table_args__"
        scope.vararg = args.vararg.arg if args.vararg is not None else ""
        self.facts.functions[local] = FunctionInfo(
            tuple(p.arg for p in positional),
            tuple(p.arg for p in args.kwonlyargs),
            in_class and not static,
            node.lineno,
        )
        returns = _annotation_dotted(node.returns)
        if returns is not None:  # what a call of it holds (`-> Database`): the type of `f().x`, `db = f()`
            self.facts.attribute_types.setdefault(local, self._qualify(returns))
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(
            args.defaults
        )
        for param, default in [
            *zip(positional, defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
        ]:
            name = param.arg
            scope.params.add(name)
            annotation = _annotation_dotted(param.annotation)
            if annotation is not None:
                scope.types[name] = self._qualify(annotation)
            if default is not None:
                value = self._eval(default)
                if value:
                    scope.values[name] = (
                        Hole(
                            name,
                            f"parameter `{name}` of `{node.name}`",
                            self._name_node(param.lineno, self._column(param.lineno, param.col_offset), name),
                            candidates=(value,),
                            function=scope.qualname,
                            param=name,
                        ),
                    )
        for star in (args.vararg, args.kwarg):
            if star is not None:
                scope.params.add(star.arg)
        enclosing = self.scopes[-1]
        if enclosing.kind == "function":  # a nested def binds its name in the function: a call target
            enclosing.values.pop(node.name, None)
            enclosing.local_defs[node.name] = scope.qualname
        self.scopes.append(scope)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        kept = [v for v in scope.returns if v is not None]  # one value: what a call of it gives
        plain = all(
            (_attr_dotted(d.func if isinstance(d, ast.Call) else d) or "").rpartition(".")[2]
            in _PLAIN_DECORATORS
            for d in node.decorator_list
        )
        if plain and len(kept) == 1 and any(isinstance(p, Lit | Ref) or p.param or p.call for p in kept[0]):  # type: ignore[union-attr]
            self.facts.returns[local] = kept[0]  # type: ignore[assignment]
        fixture = _fixture_name(node)
        if fixture is not None:
            returned = _returned_function(node)
            if returned is not None:  # `return mk_table`, `yield helper`: the tests call that function
                target = scope.local_defs.get(returned) or self._qualify(returned)
                self.facts.fixtures[fixture] = target

    def _model_info(self, node: ast.ClassDef) -> dict[str, object] | None:
        if not self.model_bases:
            return None
        for base in node.bases:
            dotted = _attr_dotted(base)
            if dotted is None:
                continue
            qualified = self._qualify(dotted)
            local_model = dotted in self.direct_models  # a base in this file
            if local_model or any(call_matches(b, qualified) for b in self.model_bases):
                return {}
        if any(_attr_dotted(b) not in (None, "object") for b in node.bases):
            return {"direct": False}  # a model if a base elsewhere is one (an abstract base of another app)
        return None

    # --- imports ---------------------------------------------------------------------------------

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self.facts.imports[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.facts.imports[root] = root

    def _import_from(self, node: ast.ImportFrom) -> None:
        if any(alias.name == "*" for alias in node.names):
            return
        base = node.module or ""
        if node.level:
            package = self.facts.module.split(".")
            if not self.facts.path.endswith("__init__.py"):
                package = package[:-1]
            up = node.level - 1
            package = package[: len(package) - up] if up else package
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            local = alias.asname or alias.name
            self.facts.imports[local] = f"{base}.{alias.name}" if base else alias.name

    # --- statements ------------------------------------------------------------------------------

    def _assign(self, node: ast.Assign) -> None:
        self._visit_children(node)
        for target in node.targets:
            self._bind(target, node.value)
        if self.name_lists and node.value.__class__ is ast.Call:
            self._mark_catalog(node.targets[-1], node.value, True)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        self._visit_children(node)
        target, annotation = node.target, _annotation_dotted(node.annotation)
        if annotation is not None:
            if isinstance(target, ast.Name) and self.scopes[-1].kind == "class" and self.class_path:
                self.facts.attribute_types[f"{self.class_path}.{target.id}"] = self._qualify(annotation)
            elif isinstance(target, ast.Name) and self.scopes[-1].kind == "function":
                self.scopes[-1].types[target.id] = self._qualify(annotation)
        if node.value is not None:
            self._bind(target, node.value)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        self._visit_children(node)
        target = node.target
        fragments = self._list(target) if isinstance(node.value, (ast.List, ast.Tuple)) else None
        if fragments is not None:  # `where += ["..."]`
            fragments.extend(self._fragments(node.value.elts))  # type: ignore[attr-defined]
            return
        if isinstance(node.op, ast.Add) and isinstance(target, ast.Name):
            before = self._eval(target)
            added = self._eval(node.value)
            if before is not None and added is not None:
                self._store(target.id, before + added)
            self._standalone(node.value)

    def _return(self, node: ast.Return) -> None:
        self._visit_children(node)
        scope = self.scopes[-1]
        returned = node.value
        if returned is None:
            scope.returns.append(None)
            return
        if scope.declares:
            self._declared_name(returned)
        if scope.table_args and len(self.scopes) >= 2:
            self._schema_of_table_args(self.scopes[-2], returned)
        if scope.kind != "function":
            self._standalone(returned)
            return
        kind = returned.__class__
        if kind is ast.Constant:  # a literal: its text (positions only where a legacy name may be found)
            text = returned.value  # type: ignore[attr-defined]
            if text.__class__ is not str or not text:
                scope.returns.append(None if text is None or text == "" else (Hole("", "", 0),))
            elif self.legacy.search(text):
                scope.returns.append(self._eval(returned))
            else:
                scope.returns.append((_synthetic(text),))
            self._standalone(returned)
            return
        value = self._eval(returned) if kind in _RETURNED_TEXT else None
        scope.returns.append(value or (Hole("", "", 0),))
        self._standalone(returned, value)

    def _declared_name(self, value_node: ast.expr) -> None:
        """A table name a declared_attr returns: the class's name (lowered), or a value of its own."""
        computed = _class_name_form(value_node)
        if computed:
            self._table_fact(computed=computed)
            return
        value = self._eval(value_node)
        if value:
            function = self.scopes[-1]
            self.scopes[-2].pending.append(Site("mapping", value, self.block, function.name, owner="*"))

    def _table_fact(self, **fields: Any) -> None:
        """Note what the body of the class being walked says about its table (the innermost class)."""
        for scope in reversed(self.scopes):
            if scope.kind == "class":
                if scope.table is None:
                    scope.table = {}
                scope.table.update(fields)
                return

    def _expr(self, node: ast.Expr) -> None:
        # a bare string statement (an attribute docstring, SQL kept as a comment) reaches nothing
        self._visit_children(node)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        """`with open("q.sql") as handle:` binds the handle to the file it reads."""
        for item in node.items:
            self.visit(item.context_expr)
            target = item.optional_vars
            literal = _sql_path(item.context_expr) if isinstance(item.context_expr, ast.Call) else ""
            if isinstance(target, ast.Name) and literal:
                label = self._code(item.context_expr)
                hole = Hole(label, f"the file opened by `{label}`", self._node(target), sql_file=literal)
                self._store(target.id, (hole,))
            elif target is not None:
                self.visit(target)
                held = self._managed_type(item.context_expr)
                if held and isinstance(target, ast.Name) and self.scopes[-1].kind == "function":
                    self.scopes[-1].types[target.id] = held  # `with self.connect() as conn:`
        for statement in node.body:
            self.visit(statement)

    def _managed_type(self, context: ast.expr) -> str:
        """The class of what a context manager of this module yields: `self.connect()` (a method of the
        enclosing class) or `connect()` (a function of the module)."""
        if not isinstance(context, ast.Call):
            return ""
        func = context.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):
            for scope in reversed(self.scopes):
                if scope.kind == "class":
                    return scope.managers.get(func.attr, "")
            return ""
        if isinstance(func, ast.Name):
            return self.scopes[0].managers.get(func.id, "")
        return ""

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.target)
        self.visit(node.iter)
        if self.name_lists:
            self._mark_catalog(node.target, node.iter, False)
        target, iterable = node.target, node.iter
        keys, items = self._dict_keys(iterable)
        if items and isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
            target = target.elts[0]  # `for table, config in CONFIG.items()`: the key
        elif items:
            keys = None
        if keys is not None and isinstance(target, ast.Name):
            # a loop over a dict's keys: each literal key is a value the name may take (the dict may have
            # grown elsewhere: not exhaustive)
            name = target.id
            reason = f"loop variable `{name}` over the keys of `{self._code(iterable)}`"
            self._store(name, (Hole(name, reason, self._node(target), candidates=tuple(keys)),))
        elif isinstance(target, (ast.Tuple, ast.List)):
            # `for table, column in [("a", "id"), ("b", "ref_id")]`: each name takes the values written at
            # its place in the rows; `for table, days in pairs:` each is an unknown element of the iterable
            for name, value in self._unpacked_values(target, iterable).items():
                self._store(name, value)
        elif isinstance(target, ast.Name):
            name = target.id
            if not isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
                reason = f"loop variable `{name}` over `{self._code(iterable)}`"
                # a name that holds a list of strings (`for t in TABLES:`): each element is a value it may
                # take, and the list may have grown elsewhere (not exhaustive)
                held = self._list(iterable)
                candidates = tuple(v for v in held if v) if held else ()
                function, param = self._element_of_parameter(iterable)
                self._store(
                    name,
                    (
                        Hole(
                            name,
                            reason,
                            self._node(target),
                            candidates=candidates,
                            function=function,
                            param=param,
                        ),
                    ),
                )
            else:
                candidates = tuple(v for v in (self._eval(_unstar(e)) for e in iterable.elts) if v)
                if candidates:
                    self._store(
                        name,
                        (
                            Hole(
                                name,
                                f"loop variable `{name}`",
                                self._node(target),
                                candidates=candidates,
                                exhaustive=True,
                            ),
                        ),
                    )
        self._branched(node.target, [node.body, []], "a loop")  # the body may run no time at all
        for statement in node.orelse:
            self.visit(statement)

    def _module_name(self, name: str) -> bool:
        """No function around binds ``name``: it is the module's."""
        return not any(
            name in s.values or name in s.params or name in s.lists
            for s in self.scopes[1:]
            if s.kind == "function"
        )

    def _elements_of_parameter(self, node: ast.expr) -> Value | None:
        """The elements of a sequence a parameter holds (`tables`, `sorted(tables)`, `self.tables` set from
        a constructor's parameter): the parameter `tables[]`, which each caller's list fills; None when the
        sequence is not a parameter's."""
        while (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _COPIES
            and len(node.args) == 1
            and not node.keywords
        ):
            node = node.args[0]
        if not isinstance(node, ast.Name | ast.Attribute):
            return None
        value = self._eval(node)
        if value and len(value) == 1 and isinstance(value[0], Ref) and value[0].formatting is None:
            return _deferred(value[0], ELEMENTS, [], {})  # `self.tables`: known once the resolver reads it
        return elements_of(value)

    def _element_of_parameter(self, iterable: ast.expr) -> tuple[str, str]:
        """`for table in tables:` over a parameter of the enclosing function: each element is what the
        callers put in the list they pass (the parameter `tables[]`), as a dict entry is `params[key]`."""
        if iterable.__class__ is not ast.Name:
            return "", ""
        name = iterable.id  # type: ignore[attr-defined]
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                if name in scope.params and name not in scope.values and name not in scope.lists:
                    return scope.qualname, f"{name}[]"
                return "", ""
        return "", ""

    def _if(self, node: ast.If) -> None:
        """In a function, a name one branch sets and the other does not (or sets otherwise) holds either
        value after the `if`: both are its candidates (`table = "a"` / `else: table = "b"`)."""
        self.visit(node.test)
        self._branched(node.test, [node.body, node.orelse], "an `if`", unbound_reaches=True)

    def _while(self, node: ast.While) -> None:
        self.visit(node.test)
        self._branched(node.test, [node.body, []], "a loop")  # the body may run no time at all
        for statement in node.orelse:
            self.visit(statement)

    def _try(self, node: ast.Try | ast.TryStar) -> None:
        """After `try`, a name holds what the body left or what a handler did (the body may have stopped
        anywhere before it)."""
        handlers = [[*([h.type] if h.type is not None else []), *h.body] for h in node.handlers]
        self._branched(node, [[*node.body, *node.orelse], *handlers], "a `try`")
        for statement in node.finalbody:
            self.visit(statement)

    def _match(self, node: ast.Match) -> None:
        """After `match`, a name holds what the case that ran left; no case at all unless one always
        matches. A name a pattern captures is an unknown part of the subject."""
        self.visit(node.subject)
        branches = [[_CaseStart(case), *case.body] for case in node.cases]
        wildcard = any(
            isinstance(c.pattern, ast.MatchAs) and c.pattern.pattern is None and c.guard is None
            for c in node.cases
        )
        self._branched(node.subject, branches if wildcard else [*branches, []], "a `match`")

    def _case_start(self, node: _CaseStart) -> None:
        case = node.case
        subject = self._code(node.case.pattern)
        for pattern in ast.walk(case.pattern):
            name = getattr(pattern, "name", None) or getattr(pattern, "rest", None)
            if isinstance(name, str):
                self._store(
                    name, (Hole(name, f"`{name}`, captured by `case {subject}`", self._node(pattern)),)
                )
        if case.guard is not None:
            self.visit(case.guard)

    def _branched(
        self, at: ast.AST, branches: list[list[Any]], what: str, unbound_reaches: bool = False
    ) -> None:
        """Visit statements that may run instead of each other (an `if`'s branches, a loop's body or none,
        a `try`'s body or a handler), each from the same state; after them, a name one of them set holds
        the value each left (candidates). ``unbound_reaches``: a branch that leaves the name unset still
        counts (an unknown); else such a branch never reaches a use of it (Python raises)."""
        scope = self.scopes[-1]
        if scope.kind != "function":  # module and class names: the last binding, as before
            for branch in branches:
                for statement in branch:
                    self.visit(statement)
            return
        outcomes = []
        for branch in branches:
            before: dict[str, Value | object] = {}
            self.branches.append((scope, before))
            for statement in branch:
                self.visit(statement)
            self.branches.pop()
            outcomes.append((before, {name: scope.values.get(name, _UNBOUND) for name in before}))
            for name, value in before.items():  # the next branch starts from what held before them all
                if value is _UNBOUND:
                    scope.values.pop(name, None)
                else:
                    scope.values[name] = value  # type: ignore[assignment]
        for name in sorted(set().union(*(before.keys() for before, _ in outcomes))):
            prior = next((b[name] for b, _ in outcomes if name in b), _UNBOUND)
            if prior is _UNBOUND and name in scope.params:  # a parameter one branch sets: else the caller's
                reason = f"parameter `{name}` of `{scope.name}`"
                prior = (Hole(name, reason, self._node(at), function=scope.qualname, param=name),)
            ends = [after.get(name, prior) for _, after in outcomes]
            if not unbound_reaches:
                ends = [v for v in ends if v is not _UNBOUND] or [_UNBOUND]
            if all(v is ends[0] or _same_parameter(ends[0], v) for v in ends[1:]):  # `seq = sorted(seq)`
                merged = ends[0]
            else:
                known = tuple(v for v in ends if v is not _UNBOUND and v)
                exhaustive = len(known) == len(ends)
                merged = (Hole(name, f"`{name}`, set in the branches of {what}", self._node(at),
                               candidates=known, exhaustive=exhaustive),)  # fmt: skip
            if merged is _UNBOUND:
                scope.values.pop(name, None)
            else:
                self._store(name, merged)  # type: ignore[arg-type]

    def _bind(self, target: ast.expr, value_node: ast.expr) -> None:
        if isinstance(target, ast.Attribute):
            self._bind_attribute(target, value_node)
        if isinstance(target, ast.Name):
            name = target.id
            scope = self.scopes[-1]
            if scope.kind == "module":
                if isinstance(value_node, ast.List | ast.Tuple):
                    self.module_rows[name] = value_node
                else:
                    self.module_rows.pop(name, None)
            held = self._type_of(value_node)
            if held and scope.kind == "function":
                scope.types[name] = held
            elif held and (scope.kind == "module" or self.class_path):
                path = f"{self.class_path}.{name}" if scope.kind == "class" else name
                self.facts.attribute_types[path] = held
            if scope.kind == "class":
                self._class_attribute(name, value_node)
            if value_node.__class__ is ast.Call:
                self._bind_built(name, value_node)  # type: ignore[arg-type]
            if isinstance(value_node, ast.Dict) and (scope.kind != "function" or _holds_strings(value_node)):
                self._bind_dict(name, value_node)  # in a function: a params dict of literal strings
                return
            if isinstance(value_node, ast.Dict):
                # any other dict in a function: its literal keys only, for a loop over them (`for table,
                # keys in tables.items()`)
                keys = (self._eval(k) for k in value_node.keys if k.__class__ is ast.Constant)
                scope.lists[name + _KEYS] = [key for key in keys if key]
            if isinstance(value_node, (ast.List, ast.Tuple, ast.Set)):
                if not value_node.elts or any(isinstance(_unstar(e), _STRING_NODES) for e in value_node.elts):
                    scope.lists[name] = self._fragments(value_node.elts)  # strings: maybe SQL fragments
                else:
                    scope.lists.pop(name, None)
                    self._standalone_rows(value_node.elts)
                return
            scope.lists.pop(name, None)
            value = self._eval(value_node)
            if value is None:
                value = (Hole(name, f"value of `{name}`", self._node(value_node)),)
            self._store(name, value)
            self._standalone(value_node, value)
        elif (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value_node, (ast.Tuple, ast.List))
            and len(target.elts) == len(value_node.elts)
        ):
            for t, v in zip(target.elts, value_node.elts, strict=True):
                self._bind(_unstar(t), _unstar(v))
        elif isinstance(target, (ast.Tuple, ast.List)) and self.scopes[-1].kind == "function":
            # `table, schema = target()`: each name an unknown part of the value, not a module's name
            code = self._code(value_node)
            for element in _unpacked_names(target):
                self.scopes[-1].lists.pop(element.id, None)
                reason = f"`{element.id}`, unpacked from `{code}`"
                self._store(element.id, (Hole(element.id, reason, self._node(element)),))

    def _bind_built(self, name: str, call: ast.Call) -> None:
        """`t = Table(...)`: the variable holds the table (for the class mapped onto it); `md = MetaData(
        schema=...)`, `Base = declarative_base(metadata=md)`: the schema their tables live in."""
        sites = self.table_calls.pop(id(call), None)
        if sites:
            self._store(f"{name}.name", self.facts.sites[sites[0]].value)  # `t.name` is the table's name
        if sites and self.scopes[-1].kind != "function":
            path = f"{self.class_path}.{name}" if self.scopes[-1].kind == "class" else name
            for index in sites:
                self.facts.sites[index] = dataclasses.replace(
                    self.facts.sites[index], holder=f"{self.facts.module}.{path}"
                )
        built = self._built_schema(call)
        if built is not None:
            self._store(name + built[0], built[1])

    def _built_schema(self, call: ast.Call) -> tuple[str, Value] | None:
        """(".schema", value) for a MetaData, (".metadata.schema", value) for what builds a declarative
        base (`declarative_base(metadata=)`, `registry(metadata=)`, `reg.generate_base()`)."""
        func = call.func
        last = func.attr if func.__class__ is ast.Attribute else getattr(func, "id", "")  # type: ignore[attr-defined]
        if last not in _SCHEMA_BUILDERS:
            return None
        dotted = _attr_dotted(func)
        if dotted is None:
            return None
        if dotted.endswith(".generate_base"):
            registry = self._metadata_schema(call.func.value, ".metadata.schema")  # type: ignore[attr-defined]
            return (".metadata.schema", registry) if registry is not None else None
        if not self._qualify(dotted).startswith("sqlalchemy."):
            return None
        own = dotted.endswith("MetaData")
        for keyword in call.keywords:
            if keyword.arg == ("schema" if own else "metadata"):
                value = self._eval(keyword.value) if own else self._metadata_schema(keyword.value)
                return (".schema" if own else ".metadata.schema", value) if value else None
        return None

    def _metadata_schema(self, node: ast.expr, suffix: str = ".schema") -> Value | None:
        """The schema of a MetaData expression: `MetaData(schema=...)`, or `.schema` of a named one."""
        if isinstance(node, ast.Call):
            built = self._built_schema(node)
            return built[1] if built is not None and built[0] == suffix else None
        dotted = _attr_dotted(node)
        if dotted is None:
            return None
        root = dotted.split(".", 1)[0]
        for scope in reversed(self.scopes):
            if scope.kind == "function" and (root in scope.values or root in scope.params):
                return scope.values.get(dotted + suffix)
        inner = self.scopes[-1]
        if inner.kind == "class" and dotted + suffix in inner.values:  # a MetaData built in the class body
            return inner.values[dotted + suffix]
        return (Ref(self._qualify(dotted) + suffix, dotted, self._node(node)),)

    def _standalone_rows(self, elements: list[ast.expr], depth: int = 0) -> None:
        """The strings of a list of rows (`[["Size", "select ..."], ...]`), each on its own: it may be SQL."""
        for element in elements:
            element = _unstar(element)
            if element.__class__ in (ast.List, ast.Tuple, ast.Set) and depth < 3:
                self._standalone_rows(element.elts, depth + 1)  # type: ignore[attr-defined]
            else:
                self._standalone(element)

    def _fragments(self, elements: list[ast.expr]) -> list[Value]:
        """The values of a list's elements, each also a standalone string (it may be SQL on its own)."""
        out = []
        for element in elements:
            value = self._eval_or_hole(_unstar(element))
            self._standalone(_unstar(element), value)
            out.append(value)
        return out

    def _dict_keys(self, node: ast.expr) -> tuple[list[Value] | None, bool]:
        """The literal keys of the dict a loop iterates (`CONFIG`, `CONFIG.keys()`, `CONFIG.items()`, the
        last one marked), in the nearest scope that binds its name; None when it is no such dict."""
        items = False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args:
            if node.func.attr not in ("keys", "items"):
                return None, False
            items, node = node.func.attr == "items", node.func.value
        if not isinstance(node, ast.Name):
            return None, False
        keys = self._held(node.id, node.id + _KEYS)
        return keys, items if keys is not None else False

    def _list(self, node: ast.expr) -> list[Value] | None:
        """The fragments collected so far in the list a name holds, in the nearest scope that binds it."""
        return self._held(node.id, node.id) if isinstance(node, ast.Name) else None

    def _held(self, name: str, key: str) -> list[Value] | None:
        """The values a scope keeps under ``key`` (a list's fragments, a dict's keys), in the nearest scope
        that binds ``name``; None when that scope binds it to something else."""
        holder = self._holder(name, key)
        return holder.lists[key] if holder is not None else None

    def _holder(self, name: str, key: str) -> _Scope | None:
        """The nearest scope that binds ``name``, when it keeps values under ``key``; None otherwise."""
        for scope in reversed(self.scopes):
            if key in scope.lists:
                return scope
            if name in scope.values or name in scope.params or name in scope.lists:
                return None
        return None

    def _collect(self, node: ast.Call, args: list[_Arg]) -> None:
        """`where.append(...)`, `.extend([...])`, `.insert(i, ...)` on a list of fragments (the caller has
        checked the method's name: one of `_LIST_METHODS`)."""
        func: ast.Attribute = node.func  # type: ignore[assignment]
        fragments = self._list(func.value)
        if fragments is None or not args:
            return
        added = args[-1].value
        if func.attr != "extend":
            fragments.append(self._eval_or_hole(added))
        elif isinstance(added, (ast.List, ast.Tuple)):
            fragments.extend(self._eval_or_hole(_unstar(e)) for e in added.elts)
        elif self._list(added) is not None:
            fragments.extend(self._list(added) or ())

    def _forwarding(self, args: list[_Arg], runner: str) -> None:
        """`run(desc, self.select_txn, table, keyvalues)`: a function handed to a runner that calls it with
        the arguments after it (Twisted's `runInteraction`, `run_in_executor`, `executor.submit`), the runner
        perhaps putting its own first (a cursor). It is recorded as a call of that function: the enclosing
        function's parameters passed on there by their names (`select_txn(table=table, ...)`, the way such
        wrappers name them), everything else unknown (its place is the runner's to decide). The wrapper is
        then a helper wherever the callback is one, and the callback's LR005 stands for what is unknown."""
        scope = self.scopes[-1]
        if scope.kind != "function":
            return
        for at, arg in enumerate(args[:-1]):
            if arg.keyword is not None or arg.star or not self._may_be_function(arg.value):
                continue
            dotted = _attr_dotted(arg.value)
            callback = self._callee(dotted) if dotted is not None else ""
            if not callback or callback.startswith(FIXTURE_CALLEE):
                continue
            passed: list[tuple[int, str | None, Value]] = [
                (-1, a.value.id, _for_summary(self._argument(a.value)))  # type: ignore[attr-defined]
                for a in args[at + 1 :]
                if a.keyword is None
                and not a.star
                and a.value.__class__ is ast.Name
                and a.value.id in scope.params  # type: ignore[attr-defined]
            ]
            passed.append((-1, "*", ()))
            what = f"{dotted}() through {runner}()"
            self.facts.calls.append(CallSite(callback, tuple(passed), self.block, what))
            return  # the first function argument is the callback

    def _may_be_function(self, node: ast.expr) -> bool:
        """A method of this object or class (`self.select_txn`), a name imported or a module's function: not
        a local value (its type is not known here)."""
        root = node
        while root.__class__ is ast.Attribute:
            root = root.value  # type: ignore[attr-defined]
        if root.__class__ is not ast.Name:
            return False
        name = root.id  # type: ignore[attr-defined]
        if name in ("self", "cls") and root is not node:
            return True
        return name in self.facts.imports or self._module_name(name)

    def _type_of(self, node: ast.expr) -> str:
        """The dotted class an expression holds, when plain to see: `Database(...)`, a typed local; or the
        path the resolver reads it through: what a function returns (`get_db()`, `self.make_db()`, its
        return annotation), an attribute (`self.db`, `self.hs.get_datastores().main`), by their types."""
        if isinstance(node, ast.Call):
            dotted = _attr_dotted(node.func)
            if dotted is None:
                chain = _chain_dotted(node.func)
                return self._callee(chain) if chain is not None else ""
            root = dotted.partition(".")[0]
            return (
                self._callee(dotted)
                if root in ("self", "cls") or self._typed(root)
                else self._qualify(dotted)
            )
        if isinstance(node, ast.Name):
            return self._typed(node.id)
        if isinstance(node, ast.Attribute):
            chain = _chain_dotted(node)
            root = chain.partition(".")[0] if chain is not None else ""
            if chain is not None and (root in ("self", "cls") or self._typed(root)):
                return self._callee(chain)
        return ""

    def _typed(self, name: str) -> str:
        """The type of a function's local or parameter, as far as the function says."""
        for scope in reversed(self.scopes):
            if scope.kind == "function" and name in scope.types:
                return scope.types[name]
        return ""

    def _bind_attribute(self, target: ast.Attribute, value_node: ast.expr) -> None:
        """`self.db = Database(...)` in a method: the type of the attribute, for `self.db.insert(...)`."""
        if not (isinstance(target.value, ast.Name) and target.value.id == "self"):
            return
        owner = self._enclosing_class()
        held = self._type_of(value_node)
        if owner and held:
            self.facts.attribute_types.setdefault(f"{owner}.{target.attr}", held)
        scope = self.scopes[-1]
        if (
            owner
            and scope.kind == "function"
            and scope.name == "__init__"
            and value_node.__class__ is ast.Name
            and value_node.id in scope.params  # type: ignore[attr-defined]
            and value_node.id not in scope.values  # type: ignore[attr-defined]
        ):
            # `self.table = table` in the constructor: the methods that read `self.table` read what the
            # callers of the class pass (unless the class sets a value of its own)
            self.facts.constants.setdefault(f"{owner}.{target.attr}", self._eval(value_node))  # type: ignore[arg-type]

    def _bind_dict(self, name: str, node: ast.Dict) -> None:
        keys: list[Value] = []  # the literal keys, for a loop over the dict (`for table in CONFIG:`)
        self.scopes[-1].lists[name + _KEYS] = keys
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                continue
            key = self._eval(key_node)
            if key and all(isinstance(p, Lit) for p in key):
                keys.append(key)
            value = self._eval(value_node)
            if key and value and all(isinstance(p, Lit) for p in key):
                self._store(f"{name}[{literal_text(key)}]", value)
            self._standalone(value_node, value)

    def _store(self, name: str, value: Value) -> None:
        scope = self.scopes[-1]
        for owner, before in self.branches:  # first write in a branch: what the name held before it
            if owner is scope and name not in before:
                before[name] = scope.values.get(name, _UNBOUND)
        scope.values[name] = value
        scope.local_defs.pop(name, None)  # rebound: no longer the nested function
        if scope.kind == "module":
            self.facts.constants[name] = value
        elif scope.kind == "class" and self.class_path:
            self.facts.constants[f"{self.class_path}.{name}"] = value

    def _class_attribute(self, name: str, value_node: ast.expr) -> None:
        inner = self.scopes[-1].name
        model = self.model_stack[-2] if inner == "Meta" and len(self.model_stack) >= 2 else None
        if model is not None:
            model["own_meta"] = True
            if (name in ("abstract", "proxy") and _is_true(value_node)) or name == "db_table":
                model["has_table"] = model[name] = True
            elif name == "app_label":
                label = self._eval(value_node)
                if label and all(isinstance(p, Lit) for p in label):
                    model["app_label"] = literal_text(label)
        own = self.model_stack[-1] if self.model_stack and inner != "Meta" else None
        if own is not None and isinstance(value_node, ast.Call) and self._default_m2m(value_node):
            line = value_node.lineno
            node = self._name_node(line, self._column(line, value_node.col_offset), name)
            own.setdefault("m2m", []).append((name, node))  # type: ignore[union-attr]
        for rule in self.mappings.get(name, ()):
            if rule.inner_class is not None and (inner != rule.inner_class or len(self.scopes) < 3):
                continue
            if rule.strings_only and not (
                value_node.__class__ is ast.JoinedStr
                or (value_node.__class__ is ast.Constant and isinstance(value_node.value, str))  # type: ignore[attr-defined]
            ):
                continue
            value = self._eval(value_node)
            if value:
                self.scopes[-1].pending.append(
                    Site("mapping", value, self.block, name, owner=rule.inherited * "*")
                )
            if rule.inherited:
                self._table_fact(names_table=True)
        if name == "__table__":
            self._table_fact(names_table=True)
        elif name in self.abstract_flags and _is_true(value_node):
            self._table_fact(abstract=True)
        if name == "schema" and inner == "Meta" and len(self.scopes) >= 3:
            self.scopes[-1].schema = self._eval(value_node)
        if name == "__table_args__":
            self._schema_of_table_args(self.scopes[-1], value_node)

    def _schema_of_table_args(self, scope: _Scope, value_node: ast.expr) -> None:
        """`__table_args__ = {"schema": "s"}`, or a tuple that ends with that dict, assigned or returned by
        a declared_attr: the class's table lives in that schema. A form not read here (a call, a name)
        leaves the schema unknown, never the default one."""
        if scope.kind != "class":
            return
        schema = _table_args_schema(value_node)
        if schema is not None:
            scope.schema = self._eval(schema)
        elif not isinstance(value_node, ast.Tuple | ast.Dict):
            scope.schema = (Hole(self._code(value_node), UNKNOWN_TABLE_ARGS, self._node(value_node)),)

    # --- calls -----------------------------------------------------------------------------------

    def _call(self, node: ast.Call) -> None:
        inner = len(self.facts.sites)
        self._visit_children(node)
        args = _call_args(node)
        func = node.func
        if func.__class__ is ast.Attribute and func.attr in _LIST_METHODS:  # type: ignore[attr-defined]
            self._collect(node, args)
        elif (
            func.__class__ is ast.Attribute
            and func.attr in self.lookup_methods  # type: ignore[attr-defined]
            and args
            and not args[0].keyword
            and not args[0].star
            and self._may_name_table(args[0].value)
        ):
            for lookup in self.lookup_methods[func.attr]:  # type: ignore[attr-defined]
                self._table_lookup(lookup, func.value, args[0].value, f".{func.attr}()")  # type: ignore[attr-defined]
        if (
            func.__class__ is ast.Attribute
            and func.attr == "get"  # type: ignore[attr-defined]
            and args
            and args[0].value.__class__ is ast.Name
            and not args[0].keyword
            and not args[0].star
        ):
            self._registry_lookup(func.value, args[0].value)  # type: ignore[attr-defined,arg-type]
        if (
            func.__class__ is ast.Attribute
            and func.attr == "startswith"  # type: ignore[attr-defined]
            and self.catalog_marked
            and args
            and not args[0].keyword
            and not args[0].star
        ):
            held = self._catalog_of(func.value)  # type: ignore[attr-defined]
            if held is not None and not held[1]:  # `t.startswith(name)`, `t` a name the database lists
                self._name_site(held[0], args[0].value, "a prefix of the database's table names")
        sinks = self._sinks_for(node)
        consumed: set[int] = set()
        for sink in sinks:
            # a names-only sink may well be a scanned helper of the same name, and a sink on an imported
            # object may be a function of an imported module (its type is decided later): their arguments
            # stay recorded
            taken = consumed if not (sink.names_only or sink.receiver) else set()
            values = (
                self._eval(arg_node) if not sink.all_args else self._identifier(args)
                for arg_node in self._sink_args(node, args, sink, taken)
            )
            for value in [*values, *self._vararg_forwarded(args, sink)]:
                if value:
                    schema = self._sink_schema(node, args, sink)
                    what = f"{sink.method or sink.call.rsplit('.', 1)[-1]}()"  # type: ignore[union-attr]
                    if sink.schema_arg is not None:  # a table object a variable or a mapped class may hold
                        self.table_calls.setdefault(id(node), []).append(len(self.facts.sites))
                        self._foreign_keys_in(inner, node, args, sink)
                    receiver = (sink.receiver, sink.receiver_types) if sink.receiver else ("", ())
                    binds = self._binds(args, sink) if _may_bind(sink, value) else ()
                    self.facts.sites.append(
                        Site(sink.kind, value, self.block, what, schema, names_only=sink.names_only,
                             receiver=receiver[0], receiver_types=receiver[1], binds=binds,
                             prefix=sink.prefix)
                    )  # fmt: skip
        if len(args) >= 2 and func.__class__ in (ast.Attribute, ast.Name):
            self._imperative(node, args)
            if (func.attr if func.__class__ is ast.Attribute else func.id) == "Table":  # type: ignore[attr-defined]
                columns = _table_call_columns(node)
                if columns is not None:
                    self.facts.table_columns.append(columns)
        for arg in args:
            if arg.keyword == "schema_translate_map" and isinstance(arg.value, ast.Dict):
                # `execution_options(schema_translate_map={PLACEHOLDER: schema})`: tables of that schema
                # live in whichever schema the engine is given
                translated = (self._eval(k) for k in arg.value.keys if k is not None)
                self.facts.translated_schemas.extend(v for v in translated if v)
        dotted = _attr_dotted(node.func) if args else None
        if dotted is None and args and func.__class__ is ast.Attribute:
            # `(conn or db).fetch_page(...)`: the call on the fallback object, the one a default provides
            receiver = func.value  # type: ignore[attr-defined]
            if receiver.__class__ is ast.BoolOp and receiver.op.__class__ is ast.Or:
                fallback = _attr_dotted(receiver.values[-1])
                dotted = f"{fallback}.{func.attr}" if fallback is not None else None  # type: ignore[attr-defined]
        callee = self._callee(dotted) if dotted is not None else ""
        if dotted is None and args and func.__class__ is ast.Attribute:
            callee = self._super_callee(func)  # type: ignore[arg-type]
            chain = _chain_dotted(func) if not callee else None
            if chain is not None:  # `self.hs.get_store().insert(...)`: through the type each call returns
                callee = self._callee(chain)
        if not callee and args and func.__class__ is ast.Attribute:
            self._unattributed(func, args)  # type: ignore[arg-type]
        # text printed, logged or raised is read by people, never run: SQL written there is no site of its own
        last = func.attr if func.__class__ is ast.Attribute else getattr(func, "id", "")  # type: ignore[attr-defined]
        message = bool(args) and (last in MESSAGE_CALLS or MESSAGE_CLASS.fullmatch(last) is not None)
        recorded: list[tuple[int, str | None, Value]] = []
        position = 0
        if callee == "functools.partial" and not args[0].keyword and not args[0].star:
            bound = _attr_dotted(args[0].value)  # the function it binds arguments of
            callee, position = (self._callee(bound) if bound is not None else ""), -1
            consumed.add(0)
        if (
            callee
            and self.components is not None
            and callee.partition(".")[0] not in self.components
            and not callee.startswith(FIXTURE_CALLEE)
        ):
            # no scanned module has that name: never a helper of the scanned code, so its arguments are
            # not kept; it is noted as called with unknown values, which stays safe should such a module
            # be added later (this file's facts are reused then)
            self.facts.unknown_arguments.add((callee, "**"))
            callee = ""
        for index, arg in enumerate(args):
            value = None
            if callee and index not in consumed:
                if arg.star:
                    recorded.append((-1, arg.star, ()))  # `*args`, `**kwargs`: any parameter, unknown
                else:
                    value = self._argument(arg.value)
                    at = position if arg.keyword is None else -1
                    recorded.append((at, arg.keyword, _for_summary(value)))
                    if isinstance(arg.value, ast.Dict | ast.Name):  # `helper({"table": "x"})`: each entry
                        for key, entry in self._dict_argument(arg.value).items():
                            recorded.append((at, f"{arg.keyword or ''}[{key}]", _for_summary(entry)))
                    elif isinstance(arg.value, ast.List | ast.Tuple | ast.Set):  # `helper(["a", "b"])`
                        recorded.extend(
                            (at, f"{arg.keyword or ''}[]", _for_summary(self._argument(_unstar(e))))
                            for e in arg.value.elts
                        )
            if arg.keyword is None and not arg.star:
                position += 1
            if index not in consumed and not message:
                self._standalone(arg.value, value)
        if len(args) >= 2:
            self._forwarding(args, dotted if dotted is not None else self._code(func))
        if any(value and value is not _NOT_A_NAME for _, _, value in recorded):
            label = dotted if dotted is not None else self._code(func)
            self.facts.calls.append(CallSite(callee, tuple(recorded), self.block, f"{label}()"))
        else:  # nothing a summary resolves: only which parameters get unknown values is kept (small)
            for at, keyword, value in recorded:
                if not value:
                    slot = keyword if keyword and keyword[0] != "[" else f"{at}{keyword or ''}"
                    self.facts.unknown_arguments.add((callee, slot))

    def _call_arguments(self, args: list[_Arg]) -> tuple[tuple[int, str | None, Value], ...]:
        """A call's arguments with their values where they are written (in `Hole.call`, laid out as
        `CallSite.args`): by place or keyword, the elements of a list and the entries of a dict written out,
        `*args`/`**kwargs` as unknown."""
        out: list[tuple[int, str | None, Value]] = []
        position = 0
        for arg in args:
            if arg.star:
                out.append((-1, arg.star, ()))
                continue
            at = position if arg.keyword is None else -1
            out.append((at, arg.keyword, self._eval_or_hole(arg.value)))
            if isinstance(arg.value, ast.List | ast.Tuple | ast.Set):
                out.extend(
                    (at, f"{arg.keyword or ''}[]", self._eval_or_hole(_unstar(e))) for e in arg.value.elts
                )
            elif isinstance(arg.value, ast.Dict):
                for key_node, entry in zip(arg.value.keys, arg.value.values, strict=True):
                    if isinstance(key_node, ast.Constant) and isinstance(key_node.value, str):
                        out.append((at, f"{arg.keyword or ''}[{key_node.value}]", self._eval_or_hole(entry)))
            if arg.keyword is None:
                position += 1
        return tuple(out)

    def _unattributed(self, func: ast.Attribute, args: list[_Arg]) -> None:
        """A method called on an object whose type the walk cannot tell (`repo.count(name)`, `repo` a
        parameter): noted as a call of that method name (`?.count`) with the places of the values that are
        not string literals, for the helpers of that name whose callers must all be known (resolve.py)."""
        receiver = func.value
        if receiver.__class__ in _LITERAL_RECEIVERS or (
            receiver.__class__ is ast.Call and getattr(receiver.func, "id", "") == "super"  # type: ignore[attr-defined]
        ):
            return
        callee = UNATTRIBUTED + func.attr
        position = 0
        for arg in args:
            if arg.star:
                self.facts.unknown_arguments.add((callee, arg.star))
                continue
            value = arg.value
            if not (value.__class__ is ast.Constant and value.value.__class__ is str):  # type: ignore[attr-defined]
                self.facts.unknown_arguments.add((callee, arg.keyword or str(position)))
            if arg.keyword is None:
                position += 1

    def _binds(self, args: list[_Arg], sink: Sink) -> tuple[tuple[str, Value, tuple[Value, ...]], ...]:
        """The bind parameters a call passes beside its SQL, for the catalog lookups that read one: each
        positional value from the sink's `params` on (asyncpg's `$1`, `$2`), and the entries of the
        sequence or mapping written there or by keyword (`%s`, `:name`, `%(name)s`)."""
        positional = [a.value for a in args if a.keyword is None and not a.star]
        found: list[tuple[str, ast.expr | None, Value | None]] = []
        container: ast.expr | None = None
        if sink.params is not None and sink.params < len(positional):
            container = positional[sink.params]
            found.extend((f"${i + 1}", node, None) for i, node in enumerate(positional[sink.params :]))
        container = next((a.value for a in args if a.keyword in sink.params_keywords), container)
        if isinstance(container, ast.Dict):
            found.extend(
                (k.value, v, None)
                for k, v in zip(container.keys, container.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            )
        elif isinstance(container, ast.List | ast.Tuple):
            for i, element in enumerate(container.elts):
                if isinstance(element, ast.Starred):
                    break
                found.append((str(i + 1), element, None))
        elif isinstance(container, ast.Name):
            entries = self._dict_argument(container)
            found.extend((key, None, entry) for key, entry in entries.items())
            forwarded = self._eval(container) if not entries else None
            if forwarded and len(forwarded) == 1 and forwarded[0].__class__ is Hole and forwarded[0].param:  # type: ignore[union-attr]
                # a wrapper's own parameter (`def query(sql, args): cur.execute(sql, args)`): its callers
                # say what is bound (see resolve.py `_forwarded_binds`)
                found.append((FORWARDED_BINDS, None, forwarded))
        binds = []
        for key, node, known in found:
            value = known if node is None else (self._argument(node) or self._eval(node))
            elements = self._bind_elements(node) if node is not None else ()
            if value or elements:
                binds.append((key, value or (), elements))
        return tuple(binds)

    def _bind_elements(self, node: ast.expr) -> tuple[Value, ...]:
        """The names in a list bound to `IN %s` / `= ANY(:names)`: a literal's elements, those of a local
        list written out before, or each element of a list parameter (`names`, `list(names)`) that the
        callers write out."""
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return tuple(v for v in (self._argument(_unstar(e)) for e in node.elts) if v)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _COPIES:
            if len(node.args) == 1 and not node.keywords:
                return self._bind_elements(node.args[0])
            return ()
        held = self._list(node)  # a local list written out before (`tables = ["a", "b"]`)
        if held:
            return tuple(v for v in held if v and v[0].__class__ is Lit)
        function, param = self._element_of_parameter(node)
        if not param:
            return ()
        name = node.id  # type: ignore[attr-defined]
        return ((Hole(name, f"an element of `{name}`", self._node(node), function=function, param=param),),)

    def _subscript_site(self, node: ast.Subscript) -> None:
        """`container[key]` where the rule packs say the container holds tables by name (SQLAlchemy's
        `Base.metadata.tables[name]`, the dataset library's `db[name]`): a lookup of the table itself."""
        self._visit_children(node)
        if self._may_name_table(node.slice):
            for lookup in self.lookups:
                self._table_lookup(lookup, node.value, node.slice, "[]")
            container = node.value
            if container.__class__ is not ast.Name or node.ctx.__class__ is not ast.Load:
                return
            if node.slice.__class__ is ast.Name:
                self._registry_lookup(container, node.slice)  # type: ignore[arg-type]
                return
            name = container.id  # type: ignore[attr-defined]
            if node.slice.__class__ is ast.Constant and self._holder(name, name + _KEYS) is self.scopes[0]:
                key = self._eval(node.slice)  # a literal read of a module-level dict's entry
                if key:
                    self.facts.key_reads.append((name, key))

    def _registry_lookup(self, container: ast.expr, key: ast.Name) -> None:
        """`CONFIG[table]` or `CONFIG.get(table)` for a parameter `table` of the function and a dict
        `CONFIG` with literal keys: recorded, for the resolver to tell whether the parameter is a table
        name (then each key is one)."""
        scope = self.scopes[-1]
        name = key.id
        if (
            container.__class__ is not ast.Name
            or scope.kind != "function"
            or name not in scope.params
            or name in scope.values
        ):
            return
        held = container.id  # type: ignore[attr-defined]
        holder = self._holder(held, held + _KEYS)
        if holder is None:
            return
        named = tuple(
            k for k in holder.lists[held + _KEYS] if self.legacy.search(literal_text(k)) is not None
        )
        if named:
            dict_name = held if holder is self.scopes[0] else ""  # a local dict: no literal read names it
            self.facts.registries.append((scope.qualname, name, dict_name, named))

    def _may_name_table(self, key: ast.expr) -> bool:
        """A key or compared value that can make a finding: a literal only when it names a legacy object
        (any other literal, a number or a slice, names no table there, nor an unresolved one)."""
        kind = key.__class__
        if kind is ast.Constant:
            text = key.value  # type: ignore[attr-defined]
            return text.__class__ is str and self.legacy.search(text) is not None
        return kind is not ast.Slice and kind is not ast.Tuple

    def _table_lookup(self, lookup: Lookup, container: ast.expr, key: ast.expr, how: str) -> None:
        receiver: ast.expr = container
        if lookup.attribute:
            if container.__class__ is not ast.Attribute or container.attr != lookup.attribute:  # type: ignore[attr-defined]
                return
            receiver = container.value  # type: ignore[attr-defined]
        verdict = self._holds_tables(receiver, lookup)
        if not verdict:
            return
        value = self._eval(key)
        if value:
            deferred = verdict if isinstance(verdict, str) else ""
            what = f"{self._code(container)}{how}"
            self.facts.sites.append(
                Site("table", value, self.block, what, names_only=lookup.names_only, receiver=deferred,
                     receiver_types=lookup.receiver_types if deferred else ())
            )  # fmt: skip

    def _holds_tables(self, receiver: ast.expr, lookup: Lookup) -> bool | str:
        """The receiver is one the lookup names (`metadata`, `Base.metadata`), or is built by one of its
        types (`MetaData()`, `dataset.connect()`); an imported name: that name, its type read at home."""
        kind = receiver.__class__
        if kind is ast.Name and receiver.id in lookup.receiver_names:  # type: ignore[attr-defined]
            return True
        if kind is ast.Attribute and receiver.attr in lookup.receiver_names:  # type: ignore[attr-defined]
            return True
        if not lookup.receiver_types or kind not in (ast.Name, ast.Attribute, ast.Call):
            return False
        return self._receiver_is(receiver, lookup.receiver_types)

    def _names_list(self, node: ast.expr) -> Lookup | None:
        """The lookup rule under which an expression is the database's list of table names:
        `inspector.get_table_names()` on an Inspector, or a local bound to one."""
        if node.__class__ is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if func.__class__ is ast.Name and func.id in _COPIES and len(node.args) == 1:  # type: ignore[attr-defined]
                return self._names_list(node.args[0])  # type: ignore[attr-defined]  # `set(names)`
            lookup = self.name_lists.get(func.attr) if func.__class__ is ast.Attribute else None
            return lookup if lookup is not None and self._holds_tables(func.value, lookup) else None
        held = self._catalog_of(node)
        return held[0] if held is not None and held[1] else None

    def _catalog_of(self, node: ast.expr) -> tuple[Lookup, bool] | None:
        if node.__class__ is not ast.Name:
            return None
        for scope in reversed(self.scopes):
            if scope.kind == "function" and node.id in scope.catalog:  # type: ignore[attr-defined]
                return scope.catalog[node.id]  # type: ignore[attr-defined]
        return None

    def _mark_catalog(self, target: ast.expr, value: ast.expr, whole: bool) -> None:
        """`names = inspector.get_table_names()` (whole) and `for t in names` (one name of the list)."""
        scope = self.scopes[-1]
        if target.__class__ is not ast.Name or scope.kind != "function":
            return
        lookup = self._names_list(value)
        if lookup is not None:
            scope.catalog[target.id] = (lookup, whole)  # type: ignore[attr-defined]
            self.catalog_marked = True
        else:
            scope.catalog.pop(target.id, None)  # type: ignore[attr-defined]

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        """A comprehension's variables are its own, as a `for` loop's are the function's: over a list written
        out, one takes each of its values (`{name: sa.Table(name, ...) for name in ("a", "b")}`), over a list
        built before each of its values so far, and else a value nobody knows. In a function they are bound
        in its scope while the comprehension is walked; outside any, in a frame of their own."""
        for generator in node.generators:  # before the element: `any(t == name for t in names)`
            self._mark_catalog(generator.target, generator.iter, False)
        scope = self.scopes[-1]
        saved: dict[str, Value | object] = {}
        frame: dict[str, Value] = {}
        for generator in node.generators:
            target, iterable = generator.target, generator.iter
            if isinstance(target, ast.Name):
                bound = {target.id: self._loop_value(target, iterable)}
            elif isinstance(target, ast.Tuple | ast.List):
                bound = self._unpacked_values(target, iterable)
            else:
                continue  # `for self.x in ...`: an attribute, not a variable of its own
            for name, value in bound.items():
                if scope.kind != "function":  # at module or class level: a frame of its own
                    frame[name] = value
                    continue
                saved.setdefault(name, scope.values.get(name, _UNBOUND))
                scope.values[name] = value
        self.comprehension_frames.append(frame)
        try:
            self._visit_children(node)
        finally:
            self.comprehension_frames.pop()
        for name, value in saved.items():
            if value is _UNBOUND:
                scope.values.pop(name, None)
            else:
                scope.values[name] = value  # type: ignore[assignment]

    def _loop_value(self, target: ast.Name, iterable: ast.expr) -> Value:
        """What a comprehension's variable holds: one of the values of the list it runs over (all of them
        when the list is written out there)."""
        name = target.id
        candidates: tuple[Value, ...] = ()
        exhaustive = False
        if isinstance(iterable, ast.List | ast.Tuple | ast.Set):
            candidates = tuple(v for v in (self._eval(_unstar(e)) for e in iterable.elts) if v)
            exhaustive = len(candidates) == len(iterable.elts)
        else:
            held = self._list(iterable)
            candidates = tuple(v for v in held if v) if held else ()
        reason = f"loop variable `{name}` over `{self._code(iterable)}`"
        return (Hole(name, reason, self._node(target), candidates=candidates, exhaustive=exhaustive),)

    def _unpacked_values(self, target: ast.Tuple | ast.List, iterable: ast.expr) -> dict[str, Value]:
        """What the names a loop unpacks hold: `for a, b in [(x, y), ...]` (written there, or a module's
        list of rows, which may grow elsewhere), each the values written at its place in the rows; else
        values nobody knows."""
        rows = _literal_rows(target, iterable)
        written = rows is not None  # in place: every row there is
        if rows is None and isinstance(iterable, ast.Name) and self._module_name(iterable.id):
            rows = _literal_rows(target, self.module_rows.get(iterable.id))
        code = self._code(iterable)
        if rows is None:
            return {
                e.id: (Hole(e.id, f"loop variable `{e.id}` unpacked from `{code}`", self._node(e)),)
                for e in _unpacked_names(target)
            }
        bound: dict[str, Value] = {}
        for at, element in enumerate(target.elts):
            name = element.id  # type: ignore[attr-defined]
            candidates = tuple(v for v in (self._eval(row[at]) for row in rows) if v)
            reason = (
                f"loop variable `{name}`" if written else f"loop variable `{name}` unpacked from `{code}`"
            )
            bound[name] = (
                Hole(name, reason, self._node(element), candidates=candidates,
                     exhaustive=written and len(candidates) == len(rows)),
            )  # fmt: skip
        return bound

    def _compare(self, node: ast.Compare) -> None:
        """`"t" in inspector.get_table_names()`, `"t" in metadata.tables`, `name not in names`, `t == name`
        for `t` of the list."""
        self._visit_children(node)
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            kind = op.__class__
            if kind is ast.In or kind is ast.NotIn:
                lookup = self._names_list(right)
                if lookup is not None:
                    self._name_site(lookup, left, "looked up in the database's table names")
                elif right.__class__ is ast.Attribute and self._may_name_table(left):
                    # `"t" in metadata.tables`: the container that holds tables by name, asked for one
                    for lookup in self.lookups:
                        if lookup.attribute:
                            self._table_lookup(lookup, right, left, " (in)")
            elif (kind is ast.Eq or kind is ast.NotEq) and self.catalog_marked:
                for one, other in ((left, right), (right, left)):
                    held = self._catalog_of(one)
                    if held is not None and not held[1]:
                        self._name_site(held[0], other, "compared with the database's table names")
            left = right

    def _name_site(self, lookup: Lookup, key: ast.expr, what: str) -> None:
        if not self._may_name_table(key):
            return
        value = self._eval(key)
        if value:
            self.facts.sites.append(Site("table", value, self.block, what, names_only=lookup.names_only))

    def _foreign_keys_in(self, start: int, call: ast.Call, args: list[_Arg], sink: Sink) -> None:
        """`ForeignKey("t.id")` inside `Table(name, metadata, ...)` names `t` in the MetaData's schema."""
        sites = self.facts.sites
        for index in range(start, len(sites)):
            if sites[index].kind == "table-column" and sites[index].schema is None:
                positional = [a.value for a in args if a.keyword is None and not a.star]
                if sink.schema_arg is not None and sink.schema_arg < len(positional):
                    schema = self._metadata_schema(positional[sink.schema_arg])
                    sites[index] = dataclasses.replace(sites[index], schema=schema)

    def _imperative(self, node: ast.Call, args: list[_Arg]) -> None:
        """`registry.map_imperatively(Class, table)`, classic `mapper(Class, table)`: the class maps the
        table the variable holds."""
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id  # type: ignore[attr-defined]
        if last not in ("map_imperatively", "mapper") or args[0].keyword or args[1].keyword:
            return
        if last == "mapper" and not self._qualify(_attr_dotted(func) or "").startswith("sqlalchemy."):
            return
        mapped, table = _attr_dotted(args[0].value), _attr_dotted(args[1].value)
        if mapped is not None and table is not None:
            self.facts.imperative.append((self._qualify(mapped), self._qualify(table)))

    def _argument(self, node: ast.expr) -> Value | None:
        """A call argument's value as far as a helper summary needs it: strings, named constants (their
        position given directly) and the caller's own parameters; anything else is unknown (None)."""
        if isinstance(node, ast.Name):
            name = node.id
            for frame in reversed(self.comprehension_frames):
                if name in frame:
                    return frame[name]
            for scope in reversed(self.scopes):
                if scope.kind != "function":
                    continue
                if name in scope.values:
                    return scope.values[name]
                if name in scope.params:  # one shared value per parameter: summaries stay small
                    found = scope.param_values.get(name)
                    if found is None:
                        found = scope.param_values[name] = (
                            Hole(name, "", 0, function=scope.qualname, param=name),
                        )
                    return found
            target = self.facts.imports.get(name) or f"{self.facts.module}.{name}"
            return (Ref(target, name, 0, node.lineno, self._column(node.lineno, node.col_offset) + 1),)
        if node.__class__ is ast.Constant and node.value.__class__ is str:  # type: ignore[attr-defined]
            text = node.value  # type: ignore[attr-defined]
            if (
                text
                and (len(text) > _NAME_LENGTH or text.split() != [text])
                and self.legacy.search(text) is None
                and POSTGREST_PATH not in text
                and not _looks_up_by_bind(text)
            ):
                # text that is no name (spaces, or too long) and names no legacy object: a summary keeps
                # only that (`_for_summary`), and it is no SQL site: its pieces and positions are not needed
                return _NOT_A_NAME
        if isinstance(node, _ARGUMENT_TYPES):
            return self._eval(node)
        return None

    def _callee(self, dotted: str) -> str:
        """What a call may run, for helper summaries: a dotted target whose attributes are looked up
        through the types of the objects they name (`self.db.insert`); "" when unknown."""
        root, _, rest = dotted.partition(".")
        if not rest and root in _BUILTINS and root not in self.facts.imports:
            return ""  # print(), len(), str(): never a helper of the scanned code
        if root in ("self", "cls"):
            owner = self._enclosing_class()
            return f"{self.facts.module}.{owner}.{rest}" if owner and rest else ""
        for scope in reversed(self.scopes):
            if scope.kind != "function":
                continue
            if root in scope.types and rest:
                return f"{scope.types[root]}.{rest}"
            if root in scope.params and not rest and root not in scope.values:
                # a parameter called as a function: a pytest fixture that hands one to the test, by name
                return f"{FIXTURE_CALLEE}{self.facts.module} {root}"
            if root in scope.params or root in scope.values:
                return ""  # an object of unknown type
            if root in scope.local_defs:
                return "" if rest else scope.local_defs[root]  # a nested function, called by its name
        return self._qualify(dotted)

    def _sinks_for(self, call: ast.Call) -> list[Sink]:
        func = call.func
        found: list[Sink] = []
        if isinstance(func, ast.Attribute):
            for sink in self.method_sinks.get(func.attr, ()):
                if sink.receiver_has and not _receiver_calls(func.value, sink.receiver_has):
                    continue
                if sink.receiver_excludes and _receiver_names(func.value) & set(sink.receiver_excludes):
                    continue
                if sink.receiver_types:
                    verdict = self._receiver_is(func.value, sink.receiver_types)
                    if not verdict:
                        continue
                    if isinstance(verdict, str):  # imported: its type is known in its own module
                        sink = dataclasses.replace(sink, receiver=verdict)
                found.append(sink)
            last = func.attr
        elif isinstance(func, ast.Name):
            last = func.id
            if last not in self.call_sinks and last not in self.facts.imports:
                return _claimed(found)  # no sink of that name, and not another name imported as it
        else:
            return _claimed(found)
        if last not in self.call_sinks and func.__class__ is ast.Attribute:
            return _claimed(found)  # qualifying keeps an attribute's last name: no sink of that name
        dotted = _attr_dotted(func)
        if dotted is None:
            return _claimed(found)
        qualified = self._qualify(dotted)
        resolved_last = qualified.rsplit(".", 1)[-1]
        candidates = self.call_sinks.get(resolved_last, [])
        if resolved_last != last:
            candidates = [*candidates, *self.call_sinks.get(last, [])]
        found.extend(s for s in candidates if call_matches(s.call or "", qualified))
        return _claimed(found)

    def _receiver_is(self, node: ast.expr, types: Sequence[str]) -> bool | str:
        """The receiver is built by, or annotated as, one of these: `inspect(engine).has_table(...)`. A
        name imported from a scanned module: that name, dotted (its type is read in its own module)."""
        held = self._type_of(node)
        if not held and isinstance(node, ast.Name):
            held = self.facts.attribute_types.get(node.id, "")
            imported = self.facts.imports.get(node.id)
            if not held and imported is not None:
                return imported if self._may_be_object(imported) else False
        return bool(held) and any(call_matches(t, held) for t in types)

    def _may_be_object(self, imported: str) -> bool:
        """An imported name that may be an object a scanned module builds (`db`): not from outside the
        tree, not one of its modules, not a class (CamelCase)."""
        last = imported.rpartition(".")[2]
        if last[:1].isupper() and not last.isupper():
            return False
        if self.components is not None and imported.partition(".")[0] not in self.components:
            return False
        return self.modules is None or imported not in self.modules

    def _vararg_forwarded(self, args: list[_Arg], sink: Sink) -> list[Value]:
        """The sink's positions that the enclosing function's `*args` fills, passed on as it is (`def
        Table(*args, **kwargs): return sa.Table(*args, **kwargs)`): each is that element of the function's
        arguments (a parameter `*args:K`, which a call fills with its positional argument past the named
        ones), so the function is a sink of the same positions for its callers."""
        scope = self.scopes[-1]
        if sink.all_args or not sink.args or scope.kind != "function" or not scope.vararg:
            return []
        before = 0
        for arg in args:
            if arg.star == "*":
                value = arg.value
                if value.__class__ is not ast.Name or value.id != scope.vararg or value.id in scope.values:  # type: ignore[attr-defined]
                    return []
                break
            if arg.keyword is None and not arg.star:
                before += 1
        else:
            return []
        name, node = scope.vararg, self._node(value)
        return [
            (
                Hole(
                    f"{name}[{index - before}]",
                    f"parameter `*{name}` of `{scope.name}`, its element `{name}[{index - before}]`",
                    node,
                    function=scope.qualname,
                    param=f"*{name}:{index - before}",
                ),
            )
            for index in sink.args
            if index >= before
        ]

    @staticmethod
    def _sink_args(call: ast.Call, args: list[_Arg], sink: Sink, consumed: set[int]) -> list[ast.expr]:
        if sink.all_args:
            consumed.update(range(len(args)))
            return [call.func]
        picked: list[ast.expr] = []
        positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
        for index in sink.args:
            if index < len(positional):
                picked.append(args[positional[index]].value)
                consumed.add(positional[index])
        for i, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword in sink.keywords:
                picked.append(arg.value)
                consumed.add(i)
        expanded: list[ast.expr] = []
        for node in picked:
            # RunSQL and friends also take a list of statements; .extra(select=) a dict of fragments
            if isinstance(node, (ast.List, ast.Tuple)):
                expanded.extend(_unstar(e) for e in node.elts)
            elif isinstance(node, ast.Dict):
                expanded.extend(node.values)
            else:
                expanded.append(node)
        return expanded

    def _sink_schema(self, call: ast.Call, args: list[_Arg], sink: Sink) -> Value | None:
        if sink.schema_keyword:
            for arg in args:
                if arg.keyword is not None and arg.keyword == sink.schema_keyword:
                    return self._eval(arg.value)
        if sink.schema_position is not None or sink.schema_arg is not None:
            positional = [a.value for a in args if a.keyword is None and not a.star]
            if sink.schema_position is not None and sink.schema_position < len(positional):
                return self._eval(positional[sink.schema_position])
            if sink.schema_arg is not None and sink.schema_arg < len(positional):
                return self._metadata_schema(positional[sink.schema_arg])  # Table(name, metadata)
        if sink.receiver_schema and isinstance(call.func, ast.Attribute):
            node: ast.expr = call.func.value
            while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == sink.receiver_schema and (node.args or node.keywords):
                    return self._eval(_call_args(node)[0].value)
                node = node.func.value
        return None

    def _identifier(self, args: list[_Arg]) -> Value | None:
        pieces: list[Piece] = []
        for i, arg in enumerate(a for a in args if a.keyword is None):
            value = self._eval(arg.value)
            if value is None:
                return None
            if i:
                pieces.append(_synthetic("."))
            pieces.extend(value)
        return tuple(pieces) or None

    # --- standalone strings ----------------------------------------------------------------------

    def _standalone(self, node: ast.expr, value: Value | None = None) -> None:
        """Record a string expression built from literals that may be SQL on its own."""
        kind = node.__class__  # the parser builds exactly these classes: identity, not isinstance
        if kind is ast.Constant:
            text = node.value  # type: ignore[attr-defined]
            if text.__class__ is bytes:
                text = text.decode("latin-1")
            elif text.__class__ is not str:
                return
            if value is None and not self.legacy.search(text) and POSTGREST_PATH not in text:
                return  # all literal: a site only when it names a legacy object (its pieces not needed)
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if not (func.__class__ is ast.Attribute and func.attr in ("format", "join")):
                return
        elif kind is not ast.JoinedStr and kind is not ast.BinOp:
            return
        if value is None:
            value = self._eval(node)
        if not value:
            return
        text = literal_text(value)
        if POSTGREST_PATH in text:  # `f"{url}/rest/v1/{table}?select=*"`: PostgREST's REST API, over HTTP
            self.facts.sites.append(Site("postgrest-url", value, self.block, "a PostgREST URL"))
            return
        dynamic = any(not isinstance(p, Lit) for p in value)
        if (
            self.legacy.search(text)
            or (dynamic and (SQL_START.match(text) or _qualifies_by_param(value)))
            or (dynamic and any(self.legacy.search(t) for t in _candidate_texts(value)))
        ):  # a legacy name in a branch's value: `f"ORDER BY {field} DESC"`, `field` "legacy.x" on one branch
            self.facts.sites.append(Site("standalone", value, self.block, "SQL text"))

    # --- expression evaluation -------------------------------------------------------------------

    def _eval(self, node: ast.expr) -> Value | None:
        """The symbolic string value of an expression; None when it is not a string at all."""
        kind = node.__class__  # the parser builds exactly these classes: identity, not isinstance
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if isinstance(value, (str, bytes)):
                return self._strings(node)  # type: ignore[arg-type]
            if value is None or value is True or value is False or isinstance(value, (int, float, complex)):
                return None
            return (Hole(self._code(node), "computed value", self._node(node)),)
        evaluate = self.evaluators.get(kind)
        if evaluate is not None:
            return evaluate(node)
        if isinstance(node, ast.IfExp):
            return self._one_of(node, "conditional expression", [node.body, node.orelse]) or (
                Hole(self._code(node), "conditional expression", self._node(node)),
            )
        if isinstance(node, ast.BoolOp):
            # `configured or "SELECT ..."`: the value is one of the operands (a fallback, a default)
            return self._one_of(node, "one of the operands of `or`/`and`", node.values)
        if isinstance(node, (ast.List, ast.Tuple, ast.Dict, ast.Set)):
            return None
        return (Hole(self._code(node), "computed value", self._node(node)),)

    def _one_of(self, node: ast.expr, reason: str, choices: list[ast.expr]) -> Value | None:
        """A value that is one of ``choices``' (a conditional expression's branches, `or`/`and`'s
        operands): a hole with the string ones as candidates, exhaustive when every choice is one; None
        when none is a string."""
        values = [self._eval(choice) for choice in choices]
        candidates = tuple(v for v in values if v)
        if not candidates:
            return None
        hole = Hole(self._code(node), reason, self._node(node), candidates=candidates)
        return (dataclasses.replace(hole, exhaustive=len(candidates) == len(values)),)

    def _strings(self, node: ast.Constant | ast.JoinedStr) -> Value:
        """The pieces of a string expression, token by token: literal text with its exact source, and
        the values of f-string replacement fields."""
        tokens = self._tokens(node)
        fields = (
            iter([v for v in node.values if isinstance(v, ast.FormattedValue)])
            if isinstance(node, ast.JoinedStr)
            else iter(())
        )
        pieces: list[Piece] = []
        single = len(tokens) == 1 and isinstance(node, ast.Constant)
        for token in tokens:
            raw = self.source[token.start : token.end]
            if not token.is_f:
                if single:
                    evaluated = node.value  # type: ignore[union-attr]
                else:
                    try:
                        evaluated = ast.literal_eval(raw)
                    except (SyntaxError, ValueError):  # pragma: no cover - the module parsed
                        continue
                text = evaluated.decode("latin-1") if isinstance(evaluated, bytes) else evaluated
                line, column = self._offset_position(token.start)
                body = len(token.prefix) + len(token.quote)
                pieces.append(
                    Lit(text, line, column, raw, body, "r" not in token.prefix.lower(), False, 0, self.block)
                )
                continue
            raw_prefix = "r" in token.prefix.lower()
            for kind, start, end in token.parts:
                part = self.source[start:end]
                if kind == "text":
                    text = _decode_fpart(part, raw_prefix, token.quote)
                    if text is None:
                        pieces.append(_synthetic(part))
                        continue
                    line, column = self._offset_position(start)
                    pieces.append(Lit(text, line, column, part, 0, not raw_prefix, True, 0, self.block))
                    continue
                formatted = next(fields, None)
                if formatted is None:  # pragma: no cover - the scanner and the parser disagree
                    pieces.append(_synthetic(part))
                    continue
                expression = formatted.value
                value = self._eval(expression)
                if value is None:
                    value = (Hole(self._code(expression), "formatted value", self._node(expression)),)
                pieces.extend(self._place(p, start, end) for p in value)
        return tuple(pieces)

    def _place(self, piece: Piece, offset: int, end: int) -> Piece:
        """Give a hole or reference written inside an f-string's field (source[offset:end]) its position
        directly; one that only came through it (`{table}` holding a parameter `other`) keeps its node."""
        if isinstance(piece, (Hole, Ref)) and piece.line == 0 and _DOTTED.fullmatch(piece.label):
            inner = self.source.find(piece.label, offset, end)
            if inner >= 0:
                if isinstance(piece, Ref):  # the constant's own name, after any module alias
                    inner += piece.label.rfind(member_name(piece.label))
                line, column = self._offset_position(inner)
                return dataclasses.replace(piece, line=line, column=column)
        return piece

    def _is_string_node(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, bytes))
        if isinstance(node, ast.JoinedStr):
            return True
        return isinstance(node, ast.BinOp) and (
            self._is_string_node(node.left) or self._is_string_node(node.right)
        )

    def _binary(self, node: ast.BinOp) -> Value | None:
        if isinstance(node.op, ast.Add):
            left, right = self._eval(node.left), self._eval(node.right)
            if left is None and right is None:
                return None
            if self._is_string_node(node.left) or self._is_string_node(node.right) or (left and right):
                return (left or (Hole(self._code(node.left), "computed value", self._node(node.left)),)) + (
                    right or (Hole(self._code(node.right), "computed value", self._node(node.right)),)
                )
            return None
        if isinstance(node.op, ast.Mod):
            left = self._eval(node.left)
            if left and len(left) == 1 and isinstance(left[0], Ref):
                # a template constant of this module, formatted here: `REPORT % params`
                local = left[0].target.removeprefix(self.facts.module + ".")
                left = self.facts.constants.get(local, left) if local != left[0].target else left
            template = left[0] if left and len(left) == 1 and isinstance(left[0], Ref) else None
            if template is None and (
                not left
                or (not self._is_string_node(node.left) and not any(isinstance(p, Lit) for p in left))
            ):
                return None
            right = node.right
            keys = [m.group("key") for m in _PERCENT.finditer(literal_text(left)) if m.group("key")]
            if isinstance(right, ast.Tuple):
                items: list[Value] = []
                rest: dict[str, Value] = {}
                for element in right.elts:
                    if isinstance(element, ast.Starred):  # `% (*parts,)`: the places from there on
                        label, reason = f"*{self._code(element.value)}", "an element of an unpacked sequence"
                        rest[_REST] = (Hole(label, reason, self._node(element.value)),)
                        break
                    items.append(self._eval_or_hole(element))
                return (
                    _deferred(template, "%", items, rest) if template else _percent_format(left, items, rest)
                )
            if isinstance(right, ast.Dict):
                mapping: dict[str, Value] = {}
                for key_node, value_node in zip(right.keys, right.values, strict=True):
                    if key_node is None:  # `{**base, "table": t}`: the keys `base` holds, as far as known
                        mapping.update(self._format_mapping(value_node, keys, template is not None))
                        continue
                    key = self._eval(key_node)
                    if key and all(isinstance(p, Lit) for p in key):
                        mapping[literal_text(key)] = self._eval_or_hole(value_node)
                    else:  # a key computed: any field may be it
                        mapping[_ANY_KEY] = self._unknown_entry(right)
                return (
                    _deferred(template, "%", [], mapping) if template else _percent_format(left, [], mapping)
                )
            entries = self._dict_entries(right.id) if isinstance(right, ast.Name) else {}
            if template is not None:  # defined elsewhere: formatted once the resolver knows its text
                if not entries and isinstance(right, ast.Name):
                    entries = self._parameter_entries(right, [_ANY_KEY])  # whichever keys it names
                if not entries:  # a tuple's or a mapping's place, whichever the template turns out to want
                    mapping = self._mapping_entries(right, [])
                    return _deferred(template, "%", [self._eval_or_hole(right)], mapping)
                return _deferred(template, "%", [], entries)
            if entries or keys:  # `sql % params`: a dict built earlier, the callers', or one not known
                return _percent_format(left, [], self._format_mapping(right, keys, False))
            return _percent_format(left, [self._eval_or_hole(right)], {})
        return None

    def _mapping_entries(self, node: ast.expr, keys: list[str]) -> dict[str, Value]:
        """The entries a template's named fields take from a mapping that is not written out: the local
        names for `locals()` (and `vars()`), an object's attributes for `vars(obj)` and `obj.__dict__`,
        else an unknown value for whichever key (`_ANY_KEY`): never the field's own text, which would read
        as a bind parameter where the table goes."""
        func = node.func if isinstance(node, ast.Call) else None  # type: ignore[attr-defined]
        called = func.id if isinstance(func, ast.Name) and not node.keywords else ""  # type: ignore[attr-defined]
        args = node.args if isinstance(node, ast.Call) else []  # type: ignore[attr-defined]
        owner: ast.expr | None = None
        if called in ("locals", "vars") and not args:
            found: dict[str, Value] = {}
            for key in dict.fromkeys(keys):
                if self._bound_here(key):
                    found[key] = self._eval_or_hole(ast.copy_location(ast.Name(key, ast.Load()), node))
            return {_ANY_KEY: self._unknown_entry(node), **found}
        if isinstance(node, ast.Call) and isinstance(func, ast.Name) and func.id == "dict" and len(args) <= 1:
            named = {k.arg: self._eval_or_hole(k.value) for k in node.keywords if k.arg is not None}
            if len(named) == len(node.keywords) and not any(isinstance(a, ast.Starred) for a in args):
                # `dict(table=name)`, `dict(base, table=name)`: the keywords over the mapping's keys
                return {**(self._format_mapping(args[0], keys, False) if args else {}), **named}
        if called == "vars" and len(args) == 1 and not isinstance(args[0], ast.Starred):
            owner = args[0]
        elif isinstance(node, ast.Attribute) and node.attr == "__dict__":
            owner = node.value
        if owner is not None and _attr_dotted(owner) is not None:
            return {
                _ANY_KEY: self._unknown_entry(node),
                **{
                    key: self._eval_or_hole(ast.copy_location(ast.Attribute(owner, key, ast.Load()), node))
                    for key in dict.fromkeys(keys)
                },
            }
        return {_ANY_KEY: self._unknown_entry(node)}

    def _unknown_entry(self, node: ast.expr) -> Value:
        label = f"{self._code(node)}[{_ANY_KEY!r}]"
        return (Hole(label, f"entry `{label}` of a mapping the analyzer cannot read", self._node(node)),)

    def _bound_here(self, name: str) -> bool:
        """The innermost function (or, outside any, the module) binds ``name``: `locals()` holds it."""
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                return name in scope.values or name in scope.params
            if scope.kind != "class":
                break
        return True  # module level: `locals()` is the module's namespace, read as its constants

    def _parameter_entries(self, node: ast.Name, keys: list[str]) -> dict[str, Value]:
        """For `template % params` / `template.format(**params)` where `params` is a parameter: each
        entry the template names as a parameter of its own (`params[key]`), so that a caller's dict
        literal says which names the helper gets."""
        name = node.id
        for scope in reversed(self.scopes):
            if scope.kind != "function":
                continue
            if name not in scope.params or name in scope.values:
                return {}
            return {
                key: (
                    Hole(
                        f"{name}[{key!r}]",
                        f"entry `{name}[{key!r}]` of a parameter",
                        self._node(node),
                        function=scope.qualname,
                        param=f"{name}[{key}]",
                    ),
                )
                for key in dict.fromkeys(keys)
            }
        return {}

    def _dict_argument(self, node: ast.expr) -> dict[str, Value | None]:
        """The string-keyed entries of a dict passed as an argument: a literal, or a dict built in scope."""
        if isinstance(node, ast.Dict):
            entries: dict[str, Value | None] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                if isinstance(key_node, ast.Constant) and isinstance(key_node.value, str):
                    entries[key_node.value] = self._argument(value_node)
            return entries
        if isinstance(node, ast.Name):
            return dict(self._dict_entries(node.id))
        return {}

    def _string_template(self, node: ast.expr) -> Value | None:
        """The text of the `string.Template` a `.substitute()` is called on (the class's value is its text,
        see `_call_value`): only text some of which is written out (a `str` has no such method)."""
        value = self._eval(node)
        return value if value and any(isinstance(p, Lit | Ref) for p in value) else None

    def _format_mapping(self, node: ast.expr, fields: list[str], deferred: bool) -> dict[str, Value]:
        """The named fields `.format(**mapping)` / `.format_map(mapping)` fills: a dict built in scope, a
        parameter's entries (each field the caller's dict fills), or what `_mapping_entries` can tell."""
        entries: dict[str, Value] = {}
        if isinstance(node, ast.Name):
            entries = self._dict_entries(node.id)
            if entries:  # a key it lacks may be set elsewhere
                return {_ANY_KEY: self._unknown_entry(node), **entries}
            entries = self._parameter_entries(node, [_ANY_KEY] if deferred else fields)
        return entries or self._mapping_entries(node, [] if deferred else fields)

    def _dict_entries(self, name: str) -> dict[str, Value]:
        """The known string entries of a dict bound to a name in scope (`params = {"table": ...}`)."""
        prefix = name + "["
        for scope in reversed(self.scopes):
            if scope.kind == "class" and scope is not self.scopes[-1]:
                continue
            found = {k[len(prefix) : -1]: v for k, v in scope.values.items() if k.startswith(prefix)}
            if found or name in scope.values or name in scope.params:
                return found
        return {}

    def _eval_or_hole(self, node: ast.expr) -> Value:
        value = self._eval(node)
        return value if value is not None else (Hole(self._code(node), "computed value", self._node(node)),)

    def _call_value(self, node: ast.Call) -> Value | None:
        func = node.func
        args = _call_args(node)
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr == "format":
                template = self._eval(func.value)
                if template:
                    positional = [
                        self._eval_or_hole(a.value) for a in args if a.keyword is None and not a.star
                    ]
                    named = {a.keyword: self._eval_or_hole(a.value) for a in args if a.keyword is not None}
                    spread = next((a for a in args if a.star == "*"), None)
                    if spread is not None:  # `.format(*parts)`: the fields from there on are its elements
                        positional = positional[: args.index(spread)]
                        label = f"*{self._code(spread.value)}"
                        reason = "an element of an unpacked sequence"
                        named[_REST] = (Hole(label, reason, self._node(spread.value)),)
                    fields = _BRACE_FIELD.findall(literal_text(template).replace("{{", ""))
                    deferred = len(template) == 1 and isinstance(template[0], Ref)
                    for a in args:
                        if a.star == "**":
                            named.update(self._format_mapping(a.value, fields, deferred))
                    if deferred:  # a template defined elsewhere
                        return _deferred(template[0], "{}", positional, named)  # type: ignore[arg-type]
                    return _brace_format(template, positional, named)
            if attr == "format_map" and len(args) == 1 and args[0].keyword is None and not args[0].star:
                template = self._eval(func.value)
                if template:
                    fields = _BRACE_FIELD.findall(literal_text(template).replace("{{", ""))
                    if len(template) == 1 and isinstance(template[0], Ref):
                        return _deferred(template[0], "{}", [], self._format_mapping(args[0].value, [], True))
                    return _brace_format(template, [], self._format_mapping(args[0].value, fields, False))
            if attr == "join" and len(args) == 1:
                separator = self._eval(func.value)
                items = args[0].value
                collected = self._list(items)
                if (
                    separator is not None
                    and isinstance(items, ast.ListComp | ast.GeneratorExp)
                    and len(items.generators) == 1
                ):
                    # `", ".join("revision." + c for c in columns)`: the text of one element stands for all
                    # (the names it writes are those of every element)
                    element = self._eval(items.elt)
                    if element:
                        return element
                if (
                    separator is not None
                    and collected is None
                    and not isinstance(items, (ast.List, ast.Tuple))
                ):
                    element = self._elements_of_parameter(items)
                    if element is not None:  # `", ".join(tables)`: one element's text stands for all
                        return element
                if separator is not None and (
                    collected is not None or isinstance(items, (ast.List, ast.Tuple))
                ):
                    values = (
                        collected
                        if collected is not None
                        else [self._eval_or_hole(_unstar(e)) for e in items.elts]  # type: ignore[attr-defined]
                    )
                    joined: list[Piece] = []
                    for i, value in enumerate(values):
                        if i:
                            joined.extend(separator)
                        joined.extend(value)
                    return tuple(joined)
            if attr in ("substitute", "safe_substitute") and sum(1 for a in args if not a.keyword) <= 1:
                template = self._string_template(func.value)
                if template:  # `string.Template("... FROM $table").substitute(table=name)`
                    deferred = len(template) == 1 and isinstance(template[0], Ref)
                    fields = [] if deferred else _dollar_fields(template)
                    named = {a.keyword: self._eval_or_hole(a.value) for a in args if a.keyword is not None}
                    for a in args:
                        if a.keyword is None:  # the mapping, positional or `**`
                            named = {**self._format_mapping(a.value, fields, deferred), **named}
                    if deferred:  # a template defined elsewhere
                        return _deferred(template[0], "$", [], named)  # type: ignore[arg-type]
                    return _dollar_format(template, named)
            if attr in _SAME_WORDS and len(args) <= (attr in _STRIPS):
                inner = self._eval(func.value)  # the text's words as they were: `sql.strip()`, `.upper()`
                if inner is not None:
                    return inner
            if attr == "replace" and len(args) in (2, 3) and not any(a.keyword or a.star for a in args):
                inner = self._eval(func.value)
                old = self._eval(args[0].value)
                if inner and old and len(old) == 1 and isinstance(old[0], Lit) and old[0].text:
                    # `sql.replace("\n", " ")`, `template.replace("{table}", name)`: the text with each
                    # occurrence written out replaced by the new value
                    new = self._eval_or_hole(args[1].value)
                    if len(inner) == 1 and isinstance(inner[0], Ref) and inner[0].formatting is None:
                        return _deferred(inner[0], REPLACE, [old, new], {})  # a template defined elsewhere
                    return _replaced(inner, old[0].text, new)
            if attr in ("read", "read_text") and len(args) <= 1:
                literal = _sql_path(node)  # `open("q.sql").read()`, `(QUERIES / "q.sql").read_text()`
                handle = self._eval(func.value) if not literal and isinstance(func.value, ast.Name) else None
                if handle and isinstance(handle[0], Hole) and handle[0].sql_file:
                    literal = handle[0].sql_file  # `with open("q.sql") as handle: handle.read()`
                if literal:
                    label = self._code(node)
                    return (Hole(label, f"the file read by `{label}`", self._node(node), sql_file=literal),)
        dotted = _attr_dotted(func)
        if dotted is not None:
            qualified = self._qualify(dotted)
            last = qualified.rsplit(".", 1)[-1]
            if (last in ("text", "SQL", "str", "literal_column") or qualified in _SAME_TEXT) and args:
                inner = self._eval(args[0].value)
                if inner is not None:
                    return inner
            if (
                last in _COPIES
                and dotted == last
                and len(args) == 1
                and not args[0].keyword
                and not args[0].star
            ):
                inner = self._eval(args[0].value)  # `sorted(tables)`: the same elements, a parameter's
                if inner and len(inner) == 1 and isinstance(inner[0], Hole) and inner[0].param:
                    return inner
            if qualified == "re.sub" and len(args) == 3 and not any(a.keyword or a.star for a in args):
                pattern, replacement = self._eval(args[0].value), self._eval(args[1].value)
                inner = self._eval(args[2].value)
                plain = pattern and len(pattern) == 1 and isinstance(pattern[0], Lit) and pattern[0].text
                if inner and plain and re.escape(pattern[0].text) == pattern[0].text:  # type: ignore[union-attr]
                    # a pattern that is plain text: `re.sub("TABLE", name, template)`
                    return _replaced(inner, pattern[0].text, self._eval_or_hole(args[1].value))  # type: ignore[union-attr]
                if (
                    inner is not None
                    and replacement is not None
                    and all(isinstance(p, Lit) for p in replacement)
                ):
                    return inner  # `re.sub(r"\s+", " ", sql)`: the same words
            if last == "Identifier" and args:
                return self._identifier(args)
        builds_table = any(sink.kind in ("table", "mapping") and sink.call for sink in self._sinks_for(node))
        label = self._code(node)
        callee = self._callee(dotted) if dotted is not None and not builds_table else ""
        if callee and (self.components is None or callee.partition(".")[0] in self.components):
            # a function of the scanned code: its returned value, once the resolver knows it; a method called
            # on an object (`self.table()`, `repo.table()`) runs whichever class the object has
            root = dotted.partition(".")[0]  # type: ignore[union-attr]
            dispatched = "." in dotted and (root in ("self", "cls") or not self._module_name(root))  # type: ignore[operator]
            found = (callee, self._call_arguments(args), dispatched)
            return (Hole(label, f"result of `{label}`", self._node(node), call=found),)
        return (Hole(label, f"result of `{label}`", self._node(node), table_object=builds_table),)

    def _name(self, node: ast.Name) -> Value | None:
        name = node.id
        for frame in reversed(self.comprehension_frames):
            if name in frame:
                return self._at_use(frame[name], node)
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                if name in scope.values:
                    return self._at_use(scope.values[name], node)
                if name in scope.params:
                    reason = f"parameter `{name}` of `{scope.name}`"
                    return (Hole(name, reason, self._node(node), function=scope.qualname, param=name),)
            elif scope.kind == "class" and scope is self.scopes[-1] and name in scope.values:
                return scope.values[name]
        if name in self.facts.imports:
            return (Ref(self.facts.imports[name], name, self._node(node)),)
        return (Ref(f"{self.facts.module}.{name}", name, self._node(node)),)

    def _at_use(self, value: Value, node: ast.Name) -> Value:
        """A local that holds only an unknown value is reported where it is used, not where it was bound."""
        if len(value) == 1 and isinstance(value[0], Hole) and (not value[0].candidates or value[0].param):
            return (dataclasses.replace(value[0], node=self._node(node), line=0, column=0),)
        return value

    def _attribute(self, node: ast.Attribute) -> Value | None:
        dotted = _attr_dotted(node)
        if dotted is None:
            return (Hole(self._code(node), "computed attribute", self._node(node)),)
        root, _, rest = dotted.partition(".")
        if root in ("self", "cls"):
            owner = self._enclosing_class()
            if owner:
                target = f"{self.facts.module}.{owner}.{rest}"
                return (
                    Ref(
                        target, dotted, self._attr_node(node), inherited=True, unknown=f"attribute `{dotted}`"
                    ),
                )
            return (Hole(dotted, f"attribute `{dotted}`", self._node(node)),)
        for scope in reversed(self.scopes):
            if scope.kind != "function":
                continue
            known = scope.values.get(dotted)  # `t.name` of a local `t = Table("x", ...)`
            if known is not None:
                return known
            if root in scope.types:  # a dataclass / NamedTuple field read through a typed object
                target = f"{scope.types[root]}.{rest}"
                return (
                    Ref(
                        target, dotted, self._attr_node(node), inherited=True, unknown=f"attribute `{dotted}`"
                    ),
                )
            if root in scope.params or root in scope.values:
                return (Hole(dotted, f"attribute `{dotted}`", self._node(node)),)
        # the position is the constant's own name: `ITEMS` in `t.ITEMS` and in `Tables.ITEMS.value`
        named = node.value if node.attr == "value" and isinstance(node.value, ast.Attribute) else node
        return (Ref(self._qualify(dotted), dotted, self._attr_node(named)),)

    def _subscript(self, node: ast.Subscript) -> Value | None:
        dotted = _attr_dotted(node.value)
        if dotted is not None and not isinstance(node.slice, (ast.Slice, ast.Tuple)):
            key = self._eval(node.slice)
            if key and all(isinstance(p, Lit) for p in key):
                if "." not in dotted:
                    local = self._dict_entries(dotted).get(literal_text(key))
                    if local is not None:
                        return local
                root = dotted.partition(".")[0]
                if self._local_name(root):
                    # an entry of a local value or a parameter (`row["table"]`, `data_dict["resource_id"]`):
                    # unknown here, never a module's constant defined nowhere
                    if "." not in dotted and isinstance(node.value, ast.Name):
                        passed = self._parameter_entries(node.value, [literal_text(key)])
                        if passed:  # a parameter's entry: the callers' dicts say it
                            return next(iter(passed.values()))
                    return (
                        Hole(
                            self._code(node), f"entry `{self._code(node)}` of a local value", self._node(node)
                        ),
                    )
                return (
                    Ref(f"{self._qualify(dotted)}[{literal_text(key)}]", self._code(node), self._node(node)),
                )
        return (Hole(self._code(node), "computed value", self._node(node)),)

    def _local_name(self, name: str) -> bool:
        """A name a function, a comprehension or a lambda around binds (not the module's)."""
        return any(name in frame for frame in self.comprehension_frames) or not self._module_name(name)

    def _lambda(self, node: ast.Lambda) -> None:
        """A lambda's parameters are its own unknown values while its body is walked."""
        args = node.args
        names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)
        frame: dict[str, Value] = {
            name: (Hole(name, f"parameter `{name}` of a lambda", self._node(node)),) for name in names
        }
        self.comprehension_frames.append(frame)
        try:
            self.visit(node.body)
        finally:
            self.comprehension_frames.pop()

    def _super_callee(self, func: ast.Attribute) -> str:
        """`super().__init__(...)` in a method: the method of the class's first base (the next in its MRO
        for single inheritance), so that a base that keeps a table name for its methods learns it from
        its subclasses' constructors; "" for anything else."""
        receiver = func.value
        if not (
            receiver.__class__ is ast.Call
            and receiver.func.__class__ is ast.Name  # type: ignore[attr-defined]
            and receiver.func.id == "super"  # type: ignore[attr-defined]
        ):
            return ""
        owner = self._enclosing_class()
        bases = self.facts.classes.get(owner, ()) if owner else ()
        return f"{bases[0]}.{func.attr}" if bases else ""

    def _enclosing_class(self) -> str:
        names: list[str] = []
        for scope in self.scopes[1:]:
            if scope.kind == "class":
                names.append(scope.name)
            elif names:
                break
        return ".".join(names)

    def _qualify(self, dotted: str) -> str:
        root, _, rest = dotted.partition(".")
        target = self.facts.imports.get(root)
        if target is None:
            return f"{self.facts.module}.{dotted}"
        return f"{target}.{rest}" if rest else target

    def _code(self, node: ast.AST) -> str:
        """An expression as written, for messages: `(QUERIES / "monthly.sql").read_text()`, never a node
        type; a call's arguments and a subscript's key are elided (this runs for every unknown value)."""
        if isinstance(node, (ast.Name, ast.Attribute)):
            dotted = _attr_dotted(node)
            if dotted is not None:
                return dotted
        if isinstance(node, ast.Call):
            return self._code(node.func) + ("(…)" if node.args or node.keywords else "()")
        if isinstance(node, ast.Subscript):
            return self._code(node.value) + "[…]"
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            tokens = self._tokens(node)
            raw = self.source[tokens[0].start : tokens[-1].end]
            return raw if len(raw) <= 40 else raw[:39] + "…"
        start = self._offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self._offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        text = " ".join(self.source[start : min(end, start + 400)].split())
        return text if len(text) <= _LABEL_WIDTH else text[: _LABEL_WIDTH - 1] + "…"


class _AttrName:
    """The attribute name of `a.b` as a leaf in a walk (ast keeps it as a plain string)."""

    __slots__ = ("node",)

    def __init__(self, node: ast.Attribute) -> None:
        self.node = node


# --- helpers ---------------------------------------------------------------------------------------


def _attr_dotted(node: ast.AST | None) -> str | None:
    if node.__class__ is ast.Name:  # the most common case: a bare name
        return node.id  # type: ignore[union-attr]
    parts: list[str] = []
    while node.__class__ is ast.Attribute:  # the parser builds exactly these classes
        parts.append(node.attr)  # type: ignore[union-attr]
        node = node.value  # type: ignore[union-attr]
    if node.__class__ is not ast.Name:
        return None
    parts.append(node.id)  # type: ignore[union-attr]
    return ".".join(reversed(parts))


def _chain_dotted(node: ast.AST) -> str | None:
    """A chain of attributes and calls from a name, each call read as the attribute whose type is what it
    returns (`self.hs.get_datastores().main` -> `self.hs.get_datastores.main`); None for anything else."""
    parts: list[str] = []
    while True:
        if node.__class__ is ast.Attribute:
            parts.append(node.attr)  # type: ignore[attr-defined]
            node = node.value  # type: ignore[attr-defined]
        elif node.__class__ is ast.Call:
            node = node.func  # type: ignore[attr-defined]
        else:
            break
    if node.__class__ is not ast.Name or node.id == "super" or not parts:  # type: ignore[attr-defined]
        return None
    parts.append(node.id)  # type: ignore[attr-defined]
    return ".".join(reversed(parts))


def _annotation_dotted(node: ast.AST | None) -> str | None:
    """The class an annotation names: `Database`, `db.Database`, a forward reference written as a string
    (`"Database"`, the usual form for a name imported under `TYPE_CHECKING`), `Optional[X]`, `X | None`,
    `Annotated[X, ...]`; None for anything else (a union of classes, a generic container)."""
    if node is None or node.__class__ in (ast.Name, ast.Attribute):
        return _attr_dotted(node)
    if node.__class__ is ast.Constant:
        text = node.value  # type: ignore[attr-defined]
        if not isinstance(text, str) or len(text) > _NAME_LENGTH:
            return None
        if _DOTTED.fullmatch(text):
            return text
        try:
            return _annotation_dotted(ast.parse(text.strip(), mode="eval").body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    if node.__class__ is ast.BinOp and node.op.__class__ is ast.BitOr:  # type: ignore[attr-defined]
        sides = [node.left, node.right]  # type: ignore[attr-defined]
        kept = [side for side in sides if not (side.__class__ is ast.Constant and side.value is None)]
        return _annotation_dotted(kept[0]) if len(kept) == 1 else None
    if node.__class__ is ast.Subscript:
        wrapper = (_attr_dotted(node.value) or "").rpartition(".")[2]  # type: ignore[attr-defined]
        inner = node.slice  # type: ignore[attr-defined]
        if wrapper == "Optional":
            return _annotation_dotted(inner)
        if wrapper == "Annotated" and inner.__class__ is ast.Tuple and inner.elts:  # type: ignore[attr-defined]
            return _annotation_dotted(inner.elts[0])  # type: ignore[attr-defined]
        if wrapper == "Union" and inner.__class__ is ast.Tuple:
            kept = [e for e in inner.elts if not (e.__class__ is ast.Constant and e.value is None)]  # type: ignore[attr-defined]
            kept = [e for e in kept if _attr_dotted(e) != "None"]
            return _annotation_dotted(kept[0]) if len(kept) == 1 else None
    return None


# a string argument that cannot be a table name (prose, SQL text): known, and kept small in the summary
_NOT_A_NAME: Value = (Lit(" ", 0, 0, "", 0, False, False),)
_NAME_LENGTH = 128  # longer literal text is no table name a summary checks


def _may_bind(sink: Sink, value: Value) -> bool:
    """The sink passes parameters and its SQL may look a relation up by one (text written elsewhere, a
    constant or a hole, may: it is read when the statement is assembled)."""
    if sink.params is None and not sink.params_keywords:
        return False
    return any(p.__class__ is not Lit for p in value) or bool(bind_lookups(literal_text(value)))


def _fixture_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name a pytest fixture is requested by (`@pytest.fixture`, `@fixture(name="db")`), or None."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        dotted = _attr_dotted(call.func if call is not None else decorator)
        if dotted is None or dotted.rpartition(".")[2] != "fixture":
            continue
        for keyword in call.keywords if call is not None else ():
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
        return node.name
    return None


def _returned_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name a fixture's body returns or yields last (`return mk_table`), when it is a plain name."""
    found = None
    for statement in node.body:
        value = statement.value if isinstance(statement, ast.Return | ast.Expr) else None
        if isinstance(value, ast.Yield | ast.YieldFrom):
            value = value.value
        if isinstance(value, ast.Name):
            found = value.id
    return found


def _same_parameter(one: object, other: object) -> bool:
    """Both values are the same parameter, as it was passed (`seq` and `sorted(seq)`)."""
    holes = [v[0] for v in (one, other) if isinstance(v, tuple) and len(v) == 1 and isinstance(v[0], Hole)]
    return (
        len(holes) == 2
        and bool(holes[0].param)
        and (holes[0].function, holes[0].param) == (holes[1].function, holes[1].param)
        and not holes[0].candidates
        and not holes[1].candidates
    )


def _for_summary(value: Value | None) -> Value:
    """A call argument as a helper summary keeps it: () when unknown, and literal text that cannot be a
    table name (it has spaces, or is long) as one shared marker, so the summaries stay small."""
    if not value:
        return ()
    if len(value) == 1 and value[0].__class__ is Hole and value[0].param:  # type: ignore[union-attr]
        return value  # the caller's own parameter, passed on
    if len(value) == 1 and value[0].__class__ is Hole and value[0].candidates:  # type: ignore[union-attr]
        return value  # one of known values (`for name in ["a", "b"]`): each is matched at the call
    kinds = {p.__class__ for p in value}
    if Hole in kinds:
        return ()  # partly unknown: not a name a summary can check
    if kinds == {Lit}:
        text = literal_text(value)
        if len(text) > _NAME_LENGTH or text.split() != [text]:  # empty, or with white space in it
            # SQL that looks a table up by a bind parameter is kept: a wrapper that passes it on to a sink
            # with the call's parameters makes them table names (resolve.py `_forwarded_binds`)
            return value if _looks_up_by_bind(text) else _NOT_A_NAME
    return value


_BIND_MARK = re.compile(r"%s|%\(|\$\d|:[A-Za-z_]|\?")  # a bind parameter, as the drivers write them


def _looks_up_by_bind(text: str) -> bool:
    """Literal SQL that looks a table up by a bind parameter (`WHERE tablename = %s`): kept whole in a
    call's summary, for the wrappers that pass it on with their parameters."""
    return _BIND_MARK.search(text) is not None and bool(bind_lookups(text))


_STRING_NODES = (ast.Constant, ast.JoinedStr, ast.BinOp)


def _literal_rows(target: ast.Tuple | ast.List, iterable: ast.expr | None) -> list[list[ast.expr]] | None:
    """The rows of a list, tuple or set written out, each a tuple or list as long as the target of plain
    names (`for a, b in [(x, y), ...]`); None when the loop is not of that shape."""
    if not isinstance(iterable, (ast.List, ast.Tuple, ast.Set)) or not iterable.elts:
        return None
    if not all(isinstance(e, ast.Name) for e in target.elts):
        return None
    rows = []
    for row in iterable.elts:
        if not isinstance(row, (ast.Tuple, ast.List)) or len(row.elts) != len(target.elts):
            return None
        if any(isinstance(e, ast.Starred) for e in row.elts):
            return None
        rows.append(row.elts)
    return rows


def _unpacked_names(target: ast.Tuple | ast.List) -> Iterator[ast.Name]:
    """The names a tuple or list target binds, nested ones and `*rest` included."""
    for element in target.elts:
        element = _unstar(element)
        if isinstance(element, ast.Name):
            yield element
        elif isinstance(element, (ast.Tuple, ast.List)):
            yield from _unpacked_names(element)


_LIST_METHODS = ("append", "extend", "insert")  # the calls that add fragments to a list
# receivers that are values written out: their methods are Python's (`", ".join(...)`, `[].append(...)`)
_LITERAL_RECEIVERS = frozenset(
    (ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp,
     ast.DictComp, ast.GeneratorExp)
)  # fmt: skip
_KEYS = "{}"  # a dict's name with this suffix, in a scope's lists: its literal keys (no name ends so)


def _holds_strings(node: ast.Dict) -> bool:
    return any(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.values)


def _sql_path(node: ast.expr) -> str:
    """The literal name of the .sql file an expression reads ("" when it names none)."""
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Constant)
            and isinstance(child.value, str)
            and child.value.lower().endswith(".sql")
        ):
            return child.value
    return ""


def call_matches(pattern: str, qualified: str) -> bool:
    """A rule pack's dotted callable matches the resolved name, its re-exports and suffixes."""
    if qualified == pattern or qualified.endswith("." + pattern):
        return True
    p_head, _, p_last = pattern.partition(".")
    q_head = qualified.split(".", 1)[0]
    return bool(p_last) and p_head == q_head and qualified.rsplit(".", 1)[-1] == pattern.rsplit(".", 1)[-1]


def _receiver_calls(node: ast.expr, methods: Sequence[str]) -> bool:
    while True:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in methods:
                return True
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return False


def _receiver_names(node: ast.expr) -> set[str]:
    """Every attribute and method name along a receiver chain: `client.storage.from_` -> {storage, ...}."""
    names: set[str] = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.add(node.id)
            return names
        else:
            return names


def _table_args_schema(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.Tuple) and node.elts:
        node = _unstar(node.elts[-1])
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "schema":
                return value
    return None


# bases that make no class an ORM model (a class built only on these is a mixin)
NEUTRAL_BASES = frozenset({"object", "Generic", "Protocol", "ABC"})
_SCHEMA_BUILDERS = frozenset({"MetaData", "declarative_base", "registry", "generate_base"})


def _declarative(node: ast.ClassDef) -> str:
    """ "declarative_base" for `@as_declarative()`, "mapped" for `@registry.mapped` and
    `@reg.mapped_as_dataclass`, "" for a class no decorator makes declarative."""
    for decorator in node.decorator_list:
        dotted = _attr_dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        last = dotted.rsplit(".", 1)[-1]
        if last == "as_declarative":
            return "declarative_base"
        if last in ("mapped", "mapped_as_dataclass"):
            return "mapped"
    return ""


def _class_name_form(node: ast.expr) -> str:
    """`cls.__name__.lower()` -> "lower", `cls.__name__` -> "name"; "" for anything else."""
    if isinstance(node, ast.Call) and not node.args and isinstance(node.func, ast.Attribute):
        return "lower" if node.func.attr == "lower" and _class_name_form(node.func.value) == "name" else ""
    return "name" if _attr_dotted(node) in ("cls.__name__", "self.__name__") else ""


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _synthetic(text: str) -> Lit:
    """Text the analyzer adds (quotes, separators); it has no source position."""
    return Lit(text, 0, 0, "", 0, False, False, 0, "")


def _decode_fpart(raw: str, raw_prefix: bool, quote: str) -> str | None:
    text = raw.replace("{{", "{").replace("}}", "}")
    if raw_prefix or "\\" not in text:
        return text
    try:
        value = ast.literal_eval(f"{quote}{text}{quote}")
    except (SyntaxError, ValueError):
        return None
    return value if isinstance(value, str) else None


def _slice(lit: Lit, start: int, end: int) -> Lit:
    return Lit(
        lit.text[start:end],
        lit.line,
        lit.column,
        lit.raw,
        lit.body,
        lit.escapes,
        lit.fpart,
        lit.start + start,
        lit.block,
    )


_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE = re.compile(r"\{\{|\}\}|\{(?P<field>[^{}!:]*)(?:![rsa])?(?::[^{}]*)?\}")


_ANY_KEY = "*"  # a params dict passed in to a template whose keys are known only to the resolver
_REST = "*args"  # the positional fields past those written out: `.format(*parts)`


def _named(named: dict[str, Value], key: str) -> Value | None:
    """The value of a named field: the entry, or the entry of any key of a params dict passed in."""
    found = named.get(key)
    if found is None and _ANY_KEY in named:
        found = tuple(
            dataclasses.replace(
                p,
                label=p.label.replace(repr(_ANY_KEY), repr(key)),
                reason=p.reason.replace(repr(_ANY_KEY), repr(key)),
                param=p.param.replace(f"[{_ANY_KEY}]", f"[{key}]"),
            )
            if isinstance(p, Hole)
            else p
            for p in named[_ANY_KEY]
        )
    return found


def _deferred(template: Ref, style: str, positional: list[Value], named: dict[str, Value]) -> Value:
    """A template whose text is known only to the resolver (imported, or defined later in the module),
    with the arguments it is formatted with here."""
    return (dataclasses.replace(template, formatting=(style, tuple(positional), tuple(named.items()))),)


# decorators that leave what a call of the function returns as its body returns it
_PLAIN_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "cache", "lru_cache", "cached", "abstractmethod", "override", "wraps"}
)

# the expressions whose value a function's return keeps (text-like ones; anything else is unknown)
_RETURNED_TEXT = frozenset(
    {ast.JoinedStr, ast.BinOp, ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.IfExp}
)

# methods and functions that keep a text's words (and so its table names) as they were
_STRIPS = frozenset({"strip", "lstrip", "rstrip"})
_SAME_WORDS = _STRIPS | {"upper", "lower", "casefold"}
_SAME_TEXT = frozenset({"string.Template", "textwrap.dedent", "inspect.cleandoc"})


def _replaced(value: Value, old: str, new: Value) -> Value:
    """`value.replace(old, new)` on the text written out (an occurrence across two pieces is left as is)."""
    return _substituted(value, re.compile(re.escape(old)), lambda piece, match: new)


def _substituted(
    template: Value, pattern: re.Pattern[str], fill: Callable[[Lit, re.Match[str]], Value]
) -> Value:
    """The template with each match of ``pattern`` in its written-out text replaced by what ``fill`` gives
    for it (matched left to right; unknown pieces kept as they are)."""
    out: list[Piece] = []
    for piece in template:
        if not isinstance(piece, Lit):
            out.append(piece)
            continue
        last = 0
        for match in pattern.finditer(piece.text):
            out.append(_slice(piece, last, match.start()))
            out.extend(fill(piece, match))
            last = match.end()
        out.append(_slice(piece, last, len(piece.text)))
    return tuple(p for p in out if not (isinstance(p, Lit) and not p.text))


REPLACE = "replace"  # a deferred `.replace(old, new)`: positional (old, new)
ELEMENTS = "[]"  # a deferred "formatting": the elements of the sequence the reference holds, joined


def elements_of(value: Value | None) -> Value | None:
    """An element of the sequence a value holds when the value is a parameter, passed as it came: the
    parameter `name[]`, which each caller's list fills in; None for anything else."""
    if not (value and len(value) == 1 and isinstance(value[0], Hole)):
        return None
    hole = value[0]
    if not hole.param or "[" in hole.param or hole.param.startswith("*"):
        return None
    return (dataclasses.replace(hole, reason=f"an element of {hole.reason}", param=f"{hole.param}[]"),)


def apply_formatting(template: Value, formatting: Formatting) -> Value:
    """A deferred `%` or `.format` applied to the template's value."""
    style, positional, named = formatting
    if style == "%":
        return _percent_format(template, list(positional), dict(named))
    if style == "$":
        return _dollar_format(template, dict(named))
    if style == REPLACE:
        old, new = positional
        return _replaced(template, literal_text(old), new)
    return _brace_format(template, list(positional), dict(named))


def _percent_format(template: Value, positional: list[Value], named: dict[str, Value]) -> Value:
    places = iter(range(1 << 30))  # the next positional `%s`

    def fill(piece: Lit, match: re.Match[str]) -> Value:
        if match.group("conv") == "%":
            return (_slice(piece, match.start() + 1, match.end()),)
        if match.group("key") is not None:
            return _named(named, match.group("key")) or (_synthetic(match.group(0)),)
        index = next(places)
        if index < len(positional):
            return positional[index]
        return named.get(_REST) or (_synthetic(match.group(0)),)

    return _substituted(template, _PERCENT, fill)


def _dollar_format(template: Value, named: dict[str, Value]) -> Value:
    """`string.Template` substitution: `$name`, `${name}`, `$$` (a dollar sign)."""

    def fill(piece: Lit, match: re.Match[str]) -> Value:
        key = match.group("name") or match.group("braced")
        if key is None:
            return (_slice(piece, match.start() + 1, match.end()),)
        return _named(named, key) or (_synthetic(match.group(0)),)

    return _substituted(template, _DOLLAR, fill)


def _dollar_fields(template: Value) -> list[str]:
    return [
        m.group("name") or m.group("braced")
        for m in _DOLLAR.finditer(literal_text(template))
        if m.group(0) != "$$"
    ]


_DOLLAR = re.compile(r"\$\$|\$(?:(?P<name>[_a-zA-Z][_a-zA-Z0-9]*)|\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)\})")


def _brace_format(template: Value, positional: list[Value], named: dict[str, Value]) -> Value:
    places = iter(range(1 << 30))  # the next automatic `{}`

    def fill(piece: Lit, match: re.Match[str]) -> Value:
        field_name = match.group("field")
        if field_name is None:
            return (_slice(piece, match.start(), match.start() + 1),)
        key = field_name.split(".")[0].split("[")[0]
        if key == "" or key.isdigit():
            index = next(places) if key == "" else int(key)
            value = positional[index] if index < len(positional) else named.get(_REST)
        else:
            value = _named(named, key)
        return value if value is not None else (_synthetic(match.group(0)),)

    return _substituted(template, _BRACE, fill)


# builtins that copy a list of names into another container (`set(inspector.get_table_names())`)
_COPIES = frozenset({"set", "frozenset", "list", "tuple", "sorted"})
_DATACLASS_DECORATORS = frozenset({"dataclasses.dataclass"})
_PYDANTIC_MODELS = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel", "pydantic.v1.BaseModel"})


def _candidate_texts(value: Value, depth: int = 0) -> Iterator[str]:
    """The literal texts of the values a value's unknown parts may take (an `if`'s branches, a loop over a
    literal list, a default), as far as the resolution expands them."""
    for piece in value:
        if isinstance(piece, Hole) and piece.candidates and depth < 3:
            for candidate in piece.candidates:
                yield literal_text(candidate)
                yield from _candidate_texts(candidate, depth + 1)


def _qualifies_by_param(value: Value) -> bool:
    """A parameter written before `.column` (`{table}.subject`): the helper may take a table name. A
    parameter before a dotted path (`"%s.management.commands.%s" % (app, name)`) is a module's name."""
    return any(
        isinstance(piece, Hole) and piece.param and isinstance(after, Lit) and _COLUMN_AFTER.match(after.text)
        for piece, after in itertools.pairwise(value)
    )


# `.column` after a table name: one name, not the first of a dotted path (`{app}.management.commands`)
_COLUMN_AFTER = re.compile(r"\.[A-Za-z_]\w*(?![\w.])")
_BRACE_FIELD = re.compile(r"\{([A-Za-z_]\w*)[^{}]*\}")  # `{table}`, `{table!s}`, `{table:>10}`


for _cls in (Site, ModelClass, FunctionInfo, CallSite, TableClass):
    _cls.__reduce__ = slots_reduce  # type: ignore[method-assign,assignment]
