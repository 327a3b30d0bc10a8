"""Resolve symbolic values across modules and match them against the legacy catalog (Python side)."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from auditor.catalog.names import LegacyCatalog, fold_identifier, name_pattern
from auditor.core.model import (
    Confidence,
    Finding,
    HeldHelper,
    InferredSink,
    LegacyObject,
    Span,
    Suggestion,
)
from auditor.python.extract import (
    ELEMENTS,
    FIXTURE_CALLEE,
    FORWARDED_BINDS,
    NEUTRAL_BASES,
    POSTGREST_PATH,
    SQL_START,
    UNATTRIBUTED,
    UNKNOWN_TABLE_ARGS,
    CallSite,
    FunctionInfo,
    ModelClass,
    ModuleFacts,
    Site,
    TableClass,
    apply_formatting,
    call_matches,
    elements_of,
    passes_parameter,
)
from auditor.python.postgrest import embedded_resources
from auditor.python.unparsed_callers import also_called
from auditor.python.values import ENUM_VALUE, Hole, Lit, Piece, Ref, Value, member_name
from auditor.sql.analyses import NAME_VALUE, REFERENCE, table_references
from auditor.sql.binds import bind_lookups
from auditor.sql.mentions import sql_word_reason
from auditor.sql.rewrite import rewrite_reference, rewrite_schema

HOLE_PREFIX = "__audit_hole_"
_HOLE = re.compile(HOLE_PREFIX + r"\d+__")


def _hole_text(index: int) -> str:
    """What stands in assembled SQL text for the unknown piece at ``index`` (a name the parser reads)."""
    return f"{HOLE_PREFIX}{index}__"


_MAX_DEPTH = 25
_MAX_VARIANTS = 8
_V = TypeVar("_V")
_SPLIT_DOTTED = re.compile(r"\.(?![^\[]*\])")
_TABLE_NAME = re.compile(r'\s*(?:"[^"]+"|[\w$]+)(?:\s*\.\s*(?:"[^"]+"|[\w$]+)){0,2}\s*')
# Python SQL that defines or drops the legacy view itself is the compatibility layer or Phase 3 (CREATE
# TABLE / DROP TABLE of the name is not: it treats the name as the table it no longer is).
_NOT_BLOCKING_POSITIONS = frozenset({"create", "drop"})
_RULE_ORDER = {
    "mapping": 0, "table": 1, "identifier": 1, "table-column": 1, "postgrest-select": 1, "postgrest-url": 1,
    "sql": 2,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Via:
    """A named value a piece came through: the use, and what it resolved to."""

    ref: Ref
    path: str  # file of the use
    definition: str  # "app.db.tables.ORDER_ITEMS"
    defined_in: str  # "app/db/tables.py"
    holds_name: bool  # the whole value is one table name (not SQL text)


@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    end: int
    piece: Lit | Hole
    path: str  # file the piece is written in
    via: tuple[Via, ...]


@dataclass
class Assembly:
    text: str
    segments: list[Segment]
    approximate: bool = False  # a value picked from non-exhaustive candidates


@dataclass
class PendingPosition:
    """A finding whose position is an expression, found by the lazy position pass."""

    index: int
    path: str
    node: int


# bases outside the scanned code that give a model no column: an ORM's root class (Django's and
# Flask-SQLAlchemy's `Model`, a declarative `Base`, SQLAlchemy's DeclarativeBase, SQLModel) or a neutral one
_COLUMNLESS_BASES = NEUTRAL_BASES | {
    "Model", "Base", "DeclarativeBase", "DeclarativeBaseNoMeta", "SQLModel", "AsyncAttrs",
    "MappedAsDataclass",
}  # fmt: skip


# columns an ORM adds without a word in the class (Django's primary key)
_IMPLICIT_COLUMNS = frozenset({"id"})


@dataclass
class Resolution:
    findings: list[Finding] = field(default_factory=list)
    pending: list[PendingPosition] = field(default_factory=list)
    # occurrences of legacy names the matching looked at and ruled out: (path, line, column) -> why
    examined: dict[tuple[str, int, int], str] = field(default_factory=dict)
    sinks: list[InferredSink] = field(default_factory=list)
    sql_files: list[tuple[str, str, str]] = field(default_factory=list)  # (.py path, block, .sql name read)
    # LR005s that the calls of a method in the modules not parsed decide (see `Resolver._hold`)
    held: list[HeldHelper] = field(default_factory=list)
    # legacy name -> every column the scanned code gives its table, where they are all known (see
    # `Resolver._known_columns`)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)


ParamKey = tuple[str, str]  # (dotted function, parameter)


@dataclass
class _Summary:
    """A parameter that reaches a table position: what it reaches, and its LR005 until callers vouch."""

    reaches: str
    chain: tuple[str, ...]
    unresolved: list[tuple[Finding, int | None]] = field(default_factory=list)
    # it reaches a PostgREST URL, whose schema a request header chooses: a name in any schema may be it
    any_schema: bool = False
    schema: Value | None = None  # the schema the sink it reaches names (`.schema("billing").table(name)`)


class Resolver:
    def __init__(self, modules: Iterable[ModuleFacts], catalog: LegacyCatalog) -> None:
        self.catalog = catalog
        self.modules: dict[str, ModuleFacts] = {}
        suffixes: dict[str, str | None] = {}
        for facts in modules:
            self.modules[facts.module] = facts
            parts = facts.module.split(".")
            for i in range(1, len(parts)):
                suffix = ".".join(parts[i:])
                suffixes[suffix] = None if suffix in suffixes else facts.module
        self.suffixes = suffixes
        self._seen: set[tuple[str, int, int, str]] = set()
        self._unknown_at: set[tuple[str, Span]] = set()  # where an LR005 was reported
        # unknown values of Identifier() sinks, and the places of the unknown pieces of analysed SQL texts
        self._identifier_unknowns: list[tuple[ModuleFacts, Site, Assembly, int, int, bool]] = []
        self._composed: dict[str, list[Hole]] = {}
        self._result = Resolution()
        self._names = name_pattern(catalog.bare_names)
        self.summaries: dict[ParamKey, _Summary] = {}
        # parameters that reach only a names-only sink: helpers too, once the stronger summaries (a
        # helper chain through scanned functions) have had their say
        self._weak: dict[ParamKey, _Summary] = {}
        self._class_targets: dict[str, str | None] = {}
        self._function_targets: dict[str, str | None] = {}
        self._classes: dict[str, tuple[ModuleFacts, str]] = {
            f"{facts.module}.{local}": (facts, local)
            for facts in self.modules.values()
            for local in facts.classes
        }
        self._children: dict[str, list[str]] | None = None
        self._models: dict[str, tuple[ModuleFacts, ModelClass]] | None = None
        self._mixins: dict[str, bool] = {}
        self._derived_tables: dict[str, str] = {}  # Django model -> the default table it maps
        self._blocks: dict[str, str] | None = None
        self.functions: dict[str, tuple[ModuleFacts, FunctionInfo]] = {
            f"{facts.module}.{local}": (facts, info)
            for facts in self.modules.values()
            for local, info in facts.functions.items()
        }

    # --- lookup across modules -------------------------------------------------------------------

    def module(self, name: str) -> ModuleFacts | None:
        found = self.modules.get(name)
        if found is None:
            alias = self.suffixes.get(name)
            found = self.modules.get(alias) if alias else None
        return found

    def lookup(self, target: str, depth: int = 0) -> tuple[Value, ModuleFacts, str] | None:
        """The value of a dotted name: a constant, a class attribute, or a re-exported import."""
        if depth > _MAX_DEPTH:
            return None
        parts = _SPLIT_DOTTED.split(target)
        for i in range(len(parts) - 1, 0, -1):
            facts = self.module(".".join(parts[:i]))
            if facts is None:
                continue
            key = ".".join(parts[i:])
            value = facts.constants.get(key)
            if value is None and key.endswith(ENUM_VALUE):
                value = facts.constants.get(key[: -len(ENUM_VALUE)])  # an Enum member's .value
            if value is not None:
                return value, facts, f"{facts.module}.{key}"
            head, _, rest = key.partition(".")
            bare = head.split("[", 1)[0]
            imported = facts.imports.get(bare)
            if imported is not None and imported != target:
                return self.lookup(imported + head[len(bare) :] + (f".{rest}" if rest else ""), depth + 1)
            return None
        return None

    # --- assembling text -------------------------------------------------------------------------

    def assemble(self, value: Value, path: str) -> list[Assembly]:
        variants: list[Assembly] = []
        for pieces, approximate in self._variants(list(self._expand(value, path, (), 0)), 0):
            text_parts: list[str] = []
            segments: list[Segment] = []
            offset = 0
            for piece, piece_path, via in pieces:
                text = piece.text if isinstance(piece, Lit) else _hole_text(len(segments))
                segments.append(Segment(offset, offset + len(text), piece, piece_path, via))
                text_parts.append(text)
                offset += len(text)
            variants.append(Assembly("".join(text_parts), segments, approximate))
        return variants

    def _expand(
        self, value: Value, path: str, via: tuple[Via, ...], depth: int
    ) -> Iterator[tuple[Lit | Hole, str, tuple[Via, ...]]]:
        for piece in value:
            if isinstance(piece, Ref):
                if piece.inherited and depth < _MAX_DEPTH:
                    options = self._class_values(piece)
                    if len(options) > 1:  # a base class's method reads what each subclass sets
                        yield (
                            Hole(piece.label, piece.unknown, piece.node, piece.line, piece.column,
                                 candidates=tuple((o,) for o in options), exhaustive=True),
                            path,
                            via,
                        )  # fmt: skip
                        continue
                    if options:
                        piece = options[0]
                declared = self._declared_table(piece) if depth < _MAX_DEPTH else None
                if declared is not None:  # `Order._meta.db_table`: the Meta.db_table the model declares
                    yield from self._expand((declared,), path, via, depth + 1)
                    continue
                found = self.lookup(piece.target) if depth < _MAX_DEPTH else None
                if found is None and piece.unknown:
                    yield Hole(piece.label, piece.unknown, piece.node, piece.line, piece.column), path, via
                    continue
                if found is None:
                    yield (
                        Hole(
                            piece.label,
                            f"`{piece.label}`, which is not defined in the scanned code",
                            piece.node,
                            piece.line,
                            piece.column,
                            undefined=True,
                        ),
                        path,
                        via,
                    )
                    continue
                resolved, facts, definition = found
                step = Via(piece, path, definition, facts.path, self._holds_name(resolved, facts.path, depth))
                if piece.formatting is None:
                    yield from self._expand(resolved, facts.path, (*via, step), depth + 1)
                    continue
                if piece.formatting[0] == ELEMENTS:  # `", ".join(self.tables)`
                    yield from self._expand(
                        self._elements(piece, resolved), facts.path, (*via, step), depth + 1
                    )
                    continue
                # a template defined there, formatted here: its text is the definition's, each argument
                # stays the use's (its own file, positions and chain)
                arguments = {id(p) for v in piece.formatting[1] for p in v}
                arguments.update(id(p) for _, v in piece.formatting[2] for p in v)
                for part in apply_formatting(resolved, piece.formatting):
                    if id(part) in arguments:
                        yield from self._expand((part,), path, via, depth + 1)
                    else:
                        yield from self._expand((part,), facts.path, (*via, step), depth + 1)
            elif piece.__class__ is Hole and piece.call and depth < _MAX_DEPTH:  # type: ignore[union-attr]
                yield from self._returned(piece, path, via, depth)  # type: ignore[arg-type]
            else:
                yield piece, path, via

    def _returned(
        self, call: Hole, path: str, via: tuple[Via, ...], depth: int
    ) -> Iterator[tuple[Lit | Hole, str, tuple[Via, ...]]]:
        """The value a call of a scanned function gives: the one value the function returns, its
        parameters being the call's arguments (each from the call's file), when all else in it is known;
        the call itself as an unknown value otherwise (or when the function is not scanned, or a subclass
        defines the method again)."""
        callee, arguments, dispatched = call.call  # type: ignore[misc]
        target = self.function(callee)
        found = self.functions.get(target) if target is not None else None
        returned = found[0].returns.get(target[len(found[0].module) + 1 :]) if found else None  # type: ignore[index]
        if found is None or returned is None or self._overridden(target):  # type: ignore[arg-type]
            yield call, path, via
            return
        facts, info = found
        if (
            dispatched
            and target.rpartition(".")[0] in self._classes
            and not any(  # type: ignore[union-attr]
                p.__class__ is Hole and p.function == target
                for p in returned  # type: ignore[union-attr]
            )
        ):
            # `self.table()` that returns a name of its own: a subclass in a module the scan did not parse may
            # return another (a method that only shapes what it is given, `self.quote(name)`, is followed)
            yield call, path, via
            return
        record = CallSite(callee, arguments, "", call.label)
        use = Ref(target, call.label, call.node, call.line, call.column)  # type: ignore[arg-type]
        step = Via(use, path, target, facts.path, False)  # type: ignore[arg-type]
        parts = list(self._substituted(call, returned, record, info, path, via, facts.path, step, depth))
        for piece, _, trail in parts:
            if piece.__class__ is not Hole:
                continue
            if any(s is step for s in trail):  # the function's own: only its parameters not passed
                known = piece.param and piece.function == target  # type: ignore[union-attr]
            else:  # the call's arguments: unknowns of the caller, but not names defined nowhere
                known = not piece.undefined  # type: ignore[union-attr]
            if not known:
                # something the function does not know either, or an argument as unknown as the call: the
                # call stays what it was (its LR005 at the call, where the value the function gets is written)
                yield call, path, via
                return
        yield from parts

    def _substituted(
        self,
        call: Hole,
        returned: Value,
        record: CallSite,
        info: FunctionInfo,
        path: str,
        via: tuple[Via, ...],
        defined_in: str,
        step: Via,
        depth: int,
    ) -> Iterator[tuple[Lit | Hole, str, tuple[Via, ...]]]:
        """The pieces of a returned value, each parameter of the function replaced by the call's argument."""
        for piece in returned:
            if piece.__class__ is Hole and piece.param and piece.function == step.definition:  # type: ignore[union-attr]
                passed = _arguments(record, info, piece.param)  # type: ignore[union-attr]
                if passed == [()] and piece.param.endswith("[]"):  # type: ignore[union-attr]
                    whole = _argument(record, info, piece.param[:-2])  # type: ignore[union-attr]
                    if (
                        whole
                        and len(whole) == 1
                        and isinstance(whole[0], Ref)
                        and whole[0].formatting is None
                    ):
                        # `self.tables` passed on: the elements of what it holds
                        passed = [(dataclasses.replace(whole[0], formatting=(ELEMENTS, (), ())),)]
                if passed != [None]:  # (not passed: the parameter's default, or its callers' values)
                    yield from self._expand(self._argument_value(call, passed), path, via, depth + 1)
                    continue
            yield from self._expand((piece,), defined_in, (*via, step), depth + 1)

    def _may_be_legacy(self, name_text: str) -> bool:
        """A relation name with unknown parts (`events_{suffix}`, `"{table}"`) that some legacy name fits:
        the parts written out stand where they are, an unknown part stands for any text."""
        quoted = name_text.startswith('"') and name_text.endswith('"') and len(name_text) > 1
        text = name_text[1:-1] if quoted else name_text.lower()
        parts = _HOLE.split(text)
        if len(parts) == 1:
            return True
        pattern = re.compile(".*".join(re.escape(p) for p in parts), re.DOTALL)
        return any(pattern.fullmatch(n) for n in self.catalog.bare_names)

    def _overridden(self, function: str) -> bool:
        """A method some subclass of its class defines again: a call may run either."""
        owner, _, name = function.rpartition(".")
        return owner in self._classes and any(
            f"{cls}.{name}" in self.functions for cls in self._descendants(owner)
        )

    def _descendants(self, cls: str) -> Iterator[str]:
        """The scanned classes that inherit from ``cls``, directly or not (each once)."""
        seen = {cls}
        stack = list(self._subclasses().get(cls, ()))
        while stack:
            child = stack.pop()
            if child in seen:
                continue
            seen.add(child)
            yield child
            stack.extend(self._subclasses().get(child, ()))

    @staticmethod
    def _argument_value(call: Hole, passed: list[Value | None]) -> Value:
        """What a call passes for a parameter: its value, or one of the elements of the list it writes out;
        unknown where the call's record does not keep it."""
        known = [v for v in passed if v]
        if not known or len(known) < len(passed):
            reason = f"an argument of `{call.label}`"
            return (Hole(call.label, reason, call.node, call.line, call.column),)
        if len(known) == 1:
            return known[0]
        return (Hole(call.label, f"an element passed to `{call.label}`", call.node, call.line, call.column,
                     candidates=tuple(known), exhaustive=True),)  # fmt: skip

    @staticmethod
    def _elements(ref: Ref, resolved: Value) -> Value:
        """The elements of the sequence a reference holds: a constructor's parameter stored in an attribute
        is that parameter's elements (`tables[]`, each caller's list); anything else is not known here."""
        elements = elements_of(resolved)
        if elements is not None:
            return elements
        label = f"an element of {ref.label}"
        return (Hole(label, label, ref.node, ref.line, ref.column),)

    def _declared_table(self, ref: Ref) -> Ref | None:
        """The table name a scanned model declares, read through the ORM: Django's `Model._meta.db_table`
        (its `Meta.db_table`), SQLAlchemy's `Model.__table__.name` (its `__tablename__`, or a mixin's).
        A model without one maps a default or computed name, which stays unresolved here."""
        for suffix, declared, inherited in _DECLARED_TABLES:
            if ref.target.endswith(suffix):
                cls = self.class_target(ref.target[: -len(suffix)])
                if cls is None:
                    return None
                for owner in self._ancestry(cls) if inherited else [cls]:
                    facts, local = self._class_at(owner)
                    if f"{local}.{declared}" in facts.constants:
                        return dataclasses.replace(ref, target=f"{owner}.{declared}", inherited=False)
                return None
        return None

    def _class_values(self, ref: Ref) -> list[Ref]:
        """`self.attr` in a class: the definition it inherits (the nearest base class that sets it), and
        the value of every subclass that sets its own, each as a reference to that class attribute."""
        owner, _, attribute = ref.target.rpartition(".")
        found = self.class_target(owner)
        if found is None:
            return []
        out: list[Ref] = []
        for cls in self._ancestry(found):
            facts, local = self._class_at(cls)
            if f"{local}.{attribute}" in facts.constants:
                out.append(dataclasses.replace(ref, target=f"{cls}.{attribute}", inherited=False))
                break
        for cls in self._descendants(found):
            facts, local = self._class_at(cls)
            if f"{local}.{attribute}" in facts.constants:
                out.append(dataclasses.replace(ref, target=f"{cls}.{attribute}", inherited=False))
        return out  # every one: the hole they make claims to be exhaustive

    def _ancestry(self, cls: str) -> list[str]:
        """The class and its bases in the scanned code, depth first (close enough to the MRO for lookups)."""
        out: list[str] = []
        stack = [cls]
        while stack and len(out) < _MAX_DEPTH:
            current = stack.pop(0)
            if current in out:
                continue
            out.append(current)
            facts, local = self._class_at(current)
            stack.extend(b for b in (self.class_target(base) for base in facts.classes[local]) if b)
        return out

    def _inherited_attribute_type(self, cls: str, attribute: list[str]) -> str | None:
        """The type a base class of ``cls`` gives its attribute (`db_pool: DatabasePool`, or `self.db_pool =
        database` with `database: DatabasePool`), the nearest base first; None when none does."""
        found = self.class_target(cls)
        if found is None:
            return None
        for base in self._ancestry(found)[1:]:
            facts, local = self._class_at(base)
            held = facts.attribute_types.get(".".join([local, *attribute]))
            if held is not None:
                return held
        return None

    def _class_at(self, cls: str) -> tuple[ModuleFacts, str]:
        return self._classes[cls]

    def _subclasses(self) -> dict[str, list[str]]:
        if self._children is None:
            self._children = {}
            for cls, (facts, local) in self._classes.items():
                for base in facts.classes[local]:
                    parent = self.class_target(base)
                    if parent is not None:
                        self._children.setdefault(parent, []).append(cls)
        return self._children

    def class_target(self, target: str, depth: int = 0) -> str | None:
        """The class of the scanned code a dotted name denotes (through imports and re-exports)."""
        if target in self._classes:
            return target
        if depth == 0:  # the facts do not change while resolving: each name is looked up once
            if target not in self._class_targets:
                self._class_targets[target] = self._class_target(target, 0)
            return self._class_targets[target]
        return self._class_target(target, depth)

    def _class_target(self, target: str, depth: int) -> str | None:
        parts = target.split(".")
        for i in range(len(parts) - 1, 0, -1):
            facts = self.module(".".join(parts[:i]))
            if facts is None:
                continue
            key = ".".join(parts[i:])
            if key in facts.classes:
                return f"{facts.module}.{key}"
            imported = facts.imports.get(parts[i])
            if imported is not None and imported != target and depth < _MAX_DEPTH:
                return self.class_target(".".join([imported, *parts[i + 1 :]]), depth + 1)
            return None
        return None

    def _holds_name(self, value: Value, path: str, depth: int) -> bool:
        text = "".join(
            p.text if isinstance(p, Lit) else "x" for p, _, _ in self._expand(value, path, (), depth + 1)
        )
        return bool(_TABLE_NAME.fullmatch(text)) and self._legacy_in_name(text) is not None

    def _variants(
        self, pieces: list[tuple[Lit | Hole, str, tuple[Via, ...]]], depth: int
    ) -> list[tuple[list[tuple[Lit | Hole, str, tuple[Via, ...]]], bool]]:
        for i, (piece, path, via) in enumerate(pieces):
            if isinstance(piece, Hole) and piece.candidates and depth < 3:
                groups: list[list[tuple[list[tuple[Lit | Hole, str, tuple[Via, ...]]], bool]]] = []
                for candidate in piece.candidates:
                    held = via
                    if piece.param:  # a keyword default holds the name: defined there, used here
                        use = Ref(
                            f"{piece.function}.{piece.param}",
                            piece.label,
                            piece.node,
                            piece.line,
                            piece.column,
                        )
                        held = (*via, Via(use, path, use.target, path, self._holds_name(candidate, path, 0)))
                    expanded = list(self._expand(candidate, path, held, 0))
                    variants = self._variants(pieces[:i] + expanded + pieces[i + 1 :], depth + 1)
                    groups.append([(rest, approx or not piece.exhaustive) for rest, approx in variants])
                if not piece.exhaustive:
                    # what else it may hold: for a parameter, what its callers pass (see _helpers)
                    bare = Hole(piece.label, piece.reason, piece.node, piece.line, piece.column,
                                function=piece.function, param=piece.param)  # fmt: skip
                    unknown = [*pieces[:i], (bare, path, via), *pieces[i + 1 :]]
                    groups.append(self._variants(unknown, depth + 1))
                return covering(groups)
        return [(pieces, False)]

    def _legacy_in_name(self, text: str) -> LegacyObject | None:
        parts = [p.strip() for p in re.findall(r'"[^"]+"|[^.]+', text.strip())]
        if not parts or len(parts) > 3:
            return None
        name = fold_identifier(parts[-1])
        schema = fold_identifier(parts[-2]) if len(parts) >= 2 else None
        return self.catalog.lookup(schema, name)

    # --- matching --------------------------------------------------------------------------------

    def resolve(self) -> Resolution:
        ordered = sorted(
            ((facts, site) for facts in self.modules.values() for site in facts.sites),
            key=lambda fs: _RULE_ORDER.get(fs[1].kind, 3),
        )
        mapped_by = self._imperative()
        for facts, site in ordered:
            if site.receiver and not self._holds_type(site.receiver, site.receiver_types):
                continue  # a method of the same name on an object of another type
            if site.owner:
                self._match_inherited(facts, site)
                continue
            if site.holder in mapped_by:  # a Table() object a class is mapped onto: the class owns it
                cls = mapped_by[site.holder]
                site = dataclasses.replace(
                    site, owner=cls, block=self._block(cls), what=f"{site.what} mapped by {cls}"
                )
            if site.kind == "table-column" and site.schema is None and site.block in self._class_blocks():
                # ForeignKey("t.id") in a mapped class: `t` in the schema of the class's MetaData
                site = dataclasses.replace(
                    site, schema=self._metadata_schema(self._class_blocks()[site.block])
                )
            for assembly in self.assemble(site.value, facts.path):
                if site.kind in ("sql", "standalone"):
                    self._match_sql(facts, site, assembly)
                elif site.kind == "postgrest-url":
                    self._match_postgrest_url(facts, site, assembly)
                elif site.kind == "postgrest-select":
                    schema = self._schema(site, facts.path)
                    for start, end in embedded_resources(assembly.text):
                        self._match_name(facts, site, assembly, start, end, schema, "LR004")
                else:
                    self._match_table(facts, site, assembly)
                if self._names.search(assembly.text):
                    self._note_ruled_out(site, assembly)
        for args in self._identifier_unknowns:
            # psycopg's Identifier() names columns as often as tables: where the SQL it fills was analysed,
            # that SQL says which (a table position there has an LR005 of its own); elsewhere, maybe a table
            if not self._composed_into_sql(args[0], args[2], args[3]):
                self._unresolved(*args, deferred=True)
        self._forwarded_binds()
        self._helpers()
        self._app_labels = {
            name: label for facts in self.modules.values() for name, label in facts.app_labels.items()
        }
        for facts in self.modules.values():
            for model in facts.models:
                self._django_default(facts, model)
            for local, table in facts.table_classes.items():
                if table.computed:
                    self._computed_tables(f"{facts.module}.{local}", table.computed)
        self._result.columns = self._known_columns()
        return self._result

    # --- SQLAlchemy declarative classes ------------------------------------------------------------

    def _known_columns(self) -> dict[str, tuple[str, ...]]:
        """The columns of each legacy table that a model class or a `Table(...)` of the scanned code
        defines: what the classes that name the table (`__tablename__`, `Meta.db_table`) bind, with what
        their ancestors and their subclasses bind (mixins, abstract bases, single-table inheritance), and
        the columns each `Table("name", ...)` writes out. A table one of whose classes has a base outside
        the scanned code (a mixin of a library may add columns) is left out: its columns are not all
        known. Bindings that are no column (methods, relationships) only make the set larger."""
        columns: dict[str, set[str]] = {}
        open_tables: set[str] = set()
        for facts in self.modules.values():
            for table, written in facts.table_columns:
                if self.catalog.named(table):
                    columns.setdefault(table, set()).update(written)
        owners = {cls: t for cls in self._classes if (t := self._own_table(cls)) and self.catalog.named(t)}
        for cls in self._classes if owners else ():
            lineage, closed = self._lineage(cls)
            for table in {owners[a] for a in lineage if a in owners}:
                known = columns.setdefault(table, set())
                for ancestor in lineage:
                    found = self._classes[ancestor]
                    known.update(found[0].class_columns.get(found[1], ("", ()))[1])
                if not closed:
                    open_tables.add(table)
        return {
            table: tuple(sorted(known | _IMPLICIT_COLUMNS))
            for table, known in columns.items()
            if table not in open_tables
        }

    def _own_table(self, cls: str) -> str:
        facts, local = self._classes[cls]
        return facts.class_columns.get(local, ("", ()))[0] or self._derived_tables.get(cls, "")

    def _lineage(self, cls: str) -> tuple[list[str], bool]:
        """A class and its ancestors in the scanned code; and whether every ancestor is known (a base
        outside the scanned code is the ORM's own root or a neutral base)."""
        seen = [cls]
        closed = True
        at = 0
        while at < len(seen):
            facts, local = self._classes[seen[at]]
            at += 1
            for base in facts.classes[local]:
                target = self.class_target(base)
                if target is None:
                    closed = closed and base.rsplit(".", 1)[-1] in _COLUMNLESS_BASES
                elif target not in seen:
                    seen.append(target)
        return seen, closed

    def _imperative(self) -> dict[str, str]:
        """Table variable -> the class mapped onto it (`registry.map_imperatively(Class, table)`)."""
        out: dict[str, str] = {}
        for facts in self.modules.values():
            for cls, table in facts.imperative:
                out.setdefault(table, self.class_target(cls) or cls)
        return out

    def _block(self, cls: str) -> str:
        found = self._classes.get(cls)
        return f"{found[0].module}:{found[1]}" if found else cls

    def _table_class(self, cls: str) -> TableClass | None:
        facts, local = self._classes[cls]
        return facts.table_classes.get(local)

    def _is_mixin(self, cls: str) -> bool:
        """Every base is a mixin of the scanned code, or object: no declarative base is an ancestor."""
        known = self._mixins.get(cls)
        if known is not None:
            return known
        table = self._table_class(cls)
        if table is not None and (table.declarative_base or table.mapped):
            return False
        self._mixins[cls] = True  # a cycle of bases maps nothing
        facts, local = self._classes[cls]
        for base in facts.classes[local]:
            target = self.class_target(base)
            if target is None and base.rsplit(".", 1)[-1] in NEUTRAL_BASES:
                continue
            if target is None or not self._is_mixin(target):
                self._mixins[cls] = False  # a base outside the scanned code may well be declarative
                break
        return self._mixins[cls]

    def _maps_table(self, cls: str) -> bool:
        table = self._table_class(cls)
        if table is not None and (table.abstract or table.declarative_base):
            return False
        return not self._is_mixin(cls)

    def _owners(self, declared: str, cascades: bool) -> list[str]:
        """The mapped classes whose table the name a class declares is: the class itself when mapped, else
        (a mixin, an abstract base) the nearest mapped subclasses that inherit it; a declared_attr
        cascades to every mapped subclass that does not name its own table."""
        out: list[str] = []
        if self._maps_table(declared):
            out.append(declared)
            if not cascades:
                return out
        seen = {declared}
        stack = list(self._subclasses().get(declared, ()))
        while stack:
            cls = stack.pop(0)
            if cls in seen:
                continue
            seen.add(cls)
            table = self._table_class(cls)
            if table is not None and table.names_table:
                continue  # its own name (or `__table__`) wins
            named = next(
                (c for c in self._ancestry(cls) if (t := self._table_class(c)) and t.names_table), None
            )
            if named != declared:
                continue  # an earlier base in its MRO names the table
            if self._maps_table(cls):
                out.append(cls)
                if not cascades:
                    continue
            stack.extend(self._subclasses().get(cls, ()))
        return out

    def _class_blocks(self) -> dict[str, str]:
        """Block -> dotted class, for the classes of the scanned code."""
        if self._blocks is None:
            self._blocks = {f"{facts.module}:{local}": cls for cls, (facts, local) in self._classes.items()}
        return self._blocks

    def _class_schema(self, cls: str) -> Value | None:
        """The schema of a mapped class's table: `__table_args__`, else its declarative base's MetaData."""
        for ancestor in self._ancestry(cls):
            table = self._table_class(ancestor)
            if table is not None and table.schema is not None:
                return table.schema
        return self._metadata_schema(cls)

    def _metadata_schema(self, cls: str) -> Value | None:
        """The schema of the MetaData a declarative class is built on (`Base.metadata`)."""
        for ancestor in self._ancestry(cls):
            facts, local = self._classes[ancestor]
            found = facts.constants.get(f"{local}.metadata.schema")
            if found is not None:
                return found
            held = facts.constants.get(f"{local}.metadata")
            if held is not None and len(held) == 1 and isinstance(held[0], Ref):
                # `metadata = metadata_obj`: the schema of the MetaData that name holds
                target = f"{held[0].target}.schema"
                if self.lookup(target) is not None:
                    return (Ref(target, held[0].label, 0),)
            for base in facts.classes[local]:
                target = f"{base}.metadata.schema"
                if self.class_target(base) is None and self.lookup(target) is not None:
                    return (Ref(target, base, 0),)  # `Base = declarative_base(metadata=...)`
        return None

    def _match_inherited(self, facts: ModuleFacts, site: Site) -> None:
        """A table name a class body declares, matched once per mapped class that owns it, in its schema."""
        declared = site.owner
        table = self._table_class(declared)
        owners = self._owners(declared, table is not None and table.cascades)
        heirs = [] if owners else self._local_heirs(declared)
        for assembly in self.assemble(site.value, facts.path):
            for owner in owners:
                what = site.what if owner == declared else f"{site.what} inherited by {owner}"
                owned = dataclasses.replace(
                    site, schema=self._class_schema(owner), owner=owner, block=self._block(owner), what=what
                )
                self._match_table(facts, owned, assembly)
            for heir in heirs:  # no scanned class maps it, but a class defined in a function inherits it
                owned = dataclasses.replace(
                    site,
                    schema=self._class_schema(declared),
                    owner=declared,
                    what=f"{site.what} inherited by {heir} (a class defined in a function)",
                )
                self._match_table(facts, owned, assembly)
            if not owners and not heirs:
                self._note_unmapped(site, assembly)
            elif self._names.search(assembly.text):
                self._note_ruled_out(site, assembly)

    def _local_heirs(self, declared: str) -> list[str]:
        """Classes defined in a function that inherit the table name ``declared`` declares (directly, or
        through scanned classes that name none of their own): each may be mapped, so the name is taken
        as their table (a wrong "blocked" only costs time)."""
        passing, stack = {declared}, [declared]
        while stack:
            for child in self._subclasses().get(stack.pop(), ()):
                table = self._table_class(child)
                if child not in passing and not (table is not None and table.names_table):
                    passing.add(child)
                    stack.append(child)
        heirs: list[str] = []
        for facts in self.modules.values():
            for local, (bases, names_table) in facts.local_classes.items():
                if not names_table and any(self.class_target(b) in passing for b in bases):
                    heirs.append(f"{facts.module}.{local}")
        return heirs

    def _note_unmapped(self, site: Site, assembly: Assembly) -> None:
        reason = (
            f"`{site.what}` of a class that no scanned class maps (a mixin or abstract base never inherited, "
            "or whose heirs all name their own table)"
        )
        for match in self._names.finditer(assembly.text):
            segment = self._segment_at(assembly, match.start())
            if segment is not None and isinstance(segment.piece, Lit) and segment.piece.line:
                line, column = segment.piece.position(match.start() - segment.start)
                self._result.examined.setdefault((segment.path, line, column), reason)

    def _computed_tables(self, declared: str, form: str) -> None:
        """`@declared_attr def __tablename__(cls): return cls.__name__.lower()`: each mapped class that
        inherits it maps the table named after it, reported at the class like Django's default names."""
        for owner in self._owners(declared, cascades=True):
            facts, local = self._classes[owner]
            name = local.rsplit(".", 1)[-1]
            table = name.lower() if form == "lower" else name
            site = Site("mapping", (), self._block(owner), "__tablename__", self._class_schema(owner))
            legacy = self.catalog.lookup(self._schema(site, facts.path), table)
            if legacy is None:
                continue
            target = legacy.target.name if legacy.target else table
            how = "lowered " if form == "lower" else ""
            message = (
                f"SQLAlchemy model `{name}` takes its table name from the declared_attr `__tablename__` of "
                f"`{declared}` (its {how}class name), so it maps `{table}`: {_describe(legacy)}. "
                f'Set __tablename__ = "{target}".'
            )
            self._default_table(facts.path, legacy, self._block(owner), message, facts.class_nodes.get(local))

    def _schema_unknown(self, site: Site, path: str) -> bool:
        """The class's table arguments are built where the walk does not follow, or its schema is one that
        SQLAlchemy's `schema_translate_map` replaces at run time: its schema is unknown (a MetaData without
        a schema is the default one, not unknown)."""
        if site.schema is None:
            return False
        if any(isinstance(p, Hole) and p.reason == UNKNOWN_TABLE_ARGS for p in site.schema):
            return True
        texts, constants = self._translated
        if not (texts or constants):
            return False
        # the same constant (`MetaData(schema=PLACEHOLDER)`, `{PLACEHOLDER: schema}`), whether or not its
        # module was read, or the same text
        if len(site.schema) == 1 and isinstance(site.schema[0], Ref) and site.schema[0].target in constants:
            return True
        return self._schema(site, path) in texts

    @functools.cached_property
    def _translated(self) -> tuple[frozenset[str], frozenset[str]]:
        """The schemas the scanned code's `schema_translate_map` replaces: their texts, as far as they are
        known, and the constants that hold them."""
        texts, constants = set(), set()
        for facts in self.modules.values():
            for value in facts.translated_schemas:
                if len(value) == 1 and isinstance(value[0], Ref):
                    constants.add(value[0].target)
                for assembly in self.assemble(value, facts.path):
                    if HOLE_PREFIX not in assembly.text and assembly.text.strip():
                        texts.add(fold_identifier(assembly.text.strip()))
        return frozenset(texts), frozenset(constants)

    def _schema(self, site: Site, path: str) -> str | None:
        if site.schema is None:
            return None
        variants = self.assemble(site.schema, path)
        text = variants[0].text if variants else ""
        return None if HOLE_PREFIX in text or not text.strip() else fold_identifier(text.strip())

    def _match_sql(self, facts: ModuleFacts, site: Site, assembly: Assembly) -> None:
        if site.kind == "standalone" and not _looks_like_sql(assembly.text):
            # text that reaches no database call must read as a statement, not as prose; a fragment
            # counts only with SQL shape around a qualifier (`legacy.total > 0`, `legacy.{field} DESC`)
            self._match_qualifiers(facts, site, assembly)
            return
        first = assembly.segments[0].piece if len(assembly.segments) == 1 else None
        if isinstance(first, Hole) and first.sql_file:
            # the SQL is a .sql file's text: that file is analysed, and linked to this block
            self._result.sql_files.append((facts.path, site.block, first.sql_file))
            return
        if site.prefix:  # the tail of a statement the sink completes (alembic_utils' definitions)
            assembly = _prefixed(Lit(site.prefix, 0, 0, "", 0, False, False), assembly)
        elif site.kind == "sql" and not SQL_START.match(assembly.text):
            assembly = _as_select(assembly)  # a fragment (RawSQL, .extra(where=)): an expression of a query
        analysis = table_references(assembly.text)
        if site.kind == "standalone" and not analysis.parsed and not SQL_START.match(assembly.text):
            return
        if analysis.parsed:  # every unknown piece of this SQL is judged here, by its position in the SQL
            self._composed.setdefault(facts.path, []).extend(
                s.piece for s in assembly.segments if isinstance(s.piece, Hole)
            )
        dynamic = any(isinstance(s.piece, Hole) for s in assembly.segments) or any(
            v.holds_name for s in assembly.segments for v in s.via
        )
        if site.binds:
            self._match_binds(facts, site, assembly.text)
        for ref in analysis.refs:
            if ref.position in _NOT_BLOCKING_POSITIONS and not ref.table_ddl:
                continue
            name_text = assembly.text[ref.name_start : ref.end]
            if HOLE_PREFIX in name_text:
                if _other_schema(ref.schema, self.catalog):
                    continue  # `musicbrainz.{table}`: a relation of a schema that holds no legacy object
                if not self._may_be_legacy(name_text):
                    continue  # `events_{suffix}`: the text written around the unknown part fits no legacy one
                # `"{table}"`: the unknown piece inside the quotes of an identifier is the whole name too
                whole = ref.schema is None and _HOLE.fullmatch(name_text.strip('"')) is not None
                hole_at = assembly.text.find(HOLE_PREFIX, ref.name_start, ref.end)
                self._unresolved(facts, site, assembly, hole_at, ref.end, whole)
                continue
            schema_written = ref.schema is not None
            schema = ref.schema or ref.implied_schema
            unknown_schema = schema is not None and HOLE_PREFIX in schema
            legacy = self.catalog.lookup(None if unknown_schema else schema, ref.name)
            cap, note = Confidence.HIGH, ""
            if legacy is None and (unknown_schema or schema is None):
                # `{schema}.t` may be any schema's t; an unqualified t goes through the search path, which
                # may hold the schema of a legacy t: the one of that name (low when several, or unqualified)
                others = self.catalog.named(ref.name)
                if others:
                    legacy = others[0]
                    cap = Confidence.MEDIUM if unknown_schema and len(others) == 1 else Confidence.LOW
                    note = (
                        f"; the schema is not known here and may be `{legacy.legacy.schema}`"
                        if unknown_schema
                        else f"; unqualified, it is the legacy view when the search path holds "
                        f"`{legacy.legacy.schema}`"
                    )
            if legacy is None:
                continue
            confidence = min(cap, Confidence.HIGH if ref.certain else Confidence.MEDIUM)
            if assembly.approximate or unknown_schema:
                confidence = min(confidence, Confidence.MEDIUM)
            rule = "LR002" if dynamic else "LR001"
            self._report(
                facts,
                site,
                assembly,
                ref.start,
                ref.name_start,
                ref.end,
                legacy,
                rule,
                confidence,
                schema_written,
                ref.position,
                note,
            )

    def _match_binds(self, facts: ModuleFacts, site: Site, text: str) -> None:
        """A catalog lookup whose name is a bind parameter (`WHERE table_name = %s`, `relname = ANY(:n)`):
        the value the call binds there is a name looked up by (medium confidence, as the lookups written
        in the SQL). A list bound to `IN`/`ANY` gives each of its elements; a helper's parameter there makes
        the helper take table names (names only: a loop over every table's name is no LR005)."""
        entries = {key: (value, elements) for key, value, elements in site.binds}
        for lookup in bind_lookups(text):
            entry = entries.get(lookup.key)
            if entry is None:
                continue
            value, elements = entry
            what = f"{site.what}, a parameter the SQL looks a table up by"
            for one in elements if lookup.many else (value,) if value else ():
                bound = Site("table", one, site.block, what, names_only=True, through=site.through)
                for assembly in self.assemble(one, facts.path):
                    self._match_table(facts, bound, assembly, cap=Confidence.MEDIUM)

    def _forwarded_binds(self) -> None:
        """Wrappers that pass both their SQL and their parameters on to a sink (`def execute_scalar(conn,
        sql, args): cur.execute(sql, args)`): at each call of one, the parameters the call passes are bound
        to the SQL it passes, so a catalog lookup there (`WHERE tablename = %s`, `(table,)`) reads the
        bound value as a table name, as at a sink itself (a caller's own parameter makes it a helper)."""
        wrappers: dict[str, tuple[str, str, str]] = {}
        for facts in self.modules.values():
            for site in facts.sites:
                sql = site.value[0] if site.kind == "sql" and len(site.value) == 1 else None
                if not (isinstance(sql, Hole) and sql.param and site.binds):
                    continue
                for key, value, _ in site.binds:
                    container = value[0] if key == FORWARDED_BINDS and len(value) == 1 else None
                    if isinstance(container, Hole) and container.param and container.function == sql.function:
                        wrappers[sql.function] = (sql.param, container.param, site.what)
        if not wrappers:
            return
        for facts in self.modules.values():
            if not any(self.function(callee) in wrappers for callee in facts.callees()):
                continue
            for call in facts.calls:
                target = self.function(call.callee)
                if target not in wrappers:
                    continue
                sql_param, params_param, what = wrappers[target]
                info = self.functions[target][1]
                sql = _argument(call, info, sql_param)
                if not sql:
                    continue
                elements = [v for v in _arguments(call, info, f"{params_param}[]") if v]
                binds = tuple(
                    (key, value, ()) for i, value in enumerate(elements) for key in (str(i + 1), f"${i + 1}")
                ) + tuple(
                    (key[len(params_param) + 1 : -1], value, ())
                    for _, key, value in call.args
                    if key and key.startswith(params_param + "[") and value
                )
                if not binds:
                    continue
                site = Site("sql", sql, call.block, f"{call.what} (its SQL and parameters go to {what})")
                site = dataclasses.replace(site, binds=binds)
                for assembly in self.assemble(sql, facts.path):
                    self._match_binds(facts, site, assembly.text)

    def _match_qualifiers(self, facts: ModuleFacts, site: Site, assembly: Assembly) -> None:
        text = assembly.text
        if len(text) > _MAX_FRAGMENT or not _SQL_SHAPE.search(text):
            return
        dynamic = any(isinstance(s.piece, Hole) for s in assembly.segments)
        for match in _QUALIFIER.finditer(text):
            name = match.group(1)
            start, end = match.start(1), match.end(1)
            if HOLE_PREFIX in name:
                segment = self._segment_at(assembly, start)
                hole = segment.piece if segment is not None else None
                whole = _HOLE.fullmatch(name) is not None and isinstance(hole, Hole)
                if whole and hole.param and hole.function in self.functions:  # type: ignore[union-attr]
                    # `{table}.col` in a helper: its parameter qualifies columns, so it names a table
                    self._unresolved(facts, site, assembly, start, end, whole=True)
                continue
            legacy = self.catalog.lookup(None, fold_identifier(name))
            if legacy is None:
                continue
            rule = "LR002" if dynamic else "LR001"
            self._report(facts, site, assembly, start, start, end, legacy, rule, Confidence.MEDIUM, False)

    def _match_postgrest_url(self, facts: ModuleFacts, site: Site, assembly: Assembly) -> None:
        """`.../rest/v1/<table>?...`: the path segment after PostgREST's prefix is a table or view (a
        function after `rpc/`); the schema is a request header's (`Accept-Profile`), so any schema's."""
        text = assembly.text
        at = text.find(POSTGREST_PATH)
        while at >= 0:
            start = at + len(POSTGREST_PATH)
            end = start
            while end < len(text) and text[end] not in "?/#& \t\n'\"":
                end += 1
            segment = text[start:end]
            if segment and segment != "rpc" and HOLE_PREFIX in segment:
                if _HOLE.fullmatch(segment):
                    self._unresolved(facts, site, assembly, start, end, whole=True)
            elif segment and segment != "rpc":
                legacy, confidence = self._exposed(fold_identifier(segment))
                if legacy is not None:
                    self._report(facts, site, assembly, start, start, end, legacy, "LR004", confidence, False)
            at = text.find(POSTGREST_PATH, end)

    def _exposed(self, name: str) -> tuple[LegacyObject | None, Confidence]:
        """The legacy object a PostgREST request may name with ``name``: the default schema's, or the one
        object of that name in another schema (medium: the request's profile header decides)."""
        legacy = self.catalog.lookup(None, name)
        if legacy is not None:
            return legacy, Confidence.HIGH
        others = self.catalog.named(name)
        return (others[0], Confidence.MEDIUM) if len(others) == 1 else (None, Confidence.LOW)

    def _match_table(
        self, facts: ModuleFacts, site: Site, assembly: Assembly, cap: Confidence = Confidence.HIGH
    ) -> None:
        text = assembly.text
        if HOLE_PREFIX in text:
            match = _HOLE.search(text)
            if match is not None and _TABLE_NAME.fullmatch(text):
                name_text = text.strip()
                if site.kind == "table-column":  # `t.id`: the table is before the column
                    name_text = name_text.rpartition(".")[0] or name_text
                head, dot, last = name_text.rpartition(".")
                schema = head.rpartition(".")[2].strip()
                if dot and HOLE_PREFIX in last and _other_schema(fold_identifier(schema), self.catalog):
                    return  # Identifier("musicbrainz", table): a relation of a schema with no legacy object
                if dot and HOLE_PREFIX not in last:
                    name = fold_identifier(last.strip())
                    if not self.catalog.named(name):
                        return  # `{schema}.users`: the schema unknown, and no schema has a legacy `users`
                elif not self._may_be_legacy(last.strip()):
                    return  # `Identifier(f"place_{kind}")`: no legacy name fits the text around the unknown
                whole = text.strip() == match.group(0)
                self._unresolved(facts, site, assembly, match.start(), match.end(), whole)
            return
        if site.kind == "table-column":
            cut = text.rfind(".")
            if cut <= 0:
                return
            text = text[:cut]
        if site.kind == "table" and not _TABLE_NAME.fullmatch(text) and _FROM_LIST.fullmatch(text):
            self._match_from_list(facts, site, assembly)
            return
        if not _TABLE_NAME.fullmatch(text):
            return
        parts = list(re.finditer(r'"[^"]+"|[\w$]+', text))
        if not parts or len(parts) > 3:
            return
        last = parts[-1]
        written_schema = len(parts) >= 2
        schema = fold_identifier(parts[-2].group(0)) if written_schema else self._schema(site, facts.path)
        rule = "LR003" if site.kind == "mapping" else "LR004"
        start = parts[-2].start() if written_schema else last.start()
        legacy = self.catalog.lookup(schema, fold_identifier(last.group(0)))
        confidence = cap
        if legacy is None and site.kind == "postgrest-table" and not written_schema:
            legacy, confidence = self._exposed(fold_identifier(last.group(0)))  # a PostgREST helper's table
        elif legacy is None and not written_schema and self._schema_unknown(site, facts.path):
            # `__table_args__ = make_args()`: the schema is not known, the name may be any schema's
            others = self.catalog.named(fold_identifier(last.group(0)))
            if others:
                legacy, confidence = (
                    others[0],
                    min(cap, Confidence.MEDIUM if len(others) == 1 else Confidence.LOW),
                )
        if legacy is not None:
            self._report(
                facts,
                site,
                assembly,
                start,
                last.start(),
                last.end(),
                legacy,
                rule,
                confidence,
                written_schema,
            )

    def _match_from_list(self, facts: ModuleFacts, site: Site, assembly: Assembly) -> None:
        """A table argument that lists relations (`"orders o, customers c"`, `"a JOIN b ON ..."`, as
        web.py's `select` takes them): each relation of the list, read as a query's FROM clause."""
        listed = _prefixed(_FROM, assembly)
        for ref in table_references(listed.text).refs:
            if ref.position not in ("from", "join", "qualifier"):
                continue  # a qualifier bound to an alias of the list is no reference
            schema = ref.schema or ref.implied_schema or self._schema(site, facts.path)
            legacy = self.catalog.lookup(schema, ref.name)
            if legacy is not None:
                confidence = Confidence.HIGH if ref.certain else Confidence.MEDIUM
                written = ref.schema is not None
                self._report(
                    facts,
                    site,
                    listed,
                    ref.start,
                    ref.name_start,
                    ref.end,
                    legacy,
                    "LR004",
                    confidence,
                    written,
                )

    def _match_name(
        self,
        facts: ModuleFacts,
        site: Site,
        assembly: Assembly,
        start: int,
        end: int,
        schema: str | None,
        rule: str,
    ) -> None:
        legacy = self.catalog.lookup(schema, fold_identifier(assembly.text[start:end]))
        if legacy is not None:
            self._report(facts, site, assembly, start, start, end, legacy, rule, Confidence.HIGH, False)

    # --- occurrences ruled out ---------------------------------------------------------------------

    def _note_ruled_out(self, site: Site, assembly: Assembly) -> None:
        """Record why each legacy-name occurrence in this site's text is not a reference (a finding
        covers the others); the post-pass over every occurrence reads it."""
        for match in self._names.finditer(assembly.text):
            reason = self._ruled_out(site, assembly.text, match.start())
            segment = self._segment_at(assembly, match.start())
            if reason is None or segment is None or not isinstance(segment.piece, Lit):
                continue
            if segment.piece.line:
                line, column = segment.piece.position(match.start() - segment.start)
                self._result.examined.setdefault((segment.path, line, column), reason)

    def _ruled_out(self, site: Site, text: str, start: int) -> str | None:
        if site.kind not in ("sql", "standalone"):
            return f"{_site_kind(site)} ({site.what}) names another relation (another schema, or a column)"
        if site.kind == "standalone" and not _looks_like_sql(text):
            return None
        for ref in table_references(text).refs:
            if ref.name_start + (text[ref.name_start : ref.name_start + 1] == '"') != start:
                continue
            if ref.position in _NOT_BLOCKING_POSITIONS and not ref.table_ddl:
                return "SQL that defines or drops the view itself (compatibility layer or Phase 3)"
            if self.catalog.lookup(ref.schema or ref.implied_schema, ref.name) is None:
                return f"SQL names `{text[ref.start : ref.end]}`, another relation than the legacy view"
            return None
        reason = sql_word_reason(text, start)
        return None if reason in (None, REFERENCE, NAME_VALUE) else f"in SQL ({site.what}): {reason}"

    # --- findings --------------------------------------------------------------------------------

    def _segment_at(self, assembly: Assembly, offset: int) -> Segment | None:
        for segment in assembly.segments:
            if segment.start <= offset < segment.end:
                return segment
        return None

    def _report(
        self,
        facts: ModuleFacts,
        site: Site,
        assembly: Assembly,
        ref_start: int,
        name_start: int,
        name_end: int,
        legacy: LegacyObject,
        rule: str,
        confidence: Confidence,
        schema_written: bool,
        position: str = "",
        note: str = "",
    ) -> None:
        quoted = assembly.text[name_start : name_start + 1] == '"'
        segment = self._segment_at(assembly, name_start + quoted)
        if segment is None or not isinstance(segment.piece, Lit) or segment.piece.line == 0:
            return
        lit = segment.piece
        # the finding points at the name itself, inside its quotes
        index = name_start + quoted - segment.start
        line, column = lit.position(index)
        end_line, end_column = lit.position(index + (name_end - name_start) - 2 * quoted)
        names = _describe(legacy)
        holder = next((v for v in segment.via if v.holds_name), None)
        # a constant that holds just a table name is a table argument at its definition
        literal_rule = "LR004" if holder is not None and rule in ("LR001", "LR002") else rule
        key = (segment.path, line, column, str(legacy.legacy))
        if key not in self._seen:
            self._seen.add(key)
            if holder is not None:
                message = f"{names} held by constant `{holder.definition}`"
            elif site.through and site.kind != "table-key":
                message = f"{names} passed to {site.what}, a helper that uses it as a table name"
            else:
                where = _POSITION_NOTES.get(position, "")
                if position == "qualifier" and not assembly.text[name_end:].lstrip().startswith("."):
                    where = " as the table's whole row"  # `RETURNING legacy`, `to_jsonb(legacy)`
                message = f"{names}{where} in {_site_kind(site)} ({site.what}){note}"
            suggestion = self._suggest(
                assembly, segment, ref_start, name_end, legacy, schema_written, position
            )
            self._add(
                Finding(
                    rule=literal_rule,
                    path=segment.path,
                    span=Span(line, column, end_line, end_column),
                    legacy=legacy.legacy,
                    target=legacy.target,
                    block=site.block if site.owner else lit.block or site.block,
                    confidence=confidence,
                    message=message + ".",
                    snippet="",
                    suggestion=suggestion,
                    via=(*site.through, *(v.definition for v in segment.via)),
                )
            )
        if holder is not None:
            self._report_use(facts, site, legacy, holder, rule, confidence)

    def _report_use(
        self,
        facts: ModuleFacts,
        site: Site,
        legacy: LegacyObject,
        holder: Via,
        rule: str,
        confidence: Confidence,
    ) -> None:
        ref = holder.ref
        key = (holder.path, ref.node, -1, str(legacy.legacy) + site.block)
        if key in self._seen:
            return
        self._seen.add(key)
        defined = f"{holder.defined_in}"
        action = {"sql": "interpolated into SQL run by", "standalone": "interpolated into"}.get(
            site.kind, "passed to"
        )
        message = (
            f"constant `{holder.definition}` ({defined}) holds {_describe(legacy)}; "
            f"{action} {site.what}. Rewrite the constant, or use the target here."
        )
        finding = Finding(
            rule="LR002" if site.kind in ("sql", "standalone") else rule,
            path=holder.path,
            span=Span(ref.line, ref.column, ref.line, ref.column + len(member_name(ref.label))),
            legacy=legacy.legacy,
            target=legacy.target,
            block=site.block,
            confidence=confidence,
            message=message,
            snippet="",
            suggestion=None,
            via=(*site.through, holder.definition),
        )
        self._add(finding, None if ref.line else ref.node)

    def _holds_type(self, dotted: str, types: tuple[str, ...], depth: int = 0) -> bool:
        """A module-level name of a scanned module holds an object of one of these types (it is built by
        it: `db = SQLAlchemy()`), following re-exports."""
        module, _, name = dotted.rpartition(".")
        facts = self.modules.get(module)
        if facts is None or depth > _MAX_DEPTH:
            return False
        held = facts.attribute_types.get(name)
        if held:
            return self._is_a(held, types, depth)
        target = facts.imports.get(name)
        return target is not None and self._holds_type(target, types, depth + 1)

    def _is_a(self, cls: str, types: tuple[str, ...], depth: int = 0) -> bool:
        """A dotted class is one of these types, or a scanned subclass of one (`class Db(SQLAlchemy)`)."""
        if any(call_matches(t, cls) for t in types):
            return True
        module, _, name = cls.rpartition(".")
        facts = self.modules.get(module)
        if facts is None or depth > _MAX_DEPTH:
            return False
        if name not in facts.classes:  # re-exported: the class of the module it comes from
            target = facts.imports.get(name)
            return target is not None and self._is_a(target, types, depth + 1)
        return any(self._is_a(base, types, depth + 1) for base in facts.classes[name])

    def _composed_into_sql(self, facts: ModuleFacts, assembly: Assembly, start: int) -> bool:
        """Whether the unknown piece at ``start`` also fills a SQL text of its module that was analysed (the
        same expression evaluated for each sink: compared by source position)."""
        segment = self._segment_at(assembly, start)
        if segment is None or not isinstance(segment.piece, Hole):
            return False

        def place(hole: Hole) -> tuple[int, int] | None:
            if hole.line:
                return hole.line, hole.column
            known = facts.node_positions.get(hole.node)
            return (known[0], known[1]) if known else None

        here = place(segment.piece)
        return here is not None and any(place(h) == here for h in self._composed.get(facts.path, ()))

    def _unresolved(
        self,
        facts: ModuleFacts,
        site: Site,
        assembly: Assembly,
        start: int,
        end: int,
        whole: bool = False,
        deferred: bool = False,
    ) -> None:
        if site.kind == "identifier" and not deferred:  # decided once every SQL text is analysed
            self._identifier_unknowns.append((facts, site, assembly, start, end, whole))
            return
        segment = self._segment_at(assembly, start)
        if segment is None or not isinstance(segment.piece, Hole):
            return
        hole = segment.piece
        if hole.table_object:
            return  # a Table()/table() object: the call that built it named the table
        if site.kind == "table-column" and whole and not hole.param:
            return  # ForeignKey(t.c.id), ForeignKeyConstraint([...], [Column(...)]): a Column object
        if hole.undefined and site.kind not in ("sql", "standalone") and not _names_a_value(hole.label):
            # APIs that take a table name also take Table/Column objects (ForeignKey(Parent.id),
            # relationship(secondary=tags)); a name defined outside the scanned code is most likely one,
            # unless it reads an entry or a setting (`os.environ["T"]`, `settings.EVENTS_TABLE`)
            return
        if site.names_only:  # a shared method name: only a value that names a legacy table counts
            if whole and hole.param and hole.function in self.functions:
                self._weak.setdefault((hole.function, hole.param), _Summary(site.what, ()))
            return
        key = (segment.path, hole.node, -2, site.block)
        if key in self._seen:
            return
        self._seen.add(key)
        source = hole.reason if f"`{hole.label}`" in hole.reason else f"{hole.reason} `{hole.label}`"
        message = (
            f"table name in {_site_kind(site)} ({site.what}) comes from {source}; the analyzer cannot "
            f"prove it is not a legacy name."
        )
        finding = Finding(
            rule="LR005",
            path=segment.path,
            span=Span(
                hole.line, hole.column, hole.line, hole.column + len(hole.label.splitlines()[0] or "x")
            ),
            legacy=None,
            target=None,
            block=site.block,
            confidence=Confidence.LOW,
            message=message,
            snippet="",
        )
        if whole and hole.param and hole.function in self.functions:
            # a helper that takes the table name: its callers say which names it gets (see _helpers)
            summary = self.summaries.setdefault(
                (hole.function, hole.param),
                _Summary(site.what, (), any_schema=site.kind == "postgrest-url", schema=site.schema),
            )
            summary.unresolved.append((finding, None if hole.line else hole.node))
            return
        self._add(finding, None if hole.line else hole.node)

    # --- helpers that take a table name (Pysa-style summaries) -------------------------------------

    def _helpers(self) -> None:
        """Parameters that reach a table position make their function a table sink; a caller that passes
        its own parameter on is one too (to a fixed point). Each call's argument is then matched as a
        table name at the call, and a helper's LR005 stands only when some caller passes an unknown."""
        if not self.summaries and not self._weak:
            return
        calls = self._helper_calls()
        by_function: dict[str, list[str]] = {}
        for function, param in self.summaries:
            by_function.setdefault(function, []).append(param)
        for weak in (False, True):
            if weak:  # then the parameters that reach only names-only sinks, where nothing stronger did
                for key, summary in self._weak.items():
                    if key not in self.summaries:
                        self.summaries[key] = summary
                        by_function.setdefault(key[0], []).append(key[1])
            changed = True
            while changed:  # terminates: each round adds a summary, and there are finitely many parameters
                changed = False
                for _, call, target, info in calls:
                    for param in by_function.get(target, ()):
                        inner = passes_parameter(_arguments(call, info, param)[0])
                        if inner is not None and (inner.function, inner.param) not in self.summaries:
                            below = self.summaries[(target, param)]
                            self.summaries[(inner.function, inner.param)] = _Summary(
                                call.what,
                                (target, *below.chain),
                                any_schema=below.any_schema,
                                schema=below.schema,
                            )
                            by_function.setdefault(inner.function, []).append(inner.param)
                            changed = True
        called: set[ParamKey] = set()
        unknown: set[ParamKey] = set()
        needs: dict[ParamKey, set[ParamKey]] = {}
        for facts, call, target, info in calls:
            for key in [(target, p) for p in by_function.get(target, ())]:
                called.add(key)
                for value in _arguments(call, info, key[1]):
                    if value is None:
                        continue  # not passed: its default, analysed where it is written
                    inner = passes_parameter(value)
                    if inner is not None:
                        needs.setdefault(key, set()).add((inner.function, inner.param))
                        continue
                    if not value:
                        unknown.add(key)
                        continue
                    through = (target, *self.summaries[key].chain)
                    summary = self.summaries[key]
                    kind = "postgrest-table" if summary.any_schema else "table"
                    site = Site(kind, value, call.block, call.what, summary.schema, through)
                    for assembly in self.assemble(value, facts.path):
                        if HOLE_PREFIX in assembly.text:
                            unknown.add(key)
                        else:
                            self._match_table(facts, site, assembly)
                            if self._names.search(assembly.text):  # not the legacy one (another schema's)
                                self._note_ruled_out(site, assembly)
        for facts in self.modules.values():
            for callee, slot in facts.unknown_arguments:
                target = self.function(callee)  # looked up once per name (memoised)
                if target is None:
                    continue
                info = self.functions[target][1]
                for param in by_function.get(target, ()):
                    if _takes(info, param, slot):
                        called.add((target, param))
                        unknown.add((target, param))
        # a method's callers are those the scan can tell, and maybe others: a call of its name on an object
        # of unknown type (here, or in a module the scan did not parse) may be one of them
        elsewhere: dict[ParamKey, str] = {}
        methods = {key: name for key in called - unknown if (name := self._method_name(key[0]))}
        if methods:
            calls_of = self._unattributed_calls({name for name in methods.values() if name != "__init__"})
            for key, name in methods.items():
                info = self.functions[key[0]][1]
                where = next((p for p, slot in calls_of.get(name, ()) if _takes(info, key[1], slot)), None)
                if where is not None:
                    unknown.add(key)
                    elsewhere[key] = f"`.{name}()` is also called in {where} on an object of unknown type"
        resolved = called - unknown
        shrinking = True
        while shrinking:  # the greatest fixed point: a cycle of helpers is resolved by its outside callers
            shrinking = False
            for key in list(resolved):
                if not needs.get(key, set()) <= resolved:
                    resolved.discard(key)
                    shrinking = True
                    # a helper whose caller a call of unknown type may run: that call is named here too
                    why = next((elsewhere[k] for k in sorted(needs[key]) if k in elsewhere), None)
                    if why is not None:
                        elsewhere[key] = why
        for key, summary in sorted(self.summaries.items()):
            facts, info = self.functions[key[0]]
            self._result.sinks.append(
                InferredSink(key[0], key[1], facts.path, info.line, summary.reaches, summary.chain)
            )
            if key not in resolved:
                for finding, node in summary.unresolved:
                    if key in elsewhere:
                        finding = also_called(finding, elsewhere[key])
                    self._add(finding, node)
        self._registries()
        self._hold(resolved, needs, methods)

    def _registries(self) -> None:
        """A dict that a helper looks up by its table-name parameter (`STATS[table]`, `STATS.get(table)`)
        is keyed by table names: each literal key that names a legacy object is a table name held in data
        (it must change with the rename, or the lookup fails for the new name)."""
        for facts in self.modules.values():
            keyed: dict[str, Site] = {}
            for function, param, label, keys in facts.registries:
                summary = self.summaries.get((function, param))
                if summary is None:
                    continue
                name = function.rpartition(".")[2]
                shown = label or "a local dict"
                what = f"`{shown}`, looked up by `{param}` in {name}(), a table name in {summary.reaches}"
                site = Site("table-key", (), "", what, through=(function, *summary.chain))
                if label:
                    keyed.setdefault(label, site)
                for key in keys:
                    for assembly in self.assemble(key, facts.path):
                        self._match_table(facts, dataclasses.replace(site, value=key), assembly)
            for label, key in facts.key_reads:  # `STATS["orders"]`: a lookup of that table's entry
                if label in keyed:
                    site = dataclasses.replace(keyed[label], value=key)
                    for assembly in self.assemble(key, facts.path):
                        self._match_table(facts, site, assembly)

    def _method_name(self, function: str) -> str:
        """A method's name ("" for a module-level or nested function): the calls of a method cannot all be
        told by name, a constructor's are those that name its class."""
        facts = self.functions[function][0]
        local = function[len(facts.module) + 1 :].split(".")
        if len(local) < 2 or ".".join(local[:-1]) not in facts.classes:
            return ""
        return local[-1]

    def _unattributed_calls(self, names: set[str]) -> dict[str, list[tuple[str, str]]]:
        """The calls of these method names that reach no function the scan can tell: on an object of unknown
        type (`repo.count(name)`), or through an attribute whose type is unknown (`self.db.count(name)`),
        each as (where, the place of an argument the call passes an unknown value for)."""
        found: dict[str, list[tuple[str, str]]] = {}
        if not names:
            return found
        roots = {module.partition(".")[0] for module in self.modules}
        for facts in self.modules.values():
            classes = {f"{facts.module}.{local}" for local in facts.classes}
            for callee, slot in sorted(facts.unknown_arguments):
                owner, _, name = callee.rpartition(".")
                if name not in names:
                    continue
                if callee.startswith(UNATTRIBUTED) or (
                    owner.partition(".")[0] in roots
                    and owner not in classes
                    and self.function(callee) is None
                ):
                    found.setdefault(name, []).append((facts.path, slot))
            if not names.intersection(c.rpartition(".")[2] for c in facts.callees()):
                continue
            for call in facts.calls:
                owner, _, name = call.callee.rpartition(".")
                if name not in names or owner in classes or self.function(call.callee) is not None:
                    continue
                for index, keyword, value in call.args:
                    if (
                        not value
                        or passes_parameter(value) is not None
                        or any(HOLE_PREFIX in a.text for a in self.assemble(value, facts.path))
                    ):
                        slot = keyword if keyword and keyword[0] != "[" else f"{index}{keyword or ''}"
                        found.setdefault(name, []).append((facts.path, slot))
        return found

    def _hold(
        self, resolved: set[ParamKey], needs: dict[ParamKey, set[ParamKey]], methods: dict[ParamKey, str]
    ) -> None:
        """The LR005s of the methods resolved by the callers the scan parsed, with those of the helpers
        resolved through them, are held back: a module the scan did not parse may call the method too (the
        scan looks for such calls in the files it did not parse, see scan.py `_held_back`)."""
        for key in sorted(k for k in resolved if k in methods):
            through = {key}
            grew = True
            while grew:  # the helpers whose resolution needs this one, to a fixed point
                grew = False
                for other in resolved:
                    if other not in through and needs.get(other, set()) & through:
                        through.add(other)
                        grew = True
            findings = tuple(pair for other in sorted(through) for pair in self.summaries[other].unresolved)
            if findings:
                info = self.functions[key[0]][1]
                name = methods[key]
                cls = key[0].rsplit(".", 2)[-2] if name == "__init__" else ""
                self._result.held.append(
                    HeldHelper(name, cls, _position(info, key[1].partition("[")[0]), key[1], findings)
                )

    def _helper_calls(self) -> list[tuple[ModuleFacts, CallSite, str, FunctionInfo]]:
        """The calls that may reach a helper, in module and source order. A module's call records are
        unpacked only when it calls a function that takes a table name, or one that may pass its own
        parameter on to such a function (a superset of the summaries' fixed point, found first)."""
        callers: dict[str, list[str]] = {}  # function -> modules that call it
        for path, facts in self.modules.items():
            for callee in facts.callees():
                target = self.function(callee)
                if target is not None:
                    callers.setdefault(target, []).append(path)
        pending = sorted({function for function, _ in (*self.summaries, *self._weak)})
        reached, unpacked = set(pending), set()
        while pending:
            for path in callers.get(pending.pop(), ()):
                # a module is read again for each function newly reached that it calls: a call earlier in
                # it may pass a parameter to a function only found to reach a table later in the walk
                unpacked.add(path)
                for call in self.modules[path].calls:
                    if self.function(call.callee) not in reached:
                        continue
                    for _, _, value in call.args:
                        inner = passes_parameter(value)
                        if inner is not None and inner.function not in reached:
                            reached.add(inner.function)
                            pending.append(inner.function)
        found: list[tuple[ModuleFacts, CallSite, str, FunctionInfo]] = []
        for path, facts in self.modules.items():
            if path in unpacked:
                for call in facts.calls:
                    target = self.function(call.callee)
                    if target is not None:
                        found.append((facts, call, target, self.functions[target][1]))
        return found

    def function(self, target: str, depth: int = 0) -> str | None:
        """The function a dotted call target names: defined in a scanned module, re-exported, a class's
        constructor, or a method looked up through the type of the object an attribute holds."""
        if target in self.functions:
            return target
        if depth == 0:  # looked up once per name (the facts do not change while resolving)
            if target not in self._function_targets:
                self._function_targets[target] = self._function(target, 0)
            return self._function_targets[target]
        return self._function(target, depth)

    def _fixture(self, caller: str, name: str, depth: int) -> str | None:
        """The function a pytest fixture hands to the tests of module ``caller``, found as pytest finds the
        fixture: the module's own, then the nearest conftest up its package path; else the one fixture of
        that name in the scanned tree (several that return different functions: unknown)."""
        parts = caller.split(".")
        for module in [caller, *(".".join([*parts[:i], "conftest"]) for i in range(len(parts) - 1, -1, -1))]:
            facts = self.modules.get(module)
            if facts is not None and name in facts.fixtures:
                return self.function(facts.fixtures[name], depth + 1)
        found = {facts.fixtures[name] for facts in self.modules.values() if name in facts.fixtures}
        return self.function(found.pop(), depth + 1) if len(found) == 1 else None

    def _function(self, target: str, depth: int) -> str | None:
        if target.startswith(FIXTURE_CALLEE):  # a test calls what a pytest fixture of that name returns
            return self._fixture(*target[len(FIXTURE_CALLEE) :].rpartition(" ")[::2], depth)
        if target + ".__init__" in self.functions:
            return target + ".__init__"
        if depth > _MAX_DEPTH:
            return None
        parts = target.split(".")
        for i in range(len(parts) - 1, 0, -1):
            facts = self.module(".".join(parts[:i]))
            if facts is None:
                continue
            rest = parts[i:]
            for j in range(len(rest) - 1, 0, -1):
                held = facts.attribute_types.get(".".join(rest[:j]))
                if held is None and j >= 2:  # `self.db.x()` where a base class types `self.db`
                    held = self._inherited_attribute_type(f"{facts.module}.{rest[0]}", rest[1:j])
                if held is not None:
                    return self.function(".".join([held, *rest[j:]]), depth + 1)
            key = ".".join(rest)
            if key in facts.functions or key + ".__init__" in facts.functions:
                return self.function(f"{facts.module}.{key}", _MAX_DEPTH + 1)
            if key in facts.classes:  # a class without a constructor of its own: its base's
                for cls in self._ancestry(f"{facts.module}.{key}")[1:]:
                    if f"{cls}.__init__" in self.functions:
                        return f"{cls}.__init__"
            owner = self.class_target(f"{facts.module}.{'.'.join(rest[:-1])}") if len(rest) > 1 else None
            if owner is not None:  # a method inherited from a base class
                for cls in self._ancestry(owner)[1:]:
                    if f"{cls}.{rest[-1]}" in self.functions:
                        return f"{cls}.{rest[-1]}"
            imported = facts.imports.get(rest[0])
            if imported is not None and imported != target:
                return self.function(".".join([imported, *rest[1:]]), depth + 1)
            return None
        return None

    def _model_ancestors(self, facts: ModuleFacts, model: ModelClass) -> list[ModelClass] | None:
        """The scanned model classes a class inherits from (nearest first), or None when it is not a
        Django model: no base is the ORM's model class, directly or through scanned bases elsewhere."""
        if self._models is None:
            self._models = {
                f"{f.module}.{m.block.split(':', 1)[1]}": (f, m)
                for f in self.modules.values()
                for m in f.models
            }
        out: list[ModelClass] = []
        is_model = model.direct
        stack = [(facts, model)]
        seen: set[int] = set()
        while stack and len(seen) < _MAX_DEPTH:
            _, current = stack.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            for base in current.bases:
                found = self.class_target(base)
                parent = self._models.get(found) if found is not None else None
                if parent is not None:
                    out.append(parent[1])
                    is_model = is_model or parent[1].direct
                    stack.append(parent)
        return out if is_model else None

    def _django_default(self, facts: ModuleFacts, model: ModelClass) -> None:
        ancestors = self._model_ancestors(facts, model)
        if ancestors is None or model.abstract or model.proxy:
            return  # not a model; an abstract model has no table; a proxy uses its concrete parent's
        label = model.app_label or self._app_label(facts.module)
        for field_name, node in model.m2m:
            self._django_table(
                facts, model, f"{label}_{model.name.lower()}_{field_name.lower()}", node, field_name
            )
        if model.db_table or (not model.own_meta and any(a.abstract and a.db_table for a in ancestors)):
            return  # Meta.db_table, its own or inherited from an abstract base's Meta: reported as a mapping
        table = f"{label}_{model.name.lower()}"
        self._derived_tables[model.block.replace(":", ".", 1)] = table
        self._django_table(facts, model, table, model.node, "")

    def _django_table(
        self, facts: ModuleFacts, model: ModelClass, table: str, node: int, field_name: str
    ) -> None:
        legacy = self.catalog.lookup(None, table)
        if legacy is None:
            return
        target = legacy.target.name if legacy.target else table
        if field_name:
            message = (
                f"ManyToManyField `{model.name}.{field_name}` has no db_table or through model, so its join "
                f'table is Django\'s default `{table}`: {_describe(legacy)}. Set db_table="{target}".'
            )
        else:
            message = (
                f"Django model `{model.name}` has no Meta.db_table, so it maps to its default table "
                f'`{table}`: {_describe(legacy)}. Set Meta.db_table to "{target}".'
            )
        self._default_table(facts.path, legacy, model.block, message, node)

    def _default_table(
        self, path: str, legacy: LegacyObject, block: str, message: str, node: int | None
    ) -> None:
        """LR003 at a class whose table name the ORM derives (Django's default, a declared_attr): the
        position is the class's, found by the position pass."""
        finding = Finding(
            rule="LR003",
            path=path,
            span=Span(0, 0, 0, 0),
            legacy=legacy.legacy,
            target=legacy.target,
            block=block,
            confidence=Confidence.MEDIUM,
            message=message,
            snippet="",
        )
        self._add(finding, node)

    def _app_label(self, module: str) -> str:
        parts = module.split(".")
        if "models" in parts[1:]:
            app = parts[: len(parts) - 1 - parts[::-1].index("models")]
        else:
            app = parts[:-1] or parts
        app_module = ".".join(app)
        for name, label in self._app_labels.items():
            if app_module == name or app_module.endswith("." + name) or name.endswith("." + app_module):
                return label
        return app[-1]

    def _add(self, finding: Finding, node: int | None = None) -> None:
        if finding.rule == "LR005" and finding.span.line:
            # one unknown value reached through two sinks (`SQL("... {t}").format(t=Identifier(x))`):
            # one finding, the first
            place = (finding.path, finding.span)
            if place in self._unknown_at:
                return
            self._unknown_at.add(place)
        self._result.findings.append(finding)
        if node is not None:
            self._result.pending.append(PendingPosition(len(self._result.findings) - 1, finding.path, node))

    def _suggest(
        self,
        assembly: Assembly,
        segment: Segment,
        ref_start: int,
        name_end: int,
        legacy: LegacyObject,
        schema_written: bool,
        position: str,
    ) -> Suggestion | None:
        if legacy.target is None or ref_start < segment.start or name_end > segment.end:
            return None
        default = rewrite_schema(
            position, legacy.legacy, legacy.target, schema_written, self.catalog.default_schema
        )
        if default is None:
            return None
        lit = segment.piece
        assert isinstance(lit, Lit)
        first, last = ref_start - segment.start, name_end - segment.start
        raw_first, raw_last = lit.raw_offset(lit.start + first), lit.raw_offset(lit.start + last)
        written = assembly.text[ref_start:name_end]
        if lit.raw[raw_first:raw_last] != written:
            return None  # escapes inside the name: leave the edit to a person
        line, column = lit.position(first)
        end_line, end_column = lit.position(last)
        replacement = rewrite_reference(written, schema_written, legacy.target, default)
        description = f"Use {legacy.target} instead of the legacy view {legacy.legacy}"
        if legacy.columns:
            renames = ", ".join(f"{old} -> {new}" for old, new in legacy.columns)
            description += f", and rename the columns the view renames: {renames}"
        return Suggestion(Span(line, column, end_line, end_column), replacement, description + ".")


