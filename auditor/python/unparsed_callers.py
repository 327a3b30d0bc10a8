"""The calls of a method helper in the modules the scan did not parse.

A helper's LR005 is resolved when every call of it passes a known table name. A module-level function's
callers import it by name, and the scan parses them; a method is called on objects of any type, so its
callers in the modules that were not parsed (`repo.count(name_of())` where nothing names a legacy table)
are looked for here: a cheap byte search for the method's name, then CPython's parser for the files it
finds, to read the argument each call passes in the parameter's place. A string literal is a known name,
and so is a local variable that the function only ever sets to string literals (`table = "a" if x else
"b"`); anything else, or a file that does not parse, is a value the scan cannot tell.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterable

from auditor.core.model import Finding, HeldHelper


def also_called(finding: Finding, why: str) -> Finding:
    """A helper's LR005 that a call elsewhere brings back, saying where."""
    return dataclasses.replace(finding, message=f"{finding.message} ({why})")


class CallProbe:
    """The search of one module for the calls of the held helpers: a substring test first (C speed; most
    modules name none of them), then each helper's pattern, then CPython's parser for the modules it
    finds."""

    def __init__(self, held: Iterable[HeldHelper]) -> None:
        self.helpers = list(held)
        self.needles = {h.called_as.encode() for h in self.helpers}
        self.patterns = [_pattern(h) for h in self.helpers]

    def unknown_calls(self, data: bytes) -> dict[int, int]:
        """For each held helper (by its index), the first line of this module where it may be called with a
        value the scan cannot tell in its parameter's place (0: the module does not parse, anywhere)."""
        if not any(needle in data for needle in self.needles):
            return {}
        helpers = [(i, h) for i, h in enumerate(self.helpers) if self.patterns[i].search(data)]
        if not helpers:
            return {}
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return dict.fromkeys((i for i, _ in helpers), 0)
        finder = _Finder(helpers)
        try:
            finder.scope(tree.body, (), _Names(tree, None))
        except RecursionError:
            return dict.fromkeys((i for i, _ in helpers), 0)
        return finder.found


def _pattern(helper: HeldHelper) -> re.Pattern[bytes]:
    """A held method's call (`.count(`), or a held constructor's class name."""
    word = re.escape(helper.called_as.encode())
    return re.compile(rb"\b" + word + rb"\b" if helper.method == "__init__" else rb"\.\s*" + word + rb"\s*\(")


class _Names:
    """The names a scope only ever sets to known strings, found when a call first asks (most calls pass
    literals or nothing that is a plain name); a name the scope never sets is the enclosing scope's."""

    def __init__(self, scope: ast.AST, outer: _Names | None) -> None:
        self.node = scope
        self.outer = outer
        self.found: tuple[frozenset[str], frozenset[str]] | None = None

    def has(self, name: str) -> bool:
        if self.found is None:
            self.found = _literal_names(self.node)
        known, assigned = self.found
        if name in known or name in assigned:
            return name in known
        return self.outer is not None and self.outer.has(name)


