"""Where a scan's time goes: wall time and CPU time per pipeline stage (`audit scan --timings`).

CPU time is counted twice: this process's own, and that of the worker processes it waited for (the
operating system reports a worker's CPU once the worker has ended, so the pool's whole CPU time lands in
the stage that shuts the pool down: the Python stage).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

try:
    import resource
except ImportError:  # Windows has none: the workers' CPU time is then not known
    resource = None  # type: ignore[assignment]


@dataclass
class StageTime:
    name: str
    wall: float = 0.0
    cpu: float = 0.0  # this process
    workers_cpu: float = 0.0  # worker processes that ended during the stage


@dataclass
class Timings:
    """Laps: each call of ``lap`` charges the time since the previous one (or since ``start``) to a stage."""

    stages: list[StageTime] = field(default_factory=list)
    _last: tuple[float, float, float] | None = None

    def start(self) -> None:
        self._last = (time.perf_counter(), time.process_time(), _workers_cpu())

    def lap(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time(), _workers_cpu())
        if self._last is None:
            self._last = now
            return
        found = next((s for s in self.stages if s.name == name), None)
        if found is None:
            found = StageTime(name)
            self.stages.append(found)
        found.wall += now[0] - self._last[0]
        found.cpu += now[1] - self._last[1]
        found.workers_cpu += now[2] - self._last[2]
        self._last = now

    def total(self) -> StageTime:
        return StageTime(
            "total",
            sum(s.wall for s in self.stages),
            sum(s.cpu for s in self.stages),
            sum(s.workers_cpu for s in self.stages),
        )

    def render(self) -> str:
        """A plain table, one line a stage, for stderr."""
        rows = [*self.stages, self.total()]
        width = max(len(s.name) for s in rows)
        lines = [f"{'stage':<{width}}  {'wall s':>8}  {'CPU s':>8}  {'workers CPU s':>13}"]
        lines.extend(f"{s.name:<{width}}  {s.wall:8.2f}  {s.cpu:8.2f}  {s.workers_cpu:13.2f}" for s in rows)
        if any(s.workers_cpu for s in self.stages):
            lines.append("(a worker's CPU time is counted when the pool ends, after the holder rounds)")
        return "\n".join(lines)


def _workers_cpu() -> float:
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