# Clause markers of a statement; prose that merely starts with "Update ..." has one at most.
_SQL_CLAUSES = re.compile(
    r"\b(?:select|from|where|set|into|values|join|returning|group\s+by|order\s+by|update|delete|insert|"
    r"create|alter|drop|table|view|function|trigger|policy|grant|revoke|merge|using)\b"
    r"|\b(truncate|comment\s+on\s+(?:materialized\s+view|table|view|column))\b|(::\s*regclass)\b",
    re.IGNORECASE,
)


# a qualified column (`legacy.total`, `"legacy"."id"`, `legacy.*`, `legacy.{field}`) in a fragment
# after a "/" the name is a URL or file path segment (`/legacy.json?id=1`), never a qualifier
_QUALIFIER = re.compile(r'(?<![\w$."/])("[^"]+"|[A-Za-z_][\w$]*)\s*\.\s*(?:"[^"]+"|[A-Za-z_]\w*|\*)')
# SQL operators and keywords beside it; prose and log lines have none of them
_SQL_SHAPE = re.compile(
    r"(?:[=<>]|!=|->>?|\|\||::|\b(?:and|or|not|is|null|in|like|ilike|between|asc|desc|nulls|case|when|"
    r"coalesce|count|sum|max|min|avg|distinct|using|interval|now|where|having|returning|(?:order|group)\s+by)\b)",
    re.IGNORECASE,
)
_MAX_FRAGMENT = 2000


