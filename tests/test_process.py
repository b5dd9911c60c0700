"""The per-process object and the seams chosen by settings (class paths)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

import crawler
from crawler.addons.fleet import force
from crawler.extensions.collector import CollectorTuning
from crawler.extensions.site import SiteFiles
from crawler.middlewares.politeness import HostGates
from crawler.mirror.dedup import FileDedupStore, dedup_store
from crawler.process import MirrorProcess, process_of
from tests.conftest import replica_feeds


class RecordingStore(FileDedupStore):
    """A dedup store that says, in a file beside the mirror, that it was used."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordingStore:
        store = super().from_crawler(crawler)
        assert isinstance(store, RecordingStore)
        store.note("opened")
        return store

    def note(self, what: str) -> None:
        with open(self.root.parent / "store.log", "a", encoding="utf-8") as f:
            f.write(f"{what}\n")

    def claim(self, info_code: str) -> bool:
        self.note(f"claim {info_code}")
        return super().claim(info_code)

    def close(self) -> None:
        self.note("closed")
        super().close()


class StoreAddon:
    """Switches the dedup store as the fleet add-on does (after the spider is made)."""

    def update_settings(self, settings: Settings) -> None:
        force(settings, "MIRROR_DEDUP_STORE", f"{__name__}.RecordingStore")


def project_crawler(tmp_path: Path, **overrides: Any) -> Crawler:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    values = {name: settings[name] for name in settings}
    values.update(
        MIRROR_DIR=str(tmp_path / "output"),
        TWISTED_REACTOR_ENABLED=False,
        EXTENSIONS_BASE={},  # Scrapy's own, with receivers of engine_stopped to await
        **overrides,
    )
    return get_crawler(settings_dict=values)


def stop(crawler: Crawler) -> None:
    crawler.signals.send_catch_log(signals.engine_stopped)


def test_crawlers_of_one_process_share_one_store_closed_at_the_end(tmp_path):
    process = MirrorProcess()
    one = project_crawler(tmp_path, MIRROR_PROCESS=process)
    two = project_crawler(tmp_path, MIRROR_PROCESS=process)
    store = dedup_store(one)
    assert dedup_store(one) is store  # the spider's and the writer's: one object
    assert dedup_store(two) is store  # the other feed's crawler of the process too
    assert HostGates.of(one) is HostGates.of(two)
    assert isinstance(store, FileDedupStore)
    stop(one)
    assert not store._lock_file.closed  # the other crawler still uses it
    stop(two)
    assert store._lock_file.closed
    held = list(process.parts())
    assert store not in held and HostGates.of(one) in held  # gates: kept until the process ends
    process.close()
    assert list(process.parts()) == []


def test_a_crawler_built_alone_has_its_own_process_closed_with_its_engine(tmp_path):
    alone = project_crawler(tmp_path)
    store = dedup_store(alone)
    SiteFiles.from_crawler(alone)
    CollectorTuning.from_crawler(alone)
    own = process_of(alone)
    assert own is process_of(alone) and list(own.parts())
    other = project_crawler(tmp_path)
    assert process_of(other) is not own and dedup_store(other) is not store
    stop(alone)
    assert store._lock_file.closed and own.closed and list(own.parts()) == []
    stop(other)


def test_the_process_object_survives_the_copy_of_the_settings(tmp_path):
    settings = Settings({"MIRROR_DIR": str(tmp_path)})
    with MirrorProcess.opened(settings) as process:
        assert settings.copy()["MIRROR_PROCESS"] is process
        with MirrorProcess.opened(settings) as again:
            assert again is process  # the command's own, not a second one
        assert not process.closed
    assert process.closed


def test_mirror_dedup_store_names_the_class_crawl_uses(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy(
        "crawl", "kunmingribao", "-s", f"MIRROR_DEDUP_STORE={__name__}.RecordingStore"
    )
    assert result.returncode == 0, result.output
    log = (mirror.dir.parent / "store.log").read_text("utf-8").splitlines()
    assert log[0] == "opened" and log[-1] == "closed" and log.count("opened") == 1
    assert any(line.startswith("claim ") for line in log)
    assert mirror.posts()


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports, at import time or in a
    function (not under ``TYPE_CHECKING``)."""
    paths = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in paths and d != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                found.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def test_an_add_on_switches_the_store_the_spider_and_writer_use(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    addons = json.dumps({f"{__name__}.StoreAddon": 0})
    result = mirror.scrapy("crawl", "kunmingribao", "-s", f"ADDONS={addons}")
    assert result.returncode == 0, result.output
    log = (mirror.dir.parent / "store.log").read_text("utf-8").splitlines()
    assert log.count("opened") == 1 and log[-1] == "closed"
    assert any(line.startswith("claim ") for line in log)  # the spider's claims: the same store


def test_no_module_of_the_crawler_imports_in_a_cycle():
    graph = import_graph(Path(crawler.__file__).parent)
    assert "crawler.mirror.dedup" in graph["crawler.fleet.store"]  # the graph sees imports
    # A package's __init__ importing its own modules is no cycle of two concerns.
    for name in graph:
        graph[name] = {d for d in graph[name] if not name.startswith(d + ".")}
    assert cycles(graph) == []
