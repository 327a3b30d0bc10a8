"""Read-only sessions on the live database (psycopg 3), and the one-line errors a bad URL or server gives.

Every session runs in one transaction that is rolled back: ``default_transaction_read_only`` and
``transaction_read_only`` on, a ``statement_timeout``, and no server-side prepared statements, so the
session also works through a transaction pooler (Supabase's, PgBouncer's).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DATABASE_MODES = ("required", "optional")
URL_ENV = "AUDIT_DATABASE_URL"
STATEMENT_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class DatabaseError(Exception):
    """The database could not be read: one line, never the password."""


@dataclass(frozen=True)
class DatabaseRequest:
    """Which database to read and what to do when it cannot be read."""

    url: str
    required: bool = True
    since: str | None = None  # a snapshot file: usage counts only what ran after it


def expand_env(text: str) -> str:
    """``${NAME}`` -> the environment variable's value; an unset one is an error, not an empty string."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise DatabaseError(f"database_url names ${{{name}}}, which is not set in the environment")
        return os.environ[name]

    return _ENV_REFERENCE.sub(value, text)


def choose_url(flag: str | None, configured: str | None) -> str | None:
    """The flag, else ``AUDIT_DATABASE_URL``, else the config's ``database_url`` (with ${ENV} expanded)."""
    if flag:
        return flag
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV]
    return expand_env(configured) if configured else None


def describe(url: str) -> str:
    """``host:port/dbname as user``: what to show of a URL (never the password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "the database (unparsable URL)"
    host = str(parts.get("host") or "localhost")
    port = str(parts.get("port") or "5432")
    user = f" as {parts['user']}" if parts.get("user") else ""
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or '?'}{user}"


def _password(url: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(url).get("password")
    except Exception:
        match = re.search(r"://[^:/@]*:([^@]*)@", url)
        value = match.group(1) if match else None
    return str(value) if value else None


def one_line(exc: BaseException, url: str) -> str:
    """The error's first meaningful line, the password (and the raw URL) scrubbed out."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[:2]) if lines else type(exc).__name__
    for secret in (url, _password(url)):
        if secret:
            text = text.replace(secret, "***")
    return text


class Session:
    """One read-only transaction: ``rows`` runs a query and returns dictionaries."""

    def __init__(self, connection: Any, url: str) -> None:
        self.connection = connection
        self.url = url
        self.where = describe(url)

    def rows(self, query: str, params: Sequence[object] | None = None) -> list[dict[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        try:
            with self.connection.cursor(row_factory=dict_row) as cursor:
                cursor.execute(query, params)
                return list(cursor.fetchall())
        except psycopg.errors.QueryCanceled as exc:
            raise DatabaseError(f"{self.where}: statement timeout: {one_line(exc, self.url)}") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise DatabaseError(f"{self.where}: missing privilege: {one_line(exc, self.url)}") from None
        except psycopg.Error as exc:
            raise DatabaseError(f"{self.where}: {one_line(exc, self.url)}") from None

    def run(self, statement: str) -> None:
        """A statement without a result (SET)."""
        import psycopg

        try:
            self.connection.execute(statement)
        except psycopg.Error as exc:
            raise DatabaseError(f"{self.where}: {one_line(exc, self.url)}") from None

    def savepoint_rows(self, query: str) -> list[dict[str, Any]] | DatabaseError:
        """Run a query that may fail (a missing extension) without ending the transaction."""
        import psycopg

        try:
            with self.connection.transaction():
                return self.rows(query)
        except DatabaseError as exc:
            return exc
        except psycopg.Error as exc:
            return DatabaseError(f"{self.where}: {one_line(exc, self.url)}")


@contextmanager
def read_only_session(url: str, timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Iterator[Session]:
    """Connect, make the session read-only, yield it, roll back and close: nothing is ever committed."""
    import psycopg

    where = describe(url)
    try:
        # prepare_threshold=None: no named server-side statements (a transaction pooler cannot keep them)
        connection = psycopg.connect(
            url,
            autocommit=False,
            prepare_threshold=None,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name="auditor",
        )
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(f"invalid database URL: {one_line(exc, url)}") from None
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {where}: {one_line(exc, url)}") from None
    except Exception as exc:  # libpq rejects some malformed URLs with other exceptions
        raise DatabaseError(f"invalid database URL: {one_line(exc, url)}") from None
    session = Session(connection, url)
    try:
        session.run("SET default_transaction_read_only = on")
        session.run("SET transaction_read_only = on")
        session.run(f"SET statement_timeout = {int(timeout_ms)}")
        # definitions come back schema-qualified (pg_get_viewdef qualifies what is not on the path)
        session.run("SET search_path = pg_catalog")
        yield session
    finally:
        try:
            connection.rollback()
        finally:
            connection.close()