def covering(groups: list[list[_V]]) -> list[_V]:
    """The variants of a hole's candidates (``groups``: each candidate's variants, in order), so that every
    candidate is analysed however many there are (a loop over a registry of 40 tables): the first variant
    of each, then the first candidate's others (the next hole's candidates), then at most _MAX_VARIANTS
    more of the rest (the combinations of several holes grow as a product)."""
    every = [variant for group in groups for variant in group]
    if len(every) <= _MAX_VARIANTS:
        return every
    firsts = [group[0] for group in groups if group]
    others = [variant for group in groups for variant in group[1:]]
    return firsts + others[:_MAX_VARIANTS]


def module_sql_texts(facts: ModuleFacts) -> Iterator[str]:
    """The SQL texts the matching stage analyses for this module's own statements: sites whose value is
    known from the module alone (literal text, holes with no candidate values, and holes whose candidates
    are such text: an `if` that picks one of two strings), assembled as `assemble` does and kept as
    `_match_sql` keeps them. The worker that parsed the module analyses them ahead, on its core; the
    matching stage then finds them analysed (any other text it analyses itself)."""
    for site in facts.sites:
        if site.kind not in ("sql", "standalone") or site.owner:
            continue
        for pieces in _local_variants(list(site.value), 0) or ():
            text = "".join(p.text if isinstance(p, Lit) else _hole_text(i) for i, p in enumerate(pieces))
            if _looks_like_sql(text) if site.kind == "standalone" else SQL_START.match(text) is not None:
                yield text


