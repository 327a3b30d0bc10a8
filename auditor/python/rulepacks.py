"""Rule packs: data that says where SQL text and table names enter the code (one pack per library)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from auditor.catalog.config import ConfigError

# "mapping" is a table name that maps an ORM model (reported as LR003 rather than LR004)
SINK_KINDS = frozenset({"sql", "table", "table-column", "postgrest-select", "identifier", "mapping"})


@dataclass(frozen=True, slots=True)
class Sink:
    """A call argument that carries SQL text or a table name."""

    pack: str
    kind: str  # one of SINK_KINDS
    call: str | None = None  # dotted callable resolved through imports, e.g. "sqlalchemy.text"
    method: str | None = None  # attribute call on any receiver, e.g. "execute"
    args: tuple[int, ...] = ()
    keywords: tuple[str, ...] = ()
    schema_keyword: str | None = None  # keyword argument naming the schema, e.g. pandas to_sql(schema=)
    receiver_has: tuple[str, ...] = ()  # the receiver chain must call one of these methods first
    receiver_excludes: tuple[str, ...] = ()  # not when the receiver chain names one of these (`.storage`)
    receiver_schema: str | None = None  # method on the receiver chain that sets the schema
    all_args: bool = False  # every positional argument, joined with "." (psycopg sql.Identifier)
    schema_position: int | None = None  # positional argument that is the schema (`get_columns(t, schema)`)
    schema_arg: int | None = None  # positional argument whose `.schema` is the default (Table's MetaData)
    receiver_types: tuple[str, ...] = ()  # the receiver is built by / annotated as one of these
    # a method name that other APIs share (`select`, `insert`): a value that names a legacy table is a
    # finding, but an unresolved value is no LR005 (the receiver may be a list, a set, a CSS selector)
    names_only: bool = False
    # set by the extractor on a matched sink whose receiver is a name imported from another module: that
    # name (dotted), whose type, read in its own module, decides whether the sink applies
    receiver: str = ""
    # the bind parameters the SQL gets: the positional argument that holds them (a sequence or a mapping;
    # a plain value there starts asyncpg's one-argument-each form), or one of these keywords
    params: int | None = None
    params_keywords: tuple[str, ...] = ()
    # text the SQL is the rest of: alembic_utils' `definition=` of a function, a trigger or a policy is
    # the tail of its CREATE statement (`CREATE TRIGGER t ` + "AFTER INSERT ON orders FOR EACH ROW ...")
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class MappingRule:
    """A class attribute that maps an ORM model onto a table."""

    pack: str
    attribute: str
    inner_class: str | None = None  # e.g. "Meta" for Django and Peewee
    # the name passes from a class that maps nothing (a mixin, an abstract base) to the mapped classes
    # that inherit it; a class that is never mapped names no table
    inherited: bool = False
    abstract: str | None = None  # a class attribute that, set to True, says the class maps nothing
    base_classes: tuple[str, ...] = ()  # a class built directly on one of these maps nothing (the base)
    # only a string written there names a table (PyPika's `__table__ = "users"`; SQLAlchemy's `__table__`
    # holds a Table object, named where it is built)
    strings_only: bool = False


@dataclass(frozen=True, slots=True)
class ModelDefault:
    """Base classes whose subclasses get a table name derived from the model when none is given."""

    pack: str
    bases: tuple[str, ...]
    style: str  # "django"


@dataclass(frozen=True, slots=True)
class Lookup:
    """A container of tables keyed by name: the key of `container[key]` (or the first argument of
    `container.get(key)`) names a table. SQLAlchemy's `metadata.tables["t"]`, the dataset library's
    `db["t"]`."""

    pack: str
    kind: str  # "table"
    attribute: str = ""  # the container is this attribute of the receiver (`tables`), or the receiver itself
    methods: tuple[str, ...] = ()  # the container's methods whose first argument is a key (`get`)
    receiver_types: tuple[str, ...] = ()  # the receiver is built by / annotated as one of these
    receiver_names: tuple[str, ...] = ()  # or it is called so (`metadata`, `Base.metadata`)
    names_only: bool = False  # as for a sink: an unresolved key is no LR005
    # methods of the receiver that return a list of table names (`inspector.get_table_names()`): a name
    # looked up in that list (`"t" in names`, `name == t` or `t.startswith(name)` for each `t` of it) is
    # a lookup of the table by name
    returned_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class RulePacks:
    names: tuple[str, ...]
    sinks: tuple[Sink, ...]
    mappings: tuple[MappingRule, ...]
    model_defaults: tuple[ModelDefault, ...]
    lookups: tuple[Lookup, ...] = ()
    declared: tuple[str, ...] = ()  # the packs a team wrote: its config's sinks ("config"), its own files

    def declared_calls(self) -> list[tuple[str, bool, tuple[int, ...], tuple[str, ...]]]:
        """The calls of the sinks a team declared: (name, a method, argument positions, keywords)."""
        return [
            (sink.method or (sink.call or "").rsplit(".", 1)[-1], bool(sink.method), sink.args, sink.keywords)
            for sink in self.sinks
            if sink.pack in self.declared and not sink.names_only and (sink.method or sink.call)
        ]

    def method_sinks(self) -> dict[str, list[Sink]]:
        table: dict[str, list[Sink]] = {}
        for sink in self.sinks:
            if sink.method:
                table.setdefault(sink.method, []).append(sink)
        return table

    def call_sinks(self) -> dict[str, list[Sink]]:
        """Call sinks keyed by their last dotted component, for a fast first match."""
        table: dict[str, list[Sink]] = {}
        for sink in self.sinks:
            if sink.call:
                table.setdefault(sink.call.rsplit(".", 1)[-1], []).append(sink)
        return table


def builtin_pack_dir() -> str:
    """The packs ship in the wheel as auditor/_rules; a source checkout reads the top-level rules/."""
    packaged = resources.files("auditor") / "_rules"
    if packaged.is_dir():
        return str(packaged)
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(checkout, "rules")


def load_rule_packs(
    extra_files: Sequence[str] = (), config_sinks: Iterable[Mapping[str, Any]] = ()
) -> RulePacks:
    directory = builtin_pack_dir()
    files = sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".toml"))
    names: list[str] = []
    sinks: list[Sink] = []
    mappings: list[MappingRule] = []
    defaults: list[ModelDefault] = []
    lookups: list[Lookup] = []
    declared = ["config"]
    for path in [*files, *extra_files]:
        data = _read_pack(path)
        name = data.get("name") or os.path.splitext(os.path.basename(path))[0]
        names.append(name)
        if path in extra_files:
            declared.append(name)
        where = f"rule pack {path}"
        sinks.extend(_sink(one, name, where) for entry in data.get("sink", []) for one in _each_method(entry))
        mappings.extend(_mapping(entry, name, where) for entry in data.get("mapping", []))
        defaults.extend(_default(entry, name, where) for entry in data.get("model_default", []))
        lookups.extend(_lookup(entry, name, where) for entry in data.get("lookup", []))
    sinks.extend(
        _sink(one, "config", "config sinks") for entry in config_sinks for one in _each_method(entry)
    )
    return RulePacks(
        tuple(names), tuple(sinks), tuple(mappings), tuple(defaults), tuple(lookups), tuple(declared)
    )


def _read_pack(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read rule pack {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rule pack {path}: invalid TOML: {exc}") from None


_SINK_KEYS = frozenset(
    {
        "call",
        "method",
        "arg",
        "args",
        "keyword",
        "keywords",
        "kind",
        "schema_keyword",
        "receiver_has",
        "receiver_excludes",
        "receiver_schema",
        "all_args",
        "schema_arg",
        "schema_position",
        "methods",
        "receiver_types",
        "names_only",
        "params",
        "params_keywords",
        "prefix",
        "doc",
    }
)


def _each_method(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`methods = ["a", "b"]` is shorthand for one sink per method."""
    methods = entry.get("methods")
    if methods is None:
        return [entry]
    rest = {k: v for k, v in entry.items() if k != "methods"}
    return [{**rest, "method": m} for m in methods] if isinstance(methods, list) else [{**rest, "method": 0}]


