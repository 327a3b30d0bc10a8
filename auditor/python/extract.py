"""Extract, from one Python module, where SQL text and table names enter database code (libcst).

The result is symbolic (see values.py): names of constants and imports are resolved later, across
modules, by resolve.py. Positions of string tokens are found by a forward search over the source in
traversal order, which costs far less than libcst's whole-module position metadata; positions of other
expressions are computed in a second pass only for the few files that need them.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from auditor.core.source import LineIndex
from auditor.python.rulepacks import MappingRule, RulePacks, Sink
from auditor.python.values import Hole, Lit, Piece, Ref, Value, literal_text, member_name

SQL_START = re.compile(
    r"\A\s*(?:--[^\n]*\n\s*)*\(*\s*(?:select|insert|update|delete|with|create|alter|drop|truncate|copy|merge|"
    r"grant|revoke|comment|lock|refresh|call|values|table)\b",
    re.IGNORECASE,
)
_EMPTY_MODULE = cst.Module(body=[])
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@dataclass(frozen=True, slots=True)
class Site:
    """A place where a value enters database code (or a SQL-looking string stands on its own)."""

    kind: str  # a sink kind ("sql", "table", ...), "mapping" (ORM) or "standalone"
    value: Value
    block: str
    what: str  # how it enters, for messages: "execute()", "__tablename__", ...
    schema: Value | None = None


@dataclass(frozen=True, slots=True)
class ModelClass:
    """A Django model class, for its default table name."""

    name: str
    block: str
    node: int
    app_label: str | None  # Meta.app_label when set
    has_table: bool  # Meta.db_table set, or abstract/proxy: no default name applies


@dataclass
class ModuleFacts:
    path: str
    module: str
    constants: dict[str, Value] = field(default_factory=dict)  # "NAME", "Class.NAME", "NAME[key]"
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    sites: list[Site] = field(default_factory=list)
    models: list[ModelClass] = field(default_factory=list)
    app_labels: dict[str, str] = field(default_factory=dict)  # AppConfig name -> label (apps.py)
    node_positions: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)


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
    module: cst.Module | None = None,
    with_positions: bool = False,
) -> ModuleFacts:
    """Walk one parsed module; raises libcst.ParserSyntaxError when the source does not parse."""
    tree = module if module is not None else cst.parse_module(source)
    facts = ModuleFacts(path, module_name(path))
    positions = None
    if with_positions:
        positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    extractor = _Extractor(facts, source, packs, legacy_pattern, positions)
    walk(tree, extractor)
    return facts


# Fields in source order where the node's dataclass declares them in another order.
_SOURCE_ORDER: dict[str, tuple[str, ...]] = {
    "Arg": ("keyword", "value"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "IfExp": ("body", "test", "orelse"),
    "MatchCase": ("pattern", "guard", "body"),
    "Parameters": ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "TypeAlias": ("name", "type_parameters", "value"),
}
# Syntax-only fields: whitespace, comments and punctuation hold no string or name we analyse.
_SYNTAX_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "comma",
        "semicolon",
        "equal",
        "colon",
        "newline",
        "trailing_whitespace",
        "operator",
        "dot",
        "arrow",
        "lbrace",
        "rbrace",
        "lbracket",
        "rbracket",
        "asynchronous",
        "star",
        "default_indent",
        "default_newline",
        "encoding",
        "has_trailing_newline",
        "indent",
        "posonly_ind",
    }
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        names = _SOURCE_ORDER.get(cls.__name__) or tuple(f.name for f in dataclasses.fields(cls))
        fields = tuple(n for n in names if n not in _SYNTAX_FIELDS and not n.startswith("whitespace"))
        _FIELDS[cls] = fields
    return fields


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """Visit a tree in source order, calling ``visit_<Node>``, ``visit_<Node>_<field>`` and ``leave_<Node>``.

    libcst's own traversal rebuilds every node and looks up hooks for every attribute; this one reads
    the tree as it is, which makes the extraction several times faster.
    """
    hooks = _hooks(type(visitor))
    _walk(node, visitor, hooks)


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The analysed children of a node, in source order."""
    for attr in _child_fields(type(node)):
        value = getattr(node, attr)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            yield from (item for item in value if isinstance(item, cst.CSTNode))