def _local_variants(pieces: list[Piece], depth: int) -> list[list[Piece]] | None:
    """The variants `Resolver._variants` makes of pieces known from their module alone, in its order;
    None when a piece needs another module (a reference) or a file (SQL read from a .sql file)."""
    for i, piece in enumerate(pieces):
        if isinstance(piece, Hole) and piece.candidates and depth < 3:
            groups: list[list[list[Piece]]] = []
            for candidate in piece.candidates:
                found = _local_variants([*pieces[:i], *candidate, *pieces[i + 1 :]], depth + 1)
                if found is None:
                    return None
                groups.append(found)
            if not piece.exhaustive:
                bare = Hole(piece.label, piece.reason, piece.node, piece.line, piece.column)
                found = _local_variants([*pieces[:i], bare, *pieces[i + 1 :]], depth + 1)
                if found is None:
                    return None
                groups.append(found)
            return covering(groups)
        if not isinstance(piece, (Lit, Hole)) or (isinstance(piece, Hole) and piece.sql_file):
            return None
    return [pieces]


# how an ORM hands out a model's table name, and the class attribute that declares it (inherited or not)
_DECLARED_TABLES = (
    ("._meta.db_table", "Meta.db_table", False),
    (".__table__.name", "__tablename__", True),
    (".__table__.fullname", "__tablename__", True),
)