def _sink(entry: Mapping[str, Any], pack: str, where: str) -> Sink:
    unknown = sorted(set(entry) - _SINK_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown sink key {unknown[0]!r}")
    call, method = entry.get("call"), entry.get("method")
    if (call is None) == (method is None) or not isinstance(call or method, str):
        raise ConfigError(f'{where}: a sink needs exactly one of call = "module.function" or method = "name"')
    kind = entry.get("kind", "sql")
    if kind not in SINK_KINDS:
        raise ConfigError(f"{where}: sink kind {kind!r} is not one of {', '.join(sorted(SINK_KINDS))}")
    args = _ints(entry.get("args", [entry["arg"]] if "arg" in entry else []), where)
    keywords = _strs(entry.get("keywords", [entry["keyword"]] if "keyword" in entry else []), where)
    all_args = bool(entry.get("all_args", False))
    prefix = entry.get("prefix", "")
    if not isinstance(prefix, str):
        raise ConfigError(f"{where}: a sink's prefix must be a string")
    if prefix and kind != "sql":
        raise ConfigError(f'{where}: only an SQL sink (kind = "sql") takes a prefix')
    if not args and not keywords and not all_args:
        raise ConfigError(f"{where}: sink {call or method!r} names no arg or keyword")
    return Sink(
        pack=pack,
        kind=kind,
        call=call,
        method=method,
        args=args,
        keywords=keywords,
        schema_keyword=entry.get("schema_keyword"),
        receiver_has=_strs(entry.get("receiver_has", []), where),
        receiver_excludes=_strs(entry.get("receiver_excludes", []), where),
        receiver_schema=entry.get("receiver_schema"),
        all_args=all_args,
        schema_arg=_optional_int(entry.get("schema_arg"), where),
        schema_position=_optional_int(entry.get("schema_position"), where),
        receiver_types=_strs(entry.get("receiver_types", []), where),
        names_only=bool(entry.get("names_only", False)),
        params=_optional_int(entry.get("params"), where),
        params_keywords=_strs(entry.get("params_keywords", []), where),
        prefix=prefix,
    )


def _mapping(entry: Mapping[str, Any], pack: str, where: str) -> MappingRule:
    attribute = entry.get("attribute")
    if not isinstance(attribute, str):
        raise ConfigError(f'{where}: a mapping needs attribute = "name"')
    return MappingRule(
        pack,
        attribute,
        entry.get("inner_class"),
        bool(entry.get("inherited", False)),
        entry.get("abstract"),
        _strs(entry.get("base_classes", []), where),
        bool(entry.get("strings_only", False)),
    )


_LOOKUP_KEYS = frozenset(
    {"kind", "attribute", "methods", "receiver_types", "receiver_names", "names_only", "returned_by", "doc"}
)


def _lookup(entry: Mapping[str, Any], pack: str, where: str) -> Lookup:
    unknown = sorted(set(entry) - _LOOKUP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown lookup key {unknown[0]!r}")
    kind = entry.get("kind", "table")
    if kind != "table":
        raise ConfigError(f'{where}: a lookup\'s kind must be "table"')
    attribute = entry.get("attribute", "")
    if not isinstance(attribute, str):
        raise ConfigError(f"{where}: a lookup's attribute must be a string")
    types = _strs(entry.get("receiver_types", []), where)
    names = _strs(entry.get("receiver_names", []), where)
    if not types and not names:
        raise ConfigError(f"{where}: a lookup needs receiver_types or receiver_names")
    return Lookup(
        pack,
        kind,
        attribute,
        _strs(entry.get("methods", []), where),
        types,
        names,
        bool(entry.get("names_only", False)),
        _strs(entry.get("returned_by", []), where),
    )


def _default(entry: Mapping[str, Any], pack: str, where: str) -> ModelDefault:
    style = entry.get("style")
    if style != "django":
        raise ConfigError(f'{where}: model_default style must be "django"')
    return ModelDefault(pack, _strs(entry.get("bases", []), where), style)


def _ints(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise ConfigError(f"{where}: arg/args must be non-negative integers")
    return tuple(value)


def _optional_int(value: Any, where: str) -> int | None:
    return None if value is None else _ints([value], where)[0]


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)
