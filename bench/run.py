#!/usr/bin/env python
"""The benchmark suite: ``python bench/run.py [--quick]``.

Every figure is taken in the same run, on the same pages of the bundled
replica (served on loopback by its own process, with a per-response latency),
for the crawler and for its two baselines:

* **sequential** (:mod:`bench.sequential`): one request at a time with
  ``requests``, the same parsing, cleaning and writing;
* **bare Scrapy** (:mod:`bench.bare_scrapy`): a minimal spider following the
  same links and extracting the same fields, no pipelines, the same settings;
  and the same spider fetch-only, reading nothing from the articles: Scrapy's
  own CPU per response, from which the table gives the **floor** of the
  backfill on this host: the network bound, or the CPU that no Scrapy crawler
  can avoid (that fetch-only spider's, our worker processes' extraction,
  cleaning and writing, and the replica's serving, which shares the host)
  spread over every usable core, whichever is longer.

With ``--baseline REV``, ours is also run with the code of commit ``REV``
(exported with ``git archive``), in turn with the others, and the table gives
how many times faster this tree is.

Sections: the replica's own ceiling; the backfill of one feed at each latency
(with the listing chain's share of it, and ours with listing prefetch off);
the pipeline's CPU time per article; the re-crawl with nothing new; start-up
of ``scrapy crawl`` over mirrors of growing size; ``verify`` and ``rotate``.
It prints a table and writes everything as JSON to
``bench/results/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    PROJECT_ROOT,
    RESULTS,
    BenchReplica,
    Measure,
    cpu_of,
    export_tree,
    measure,
    scrapy,
    served,
    settings_args,
    text_table,
    write_catalog,
    write_results,
)

PYTHON = sys.executable


@dataclass
class Config:
    articles: int = 5000  # articles of the backfilled feed
    per_page: int = 10  # articles per listing page
    latencies: tuple[float, ...] = (0, 50)  # ms per response
    concurrency: int = 32  # CONCURRENT_REQUESTS and CONCURRENT_REQUESTS_PER_DOMAIN
    startup_sizes: tuple[int, ...] = (1000, 10000, 100000)  # posts already mirrored
    startup_runs: int = 3  # the first rebuilds the index; the others' median is kept
    feed: str = "kunmingribao"
    repeat: int = 3  # runs of each backfill (the sequential at 50 ms: 1); medians kept
    profile: bool = False  # cProfile one 0 ms backfill of ours
    backfill: bool = True  # the backfill section (and its re-crawl)
    baselines: bool = True
    serial: bool = True  # also run ours with listing prefetch off
    one_process: bool = True  # also run ours without worker processes (MIRROR_WORKERS=0)
    tools: bool = True  # verify and rotate on the largest mirror
    baseline: str = ""  # also run ours with the code of this commit
    keep: bool = False  # keep the work directory

    @property
    def max_pages(self) -> int:
        return math.ceil(self.articles / self.per_page) + 1


QUICK = Config(articles=300, startup_sizes=(100, 1000, 10000), repeat=1)


def bench_settings(cfg: Config) -> dict[str, Any]:
    """Politeness raised, as a user with the source's permission would: the same
    for ours and bare Scrapy."""
    from crawler import settings as project

    return {
        "CONCURRENT_REQUESTS": cfg.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": cfg.concurrency,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_ITEMS": getattr(project, "CONCURRENT_ITEMS", 100),
        "LOG_LEVEL": "INFO",
    }


def ours_settings(cfg: Config, catalog: Path, mirror: Path, work: Path) -> dict[str, Any]:
    from crawler import settings as project

    return {
        **bench_settings(cfg),
        "MIRROR_DIR": str(mirror),
        "NEWS_FEEDS_FILE": str(catalog),
        "MIRROR_PROGRESS_INTERVAL": 0,
        "EXTENSIONS": {**project.EXTENSIONS, "bench.probes.Timeline": 0},
        "BENCH_TIMELINE_FILE": str(work / "timeline.json"),
        "ITEM_PIPELINES": {"bench.probes.TimedPipelines": 300},
        "BENCH_PIPELINE_FILE": str(work / "pipelines.json"),
    }


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def posts_in(mirror: Path) -> int:
    return sum(len(os.listdir(mirror / d)) for d in ("_posts", "old_post") if (mirror / d).is_dir())


def phases(m: Measure, timeline: dict[str, Any]) -> dict[str, Any]:
    """Start-up, crawl and listing-chain times of a run, from its timeline."""
    out: dict[str, Any] = {}
    first = timeline.get("first_request")
    if first:
        out["to_first_request_s"] = round(first - m.launched, 3)
        end = timeline.get("last_item") or timeline.get("closed")
        if end:
            out["crawl_s"] = round(end - first, 3)
        if timeline.get("last_listing"):
            out["listing_chain_s"] = round(timeline["last_listing"] - first, 3)
            if out.get("crawl_s"):
                out["listing_chain_share"] = round(out["listing_chain_s"] / out["crawl_s"], 3)
    return out


# --- Runs of one system ------------------------------------------------------


def run_ours(cfg: Config, catalog: Path, mirror: Path, work: Path,
             extra: dict[str, Any] | None = None,
             profile: Path | None = None, root: Path = PROJECT_ROOT) -> dict[str, Any]:  # fmt: skip
    """Ours with the code at ``root`` (this checkout, or a baseline's export)."""
    settings = {**ours_settings(cfg, catalog, mirror, work), **(extra or {})}
    argv = scrapy("crawl", cfg.feed, *settings_args(settings))
    if profile:
        argv = [PYTHON, "-m", "cProfile", "-o", str(profile), *argv[1:]]
    m = measure(argv, work, root=root).check()
    timeline = read_json(work / "timeline.json")
    return {
        **m.figures(), **phases(m, timeline),
        "items": timeline.get("items", 0), "posts": posts_in(mirror),
        "pipeline": read_json(work / "pipelines.json"),
        "process_cpu_s": timeline.get("process_cpu_s"),  # without its worker processes
    }  # fmt: skip


def run_bare(cfg: Config, catalog: Path, work: Path, fetch_only: bool = False) -> dict[str, Any]:
    settings = {
        **bench_settings(cfg),
        "TELNETCONSOLE_ENABLED": False,
        "EXTENSIONS": {"bench.probes.Timeline": 0},
        "BENCH_TIMELINE_FILE": str(work / "timeline.json"),
    }
    argv = [PYTHON, "-m", "bench.bare_scrapy", str(catalog), cfg.feed, json.dumps(settings)]
    if fetch_only:
        argv.append("fetch-only")
    m = measure(argv, work).check()
    timeline = read_json(work / "timeline.json")
    return {**m.figures(), **phases(m, timeline), "items": m.last_json().get("items", 0)}


def run_sequential(cfg: Config, catalog: Path, mirror: Path, work: Path) -> dict[str, Any]:
    argv = [PYTHON, "-m", "bench.sequential", str(catalog), cfg.feed, str(mirror)]
    m = measure(argv, work).check()
    out = m.last_json()
    figures = {**m.figures(), "items": out.get("items", 0), "posts": posts_in(mirror)}
    if out.get("first_request"):
        figures["to_first_request_s"] = round(out["first_request"] - m.launched, 3)
        figures["crawl_s"] = round(m.wall - figures["to_first_request_s"], 3)
        figures["listing_chain_share"] = 1.0  # every request waits for the one before
    return figures


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time, with every run's wall time beside it."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    chosen = dict(ordered[len(ordered) // 2])
    if len(runs) > 1:
        chosen["walls_s"] = [r["wall_s"] for r in runs]
    return chosen


# --- Sections ----------------------------------------------------------------


def ceiling(cfg: Config, replica: BenchReplica, now: str, work: Path) -> dict[str, Any]:
    """Share pages per second a trivial client gets, on 1 and on ``concurrency``
    connections: every article of the feed once (once per 10 on 1 connection)."""
    from replica import Replica

    codes = Replica(articles=cfg.articles, per_page=cfg.per_page, faults=False,
                    now=datetime.fromisoformat(now)).info_codes(cfg.feed)  # fmt: skip
    codes_file = work / "codes.txt"
    codes_file.write_text("\n".join(codes))
    out = {}
    for connections in (1, cfg.concurrency):
        requests = len(codes) if connections > 1 else max(50, len(codes) // 10)
        argv = [PYTHON, "-m", "bench.ceiling", replica.url, str(codes_file),
                str(connections), str(requests)]  # fmt: skip
        out[f"connections_{connections}"] = (
            measure(argv, work / f"ceiling-{connections}").check().last_json()
        )
    return out


def backfill(cfg: Config, latency: float, now: str, work: Path, say: Any,
             old: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """The backfill at ``latency`` by each system in turn; ``old``: the
    baseline commit's code, when there is one."""
    result: dict[str, Any] = {"latency_ms": latency}
    with BenchReplica(cfg.articles, cfg.per_page, latency, now) as replica:
        catalog = write_catalog(replica.url, cfg.feed, cfg.max_pages, work / "feeds.yaml")
        say(f"  replica ceiling at {latency:g} ms")
        result["replica_ceiling"] = ceiling(cfg, replica, now, work)
        systems: list[tuple[str, Any]] = [("ours", None)]
        if cfg.serial:
            systems.append(("ours_serial", {"MIRROR_LISTING_PREFETCH": 0}))
        if cfg.one_process:
            systems.append(("ours_one_process", {"MIRROR_WORKERS": 0}))
        if cfg.baselines:
            systems += [("bare_scrapy", None), ("scrapy_fetch_only", None), ("sequential", None)]
        if old is not None:
            systems.append(("ours_at_baseline", None))
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in systems}
        for i in range(cfg.repeat):  # the systems in turn, so that noise falls on all
            for name, extra in systems:
                if name == "sequential" and latency >= 50 and i:
                    continue  # minutes a run, its noise under 1 %: once is enough
                say(f"  backfill at {latency:g} ms: {name} (run {i + 1}/{cfg.repeat})")
                run_dir = work / f"{name}-{i}"
                mirror = run_dir / "mirror"
                replica.reset()
                served_from = cpu_of(replica.proc.pid)
                if name == "ours_at_baseline":
                    assert old is not None
                    figures = run_ours(cfg, catalog, mirror, run_dir, root=old)
                elif name.startswith("ours"):
                    figures = run_ours(cfg, catalog, mirror, run_dir, extra)
                elif name.startswith(("bare", "scrapy")):
                    figures = run_bare(cfg, catalog, run_dir, name == "scrapy_fetch_only")
                else:
                    figures = run_sequential(cfg, catalog, mirror, run_dir)
                figures.update(served(replica, served_from))
                runs[name].append(figures)
        for name, _ in systems:
            result[name] = median_run(runs[name])
        # The re-crawl with nothing new, on the mirror the first backfill of ours left.
        say(f"  re-crawl at {latency:g} ms with nothing new")
        replica.reset()
        mirror = work / "ours-0" / "mirror"
        recrawl = run_ours(cfg, catalog, mirror, work / "recrawl")
        stats = replica.stats()
        recrawl["requests"] = stats["requests"]
        recrawl["requests_by_kind"] = {k: v for k, v in stats["by_kind"].items() if v}
        result["recrawl"] = recrawl
    result["ratios"] = ratios(result)
    result["floor"] = floor(result, cfg)
    return result


def floor(result: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """The least wall time any Scrapy crawler could take for ours' work on
    this host: the network bound, or the CPU it cannot avoid spread over
    every usable core (see the module's docstring), whichever is longer."""
    from crawler.offload.pool import usable_cores

    ours = result["ours"]
    per_s = result.get("replica_ceiling", {}).get(f"connections_{cfg.concurrency}", {}).get("per_s")
    out: dict[str, Any] = {"cores": usable_cores()}
    if per_s:
        out["network_s"] = round(ours["requests"] / per_s, 2)
    fetch = result.get("scrapy_fetch_only")
    if fetch and ours.get("process_cpu_s") is not None and "replica_cpu_s" in ours:
        workers = ours["cpu_s"] - ours["process_cpu_s"]
        unavoidable = fetch["cpu_s"] + workers + ours["replica_cpu_s"]
        out["cpu_parts_s"] = {"scrapy_fetch_only": fetch["cpu_s"],
                              "ours_workers": round(workers, 2),
                              "replica": ours["replica_cpu_s"]}  # fmt: skip
        out["cpu_s"] = round(unavoidable / out["cores"], 2)
    if out.keys() & {"network_s", "cpu_s"}:
        out["floor_s"] = max(out.get("network_s", 0), out.get("cpu_s", 0))
    return out


def ratios(result: dict[str, Any]) -> dict[str, float]:
    """How many times faster ours is (baseline wall time / ours)."""
    out = {}
    ours = result["ours"]["wall_s"]
    for name in ("sequential", "bare_scrapy", "ours_serial", "ours_one_process",
                 "ours_at_baseline"):  # fmt: skip
        if name in result and ours:
            out[f"vs_{name}"] = round(result[name]["wall_s"] / ours, 2)
    return out


def profile_run(cfg: Config, now: str, work: Path) -> dict[str, Any]:
    """cProfile one 0 ms backfill of ours; the top functions by own time."""
    with BenchReplica(cfg.articles, cfg.per_page, 0, now) as replica:
        catalog = write_catalog(replica.url, cfg.feed, cfg.max_pages, work / "feeds.yaml")
        prof = work / "ours.prof"
        figures = run_ours(cfg, catalog, work / "mirror", work, profile=prof)
    stats = pstats.Stats(str(prof))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, calls, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{shorten(path)}:{line}({func})", "calls": calls,
                     "own_s": round(tt, 3), "cumulative_s": round(ct, 3)})  # fmt: skip
    by_own = sorted(rows, key=lambda r: -r["own_s"])[:25]
    ours_code = sorted(
        (r for r in rows if r["function"].startswith("crawler/")), key=lambda r: -r["cumulative_s"]
    )[:25]
    return {"profiled_wall_s": figures["wall_s"], "total_s": round(total, 3),
            "top_own_time": by_own, "top_crawler_cumulative": ours_code,
            "file": str(prof)}  # fmt: skip


def shorten(path: str) -> str:
    for marker in ("site-packages/", "/main/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def startup(cfg: Config, now: str, work: Path, say: Any) -> dict[str, Any]:
    from datetime import datetime as dt

    from bench.mirrors import link_subset, make_archive, replica_first_page

    when = dt.fromisoformat(now)
    first = replica_first_page(cfg.articles, cfg.per_page, when, cfg.feed)
    sizes = sorted({len(first), *cfg.startup_sizes})
    biggest = max(sizes)
    say(f"  writing a mirror of {biggest} posts")
    t = time.perf_counter()
    source = work / f"mirror-{biggest}"
    paths = make_archive(source, biggest, first, when)
    made_s = time.perf_counter() - t
    out: dict[str, Any] = {"generated_s": round(made_s, 1), "sizes": {}}
    with BenchReplica(cfg.articles, cfg.per_page, 0, now) as replica:
        catalog = write_catalog(replica.url, cfg.feed, cfg.max_pages, work / "feeds.yaml")
        for size in sizes:
            mirror = source if size == biggest else work / f"mirror-{size}"
            if size != biggest:
                link_subset(paths[:size], source, mirror)
            runs = []
            runs_n = max(2, cfg.startup_runs)
            for i in range(runs_n):  # the first start rebuilds the index from the file names
                say(f"  start-up over {size} posts (run {i + 1}/{runs_n})")
                replica.reset()
                figures = run_ours(cfg, catalog, mirror, work / f"start-{size}-{i}")
                stats = replica.stats()
                figures["requests"] = stats["requests"]
                figures["requests_by_kind"] = {k: v for k, v in stats["by_kind"].items() if v}
                figures.pop("pipeline", None)
                runs.append(figures)
            steady = median_run(runs[1:])
            out["sizes"][str(size)] = {"first_start": runs[0], **steady}
    if cfg.tools:
        out["tools"] = tools(cfg, source, work, say)
    return out


def tools(cfg: Config, mirror: Path, work: Path, say: Any) -> dict[str, Any]:
    """``scrapy verify`` then ``scrapy rotate`` on the largest mirror, where they exist."""
    out: dict[str, Any] = {"posts": posts_in(mirror)}
    for name in ("verify", "rotate"):
        if not (PROJECT_ROOT / "crawler" / "commands" / f"{name}.py").exists():
            out[name] = {"missing": True}
            continue
        say(f"  scrapy {name} over {out['posts']} posts")
        m = measure(scrapy(name, "-s", f"MIRROR_DIR={mirror}", "-s", "LOG_LEVEL=INFO"),
                    work / f"tool-{name}")  # fmt: skip
        out[name] = {**m.figures(), "returncode": m.returncode,
                     "last_line": (m.stdout.strip().splitlines() or [""])[-1][:200]}  # fmt: skip
    return out


def machine() -> dict[str, Any]:
    import scrapy as scrapy_module

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(), "cpu_model": model, "memory_gb": round(mem, 1),
        "python": platform.python_version(), "scrapy": scrapy_module.__version__,
        "platform": platform.platform(), "loadavg_start": os.getloadavg(),
    }  # fmt: skip


def default_work_root() -> Path | None:
    """tmpfs (``/dev/shm``) when it has room, else the system's temporary folder.

    The mirrors written are page cache either way (nothing is synced); on tmpfs
    the figures show the crawler, not the file system's inode allocator, which on
    an ext4 without journal slows every file creation for minutes after many
    files were deleted nearby (other test runs, the last benchmark's mirrors).
    """
    shm = Path("/dev/shm")
    try:
        usage = shutil.disk_usage(shm)
    except OSError:
        return None
    return shm if usage.free > 4 * 2**30 and os.access(shm, os.W_OK) else None


def run(cfg: Config, say: Any = print, work_root: Path | None = None) -> dict[str, Any]:
    """Run every section; the results as one JSON-able dict."""
    started = time.time()
    now = datetime.now().astimezone().replace(second=0, microsecond=0).isoformat()
    if work_root is None:
        work_root = default_work_root()
    work = Path(tempfile.mkdtemp(prefix="news-mirror-bench-", dir=work_root))
    results: dict[str, Any] = {
        "config": asdict(cfg), "machine": machine(), "settings": bench_settings(cfg),
        "started": datetime.now().isoformat(timespec="seconds"), "work_dir": str(work.parent),
    }  # fmt: skip
    try:
        results["backfill"] = {}
        old = None  # the baseline commit's code, exported once for every latency
        if cfg.baseline and cfg.backfill:
            old = export_tree(cfg.baseline, work / "baseline-code")
        for latency in cfg.latencies if cfg.backfill else ():
            say(f"Backfill of {cfg.articles} articles at {latency:g} ms")
            results["backfill"][f"{latency:g}ms"] = backfill(
                cfg, latency, now, work / f"backfill-{latency:g}ms", say, old
            )
        if cfg.profile:
            say("Profile of a 0 ms backfill of ours (cProfile)")
            results["profile"] = profile_run(cfg, now, work / "profile")
            if not cfg.keep:
                kept = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-ours.prof"
                RESULTS.mkdir(parents=True, exist_ok=True)
                shutil.copy(results["profile"]["file"], kept)
                results["profile"]["file"] = str(kept)
        if cfg.startup_sizes:
            say("Start-up and re-crawl over mirrors of growing size")
            results["startup"] = startup(cfg, now, work / "startup", say)
    finally:
        results["machine"]["loadavg_end"] = os.getloadavg()
        results["elapsed_s"] = round(time.time() - started, 1)
        if cfg.keep:
            results["kept"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return results


# --- Report ------------------------------------------------------------------


def fmt_s(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f} s"


def table(results: dict[str, Any]) -> str:
    cfg = results["config"]
    rows: list[tuple[str, ...]] = []
    head = ("figure", "ours", "sequential", "×", "bare Scrapy", "×", "target")
    for key, b in results.get("backfill", {}).items():
        ours, seq, bare = b["ours"], b.get("sequential"), b.get("bare_scrapy")
        r = b["ratios"]
        target = "≥8× seq, ≥0.8× bare" if b["latency_ms"] >= 50 else "≥0.7× bare"
        rows.append((
            f"backfill {cfg['articles']} @ {key}: wall",
            fmt_s(ours["wall_s"]), fmt_s(seq and seq["wall_s"]), f"{r.get('vs_sequential', 0):.2f}",
            fmt_s(bare and bare["wall_s"]), f"{r.get('vs_bare_scrapy', 0):.2f}", target,
        ))  # fmt: skip
        rows.append((
            "  articles/s", f"{ours['items'] / ours['wall_s']:.0f}",
            f"{seq['items'] / seq['wall_s']:.0f}" if seq else "—", "",
            f"{bare['items'] / bare['wall_s']:.0f}" if bare else "—", "", "",
        ))  # fmt: skip
        own = ours.get("process_cpu_s")
        rows.append((
            "  CPU (crawl's process) / peak RSS",
            f"{ours['cpu_s']:.1f} s ({own or 0:.1f} s) / {ours['max_rss_mb']:.0f} MB",
            f"{seq['cpu_s']:.1f} s / {seq['max_rss_mb']:.0f} MB" if seq else "—", "",
            f"{bare['cpu_s']:.1f} s / {bare['max_rss_mb']:.0f} MB" if bare else "—", "", "",
        ))  # fmt: skip
        chain = ours.get("listing_chain_share")
        if "ours_serial" in b:
            serial = b["ours_serial"]
            pages = serial.get("requests_by_kind", {}).get("listing", 0)
            rows.append((
                "  listing chain: its share of crawl",
                f"{chain:.0%}" if chain is not None else "—", "100%", "",
                f"{bare.get('listing_chain_share', 0):.0%}" if bare else "—", "",
                f"ours page by page: {fmt_s(serial['wall_s'])} ({pages} pages ≥ "
                f"{pages * b['latency_ms'] / 1000:.1f} s), chain "
                f"{serial.get('listing_chain_share', 0):.0%}; "
                f"ahead: ×{r.get('vs_ours_serial', 0):.2f}",
            ))  # fmt: skip
        if "ours_one_process" in b:
            alone = b["ours_one_process"]
            rows.append((
                "  ours without worker processes", fmt_s(alone["wall_s"]), "", "", "", "",
                f"CPU {alone['cpu_s']:.1f} s; workers: ×{r.get('vs_ours_one_process', 0):.2f}",
            ))  # fmt: skip
        if "ours_at_baseline" in b:
            then = b["ours_at_baseline"]
            rows.append((
                f"  ours at {cfg['baseline']}", fmt_s(then["wall_s"]), "", "", "", "",
                f"CPU {then['cpu_s']:.1f} s ({then.get('process_cpu_s') or 0:.1f} s); "
                f"this tree: ×{r.get('vs_ours_at_baseline', 0):.2f}",
            ))  # fmt: skip
        fl = b.get("floor", {})
        if "floor_s" in fl:
            net = fl.get("network_s")
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in fl.get("cpu_parts_s", {}).items())
            cpu = f"; CPU ({parts}) / {fl['cores']}: {fmt_s(fl['cpu_s'])}" if parts else ""
            rows.append((
                f"  floor on {fl['cores']} core(s)", fmt_s(fl["floor_s"]), "", "", "", "",
                f"network bound {fmt_s(net)}{cpu}; ours is ×{ours['wall_s'] / fl['floor_s']:.2f} "
                f"the floor" + (f", ×{ours['wall_s'] / net:.2f} the network bound" if net else ""),
            ))  # fmt: skip
        p = ours.get("pipeline", {}).get("total")
        if p:
            rows.append((
                "  pipeline CPU/article (reactor) med | p99",
                f"{p['median_us']:.0f} | {p['p99_us']:.0f} µs",
                "", "", "", "", " ".join(
                    f"{n[:-8] or n}:{s['median_us']:.0f}"
                    for n, s in ours["pipeline"]["stages"].items()
                ),
            ))  # fmt: skip
        rc = b.get("recrawl")
        if rc:
            rows.append((
                "  re-crawl, nothing new", f"{fmt_s(rc['wall_s'])}, {rc['requests']} req", "", "",
                "", "", str(rc.get("requests_by_kind")),
            ))  # fmt: skip
        ceil = b.get("replica_ceiling", {})
        if ceil:
            rows.append((
                "  replica ceiling (trivial client)", "", f"{ceil['connections_1']['per_s']:.0f}/s",
                "", f"{ceil['connections_' + str(cfg['concurrency'])]['per_s']:.0f}/s", "",
                f"1 and {cfg['concurrency']} connections",
            ))  # fmt: skip
    st = results.get("startup")
    if st:
        for size, s in st["sizes"].items():
            rows.append((
                f"start-up over {size} posts",
                f"{fmt_s(s['wall_s'])}, {s['max_rss_mb']:.0f} MB",
                "", "", "", "",
                f"first request {fmt_s(s.get('to_first_request_s'))}; "
                f"{s['requests']} req; index rebuild {fmt_s(s['first_start']['wall_s'])}",
            ))  # fmt: skip
        for name, t in st.get("tools", {}).items():
            if name == "posts":
                continue
            rows.append((
                f"scrapy {name} over {st['tools']['posts']} posts",
                "not present" if t.get("missing") else
                f"{fmt_s(t['wall_s'])}, {t['max_rss_mb']:.0f} MB", "", "", "", "",
                "" if t.get("missing") else f"exit {t['returncode']}",
            ))  # fmt: skip
    lines = text_table([head, *rows])
    m = results["machine"]
    lines.append("")
    lines.append(
        f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, Python {m['python']}, "
        f"Scrapy {m['scrapy']}; load average {m['loadavg_start'][0]:.2f} at start, "
        f"{m['loadavg_end'][0]:.2f} at end; mirrors in {results.get('work_dir')}; settings: "
        + ", ".join(f"{k}={v}" for k, v in results["settings"].items())
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[Config, Path | None]:
    p = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test of the suite")
    p.add_argument("--articles", type=int, help="articles of the backfilled feed (default 5000)")
    p.add_argument("--per-page", type=int, help="articles per listing page (default 10)")
    p.add_argument("--latency", type=float, action="append",
                   help="ms per response; repeat for several (default 0 and 50)")  # fmt: skip
    p.add_argument("--concurrency", type=int, help="concurrent requests, per domain too (32)")
    p.add_argument("--startup-sizes", help="comma-separated mirror sizes (1000,10000,100000)")
    p.add_argument("--repeat", type=int, help="runs of each backfill, median kept (3)")
    p.add_argument("--profile", action="store_true", help="also cProfile a 0 ms backfill")
    p.add_argument("--no-baselines", action="store_true", help="no sequential, no bare Scrapy")
    p.add_argument("--no-variants", action="store_true",
                   help="no runs of ours page by page or without worker processes")  # fmt: skip
    p.add_argument("--baseline", metavar="REV", help="also run ours with the code of commit REV")
    p.add_argument("--no-backfill", action="store_true", help="skip the backfill section")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument(
        "--work-dir", type=Path,
        help="where the mirrors are written (default: /dev/shm if it has room)",
    )  # fmt: skip
    args = p.parse_args(argv)
    cfg = Config(**asdict(QUICK)) if args.quick else Config()
    if args.articles:
        cfg.articles = args.articles
    if args.per_page:
        cfg.per_page = args.per_page
    if args.latency:
        cfg.latencies = tuple(args.latency)
    if args.concurrency:
        cfg.concurrency = args.concurrency
    if args.startup_sizes is not None:
        cfg.startup_sizes = tuple(int(s) for s in args.startup_sizes.split(",") if s.strip())
    if args.repeat:
        cfg.repeat = args.repeat
    cfg.profile = args.profile
    cfg.baselines = not args.no_baselines
    cfg.serial = cfg.one_process = not args.no_variants
    cfg.baseline = args.baseline or ""
    cfg.backfill = not args.no_backfill
    cfg.keep = args.keep
    return cfg, args.work_dir


def main(argv: list[str] | None = None) -> int:
    cfg, work_dir = parse_args(argv)
    results = run(cfg, say=lambda msg: print(msg, file=sys.stderr, flush=True), work_root=work_dir)
    print(table(results))
    write_results(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