def _other_schema(schema: str | None, catalog: LegacyCatalog) -> bool:
    """A schema written out (no unknown part) that holds no legacy object."""
    return schema is not None and HOLE_PREFIX not in schema and not catalog.holds_schema(schema)


def _looks_like_sql(text: str) -> bool:
    if not SQL_START.match(text):
        return False
    markers: set[str] = set()
    for match in _SQL_CLAUSES.finditer(text):
        if match.group(1) is not None or match.group(2) is not None:
            # TRUNCATE, COMMENT ON TABLE: whole statements on their own; a `::regclass` cast is SQL's alone
            return True
        markers.add(" ".join(match.group(0).lower().split()))
        if len(markers) >= 2:
            return True
    return False


# how a reference names the table, by its SQL position (none: as a relation)
_POSITION_NOTES = {"qualifier": " as a column qualifier", "lookup": " looked up by name in the catalog"}
_SELECT = Lit("SELECT ", 0, 0, "", 0, False, False)


_FROM = Lit("SELECT * FROM ", 0, 0, "", 0, False, False)
# relations as a FROM clause lists them: `a, b`, `a AS x, s.b y`, `a JOIN b ON ...` (not a CSS selector)
_RELATION = (
    r'(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))?(?:\s+(?:as\s+)?[A-Za-z_]\w*)?'
)
_FROM_LIST = re.compile(
    rf"\s*{_RELATION}(?:\s*,\s*{_RELATION})+\s*|\s*{_RELATION}(?:\s*,\s*{_RELATION})*\s+(?:\w+\s+)*join\b.*",
    re.IGNORECASE | re.DOTALL,
)


