"""A throwaway PostgreSQL cluster for tests (binaries from Debian's postgresql-15 package).

initdb refuses to run as root, and sessions and CI run as root: the cluster then belongs to ``postgres``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("AUDIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
_TOOLS = ("initdb", "pg_ctl", "postgres", "psql")


def missing_reason() -> str | None:
    """Why no cluster can be started here, or None when one can."""
    absent = [tool for tool in _TOOLS if not (PG_BIN / tool).is_file()]
    if absent:
        return f"PostgreSQL binaries not found in {PG_BIN} ({', '.join(absent)}); install postgresql-15"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as another user"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    base: Path
    port: int
    as_postgres: list[str]

    @property
    def data(self) -> Path:
        return self.base / "data"

    def psql(
        self, *, sql: str | None = None, file: Path | None = None, db: str = "postgres", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run SQL (one transaction, stop at the first error); ``check`` raises with psql's stderr."""
        command = [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-1"]
        command += ["-f", str(file)] if file is not None else ["-c", sql or ""]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"psql failed ({done.returncode}): {done.stderr.strip()}")
        return done

    def value(self, sql: str, db: str = "postgres") -> str:
        return self.psql(sql=sql, db=db).stdout.strip()

    def createdb(self, name: str) -> None:
        command = [
            str(PG_BIN / "psql"),
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
        ]
        subprocess.run([*command, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_postgres,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster(preload: tuple[str, ...] = ()) -> Cluster:
    """initdb + start on a free port (TCP on 127.0.0.1 only, socket in the cluster's directory);
    ``preload``: shared_preload_libraries (``("pg_stat_statements",)``)."""
    base = Path(tempfile.mkdtemp(prefix="audit-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(base, _free_port(), as_postgres)
    try:
        subprocess.run(
            [
                *as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-p {cluster.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        if preload:
            options += f" -c shared_preload_libraries={','.join(preload)}"
        subprocess.run(
            [
                *as_postgres,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(cluster.data),
                "-o",
                options,
                "-l",
                str(base / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except BaseException:
        cluster.stop()
        raise
    return cluster
