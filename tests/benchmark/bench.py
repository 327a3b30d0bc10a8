"""Benchmark `audit scan` on a large real codebase, against a `grep -rnw` floor.

Usage: python tests/benchmark/bench.py [--corpus DIR] [--jobs N] [--repeat K] [--warm] [--touch]
                                        [-- extra audit args]

The corpus (about 1.5 million lines of Python: the source distributions of django, sqlalchemy, alembic,
apache-airflow-core and apache-superset at pinned versions) is fetched with pip once and cached.
Standard library only; see tests/benchmark/README.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = Path.home() / ".cache" / "auditor-bench" / "corpus"


@dataclass(frozen=True)
class Package:
    name: str  # the PyPI name
    version: str
    sdist_sha256: str  # pinned so that figures stay comparable; a wheel fallback is not checked

    @property
    def directory(self) -> str:
        return f"{self.name}-{self.version}"


# Pinned: change a version only on purpose, and say so next to the figures it changes.
PACKAGES = (
    Package("django", "5.2.19", "ad03d8abc51dbff95ebf34b27123cf0c26a3b62db7ba0cd520783686362533d1"),
    Package("sqlalchemy", "2.1.9", "d700a8b2edfb26282a470333d6bc4a454c4acda4d201a3bea7b72fa76c217d28"),
    Package("alembic", "1.20.1", "83490def1f723413db5096591f7609ac52544805be93849170088ed04f5a2e0b"),
    Package(
        "apache-airflow-core", "3.3.2", "53f38e7749a2689a1d67c6e661284ecddaa687c1f7f3cae2d76b2eca7758210f"
    ),
    Package("apache-superset", "6.1.0", "56976e5773864f906e30a689dec2641e554286e8be860ecc1e3d4ff5ff6b2e32"),
)

# Real table names used in the corpus (each occurs as a whole word), each renamed to <name>_v2.
# `addresses` (SQLAlchemy's test suite) is the heavy hitter: thousands of lines.
CATALOG = (
    "django_session",
    "auth_user",
    "django_content_type",
    "django_migrations",
    "dag_run",
    "task_instance",
    "serialized_dag",
    "alembic_version",
    "ab_user",
    "slices",
    "dashboards",
    "addresses",
)

SOURCE_SUFFIXES = (".py", ".sql")


# --- the corpus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusStats:
    files: int
    py_files: int
    py_lines: int
    sql_files: int


def build_corpus(corpus: Path) -> None:
    """Fetch and unpack every pinned package that is not in ``corpus`` yet; drop other versions."""
    corpus.mkdir(parents=True, exist_ok=True)
    wanted = {package.directory for package in PACKAGES}
    for entry in sorted(corpus.iterdir()):
        if entry.name in wanted:
            continue
        # hidden entries: an interrupted build, or what an interrupted scan left (e.g. a cache dir)
        if entry.name.startswith(".") or any(entry.name.startswith(p.name + "-") for p in PACKAGES):
            print(f"corpus: removing {entry.name} (not a pinned version, or left by an interrupted run)")
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        else:
            sys.exit(f"bench: {corpus} holds {entry.name!r}, which the benchmark did not put there")
    for package in PACKAGES:
        if not (corpus / package.directory).is_dir():
            fetch_package(package, corpus)


def fetch_package(package: Package, corpus: Path) -> None:
    """Download the sdist (or, failing that, the wheel) with pip and unpack it into the corpus."""
    spec = f"{package.name}=={package.version}"
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        download = Path(tmp) / "download"
        # --no-binary NAME, not :all:, so that build requirements (e.g. Cython) may still be wheels
        sdist = ["--no-binary", package.name]
        wheel = ["--only-binary", ":all:"]
        archive = None
        for kind, flags in (("sdist", sdist), ("wheel", wheel)):
            print(f"corpus: pip download {spec} ({kind})…", flush=True)
            archive = pip_download(spec, flags, download)
            if archive is not None:
                break
        if archive is None:
            sys.exit(f"bench: could not download {spec}, neither as an sdist nor as a wheel")
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if kind == "sdist" and digest != package.sdist_sha256:
            sys.exit(f"bench: {archive.name} has sha256 {digest}, expected {package.sdist_sha256}")
        if kind == "wheel":
            print(f"corpus: warning: {spec} is the wheel, not the sdist: figures may not compare")
        staging = corpus / f".building-{package.directory}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        unpacked = unpack(archive, staging)
        unpacked.rename(corpus / package.directory)
        shutil.rmtree(staging)
        print(f"corpus: {package.directory} <- {archive.name} (sha256 {digest[:16]}…)")


def pip_command() -> list[str]:
    """This interpreter's pip, else the first `pip` on PATH (e.g. in a venv made without pip)."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    path_pip = shutil.which("pip")
    return [path_pip] if probe.returncode != 0 and path_pip else [sys.executable, "-m", "pip"]