def _first_located(node: cst.CSTNode, located: Mapping[int, int]) -> cst.CSTNode | None:
    """The first name or string token of an expression, in source order (depth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in located:
            return current
        stack.extend(reversed(list(_children(current))))
    return None


def _identifier_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _walk(node: cst.CSTNode, visitor: cst.CSTVisitor, hooks: dict[str, tuple[str | None, ...]]) -> None:
    cls = type(node)
    name = cls.__name__
    visit, leave, before_body = hooks.get(name, (None, None, None))
    if visit is not None:
        getattr(visitor, visit)(node)
    for attr in _child_fields(cls):
        value = getattr(node, attr)
        if attr == "body" and before_body is not None:
            getattr(visitor, before_body)(node)
        if isinstance(value, cst.CSTNode):
            _walk(value, visitor, hooks)
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    _walk(item, visitor, hooks)
    if leave is not None:
        getattr(visitor, leave)(node)


_HOOKS: dict[type, dict[str, tuple[str | None, ...]]] = {}


def _hooks(cls: type) -> dict[str, tuple[str | None, ...]]:
    found = _HOOKS.get(cls)
    if found is None:
        names = set(dir(cls))
        found = {}
        for node_name in {n.split("_", 2)[1] for n in names if n.startswith(("visit_", "leave_"))}:
            visit, leave, body = f"visit_{node_name}", f"leave_{node_name}", f"visit_{node_name}_body"
            found[node_name] = (
                visit if visit in names else None,
                leave if leave in names else None,
                body if body in names else None,
            )
        _HOOKS[cls] = found
    return found


@dataclass
class _Scope:
    kind: str  # "module", "class", "function"
    name: str
    values: dict[str, Value] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)
    pending: list[Site] = field(default_factory=list)  # ORM mappings, emitted with the class's schema
    schema: Value | None = None  # from SQLAlchemy __table_args__ = {"schema": ...}


class _Extractor(cst.CSTVisitor):
    def __init__(
        self,
        facts: ModuleFacts,
        source: str,
        packs: RulePacks,
        legacy_pattern: re.Pattern[str],
        positions: Mapping[cst.CSTNode, CodeRange] | None,
    ) -> None:
        super().__init__()
        self.facts = facts
        self.source = source
        self.legacy = legacy_pattern
        self.positions = positions
        self.method_sinks = packs.method_sinks()
        self.call_sinks = packs.call_sinks()
        self.mappings: dict[str, list[MappingRule]] = {}
        for rule in packs.mappings:
            self.mappings.setdefault(rule.attribute, []).append(rule)
        self.model_bases = tuple(b for d in packs.model_defaults for b in d.bases)
        self.scopes: list[_Scope] = [_Scope("module", "")]
        self.cursor = 0
        self.string_pos: dict[int, int] = {}  # id(string node or f-string part) -> source offset
        self.lines: LineIndex | None = None
        self.docstrings: set[int] = set()
        self.ordinal = 0
        self.model_stack: list[dict[str, object] | None] = []

    # --- positions -------------------------------------------------------------------------------

    def _locate(self, node: cst.CSTNode, text: str) -> None:
        found = self._find(text)
        if found >= 0:
            self.string_pos[id(node)] = found
            self.cursor = found + len(text)

    def _find(self, text: str) -> int:
        start = self.cursor
        while True:
            found = self.source.find(text, start)
            if found < 0 or not self._in_comment(found):
                return found
            start = found + 1

    def _in_comment(self, offset: int) -> bool:
        # Strings are located in source order, so the text since the last one holds no string token:
        # a '#' there starts a comment that runs to the end of its line.
        gap = self.source[self.cursor : offset]
        hash_at = gap.rfind("#")
        return hash_at >= 0 and "\n" not in gap[hash_at:]

    def _offset_position(self, offset: int) -> tuple[int, int]:
        if self.lines is None:
            self.lines = LineIndex(self.source)
        return self.lines.position(offset)

    def _node(self, node: cst.CSTNode) -> int:
        """A stable ordinal for an expression, with its position when its first token was located."""
        self.ordinal += 1
        leaf = _first_located(node, self.string_pos)
        if leaf is not None and self.positions is None:
            line, column = self._offset_position(self.string_pos[id(leaf)])
            width = len(leaf.value) if isinstance(leaf, (cst.Name, cst.SimpleString)) else 1
            self.facts.node_positions[self.ordinal] = (line, column, line, column + width)
        if self.positions is not None:
            code_range = self.positions[node]
            self.facts.node_positions[self.ordinal] = (
                code_range.start.line,
                code_range.start.column + 1,
                code_range.end.line,
                code_range.end.column + 1,
            )
        return self.ordinal

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._locate(node, node.value)

    def visit_Name(self, node: cst.Name) -> None:
        # names advance the same cursor as strings, so the gap between two located nodes is only
        # keywords, punctuation and comments; a match must also be a whole identifier
        text, source, start = node.value, self.source, self.cursor
        while True:
            found = source.find(text, start)
            if found < 0:
                return
            end = found + len(text)
            if (
                not (found and _identifier_char(source[found - 1]))
                and not (end < len(source) and _identifier_char(source[end]))
                and not self._in_comment(found)
            ):
                self.string_pos[id(node)] = found
                self.cursor = end
                return
            start = found + 1

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        offset = self.string_pos.get(id(node))
        if offset is not None:
            self.cursor = offset + 1  # inside the braces: names there are searched from here on

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        start = self._find(node.start)
        if start < 0:
            return
        self.string_pos[id(node)] = start
        offset = start + len(node.start)
        for part in node.parts:
            self.string_pos[id(part)] = offset
            if isinstance(part, cst.FormattedStringText):
                offset += len(part.value)
            else:
                offset += len(_EMPTY_MODULE.code_for_node(part))
        self.cursor = start + len(node.start)

    def leave_FormattedString(self, original_node: cst.FormattedString) -> None:
        parts = original_node.parts
        if id(original_node) in self.string_pos:
            last = parts[-1] if parts else None
            end = self.string_pos.get(id(last), self.cursor) if last is not None else self.cursor
            if isinstance(last, cst.FormattedStringText):
                end += len(last.value)
            elif last is not None:
                end += len(_EMPTY_MODULE.code_for_node(last))
            self.cursor = max(self.cursor, end + len(original_node.end))

    # --- scopes ----------------------------------------------------------------------------------

    @property
    def block(self) -> str:
        names = [s.name for s in self.scopes[1:]]
        return f"{self.facts.module}:{'.'.join(names) if names else '<module>'}"

    @property
    def class_path(self) -> str:
        names: list[str] = []
        for scope in self.scopes[1:]:
            if scope.kind == "function":
                return ""
            names.append(scope.name)
        return ".".join(names)

    def visit_Module(self, node: cst.Module) -> None:
        self._note_docstring(node.body)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._note_docstring(node.body.body)

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.scopes.append(_Scope("class", node.name.value))
        self.model_stack.append(self._model_info(node))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        scope = self.scopes.pop()
        for site in scope.pending:
            self.facts.sites.append(Site(site.kind, site.value, site.block, site.what, scope.schema))
        info = self.model_stack.pop()
        if info is not None:
            self.facts.models.append(
                ModelClass(
                    name=scope.name,
                    block=f"{self.facts.module}:{'.'.join([*(s.name for s in self.scopes[1:]), scope.name])}",
                    node=self._node(original_node.name),
                    app_label=info.get("app_label"),  # type: ignore[arg-type]
                    has_table=bool(info.get("has_table")),
                )
            )
        if scope.name and self.facts.path.endswith("apps.py"):
            label = scope.values.get("label")
            name = scope.values.get("name")
            if label and name and all(isinstance(p, Lit) for p in (*label, *name)):
                self.facts.app_labels[literal_text(name)] = literal_text(label)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._note_docstring(node.body.body if isinstance(node.body, cst.IndentedBlock) else ())

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        scope = _Scope("function", node.name.value)
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            name = param.name.value
            scope.params.add(name)
            if param.default is not None:
                default = self._eval(param.default)
                if default:
                    scope.values[name] = (
                        Hole(
                            name,
                            f"parameter `{name}` of `{node.name.value}`",
                            self._node(param.name),
                            candidates=(default,),
                        ),
                    )
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.params.add(star.name.value)
        self.scopes.append(scope)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def _note_docstring(self, body: Sequence[cst.CSTNode]) -> None:
        if body and isinstance(body[0], cst.SimpleStatementLine) and body[0].body:
            first = body[0].body[0]
            if isinstance(first, cst.Expr) and isinstance(
                first.value, (cst.SimpleString, cst.ConcatenatedString)
            ):
                self.docstrings.add(id(first))

    def _model_info(self, node: cst.ClassDef) -> dict[str, object] | None:
        if not self.model_bases:
            return None
        for base in node.bases:
            dotted = _attr_dotted(base.value)
            if dotted is None:
                continue
            qualified = self._qualify(dotted)
            local_model = any(m.name == dotted for m in self.facts.models)  # an abstract base in this file
            if local_model or any(_call_matches(b, qualified) for b in self.model_bases):
                return {}
        return None

    # --- imports ---------------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _attr_dotted(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.facts.imports[alias.asname.name.value] = dotted
            else:
                root = dotted.split(".")[0]
                self.facts.imports[root] = root

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        base = _attr_dotted(node.module) if node.module is not None else ""
        if base is None:
            return
        if node.relative:
            package = self.facts.module.split(".")
            if not self.facts.path.endswith("__init__.py"):
                package = package[:-1]
            up = len(node.relative) - 1
            package = package[: len(package) - up] if up else package
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            name = _attr_dotted(alias.name)
            if name is None:
                continue
            local = (
                alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            )
            self.facts.imports[local] = f"{base}.{name}" if base else name

    # --- statements ------------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._bind(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._bind(original_node.target, original_node.value)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        target = original_node.target
        if isinstance(original_node.operator, cst.AddAssign) and isinstance(target, cst.Name):
            before = self._eval(target)
            added = self._eval(original_node.value)
            if before is not None and added is not None:
                self._store(target.value, before + added)
            self._standalone(original_node.value)

    def leave_Return(self, original_node: cst.Return) -> None:
        if original_node.value is not None:
            self._standalone(original_node.value)

    def leave_Expr(self, original_node: cst.Expr) -> None:
        if id(original_node) not in self.docstrings and not isinstance(original_node.value, cst.Call):
            self._standalone(original_node.value)

    def visit_For_body(self, node: cst.For) -> None:
        if isinstance(node.target, cst.Name) and not isinstance(node.iter, (cst.List, cst.Tuple, cst.Set)):
            name = node.target.value
            reason = f"loop variable `{name}` over `{_code(node.iter)}`"
            self._store(name, (Hole(name, reason, self._node(node.target)),))
        if isinstance(node.target, cst.Name) and isinstance(node.iter, (cst.List, cst.Tuple, cst.Set)):
            candidates = tuple(v for v in (self._eval(e.value) for e in node.iter.elements) if v)
            if candidates:
                name = node.target.value
                self._store(
                    name,
                    (
                        Hole(
                            name,
                            f"loop variable `{name}`",
                            self._node(node.target),
                            candidates=candidates,
                            exhaustive=True,
                        ),
                    ),
                )

    def _bind(self, target: cst.BaseExpression, value_node: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            scope = self.scopes[-1]
            if scope.kind == "class":
                self._class_attribute(name, value_node)
            if isinstance(value_node, cst.Dict) and scope.kind != "function":
                self._bind_dict(name, value_node)
                return
            if isinstance(value_node, (cst.List, cst.Tuple, cst.Set)):
                for element in value_node.elements:
                    self._standalone(element.value)
                return
            value = self._eval(value_node)
            if value is None:
                value = (Hole(name, f"value of `{name}`", self._node(value_node)),)
            self._store(name, value)
            self._standalone(value_node, value)
        elif (
            isinstance(target, (cst.Tuple, cst.List))
            and isinstance(value_node, (cst.Tuple, cst.List))
            and len(target.elements) == len(value_node.elements)
        ):
            for t, v in zip(target.elements, value_node.elements, strict=True):
                self._bind(t.value, v.value)

    def _bind_dict(self, name: str, node: cst.Dict) -> None:
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = self._eval(element.key)
            value = self._eval(element.value)
            if key and value and all(isinstance(p, Lit) for p in key):
                self._store(f"{name}[{literal_text(key)}]", value)
            self._standalone(element.value, value)

    def _store(self, name: str, value: Value) -> None:
        scope = self.scopes[-1]
        scope.values[name] = value
        if scope.kind == "module":
            self.facts.constants[name] = value
        elif scope.kind == "class" and self.class_path:
            self.facts.constants[f"{self.class_path}.{name}"] = value

    def _class_attribute(self, name: str, value_node: cst.BaseExpression) -> None:
        inner = self.scopes[-1].name
        model = self.model_stack[-2] if inner == "Meta" and len(self.model_stack) >= 2 else None
        if model is not None:
            if (name in ("abstract", "proxy") and _is_true(value_node)) or name == "db_table":
                model["has_table"] = True
            elif name == "app_label":
                label = self._eval(value_node)
                if label and all(isinstance(p, Lit) for p in label):
                    model["app_label"] = literal_text(label)
        for rule in self.mappings.get(name, ()):
            if rule.inner_class is not None and (inner != rule.inner_class or len(self.scopes) < 3):
                continue
            value = self._eval(value_node)
            if value:
                self.scopes[-1].pending.append(Site("mapping", value, self.block, name))
        if name == "schema" and inner == "Meta" and len(self.scopes) >= 3:
            self.scopes[-1].schema = self._eval(value_node)
        if name == "__table_args__":
            schema = _table_args_schema(value_node)
            if schema is not None:
                self.scopes[-1].schema = self._eval(schema)

    # --- calls -----------------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call) -> None:
        sinks = self._sinks_for(original_node)
        consumed: set[int] = set()
        for sink in sinks:
            for arg_node in self._sink_args(original_node, sink, consumed):
                value = self._eval(arg_node) if not sink.all_args else self._identifier(original_node)
                if value:
                    schema = self._sink_schema(original_node, sink)
                    what = f"{sink.method or sink.call.rsplit('.', 1)[-1]}()"  # type: ignore[union-attr]
                    self.facts.sites.append(Site(sink.kind, value, self.block, what, schema))
        for index, arg in enumerate(original_node.args):
            if index not in consumed:
                self._standalone(arg.value)

    def _sinks_for(self, call: cst.Call) -> list[Sink]:
        func = call.func
        found: list[Sink] = []
        if isinstance(func, cst.Attribute):
            for sink in self.method_sinks.get(func.attr.value, ()):
                if sink.receiver_has and not _receiver_calls(func.value, sink.receiver_has):
                    continue
                if sink.receiver_excludes and _receiver_names(func.value) & set(sink.receiver_excludes):
                    continue
                found.append(sink)
            last = func.attr.value
        elif isinstance(func, cst.Name):
            last = func.value
        else:
            return found
        dotted = _attr_dotted(func)
        if dotted is None:
            return found
        qualified = self._qualify(dotted)
        resolved_last = qualified.rsplit(".", 1)[-1]
        candidates = self.call_sinks.get(resolved_last, [])
        if resolved_last != last:
            candidates = [*candidates, *self.call_sinks.get(last, [])]
        found.extend(s for s in candidates if _call_matches(s.call or "", qualified))
        return found

    @staticmethod
    def _sink_args(call: cst.Call, sink: Sink, consumed: set[int]) -> list[cst.BaseExpression]:
        if sink.all_args:
            consumed.update(range(len(call.args)))
            return [call.func]
        picked: list[cst.BaseExpression] = []
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for index in sink.args:
            if index < len(positional):
                picked.append(positional[index].value)
                consumed.add(call.args.index(positional[index]))
        for i, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value in sink.keywords:
                picked.append(arg.value)
                consumed.add(i)
        expanded: list[cst.BaseExpression] = []
        for node in picked:
            # RunSQL and friends also take a list of statements
            if isinstance(node, (cst.List, cst.Tuple)):
                expanded.extend(e.value for e in node.elements)
            else:
                expanded.append(node)
        return expanded

    def _sink_schema(self, call: cst.Call, sink: Sink) -> Value | None:
        if sink.schema_keyword:
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == sink.schema_keyword:
                    return self._eval(arg.value)
        if sink.receiver_schema and isinstance(call.func, cst.Attribute):
            node: cst.BaseExpression = call.func.value
            while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if node.func.attr.value == sink.receiver_schema and node.args:
                    return self._eval(node.args[0].value)
                node = node.func.value
        return None

    def _identifier(self, call: cst.Call) -> Value | None:
        pieces: list[Piece] = []
        for i, arg in enumerate(a for a in call.args if a.keyword is None):
            value = self._eval(arg.value)
            if value is None:
                return None
            if i:
                pieces.append(_synthetic("."))
            pieces.extend(value)
        return tuple(pieces) or None

    # --- standalone strings ----------------------------------------------------------------------

    def _standalone(self, node: cst.BaseExpression, value: Value | None = None) -> None:
        """Record a string expression built from literals that may be SQL on its own."""
        if not isinstance(
            node,
            (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.BinaryOperation, cst.Call),
        ):
            return
        if isinstance(node, cst.Call) and not (
            isinstance(node.func, cst.Attribute) and node.func.attr.value in ("format", "join")
        ):
            return
        if value is None:
            value = self._eval(node)
        if not value:
            return
        text = literal_text(value)
        dynamic = any(not isinstance(p, Lit) for p in value)
        if self.legacy.search(text) or (dynamic and SQL_START.match(text)):
            self.facts.sites.append(Site("standalone", value, self.block, "SQL text"))

    # --- expression evaluation -------------------------------------------------------------------

    def _eval(self, node: cst.BaseExpression) -> Value | None:
        """The symbolic string value of an expression; None when it is not a string at all."""
        if isinstance(node, cst.SimpleString):
            return self._simple(node)
        if isinstance(node, cst.ConcatenatedString):
            left, right = self._eval(node.left), self._eval(node.right)
            return (left or ()) + (right or ()) if left is not None or right is not None else None
        if isinstance(node, cst.FormattedString):
            return self._fstring(node)
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node)
        if isinstance(node, cst.Call):
            return self._call_value(node)
        if isinstance(node, cst.Name):
            return self._name(node)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.IfExp):
            body, orelse = self._eval(node.body), self._eval(node.orelse)
            candidates = tuple(v for v in (body, orelse) if v)
            return (
                Hole(
                    _code(node),
                    "conditional expression",
                    self._node(node),
                    candidates=candidates,
                    exhaustive=len(candidates) == 2,
                ),
            )
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.List, cst.Tuple, cst.Dict, cst.Set)):
            return None
        return (Hole(_code(node), "computed value", self._node(node)),)

    def _simple(self, node: cst.SimpleString) -> Value | None:
        try:
            evaluated = node.evaluated_value
        except Exception:
            return None
        text = evaluated.decode("latin-1") if isinstance(evaluated, bytes) else evaluated
        offset = self.string_pos.get(id(node))
        line, column = self._offset_position(offset) if offset is not None else (0, 0)
        prefix = node.prefix.lower()
        body = len(node.prefix) + len(node.quote)
        return (Lit(text, line, column, node.value, body, "r" not in prefix, False, 0, self.block),)

    def _fstring(self, node: cst.FormattedString) -> Value:
        pieces: list[Piece] = []
        raw_prefix = "r" in node.prefix.lower()
        quote = node.end
        for part in node.parts:
            offset = self.string_pos.get(id(part))
            if isinstance(part, cst.FormattedStringText):
                text = _decode_fpart(part.value, raw_prefix, quote)
                if text is None:
                    pieces.append(_synthetic(part.value))
                    continue
                line, column = self._offset_position(offset) if offset is not None else (0, 0)
                pieces.append(Lit(text, line, column, part.value, 0, not raw_prefix, True, 0, self.block))
            else:
                value = self._eval(part.expression)
                if value is None:
                    value = (Hole(_code(part.expression), "formatted value", self._node(part.expression)),)
                if offset is not None:
                    value = tuple(self._place(p, offset, part) for p in value)
                pieces.extend(value)
        return tuple(pieces)

    def _place(self, piece: Piece, offset: int, part: cst.FormattedStringExpression) -> Piece:
        """Give a hole or reference written inside an f-string its position directly."""
        if isinstance(piece, (Hole, Ref)) and piece.line == 0 and _DOTTED.fullmatch(piece.label):
            inner = self.source.find(piece.label, offset)
            if inner >= 0:
                if isinstance(piece, Ref):  # the constant's own name, after any module alias
                    inner += piece.label.rfind(member_name(piece.label))
                line, column = self._offset_position(inner)
                return dataclasses.replace(piece, line=line, column=column)
        return piece

    def _binary(self, node: cst.BinaryOperation) -> Value | None:
        if isinstance(node.operator, cst.Add):
            left, right = self._eval(node.left), self._eval(node.right)
            if left is None and right is None:
                return None
            if _is_string_node(node.left) or _is_string_node(node.right) or (left and right):
                return (left or (Hole(_code(node.left), "computed value", self._node(node.left)),)) + (
                    right or (Hole(_code(node.right), "computed value", self._node(node.right)),)
                )
            return None
        if isinstance(node.operator, cst.Modulo):
            left = self._eval(node.left)
            if not left or (not _is_string_node(node.left) and not any(isinstance(p, Lit) for p in left)):
                return None
            right = node.right
            if isinstance(right, cst.Tuple):
                items = [self._eval_or_hole(e.value) for e in right.elements]
                return _percent_format(left, items, {})
            if isinstance(right, cst.Dict):
                mapping = {}
                for element in right.elements:
                    if isinstance(element, cst.DictElement):
                        key = self._eval(element.key)
                        if key and all(isinstance(p, Lit) for p in key):
                            mapping[literal_text(key)] = self._eval_or_hole(element.value)
                return _percent_format(left, [], mapping)
            return _percent_format(left, [self._eval_or_hole(right)], {})
        return None

    def _eval_or_hole(self, node: cst.BaseExpression) -> Value:
        value = self._eval(node)
        return value if value is not None else (Hole(_code(node), "computed value", self._node(node)),)

    def _call_value(self, node: cst.Call) -> Value | None:
        func = node.func
        if isinstance(func, cst.Attribute):
            attr = func.attr.value
            if attr == "format":
                template = self._eval(func.value)
                if template:
                    positional = [
                        self._eval_or_hole(a.value) for a in node.args if a.keyword is None and not a.star
                    ]
                    named = {
                        a.keyword.value: self._eval_or_hole(a.value)
                        for a in node.args
                        if a.keyword is not None
                    }
                    return _brace_format(template, positional, named)
            if attr == "join" and len(node.args) == 1:
                separator = self._eval(func.value)
                items = node.args[0].value
                if separator is not None and isinstance(items, (cst.List, cst.Tuple)):
                    joined: list[Piece] = []
                    for i, element in enumerate(items.elements):
                        if i:
                            joined.extend(separator)
                        joined.extend(self._eval_or_hole(element.value))
                    return tuple(joined)
            if attr in ("strip", "lstrip", "rstrip", "upper", "lower") and not node.args:
                inner = self._eval(func.value)
                if inner is not None and attr in ("strip", "lstrip", "rstrip"):
                    return inner
        dotted = _attr_dotted(func)
        if dotted is not None:
            qualified = self._qualify(dotted)
            last = qualified.rsplit(".", 1)[-1]
            if last in ("text", "SQL", "str", "literal_column") and node.args:
                inner = self._eval(node.args[0].value)
                if inner is not None:
                    return inner
            if last == "Identifier" and node.args:
                return self._identifier(node)
        builds_table = any(sink.kind in ("table", "mapping") and sink.call for sink in self._sinks_for(node))
        label = _code(node)
        return (Hole(label, f"result of `{label}`", self._node(node), table_object=builds_table),)

    def _name(self, node: cst.Name) -> Value | None:
        name = node.value
        if name in ("True", "False", "None"):
            return None
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                if name in scope.values:
                    return self._at_use(scope.values[name], node)
                if name in scope.params:
                    return (Hole(name, f"parameter `{name}` of `{scope.name}`", self._node(node)),)
            elif scope.kind == "class" and scope is self.scopes[-1] and name in scope.values:
                return scope.values[name]
        if name in self.facts.imports:
            return (Ref(self.facts.imports[name], name, self._node(node)),)
        return (Ref(f"{self.facts.module}.{name}", name, self._node(node)),)

    def _at_use(self, value: Value, node: cst.Name) -> Value:
        """A local that holds only an unknown value is reported where it is used, not where it was bound."""
        if len(value) == 1 and isinstance(value[0], Hole) and not value[0].candidates:
            return (dataclasses.replace(value[0], node=self._node(node), line=0, column=0),)
        return value

    def _attribute(self, node: cst.Attribute) -> Value | None:
        dotted = _attr_dotted(node)
        if dotted is None:
            return (Hole(_code(node), "computed attribute", self._node(node)),)
        root, _, rest = dotted.partition(".")
        if root in ("self", "cls"):
            owner = self._enclosing_class()
            if owner:
                return (Ref(f"{self.facts.module}.{owner}.{rest}", dotted, self._node(node.attr)),)
            return (Hole(dotted, f"attribute `{dotted}`", self._node(node)),)
        for scope in self.scopes:
            if scope.kind == "function" and (root in scope.params or root in scope.values):
                return (Hole(dotted, f"attribute `{dotted}`", self._node(node)),)
        # the position is the constant's own name: `ITEMS` in `t.ITEMS` and in `Tables.ITEMS.value`
        named = node.value if node.attr.value == "value" and isinstance(node.value, cst.Attribute) else node
        return (Ref(self._qualify(dotted), dotted, self._node(named.attr)),)

    def _subscript(self, node: cst.Subscript) -> Value | None:
        dotted = _attr_dotted(node.value)
        if dotted is not None and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = self._eval(node.slice[0].slice.value)
            if key and all(isinstance(p, Lit) for p in key):
                return (Ref(f"{self._qualify(dotted)}[{literal_text(key)}]", _code(node), self._node(node)),)
        return (Hole(_code(node), "computed value", self._node(node)),)

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


# --- helpers ---------------------------------------------------------------------------------------


def _attr_dotted(node: cst.BaseExpression | cst.CSTNode | None) -> str | None:
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _call_matches(pattern: str, qualified: str) -> bool:
    """A rule pack's dotted callable matches the resolved name, its re-exports and suffixes."""
    if qualified == pattern or qualified.endswith("." + pattern):
        return True
    p_head, _, p_last = pattern.partition(".")
    q_head = qualified.split(".", 1)[0]
    return bool(p_last) and p_head == q_head and qualified.rsplit(".", 1)[-1] == pattern.rsplit(".", 1)[-1]