def _as_select(assembly: Assembly) -> Assembly:
    """A SQL fragment read as the select list of a query (the added text has no source position)."""
    return _prefixed(_SELECT, assembly)


def _prefixed(prefix: Lit, assembly: Assembly) -> Assembly:
    """The assembly after a text of no source position (a fragment completed into a statement)."""
    width = len(prefix.text)
    segments = [Segment(0, width, prefix, "", ())]
    segments.extend(
        dataclasses.replace(s, start=s.start + width, end=s.end + width) for s in assembly.segments
    )
    return Assembly(prefix.text + assembly.text, segments, assembly.approximate)


def _takes(info: FunctionInfo, param: str, slot: str) -> bool:
    """A call that passes an unknown value at ``slot`` (a place, a keyword, `*`, `**`) may pass it for
    ``param``."""
    base = param.partition("[")[0]  # an entry of a dict parameter: the dict's slot
    position = _position(info, base)
    slots = (param, base, str(position), f"{position}[]" if param.endswith("[]") else "", "*", "**")
    return slot in slots and (slot != "*" or position >= 0)


def _names_a_value(label: str) -> bool:
    """An expression defined outside the scanned code that holds a value, not a Table or Column object: an
    entry of a mapping (`os.environ["T"]`, `config["table"]`) or a constant-style name (`settings.TABLE`)."""
    last = label.rpartition(".")[2]
    return "[" in label or (last.isupper() and any(c.isalpha() for c in last))


