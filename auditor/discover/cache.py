"""The persistent scan cache: per-file results keyed by content, tool, catalog and rule packs.

One index file per configuration, and the segment files its entries' bytes live in, in a directory that
is the cache's own (created by it, or marked by its CACHEDIR.TAG); given an existing directory that is
not, the cache uses a `.audit_cache` folder inside it, which discovery never walks. The index holds a
digest of its payload, each entry the digest of its bytes; both are loaded with an unpickler that only
admits auditor's own value classes and checked for shape, so a corrupt, tampered or foreign cache is
ignored and rebuilt (an entry: parsed again), never trusted. Only regular files are ever opened. A save
writes the entries new since the load into one new segment, so a re-scan after an edit writes little.

It holds: extraction results by content key (never the diagnostics of an I/O failure), each pickled on
its own and unpickled only when asked for, so that a warm scan whose memoised stages hold pays for no
file's facts; per path, the file status and content key of the last read, so that an unchanged file is
not read again; and memoised results of whole stages, by a digest of their inputs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import stat
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from auditor import __version__
from auditor.core.model import Diagnostic
from auditor.core.pickles import safe_loads
from auditor.core.source import read_regular

CACHE_DIR = ".audit_cache"
_FORMAT = 4
_MAGIC = b"auditor-cache 4\n"
_SEGMENTS = 8  # at more segments than this, the live entries are written into one again
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This directory is the scan cache of auditor (audit scan); it is rebuilt when stale.\n"
)
_OLD_MARK = "# created by audit: the scan cache"
_TEMP_PREFIX = ".facts-"
_STALE_TEMP_SECONDS = 600  # a temporary file this old was left by a killed scan
# a file changed within this window of the scan that recorded it may not show a new mtime: re-read it
RACY_NS = 2_000_000_000
# diagnostics that follow from a file's content; any other (I/O) failure is never cached
CONTENT_DIAGNOSTICS = frozenset({"syntax-error", "parse-error", "decode-error"})


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


def file_status(status: os.stat_result) -> tuple[int, int, int, int]:
    """What must be unchanged for a file not to be read again (git's racy-clean rule on top)."""
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the last scan learnt from reading one file."""

    status: tuple[int, int, int, int]
    key: str  # content key
    flags: int  # the pre-filter's verdicts (see scan.py)


class ScanCache:
    """Results of one configuration; ``get`` / ``put`` by file content key."""

    def __init__(self, directory: str | None, key: str) -> None:
        self.directory = _own_directory(directory) if directory else None
        self.stem = f"facts-{key}"
        self.path = os.path.join(self.directory, f"{self.stem}.pickle") if self.directory else None
        # content key -> (path, pickled result): bytes not yet written, or where they are in a segment
        self.entries: dict[str, tuple[str, bytes | _Stored]] = {}
        self.loaded: dict[str, Any] = {}  # content key -> result, unpickled or put in this run
        self.files: dict[str, FileRecord] = {}
        self.stages: dict[str, Any] = {}
        self.used_stages: set[str] = set()
        self.recorded_ns = 0  # when the loaded cache's file records were taken
        self.started_ns = time.time_ns()
        self.dirty = False
        self.hits = 0
        if self.path is not None:
            self._load()

    @property
    def persistent(self) -> bool:
        """The cache is written to disk (else nothing it holds outlives the scan)."""
        return self.path is not None

    def create_directory(self) -> None:
        """Create the cache's folder now: a scan does so before it walks the tree, so that the walk it
        remembers saw the root as the scan leaves it (a cache only ever costs time: failures pass)."""
        if self.directory is not None:
            with contextlib.suppress(OSError):
                os.makedirs(self.directory, exist_ok=True)
                _mark(self.directory)

    def has(self, key: str, path: str) -> bool:
        """An entry of this file is stored (it is not unpickled, so it may still prove unreadable)."""
        found = self.loaded.get(key)
        if found is not None:
            return getattr(found, "path", None) == path
        stored = self.entries.get(key)
        return stored is not None and stored[0] == path

    def get(self, key: str, path: str) -> Any | None:
        found = self.loaded.get(key)
        if found is None:
            stored = self.entries.get(key)
            if stored is None or stored[0] != path:
                return None
            payload = stored[1] if isinstance(stored[1], bytes) else self._read(stored[1])
            found = _unpickle_entry(payload) if payload is not None else None
            if found is None:  # damaged: dropped, and rebuilt by the caller
                del self.entries[key]
                self.dirty = True
                return None
            self.loaded[key] = found
        if getattr(found, "path", None) != path:
            return None  # the key names the path: an entry of another file is not this one's
        self.hits += 1
        return found

    def result_digest(self, key: str, path: str) -> str | None:
        """A digest of the pickled result a file's content gave (equal digests: equal results), for
        stages that depend on a file only through that result; None when it is not held pickled."""
        if key in self.loaded and key not in self.entries:  # put as an object this run: pickled now,
            value = self.loaded[key]  # as the save would (the next scan's digest is of those bytes)
            if getattr(value, "path", None) != path:
                return None
            try:
                self.entries[key] = (path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            except (RecursionError, MemoryError, pickle.PicklingError):
                return None
        stored = self.entries.get(key)
        if stored is None or stored[0] != path:
            return None
        payload = stored[1]
        return (_blob_digest(payload) if isinstance(payload, bytes) else payload[3]).hex()

    def put(self, key: str, value: Any) -> None:
        if isinstance(value, Diagnostic) and value.kind not in CONTENT_DIAGNOSTICS:
            return  # an I/O failure says nothing about the content: it must be retried
        self.loaded[key] = value
        self.entries.pop(key, None)  # pickled again at save
        self.dirty = True

    def put_pickled(self, key: str, path: str, payload: bytes) -> None:
        """A file's facts as a worker pickled them: kept as bytes, unpickled when first asked for."""
        self.loaded.pop(key, None)
        self.entries[key] = (path, payload)
        self.dirty = True

    def unchanged(self, path: str, status: os.stat_result) -> FileRecord | None:
        """The record of a file whose status is as recorded and was not racily clean when recorded."""
        record = self.files.get(path)
        if record is None or record.status != file_status(status) or not self.settled(status):
            return None
        return record

    def settled(self, status: os.stat_result) -> bool:
        """The file was not modified too close to the recording scan (else its status may not show a
        change). One that was is read again now, and the records are saved with this scan's time even when
        nothing changed: else an unchanged racily clean file would be read by every scan after (a tree
        checked out or copied just before its first scan)."""
        if status.st_mtime_ns < self.recorded_ns - RACY_NS:
            return True
        self.dirty = True
        return False

    def record(self, path: str, record: FileRecord) -> None:
        if self.files.get(path) != record:
            self.files[path] = record
            self.dirty = True

    def stage(self, name: str, inputs: str) -> Any | None:
        self.used_stages.add(name)
        found = self.stages.get(name)
        return found[1] if found is not None and found[0] == inputs else None

    def put_stage(self, name: str, inputs: str, value: Any) -> None:
        self.used_stages.add(name)
        if self.stages.get(name) != (inputs, value):
            self.stages[name] = (inputs, value)
            self.dirty = True

    def save(self, keep: set[str] | None = None, paths: set[str] | None = None) -> None:
        """Write atomically; entries of files no longer present are dropped."""
        if self.path is None or self.directory is None or not self.dirty:
            return
        for key, value in self.loaded.items():
            if key not in self.entries:
                path = getattr(value, "path", "")
                try:
                    self.entries[key] = (path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
                except (RecursionError, MemoryError, pickle.PicklingError):
                    continue  # not kept: the file is analysed again next time
        if keep is not None:
            self.entries = {k: v for k, v in self.entries.items() if k in keep}
        if paths is not None:
            self.files = {p: r for p, r in self.files.items() if p in paths}
        self.stages = {name: value for name, value in self.stages.items() if name in self.used_stages}
        if not self._write_segment():
            return
        state = {
            "entries": self.entries,
            "files": self.files,
            "stages": self.stages,
            "recorded": self.started_ns,
        }
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.blake2b(payload, digest_size=32).digest()
        if _replace(self.directory, self.path, _MAGIC + digest + payload):
            live = {stored[0] for _, stored in self.entries.values() if isinstance(stored, tuple)}
            _prune(self.directory, self.stem, live)

    def _write_segment(self) -> bool:
        """The entries not yet written go into a new segment file of their own (the unchanged ones stay
        where they are, so a re-scan after an edit writes little); once the entries are spread over too
        many segments, every live one is written into a single new segment."""
        assert self.directory is not None
        fresh = [key for key, (_, stored) in self.entries.items() if isinstance(stored, bytes)]
        segments = {stored[0] for _, stored in self.entries.values() if isinstance(stored, tuple)}
        if not fresh and len(segments) <= _SEGMENTS:
            return True
        keys = list(self.entries) if len(segments) + 1 > _SEGMENTS else fresh
        blobs: list[tuple[str, bytes]] = []
        for key in keys:
            path, stored = self.entries[key]
            payload = stored if isinstance(stored, bytes) else self._read(stored)
            if payload is None:
                del self.entries[key]  # unreadable: the file is parsed again next time
            else:
                blobs.append((key, payload))
        body = b"".join(payload for _, payload in blobs)
        name = f"{self.stem}.{hashlib.blake2b(body, digest_size=12).hexdigest()}.seg"
        if not _replace(self.directory, os.path.join(self.directory, name), body):
            return False
        offset = 0
        for key, payload in blobs:
            path = self.entries[key][0]
            self.entries[key] = (path, (name, offset, len(payload), _blob_digest(payload)))
            offset += len(payload)
        return True

    def _read(self, stored: _Stored) -> bytes | None:
        """An entry's bytes from its segment, when the segment is a regular file and they are intact."""
        name, offset, length, digest = stored
        if self.directory is None or os.sep in name or not name.startswith(self.stem + "."):
            return None
        try:
            fd = os.open(os.path.join(self.directory, name), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = os.pread(fd, length, offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) == length and _blob_digest(data) == digest else None

    def _load(self) -> None:
        assert self.path is not None
        try:
            data, _ = read_regular(self.path)
        except OSError:
            return
        body = len(_MAGIC) + 32
        head, digest, payload = data[: len(_MAGIC)], data[len(_MAGIC) : body], data[body:]
        if head != _MAGIC or hashlib.blake2b(payload, digest_size=32).digest() != digest:
            return  # damaged or written by something else: rebuilt
        try:
            loaded = safe_loads(payload)
        except Exception:  # any unreadable cache is rebuilt
            return
        if _valid(loaded):
            self.entries, self.files, self.stages = loaded["entries"], loaded["files"], loaded["stages"]
            self.recorded_ns = loaded["recorded"]


def _valid(loaded: Any) -> bool:
    """The shape the cache writes; anything else is doubt, and the cache is rebuilt."""
    if not isinstance(loaded, dict) or set(loaded) != {"entries", "files", "stages", "recorded"}:
        return False
    entries, files, stages = loaded["entries"], loaded["files"], loaded["stages"]
    if not (isinstance(entries, dict) and isinstance(files, dict) and isinstance(stages, dict)):
        return False
    if not isinstance(loaded["recorded"], int):
        return False
    for key, value in entries.items():
        if not (isinstance(key, str) and isinstance(value, tuple) and len(value) == 2):
            return False
        if not (isinstance(value[0], str) and _is_stored(value[1])):
            return False
    return all(
        isinstance(path, str)
        and isinstance(record, FileRecord)
        and isinstance(record.key, str)
        and isinstance(record.flags, int)
        for path, record in files.items()
    ) and all(isinstance(value, tuple) and len(value) == 2 for value in stages.values())


# where an entry's pickled bytes are: (segment file name, offset, length, digest of the bytes)
_Stored = tuple[str, int, int, bytes]


def _is_stored(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 4
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
        and isinstance(value[3], bytes)
    )


def _blob_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _calls_shape(state: dict[str, Any]) -> bool:
    """A module's call records: a list, or still packed (bytes, with the sets of their targets)."""
    if "calls" in state:
        return isinstance(state["calls"], list)
    return isinstance(state.get("_packed_calls"), bytes) and all(
        isinstance(state.get(k), frozenset) for k in ("_callees", "_forwards")
    )


def _positions_shape(state: dict[str, Any]) -> bool:
    """A module's node positions: a dict, or still packed (bytes)."""
    if "node_positions" in state:
        return isinstance(state["node_positions"], dict)
    return isinstance(state.get("_packed_positions"), bytes)


def _unpickle_entry(data: bytes) -> Any | None:
    """One file's result, or None when it is not the shape the cache writes (never trusted then)."""
    try:
        value = safe_loads(data)
    except Exception:  # any unreadable entry is rebuilt
        return None
    if type(value).__name__ == "ModuleFacts":  # the only other class the unpickler admits here
        if (
            isinstance(value.path, str)
            and isinstance(value.constants, dict)
            and isinstance(value.imports, dict)
            and isinstance(value.sites, list)
            and isinstance(value.models, list)
            and _positions_shape(vars(value))
            and isinstance(value.local_classes, dict)
            and _calls_shape(vars(value))
        ):
            return value
        return None
    if type(value).__name__ == "PythonMigration":
        fields = (value.path, value.framework, value.sql)
        return (
            value if all(isinstance(f, str) for f in fields) and isinstance(value.steps, frozenset) else None
        )
    return value if isinstance(value, Diagnostic) and value.kind in CONTENT_DIAGNOSTICS else None


def _own_directory(directory: str) -> str:
    """The given directory when it is the cache's own (new, empty or tagged), else a folder inside it."""
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return directory
    except OSError:
        return os.path.join(directory, CACHE_DIR)
    if not entries or _is_tagged(directory):
        return directory
    return os.path.join(directory, CACHE_DIR)


def _is_tagged(directory: str) -> bool:
    """Tagged by the cache, or marked by the .gitignore that earlier versions wrote."""
    for name, mark in ((_TAG, _TAG_TEXT), (".gitignore", _OLD_MARK)):
        try:
            data, _ = read_regular(os.path.join(directory, name), len(mark))
        except OSError:
            continue
        if data.decode("utf-8", "replace") == mark:
            return True
    return False


def _mark(directory: str) -> None:
    """Tag the directory as the cache's own; its .gitignore keeps the cache out of version control."""
    for name, text in ((_TAG, _TAG_TEXT), (".gitignore", _OLD_MARK + "\n*\n")):
        path = os.path.join(directory, name)
        if not os.path.lexists(path):
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)


def _prune(directory: str, stem: str, live: set[str] | None = None) -> None:
    """Older configurations' files are stale: keep only the newest few; this configuration's segments
    that no entry uses any more go; remove temporary files that a killed scan left behind."""
    now = time.time()
    newest: dict[str, float] = {}  # another configuration's stem -> when its files last changed
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        try:
            modified = os.lstat(path).st_mtime
        except OSError:
            continue
        other = name.split(".", 1)[0]
        if name.startswith(_TEMP_PREFIX) and now - modified > _STALE_TEMP_SECONDS:
            with contextlib.suppress(OSError):
                os.unlink(path)
        elif other == stem and name.endswith(".seg") and live is not None and name not in live:
            with contextlib.suppress(OSError):
                os.unlink(path)  # a segment of this configuration that no entry points into
        elif name.startswith("facts-") and other != stem:
            newest[other] = max(newest.get(other, 0.0), modified)
    stale = {other for other, _ in sorted(newest.items(), key=lambda item: item[1])[:-3]}
    for name in os.listdir(directory):
        if name.split(".", 1)[0] in stale:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


class TextMemo:
    """One text remembered under a name for the key it was made from (a rendered report): written
    atomically in the cache's own directory, trusted only when its key and the digest of its text match."""

    def __init__(self, directory: str, name: str) -> None:
        self.directory = _own_directory(directory)
        self.path = os.path.join(self.directory, f"text-{name}.memo")

    def get(self, key: str) -> str | None:
        try:
            data, _ = read_regular(self.path)
        except OSError:
            return None
        head, _, body = data.partition(b"\n")
        if head != f"{key} {content_key(body)}".encode():
            return None
        return body.decode("utf-8", "surrogatepass")

    def put(self, key: str, text: str) -> None:
        body = text.encode("utf-8", "surrogatepass")
        _replace(self.directory, self.path, f"{key} {content_key(body)}\n".encode() + body)


def _replace(directory: str, path: str, data: bytes) -> bool:
    """Write ``data`` to ``path`` in the cache's directory, atomically; False when it cannot be written
    (a cache only ever costs time)."""
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        _mark(directory)
        handle, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=directory)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def memo_key(*parts: object) -> str | None:
    """A key for values made from ``parts`` by this version of the analyzer; None when they do not
    pickle (then nothing is remembered)."""
    try:
        payload = pickle.dumps((_code_digest(), parts), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None
    return content_key(payload)
