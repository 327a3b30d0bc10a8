"""Configuration: `[tool.audit]` in pyproject.toml or `audit.toml`, validated into one value."""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """A bad configuration or flag: reported as one line, exit status 2."""


DEFAULT_MAX_FILE_BYTES = 5_000_000
KNOWN_KEYS = frozenset(
    {
        "legacy",
        "migrations",
        "exclude",
        "default_schema",
        "sinks",
        "rule_packs",
        "max_file_bytes",
        "unresolved",
        "database_url",
        "not_legacy",
    }
)
# where LR005 (unresolved dynamic table names) is looked for: every file that builds SQL around a
# table keyword, or only files that also name a legacy object (much faster on a large tree)
UNRESOLVED_SCOPES = ("everywhere", "legacy-files")


@dataclass(frozen=True)
class Config:
    legacy: dict[str, str] = field(default_factory=dict)
    migrations: tuple[str, ...] | None = None  # None: the default, supabase/migrations if present
    exclude: tuple[str, ...] = ()
    default_schema: str = "public"
    sinks: tuple[dict[str, Any], ...] = ()
    rule_packs: tuple[str, ...] = ()  # extra pack files, relative to the config file
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    unresolved: str = "everywhere"  # one of UNRESOLVED_SCOPES
    database_url: str | None = None  # may hold ${ENV_VAR} references, expanded when used
    source: str | None = None  # the file the configuration came from
    not_legacy: tuple[str, ...] = ()  # views the migrations make look like compatibility views, but are not


def load_config(root: str, config_file: str | None = None) -> Config:
    """Read the configuration for a scan root; ``config_file`` overrides the discovery."""
    if config_file is not None:
        path = config_file
        table = _read_toml(path)
        if os.path.basename(path) == "pyproject.toml":
            table = table.get("tool", {}).get("audit", {})
        return _validate(table, path)
    audit_toml = os.path.join(root, "audit.toml")
    if os.path.exists(audit_toml):
        return _validate(_read_toml(audit_toml), audit_toml)
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.exists(pyproject):
        table = _read_toml(pyproject).get("tool", {}).get("audit")
        if table is not None:
            return _validate(table, pyproject)
    return Config()


def _read_toml(path: str) -> dict[str, Any]:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the scan forever
            raise ConfigError(f"config file {path} is not a regular file")
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid UTF-8 (TOML files are UTF-8): {exc.reason} at byte {exc.start}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _validate(table: Any, path: str) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.audit] must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
    legacy = table.get("legacy", {})
    if not isinstance(legacy, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in legacy.items()
    ):
        raise ConfigError(f'{path}: legacy must map names to names, e.g. legacy = {{ "old" = "new" }}')
    migrations = table.get("migrations")
    if migrations is not None:
        migrations = tuple(_string_list(migrations, "migrations", path))
    schema = table.get("default_schema", "public")
    if not isinstance(schema, str) or not schema.strip():
        raise ConfigError(f"{path}: default_schema must be a non-empty string")
    sinks = table.get("sinks", [])
    if not isinstance(sinks, list) or not all(isinstance(s, dict) for s in sinks):
        raise ConfigError(f"{path}: sinks must be a list of tables, e.g. sinks = [{{ call = ..., arg = 0 }}]")
    max_bytes = table.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES)
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
        raise ConfigError(f"{path}: max_file_bytes must be a positive integer")
    unresolved = table.get("unresolved", "everywhere")
    if unresolved not in UNRESOLVED_SCOPES:
        raise ConfigError(f"{path}: unresolved must be one of {', '.join(UNRESOLVED_SCOPES)}")
    database_url = table.get("database_url")
    if database_url is not None and (not isinstance(database_url, str) or not database_url.strip()):
        raise ConfigError(f'{path}: database_url must be a string, e.g. database_url = "${{DATABASE_URL}}"')
    base = os.path.dirname(os.path.abspath(path))
    packs = tuple(
        os.path.join(base, p) for p in _string_list(table.get("rule_packs", []), "rule_packs", path)
    )
    return Config(
        legacy=dict(legacy),
        migrations=migrations,
        exclude=tuple(_string_list(table.get("exclude", []), "exclude", path)),
        default_schema=schema.strip(),
        sinks=tuple(sinks),
        rule_packs=packs,
        max_file_bytes=max_bytes,
        unresolved=unresolved,
        database_url=database_url,
        source=path,
        not_legacy=tuple(_string_list(table.get("not_legacy", []), "not_legacy", path)),
    )


def _string_list(value: Any, key: str, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return value