def _position(info: FunctionInfo, param: str) -> int:
    """A parameter's place among a call's positional arguments (the bound `self` skipped); -1: none. An
    element of `*args` (`*args:K`) is the K-th positional argument past the named ones."""
    bound = 1 if info.bound else 0
    if param.startswith("*"):
        return len(info.params) - bound + int(param.rpartition(":")[2])
    return info.params.index(param) - bound if param in info.params else -1


def _arguments(call: CallSite, info: FunctionInfo, param: str) -> list[Value | None]:
    """The values a call passes for a parameter: one, or for the elements of a list parameter
    (`tables[]`) each element of the list the call writes out; [None] when not passed at all."""
    if not param.endswith("[]"):
        return [_argument(call, info, param)]
    base = param[:-2]
    position = _position(info, base)
    elements = [
        value
        for index, keyword, value in call.args
        if keyword == param or (keyword == "[]" and index == position >= 0)
    ]
    if elements:
        return elements
    whole = _argument(call, info, base)
    if (
        whole
        and len(whole) == 1
        and isinstance(whole[0], Hole)
        and whole[0].param
        and "[" not in whole[0].param
    ):
        return [
            (dataclasses.replace(whole[0], param=f"{whole[0].param}[]"),)
        ]  # the caller's own list, passed on
    return [whole and ()]  # a list not written out: unknown elements (None: not passed)