def _receiver_calls(node: cst.BaseExpression, methods: Sequence[str]) -> bool:
    while True:
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in methods:
                return True
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return False


def _receiver_names(node: cst.BaseExpression) -> set[str]:
    """Every attribute and method name along a receiver chain: `client.storage.from_` -> {storage, ...}."""
    names: set[str] = set()
    while True:
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Attribute):
            names.add(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Name):
            names.add(node.value)
            return names
        else:
            return names


def _is_string_node(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)) or (
        isinstance(node, cst.BinaryOperation) and (_is_string_node(node.left) or _is_string_node(node.right))
    )


def _table_args_schema(node: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(node, cst.Tuple) and node.elements:
        node = node.elements[-1].value
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if (
                isinstance(element, cst.DictElement)
                and isinstance(element.key, cst.SimpleString)
                and element.key.evaluated_value == "schema"
            ):
                return element.value
    return None


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _code(node: cst.CSTNode) -> str:
    """A short label of an expression for messages, without generating its code (that is costly)."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        return _attr_dotted(node) or type(node).__name__
    if isinstance(node, cst.Call):
        return _code(node.func) + "()"
    if isinstance(node, cst.Subscript):
        return _code(node.value) + "[…]"
    if isinstance(node, cst.SimpleString):
        return node.value if len(node.value) <= 40 else node.value[:37] + "…"
    return f"<{type(node).__name__.lower()}>"


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


def _percent_format(template: Value, positional: list[Value], named: dict[str, Value]) -> Value:
    out: list[Piece] = []
    index = 0
    for piece in template:
        if not isinstance(piece, Lit):
            out.append(piece)
            continue
        last = 0
        for match in _PERCENT.finditer(piece.text):
            out.append(_slice(piece, last, match.start()))
            if match.group("conv") == "%":
                out.append(_slice(piece, match.start() + 1, match.end()))
            elif match.group("key") is not None:
                out.extend(named.get(match.group("key"), (_synthetic(match.group(0)),)))
            else:
                out.extend(positional[index] if index < len(positional) else (_synthetic(match.group(0)),))
                index += 1
            last = match.end()
        out.append(_slice(piece, last, len(piece.text)))
    return tuple(p for p in out if not (isinstance(p, Lit) and not p.text))


def _brace_format(template: Value, positional: list[Value], named: dict[str, Value]) -> Value:
    out: list[Piece] = []
    auto = 0
    for piece in template:
        if not isinstance(piece, Lit):
            out.append(piece)
            continue
        last = 0
        for match in _BRACE.finditer(piece.text):
            out.append(_slice(piece, last, match.start()))
            field_name = match.group("field")
            if field_name is None:
                out.append(_slice(piece, match.start(), match.start() + 1))
            else:
                key = field_name.split(".")[0].split("[")[0]
                if key == "":
                    value = positional[auto] if auto < len(positional) else None
                    auto += 1
                elif key.isdigit():
                    value = positional[int(key)] if int(key) < len(positional) else None
                else:
                    value = named.get(key)
                out.extend(value if value is not None else (_synthetic(match.group(0)),))
            last = match.end()
        out.append(_slice(piece, last, len(piece.text)))
    return tuple(p for p in out if not (isinstance(p, Lit) and not p.text))
