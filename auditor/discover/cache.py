"""The persistent scan cache: per-file extraction results keyed by content, tool, catalog and rule packs.

One file per configuration, replaced atomically. It is loaded with an unpickler that only admits
auditor's own value classes, so a corrupt or tampered cache is ignored and rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import tempfile
from typing import Any

from auditor import __version__

CACHE_DIR = ".audit_cache"
_FORMAT = 1
_ALLOWED = {
    ("auditor.python.extract", "ModuleFacts"),
    ("auditor.python.extract", "Site"),
    ("auditor.python.extract", "ModelClass"),
    ("auditor.python.values", "Lit"),
    ("auditor.python.values", "Hole"),
    ("auditor.python.values", "Ref"),
    ("auditor.core.model", "Diagnostic"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")
        return super().find_class(module, name)


def content_key(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@functools.cache
def _code_digest() -> str:
    """A digest of the analyzer's own modules: results of other code are never reused."""
    digest = hashlib.blake2b(digest_size=12)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for folder, dirs, names in sorted(os.walk(package)):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    digest.update(os.path.relpath(os.path.join(folder, name), package).encode())
                    digest.update(handle.read())
    return digest.hexdigest()


def configuration_key(*parts: str) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in (str(_FORMAT), __version__, _code_digest(), *parts):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


class ScanCache:
    """Extraction results of one configuration; ``get`` / ``put`` by file content key."""

    def __init__(self, directory: str | None, key: str) -> None:
        self.path = os.path.join(directory, f"facts-{key}.pickle") if directory else None
        self.entries: dict[str, Any] = {}
        self.dirty = False
        self.hits = 0
        if self.path is not None:
            self.entries = _load(self.path)

    def get(self, key: str) -> Any | None:
        found = self.entries.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: str, value: Any) -> None:
        self.entries[key] = value
        self.dirty = True

    def save(self, keep: set[str] | None = None) -> None:
        """Write atomically; entries of files no longer present are dropped."""
        if self.path is None or not self.dirty:
            return
        if keep is not None:
            self.entries = {k: v for k, v in self.entries.items() if k in keep}
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, exist_ok=True)
            _write_gitignore(directory)
            handle, tmp = tempfile.mkstemp(prefix=".facts-", dir=directory)
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(self.entries, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
            _prune(directory, os.path.basename(self.path))
        except OSError:
            return  # a cache that cannot be written only costs speed


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        entries = _SafeUnpickler(io.BytesIO(data)).load()
    except Exception:  # any unreadable cache is rebuilt
        return {}
    return entries if isinstance(entries, dict) else {}


def _write_gitignore(directory: str) -> None:
    marker = os.path.join(directory, ".gitignore")
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write("# created by audit: the scan cache is local and rebuilt when stale\n*\n")


def _prune(directory: str, keep: str) -> None:
    """Older configurations' files are stale: keep only the newest few."""
    files = sorted(
        (f for f in os.listdir(directory) if f.startswith("facts-") and f != keep),
        key=lambda f: os.path.getmtime(os.path.join(directory, f)),
    )
    for name in files[:-3]:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))