def _argument(call: CallSite, info: FunctionInfo, param: str) -> Value | None:
    """The value a call passes for a parameter (by position, the bound `self` skipped, or by keyword);
    for an entry of a dict parameter (`params[table]`), that entry of the dict the call passes."""
    base, _, entry = param.partition("[")
    position = _position(info, base)
    unpacked = passed = False
    for index, keyword, value in call.args:
        if not entry and (keyword == param or (keyword is None and index == position >= 0)):
            return value
        if entry and (keyword == param or (keyword == f"[{entry}" and index == position >= 0)):
            return value
        passed = passed or keyword == base or (keyword is None and index == position >= 0)
        unpacked = unpacked or keyword in ("*", "**")
    # a dict passed without that entry, or `*args`: unknown; not passed at all: the default's
    return () if unpacked or passed else None


def _describe(legacy: LegacyObject) -> str:
    target = f" (replaced by `{legacy.target}`)" if legacy.target else ""
    return f"legacy view `{legacy.legacy}`{target}"


def _site_kind(site: Site) -> str:
    return {
        "sql": "SQL",
        "standalone": "SQL text",
        "mapping": "an ORM mapping",
        "postgrest-select": "a PostgREST select",
        "postgrest-url": "a PostgREST URL",
        "table-key": "a dict keyed by table names",
    }.get(site.kind, "a table argument")


def apply_positions(
    findings: list[Finding],
    pending: list[PendingPosition],
    positions: dict[str, dict[int, tuple[int, int, int, int]]],
) -> list[Finding]:
    """Fill in the spans of findings located at expressions, from the lazy position pass."""
    out = list(findings)
    for item in pending:
        found = positions.get(item.path, {}).get(item.node)
        if found is not None:
            out[item.index] = dataclasses.replace(out[item.index], span=Span(*found))
    return out


def one_per_occurrence(findings: list[Finding]) -> list[Finding]:
    """One finding per occurrence: a name reached through two sinks is reported once (the first rule
    that matched it: mappings, then table arguments, then SQL), an unresolved table name (LR005) at a
    position that is already a legacy finding says nothing more, and one unresolved value that two sinks
    take (`pd.read_sql_table(t)` matching two entries, SQL text that a `text()` call also holds) is one
    LR005 in its block, the first."""
    legacy_at = {(f.path, f.span.line, f.span.column) for f in findings if f.legacy is not None}
    seen: set[tuple[str, int, int, str]] = set()
    out: list[Finding] = []
    for finding in findings:
        position = (finding.path, finding.span.line, finding.span.column)
        if finding.legacy is None and finding.rule != "LR005":
            out.append(finding)
            continue
        if finding.legacy is None and position in legacy_at:
            continue
        # an LR005 is one per place and block: a mixin's computed `__tablename__` stays one per model
        key = (*position, str(finding.legacy) if finding.legacy is not None else f"?{finding.block}")
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out