def pip_download(spec: str, flags: list[str], dest: Path) -> Path | None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    options = ["--no-deps", "--ignore-requires-python", "--disable-pip-version-check", "--quiet"]
    command = [*pip_command(), "download", *options, *flags, "--dest", str(dest), spec]
    completed = subprocess.run(command, capture_output=True, text=True)
    archives = sorted(dest.iterdir())
    if completed.returncode != 0 or len(archives) != 1:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-5:])
        print(f"corpus: pip download failed (exit {completed.returncode}):\n{tail}")
        return None
    return archives[0]


def unpack(archive: Path, staging: Path) -> Path:
    """Unpack into ``staging``; return the directory holding the project's files."""
    if archive.name.endswith((".whl", ".zip")):
        target = staging / "wheel"
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(target)  # zipfile drops absolute paths and `..`
        return target
    with tarfile.open(archive) as handle:
        if hasattr(tarfile, "data_filter"):
            handle.extractall(staging, filter="data")
        else:  # Python before 3.11.4: check the paths ourselves
            for member in handle.getmembers():
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    sys.exit(f"bench: unsafe path {member.name!r} in {archive.name}")
            handle.extractall(staging)
    entries = list(staging.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else staging


def corpus_stats(corpus: Path) -> CorpusStats:
    files = py_files = py_lines = sql_files = 0
    for directory, _, names in os.walk(corpus):
        for name in names:
            files += 1
            if name.endswith(".py"):
                py_files += 1
                data = (Path(directory) / name).read_bytes()
                py_lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
            elif name.endswith(".sql"):
                sql_files += 1
    return CorpusStats(files, py_files, py_lines, sql_files)


# --- timing ---------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: bytes
    stderr: bytes
    max_rss_kb: int | None = None  # the largest single process (getrusage / GNU time)
    cpu_seconds: float | None = None  # user + system time of the scan and every worker it waited for
    tree_rss_kb: int | None = None  # the largest PSS sum over the process tree, sampled from /proc
    report: dict | None = None  # the scan's JSON report


@dataclass
class Timing:
    runs: list[Run] = field(default_factory=list)

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.seconds)

    @property
    def median_cpu(self) -> float | None:
        """CPU seconds hardly depend on what else runs on a shared machine; wall-clock time does."""
        values = [run.cpu_seconds for run in self.runs if run.cpu_seconds is not None]
        return statistics.median(values) if values else None

    @property
    def median(self) -> float:
        """The median wall-clock time: the machine is shared and noisy, so one fast run proves little."""
        return statistics.median(run.seconds for run in self.runs)

    @property
    def peak_rss_kb(self) -> int | None:
        values = [run.max_rss_kb for run in self.runs if run.max_rss_kb is not None]
        return max(values) if values else None

    @property
    def peak_tree_kb(self) -> int | None:
        values = [run.tree_rss_kb for run in self.runs if run.tree_rss_kb is not None]
        return max(values) if values else None


class TreeSampler(threading.Thread):
    """Samples the summed memory (PSS) of a process and all its descendants (Linux /proc only)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.stopped = threading.Event()
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak_kb = max(self.peak_kb, self.sample())
            self.stopped.wait(self.interval)

    def sample(self) -> int:
        children: dict[int, list[int]] = collections.defaultdict(list)
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children[ppid].append(int(entry.name))
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, ()))
            total += self.memory_kb(pid)
        return total

    def memory_kb(self, pid: int) -> int:
        """PSS (shares pages a fork has in common with its parent), else RSS; 0 for a process gone."""
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.page_kb
        except (OSError, ValueError, IndexError):
            return 0


# Runs a command and writes its children's max RSS (KiB) to a file: a fresh process per measurement.
RUSAGE_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.write(f"{usage.ru_utime} {usage.ru_stime} {usage.ru_maxrss}")
sys.exit(code)
"""


