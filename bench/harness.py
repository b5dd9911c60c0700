"""What every benchmark needs: the replica as a process, and measured child processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from replica.process import ReplicaProcess

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "bench" / "results"


def child_env(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The environment of every measured process: the project (at ``root``:
    another checkout's, for a baseline) importable first, no fleet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    env["SCRAPY_SETTINGS_MODULE"] = "crawler.settings"
    env.pop("REDIS_URL", None)
    return env


class BenchReplica(ReplicaProcess):
    """The replica without faults, at the benchmark's size and latency."""

    def __init__(self, articles: int, per_page: int, latency_ms: float, now: str):
        self.args = dict(articles=articles, per_page=per_page, latency_ms=latency_ms)
        super().__init__(
            "--no-faults", "--articles", str(articles), "--per-page", str(per_page),
            "--latency-ms", str(latency_ms), "--now", now,
            env=child_env(), timeout=30,
        )  # fmt: skip


def write_catalog(replica_url: str, feed: str, max_pages: int, path: Path) -> Path:
    """The shipped catalog pointed at the replica, ``feed`` reaching ``max_pages``."""
    from replica import replica_catalog

    catalog = replica_catalog(replica_url)
    catalog["feeds"][feed]["max_pages"] = max_pages
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@dataclass
class Measure:
    """A finished child process: its times, peak memory and output."""

    argv: list[str]
    launched: float  # time.time() just before it was started
    wall: float  # seconds, launch to exit
    cpu: float  # user + system seconds of the child
    max_rss_mb: float  # peak resident set size of the child
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> Measure:
        if self.returncode != 0:
            tail = "\n".join(self.stderr.splitlines()[-30:])
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.returncode}:\n{tail}")
        return self

    def last_json(self) -> Any:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}

    def figures(self) -> dict[str, float]:
        return {"wall_s": round(self.wall, 3), "cpu_s": round(self.cpu, 3),
                "max_rss_mb": round(self.max_rss_mb, 1)}  # fmt: skip


def export_tree(rev: str, into: Path, *paths: str) -> Path:
    """The files of commit ``rev`` (all, or those under ``paths``) extracted
    into ``into`` with ``git archive``: a baseline's code. A revision git
    cannot export ends the run with git's own words, not a traceback."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, *paths], cwd=PROJECT_ROOT, capture_output=True)
    if archive.returncode:
        said = archive.stderr.decode("utf-8", "replace").strip()
        raise SystemExit(f"error: cannot export commit {rev!r} of {PROJECT_ROOT}: {said}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def measure(
    argv: list[str], workdir: Path, timeout: float = 3600, root: Path = PROJECT_ROOT
) -> Measure:
    """Run ``argv`` in ``root`` (the project's checkout) to its end; wall
    time, CPU time and peak RSS of that process alone."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        launched = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=root, env=child_env(root), stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(
        argv=argv,
        launched=launched,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        stdout=out_path.read_text("utf-8", "replace"),
        stderr=err_path.read_text("utf-8", "replace"),
    )


def cpu_of(pid: int) -> float | None:
    """User + system seconds process ``pid`` has used so far (None where
    ``/proc`` cannot tell): what the replica spent serving a run."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served(replica: ReplicaProcess, cpu_before: float | None) -> dict[str, Any]:
    """What ``replica`` served since its last reset: requests (by kind), the
    most in flight at once, and its CPU since ``cpu_before`` (:func:`cpu_of`)
    where ``/proc`` tells."""
    stats = replica.stats()
    out = {
        "requests": stats["requests"],
        "requests_by_kind": {k: v for k, v in stats["by_kind"].items() if v},
        "max_in_flight": stats["max_in_flight"],
    }
    cpu_after = cpu_of(replica.proc.pid)
    if cpu_before is not None and cpu_after is not None:
        out["replica_cpu_s"] = round(cpu_after - cpu_before, 2)
    return out


def scrapy(*args: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", *args]


def settings_args(settings: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, value in settings.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = str(value)
        out += ["-s", f"{name}={value}"]
    return out


def text_table(rows: list[tuple[Any, ...]]) -> list[str]:
    """``rows`` (the head first) as aligned columns, a rule under the head."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def write_results(results: Any, name: str = "", indent: int = 2) -> Path:
    """``results`` as JSON in ``bench/results/[name-]<timestamp>.json``, said on stdout."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / (f"{name}-{stamp}.json" if name else f"{stamp}.json")
    out.write_text(json.dumps(results, indent=indent, ensure_ascii=False), "utf-8")
    print(f"\nResults written to {out.relative_to(PROJECT_ROOT)}")
    return out
