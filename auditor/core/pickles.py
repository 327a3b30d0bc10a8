"""Reading back what the analyzer pickled: only its own value classes are admitted, never arbitrary code.

The scan cache and the facts of a module (whose call records stay pickled until a stage asks for them)
both load through here, so a tampered or foreign pickle fails to load instead of running anything.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

ALLOWED = frozenset(
    {
        ("auditor.python.extract", "ModuleFacts"),
        ("auditor.python.extract", "Site"),
        ("auditor.python.extract", "ModelClass"),
        ("auditor.python.extract", "FunctionInfo"),
        ("auditor.python.extract", "CallSite"),
        ("auditor.python.extract", "TableClass"),
        ("auditor.python.migrations", "PythonMigration"),
        ("auditor.python.values", "Lit"),
        ("auditor.python.values", "Hole"),
        ("auditor.python.values", "Ref"),
        ("auditor.core.model", "Diagnostic"),
        ("auditor.core.model", "Finding"),
        ("auditor.core.model", "InferredSink"),
        ("auditor.core.model", "HeldHelper"),
        ("auditor.core.model", "Span"),
        ("auditor.core.model", "Suggestion"),
        ("auditor.core.model", "Confidence"),
        ("auditor.core.model", "DbObject"),
        ("auditor.core.model", "ObjectName"),
        ("auditor.core.model", "Mention"),
        ("auditor.core.model", "LegacyObject"),
        ("auditor.scan", "_SqlAnalysis"),
        ("auditor.discover.cache", "FileRecord"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
    }
)


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")
        return super().find_class(module, name)


def safe_loads(data: bytes) -> Any:
    """Unpickle bytes the analyzer wrote; raises on anything that is not one of its value classes."""
    return SafeUnpickler(io.BytesIO(data)).load()