def timed(command: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run ``command`` once: wall-clock seconds, output, peak memory."""
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        rss_file = Path(tmp) / "rss"
        gnu_time = shutil.which("time", path="/usr/bin")
        if gnu_time:
            wrapped = [gnu_time, "-f", "%U %S %M", "-o", str(rss_file), *command]
        else:
            wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(rss_file), *command]
        start = time.perf_counter()
        process = subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        sampler = TreeSampler(process.pid) if Path("/proc/self/statm").exists() else None
        if sampler:
            sampler.start()
        stdout, stderr = process.communicate()
        seconds = time.perf_counter() - start
        if sampler:
            sampler.stopped.set()
            sampler.join()
        run = Run(
            seconds, process.returncode, stdout, stderr, tree_rss_kb=sampler.peak_kb if sampler else None
        )
        # GNU time writes "Command exited with non-zero status N" before the figure
        with contextlib.suppress(OSError, ValueError, IndexError):
            user, system, rss = rss_file.read_text().split()[-3:]
            run.max_rss_kb = int(rss)
            run.cpu_seconds = float(user) + float(system)
        return run


# --- the floor: grep ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrepResult:
    timing: Timing
    lines: int
    by_name: dict[str, tuple[int, int]]  # name -> (matching lines, files)
    first_py_hit: Path | None  # the first .py file (sorted) holding a legacy name, for --touch


def grep_command(corpus: Path) -> list[str]:
    includes = [f"--include=*{suffix}" for suffix in SOURCE_SUFFIXES]
    return ["grep", "-rnw", "-E", "|".join(CATALOG), *includes, str(corpus)]


def run_grep(corpus: Path, repeat: int) -> GrepResult:
    # LC_ALL=C: the fastest grep, which is what a floor should be (the names are ASCII)
    env = {**os.environ, "LC_ALL": "C"}
    timing = Timing([timed(grep_command(corpus), env) for _ in range(repeat)])
    output = timing.best.stdout
    if timing.best.returncode not in (0, 1):
        sys.exit(f"bench: grep failed (exit {timing.best.returncode}): {timing.best.stderr.decode()}")
    word = re.compile(rb"\b(" + b"|".join(name.encode() for name in CATALOG) + rb")\b")
    lines: collections.Counter[str] = collections.Counter()
    files: dict[str, set[bytes]] = collections.defaultdict(set)
    py_hits: list[bytes] = []
    for line in output.splitlines():
        path, _, rest = line.partition(b":")
        _, _, text = rest.partition(b":")
        if path.endswith(b".py"):
            py_hits.append(path)
        for name in {match.decode() for match in word.findall(text)}:
            lines[name] += 1
            files[name].add(path)
    by_name = {name: (lines[name], len(files[name])) for name in CATALOG}
    first = Path(os.fsdecode(min(py_hits))) if py_hits else None
    return GrepResult(timing, output.count(b"\n"), by_name, first)


# --- the tool -------------------------------------------------------------------------------------


def audit_command(python: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The `audit` console script beside the interpreter, else `python -m auditor` from this checkout."""
    env = dict(os.environ)
    # timed as installed: with its compiled modules (pip writes them at install; a checkout on first run),
    # not re-compiling ~50 modules on every run when the session happens to forbid writing bytecode
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = python or Path(sys.executable)
    script = python.parent / "audit"
    if script.exists():
        return [str(script)], env
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    subprocess.run([str(python), "-m", "compileall", "-q", str(REPO_ROOT / "auditor")], env=env, check=False)
    return [str(python), "-m", "auditor"], env


@dataclass(frozen=True)
class ToolResult:
    mode: str
    timing: Timing
    report: dict | None
    error: str | None


def scan_args(root: Path, output: Path, jobs: int | None, extra: Sequence[str]) -> list[str]:
    legacy = [arg for name in CATALOG for arg in ("--legacy", f"{name}={name}_v2")]
    jobs_args = ["--jobs", str(jobs)] if jobs is not None else []
    return ["scan", str(root), *legacy, "--format", "json", "--output", str(output), *jobs_args, *extra]


def clean_root(root: Path, keep: set[str]) -> None:
    """Remove what a scan left at the top of the root (e.g. a cache dir), so that a run starts cold."""
    for entry in root.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def run_tool(
    mode: str,
    root: Path,
    repeat: int,
    jobs: int | None,
    extra: Sequence[str],
    touch: Path | None = None,
    label: str | None = None,
    on_top: bool = False,
) -> ToolResult:
    """Time `audit scan` on ``root``: cold (each run from nothing), warm (after one untimed run) or
    touch (after one untimed run, then a comment appended to ``touch`` before each timed run; with
    ``on_top``, a comment line inserted above its first line, which moves every line after it)."""
    keep = {entry.name for entry in root.iterdir()}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        try:
            result = timed_scans(mode, root, repeat, jobs, extra, touch, keep, Path(tmp), on_top)
            return replace(result, mode=label) if label else result
        finally:
            clean_root(root, keep)  # never leave a scan's cache in the (cached) corpus


def timed_scans(
    mode: str,
    root: Path,
    repeat: int,
    jobs: int | None,
    extra: Sequence[str],
    touch: Path | None,
    keep: set[str],
    tmp: Path,
    on_top: bool = False,
) -> ToolResult:
    base, env = audit_command()
    output = tmp / "report.json"
    command = [*base, *scan_args(root, output, jobs, extra)]
    timing = Timing()
    report: dict | None = None
    if mode != "cold":
        env["XDG_CACHE_HOME"] = str(tmp / "xdg-cache")  # one cache for the untimed and the timed runs
        _, error = scan_once(command, env, output)
        if error is not None:
            return ToolResult(mode, timing, None, error)
    for index in range(repeat):
        if mode == "cold":
            clean_root(root, keep)  # a cache in the root
            env["XDG_CACHE_HOME"] = str(tmp / f"xdg-cache-{index}")  # a cache in the user's cache dir
        if touch is not None and on_top:
            touch.write_bytes(f"# auditor-bench touch {index}\n".encode() + touch.read_bytes())
        elif touch is not None:
            with touch.open("a", encoding="utf-8") as handle:
                handle.write(f"\n# auditor-bench touch {index}\n")
        run, error = scan_once(command, env, output)
        if error is not None:
            return ToolResult(mode, timing, report, error)
        timing.runs.append(run)
        report = run.report
    return ToolResult(mode, timing, report, None)


def scan_once(command: Sequence[str], env: dict[str, str], output: Path) -> tuple[Run, str | None]:
    """One timed scan; an error unless it exited 0 or 1 (findings) and wrote a JSON report."""
    output.unlink(missing_ok=True)
    run = timed(command, env)
    if run.returncode not in (0, 1):
        return run, describe_failure(run)
    try:
        run.report = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # exit 1 is also what an uncaught exception gives
        return run, describe_failure(run, f"no JSON report ({exc.__class__.__name__}: {exc})")
    return run, None


def describe_failure(run: Run, why: str = "") -> str:
    stderr = "\n".join(run.stderr.decode(errors="replace").strip().splitlines()[-40:])
    head = f"exit {run.returncode}" + (f", {why}" if why else "")
    return head + (f"; stderr:\n{stderr}" if stderr else " (no stderr)")


def finding_counts(report: dict) -> tuple[int | None, collections.Counter[str], int | None, int | None]:
    """(findings per summary, findings by rule, files scanned, diagnostics) from a JSON report."""
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    total = summary.get("findings")
    if isinstance(total, dict):
        total = total.get("total", sum(v for v in total.values() if isinstance(v, int)))
    findings = report.get("findings") or []
    by_rule = collections.Counter(str(f.get("rule")) for f in findings if isinstance(f, dict))
    files = next(
        (
            value
            for key in ("files_scanned", "files")
            for value in (summary.get(key), report.get(key))
            if isinstance(value, int)
        ),
        None,
    )
    diagnostics = summary.get("diagnostics")
    if not isinstance(diagnostics, int):
        diagnostics = len(report["diagnostics"]) if isinstance(report.get("diagnostics"), list) else None
    return (total if isinstance(total, int) else None), by_rule, files, diagnostics


# --- printing -------------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table: numbers right-aligned, words left-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def cell(text: str, width: int) -> str:
        return text.rjust(width) if text[:1].isdigit() else text.ljust(width)

    lines = ["  ".join(cell(text, w) for text, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def mb(kb: int | None) -> str:
    return f"{kb / 1024:.0f}" if kb is not None else "n/a"


def machine() -> str:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    grep_version = subprocess.run(["grep", "--version"], capture_output=True, text=True).stdout.splitlines()
    return (
        f"machine: nproc {usable} (of {cpus}), {model or platform.machine()}, {platform.system()} "
        f"{platform.release()}; python {platform.python_version()} ({sys.executable}); "
        f"{grep_version[0] if grep_version else 'grep'}"
    )


def tool_version() -> str:
    base, env = audit_command()
    completed = subprocess.run([*base, "--version"], capture_output=True, text=True, env=env)
    text = (completed.stdout or completed.stderr).strip().splitlines()
    return f"{' '.join(base)}: {text[0] if text and completed.returncode == 0 else 'version unknown'}"


ISSUE_ROWS = {
    "cold": "cold, default mode",
    "legacy-files": "cold, `--unresolved legacy-files`",
    "warm": "warm re-scan, nothing changed",
    "touch": "re-scan after editing one file",
    # the edit above leaves the file's facts as they were (the early cutoff); this one moves them all
    "shift": "re-scan after an edit that moves every line of one file",
}


def print_results(stats: CorpusStats, grep: GrepResult, tools: list[ToolResult], repeat: int) -> None:
    grep_median = grep.timing.median
    header = [
        "run",
        "files",
        ".py lines",
        "median s",
        "files/s",
        "lines/s",
        "peak RSS MB",
        "tree PSS MB",
        "findings",
        "x grep",
    ]
    candidates = stats.py_files + stats.sql_files
    rows = [
        [
            "grep -rnw (floor)",
            str(candidates),
            f"{stats.py_lines:,}",
            f"{grep_median:.2f}",
            f"{candidates / grep_median:,.0f}",
            f"{stats.py_lines / grep_median:,.0f}",
            mb(grep.timing.peak_rss_kb),
            mb(grep.timing.peak_tree_kb),
            f"{grep.lines} lines",
            "1.0",
        ]
    ]
    by_rule_lines = []
    issue_rows = []
    for tool in tools:
        if tool.error is not None or tool.report is None:
            continue
        median = tool.timing.median
        total, by_rule, files, diagnostics = finding_counts(tool.report)
        scanned = files if files is not None else candidates
        rows.append(
            [
                f"audit scan ({tool.mode})",
                str(scanned) + ("" if files is not None else "*"),
                f"{stats.py_lines:,}",
                f"{median:.2f}",
                f"{scanned / median:,.0f}",
                f"{stats.py_lines / median:,.0f}",
                mb(tool.timing.peak_rss_kb),
                mb(tool.timing.peak_tree_kb),
                str(total if total is not None else sum(by_rule.values())),
                f"{median / grep_median:.1f}",
            ]
        )
        runs = ", ".join(f"{run.seconds:.2f}" for run in tool.timing.runs)
        cpu = tool.timing.median_cpu
        issue_rows.append(
            [
                ISSUE_ROWS.get(tool.mode, tool.mode),
                f"{median:.2f} s ({runs})",
                f"{median / grep_median:.1f}x",
                f"{cpu:.2f} s" if cpu is not None else "n/a",
            ]
        )
        rules = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items())) or "none"
        diag = f"; diagnostics {diagnostics}" if diagnostics is not None else ""
        by_rule_lines.append(f"audit scan ({tool.mode}): by rule: {rules}{diag}")
    peaks = [tool.timing.peak_tree_kb for tool in tools if tool.timing.peak_tree_kb is not None]
    if peaks:
        issue_rows.append(["peak memory, all processes", f"{mb(max(peaks))} MB", "", ""])
    print()
    print(
        f"median of {repeat} run(s); peak RSS: the largest single process; tree PSS: the whole process tree, "
        "sampled every 50 ms"
    )
    print(table(rows, header))
    if any(row[1].endswith("*") for row in rows[1:]):
        print("* the report gave no file count: .py + .sql files in the corpus shown instead")
    for line in by_rule_lines:
        print(line)
    print()
    print(f"the issue's table (grep floor: median {grep_median:.2f} s)")
    grep_cpu = grep.timing.median_cpu
    print(f"grep CPU: median {grep_cpu:.2f} s" if grep_cpu is not None else "grep CPU: n/a")
    print(table(issue_rows, ["case", "median wall (runs)", "x grep", "median CPU (user+sys)"]))


# --- comparing two versions -----------------------------------------------------------------------

# Every field of a finding that the analysis decides; the fingerprint and snippet follow from them.
FINDING_FIELDS = (
    "rule",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "legacy",
    "target",
    "block",
    "confidence",
    "via",
    "message",
    "suggestion",
    "db_object",
)


def finding_key(finding: dict) -> str:
    return json.dumps([finding.get(name) for name in FINDING_FIELDS], sort_keys=True)


def compare_versions(
    root: Path,
    other_python: Path,
    jobs: int | None,
    extra: Sequence[str],
    label: str,
    own_config: bool = False,
) -> bool:
    """Scan ``root`` with this interpreter's auditor and with ``other_python``'s; print any difference."""
    reports = []
    for python in (Path(sys.executable), other_python):
        base, env = audit_command(python)
        with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
            env["XDG_CACHE_HOME"] = str(Path(tmp) / "xdg-cache")
            output = Path(tmp) / "report.json"
            args = scan_args(root, output, jobs, [*extra, "--no-cache"])
            if own_config:  # a fixture tree: its own audit.toml / pyproject.toml names the legacy objects
                args = [a for i, a in enumerate(args) if a != "--legacy" and args[i - 1] != "--legacy"]
            run, error = scan_once([*base, *args], env, output)
        if error is not None:
            print(f"compare {label}: {python} failed: {error}")
            return False
        reports.append(run.report or {})
    ours, theirs = (collections.Counter(finding_key(f) for f in r.get("findings", [])) for r in reports)
    only_ours, only_theirs = ours - theirs, theirs - ours
    diag_ours, diag_theirs = (
        collections.Counter(json.dumps(d, sort_keys=True) for d in r.get("diagnostics", [])) for r in reports
    )
    same = not only_ours and not only_theirs
    print(
        f"compare {label}: {sum(ours.values())} findings vs {sum(theirs.values())}: "
        + (
            "identical"
            if same
            else f"{sum(only_ours.values())} only here, {sum(only_theirs.values())} only there"
        )
        + (
            f"; diagnostics differ ({sum((diag_ours - diag_theirs).values())} only here, "
            f"{sum((diag_theirs - diag_ours).values())} only there)"
            if diag_ours != diag_theirs
            else ""
        )
    )
    for sign, keys in (("-", only_theirs), ("+", only_ours)):
        for key in sorted(keys):
            print(f"  {sign} {dict(zip(FINDING_FIELDS, json.loads(key), strict=True))}")
    for sign, keys in (("- diag", diag_theirs - diag_ours), ("+ diag", diag_ours - diag_theirs)):
        for key in sorted(keys):
            print(f"  {sign} {key}")
    return same


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    argv = list(argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"default {DEFAULT_CORPUS}")
    parser.add_argument("--jobs", type=int, help="passed to `audit scan --jobs` (default: the tool's)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median counts (default 3)")
    parser.add_argument(
        "--rows",
        default="cold,legacy-files,warm,touch,shift",
        help="which rows to time (default: all: cold,legacy-files,warm,touch,shift)",
    )
    parser.add_argument("--warm", action="store_true", help="same as --rows cold,warm (kept for old scripts)")
    parser.add_argument(
        "--touch", action="store_true", help="same as --rows cold,touch (kept for old scripts)"
    )
    parser.add_argument("--grep-only", action="store_true", help="build the corpus and time grep only")
    parser.add_argument(
        "--names", help="comma-separated legacy names instead of the built-in catalog, e.g. auth_user,dag_run"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="PYTHON",
        help="instead of timing: check that the auditor of this interpreter and of PYTHON (another venv's "
        "python) report identical findings on the corpus and on every --compare-root",
    )
    parser.add_argument(
        "--compare-root",
        type=Path,
        action="append",
        default=[],
        help="another tree to compare on (repeatable)",
    )
    parser.add_argument("--compare-only-roots", action="store_true", help="--compare: skip the corpus")
    args = parser.parse_args(argv)
    if args.names:
        global CATALOG
        CATALOG = tuple(n.strip() for n in args.names.split(",") if n.strip())
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = {r.strip() for r in args.rows.split(",") if r.strip()}
    if args.warm or args.touch:
        rows = {"cold"} | ({"warm"} if args.warm else set()) | ({"touch"} if args.touch else set())
    unknown = rows - set(ISSUE_ROWS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))} (choose from {', '.join(ISSUE_ROWS)})")
    args.rows = [row for row in ISSUE_ROWS if row in rows]
    return args, extra