class _Finder:
    def __init__(self, helpers: list[tuple[int, HeldHelper]]) -> None:
        self.helpers = helpers
        self.found: dict[int, int] = {}

    def scope(self, body: list[ast.stmt], bases: tuple[str, ...], known: _Names) -> None:
        """A module's, class's or function's statements: ``bases``, the last names of the bases of the
        class a method is in; ``known``, the local names only ever set to string literals."""
        nested: list[ast.AST] = []
        calls: list[ast.Call] = []
        stack: list[ast.AST] = list(body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                nested.append(node)
                if not isinstance(node, ast.Lambda):
                    stack.extend(node.decorator_list)
                continue
            if node.__class__ is ast.Call:
                calls.append(node)  # type: ignore[arg-type]
            stack.extend(ast.iter_child_nodes(node))
        for call in calls:
            self._call(call, bases, known)
        for node in nested:
            if isinstance(node, ast.ClassDef):
                names = tuple(d.rpartition(".")[2] for b in node.bases if (d := _dotted(b)))
                self.scope(node.body, names, known)
            elif isinstance(node, ast.Lambda):
                self.scope([ast.Expr(node.body)], bases, _Names(node, known))
            else:
                self.scope(node.body, bases, _Names(node, known))

    def _call(self, call: ast.Call, bases: tuple[str, ...], known: _Names) -> None:
        for index, helper in self.helpers:
            if call.lineno >= self.found.get(index, call.lineno + 1):
                continue  # the first call in the module is the one named
            shift = _calls(call, helper, bases)
            if shift is not None and _passes_unknown(call, helper, shift, known):
                self.found[index] = call.lineno


def _calls(call: ast.Call, helper: HeldHelper, bases: tuple[str, ...]) -> int | None:
    """The call may run the helper (the places of its arguments shift by the number returned): a method
    of its name called on any object; a constructor called by its class's name, `Class.__init__(self, ...)`
    (1: `self` first), or `super().__init__(...)` in a class built on it."""
    func = call.func
    if helper.method != "__init__":
        return 0 if isinstance(func, ast.Attribute) and func.attr == helper.method else None
    if isinstance(func, ast.Name):
        return 0 if func.id == helper.cls else None
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr == helper.cls:
        return 0  # `models.Repository(...)`
    if func.attr != "__init__":
        return None
    receiver = func.value
    if isinstance(receiver, ast.Call) and getattr(receiver.func, "id", "") == "super":
        return 0 if helper.cls in bases else None
    return 1 if (_dotted(receiver) or "").rpartition(".")[2] == helper.cls else None


def _passes_unknown(call: ast.Call, helper: HeldHelper, shift: int, known: _Names) -> bool:
    """The call passes something other than a known string for the helper's parameter, or may (through
    `*args` or `**kwargs`); a call that does not pass it at all leaves it its default."""
    position = helper.position + shift if helper.position >= 0 else -1
    before = call.args[: position + 1] if position >= 0 else []
    if any(isinstance(a, ast.Starred) for a in before) or any(k.arg is None for k in call.keywords):
        return True
    base, _, entry = helper.parameter.partition("[")
    value = next((k.value for k in call.keywords if k.arg == base), None)
    if value is None and 0 <= position < len(call.args):
        value = call.args[position]
    if value is None:
        return False
    if entry == "]":  # a list of table names: each element
        return not (isinstance(value, ast.List | ast.Tuple) and all(_known(e, known) for e in value.elts))
    return bool(entry) or not _known(value, known)  # an entry of a dict parameter: not read here


def _known(node: ast.expr, names: _Names | None) -> bool:
    """A string literal, a choice between such (`"a" if x else "b"`), or a local only ever set to one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.IfExp):
        return _known(node.body, names) and _known(node.orelse, names)
    return isinstance(node, ast.Name) and names is not None and names.has(node.id)


def _literal_names(scope: ast.AST) -> tuple[frozenset[str], frozenset[str]]:
    """The names a module or function only ever sets to known strings, by plain assignment (never a
    parameter, a loop or `with` target, an augmented or unpacking assignment, `global` or `nonlocal`), and
    every name it sets or binds at all."""
    params: set[str] = set()
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = scope.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        params = {a.arg for a in every if a is not None}
    values: dict[str, list[ast.expr | None]] = {}
    plain: set[int] = set()  # the targets of the plain assignments, read with them
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values.setdefault(node.targets[0].id, []).append(node.value)
            plain.add(id(node.targets[0]))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            values.setdefault(node.target.id, []).append(node.value)
            plain.add(id(node.target))
        elif (
            isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and id(node) not in plain
        ):
            values.setdefault(node.id, []).append(None)  # set some other way: unknown
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                values.setdefault(name, []).append(None)
    known = {
        name
        for name, assigned in values.items()
        if name not in params and all(v is not None and _known(v, None) for v in assigned)
    }
    return frozenset(known), frozenset(values) | params


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])