def main(argv: Sequence[str]) -> int:
    args, extra = parse_args(argv)
    corpus: Path = args.corpus.expanduser().resolve()
    build_corpus(corpus)
    if args.compare is not None and args.compare_only_roots:
        results = [
            compare_versions(r.resolve(), args.compare, args.jobs, extra, str(r), True)
            for r in args.compare_root
        ]
        return 0 if all(results) else 1
    if args.compare is not None:
        results = [compare_versions(corpus, args.compare, args.jobs, extra, "corpus")]
        for root in args.compare_root:
            results.append(compare_versions(root.resolve(), args.compare, args.jobs, extra, str(root), True))
        return 0 if all(results) else 1
    stats = corpus_stats(corpus)
    print(machine())
    print(f"corpus: {corpus}: {', '.join(p.directory for p in PACKAGES)}")
    print(
        f"corpus: {stats.files:,} files, {stats.py_files:,} .py files, {stats.py_lines:,} .py lines, "
        f"{stats.sql_files} .sql files"
    )

    grep = run_grep(corpus, args.repeat)
    print(f"grep floor: {grep.lines:,} matching lines, median {grep.timing.median:.2f}s of {args.repeat}")
    hits = [[name, f"{name}_v2", str(lines), str(files)] for name, (lines, files) in grep.by_name.items()]
    print(table(hits, ["legacy name", "target", "grep lines", "files"]))
    if args.grep_only:
        return 0

    print(tool_version())
    jobs = f"--jobs {args.jobs}" if args.jobs is not None else "the tool's default --jobs"
    print(f"audit scan: {len(CATALOG)} --legacy names, {jobs}, extra args: {' '.join(extra) or 'none'}")
    tools = []
    for row in args.rows:
        if row == "cold":
            tools.append(run_tool("cold", corpus, args.repeat, args.jobs, extra))
        elif row == "legacy-files":
            legacy_files = [*extra, "--unresolved", "legacy-files"]
            tools.append(run_tool("cold", corpus, args.repeat, args.jobs, legacy_files, label="legacy-files"))
        elif row == "warm":
            tools.append(run_tool("warm", corpus, args.repeat, args.jobs, extra))
        elif grep.first_py_hit is None:
            print("touch: no .py file holds a legacy name; skipped")
        else:
            with tempfile.TemporaryDirectory(prefix="auditor-bench-touch-") as tmp:
                copy = Path(tmp) / "corpus"
                print(f"touch: copying the corpus to {copy}…", flush=True)
                shutil.copytree(corpus, copy, symlinks=True)
                touched = copy / grep.first_py_hit.relative_to(corpus)
                how = "inserting a comment line on top of" if row == "shift" else "appending a comment to"
                print(f"{row}: {how} {touched.relative_to(copy)} before each timed run")
                tools.append(
                    run_tool(
                        "touch",
                        copy,
                        args.repeat,
                        args.jobs,
                        extra,
                        touch=touched,
                        label=row,
                        on_top=row == "shift",
                    )
                )

    print_results(stats, grep, tools, args.repeat)
    failed = [tool for tool in tools if tool.error is not None]
    for tool in failed:
        print(f"\naudit scan ({tool.mode}) failed: {tool.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
