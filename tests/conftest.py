from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
import yaml

from crawler.archive import OLD_POSTS_DIR, POSTS_DIR, Post, parse
from tests.utils.cmdline import PROJECT_ROOT, Result, run_scrapy

DATA = Path(__file__).parent / "data"

# Quick crawls: the loopback source needs no throttling to be polite, nor
# seconds of back-off before a retry (tests/test_politeness_identity.py has them).
FAST = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO", "-s", "RETRY_BACKOFF_BASE=0.05",
]  # fmt: skip


class ReplicaServer:
    """The bundled replica of the source, run as its own process on a free port."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.replica", "--port", "0", *args],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("Replica serving at "), line
        self.url = line.split()[-1].rstrip("/")

    def get(self, path: str) -> object:
        with urlopen(f"{self.url}{path}", timeout=10) as r:
            return json.loads(r.read())

    def stats(self) -> dict:
        return self.get("/_replica/stats")  # type: ignore[return-value]

    def reset(self) -> None:
        self.get("/_replica/reset")

    def publish(self, feed: str, n: int) -> list[str]:
        return self.get(f"/_replica/publish?feed={feed}&n={n}")  # type: ignore[return-value]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture(scope="session")
def replica() -> Iterator[ReplicaServer]:
    server = ReplicaServer()
    yield server
    server.stop()


class Mirror:
    """A mirror folder in a temporary directory, with a catalog for the replica."""

    def __init__(self, root: Path, catalog: dict):
        self.root = root
        self.dir = root / "output"
        self.catalog_path = root / "feeds.yaml"
        self.write_catalog(catalog)

    def write_catalog(self, catalog: dict) -> None:
        self.catalog_path.write_text(yaml.safe_dump(catalog, allow_unicode=True), "utf-8")

    def scrapy(self, *args: str, timeout: float = 180) -> Result:
        return run_scrapy(
            *args,
            "-s", f"MIRROR_DIR={self.dir}",
            "-s", f"NEWS_FEEDS_FILE={self.catalog_path}",
            *FAST,
            cwd=self.root,
            timeout=timeout,
        )

    def posts(self, folder: str | None = None) -> dict[str, Path]:
        """The post files in ``folder``; by default every post mirrored, in
        ``_posts/`` or, rotated (SPEC §3.4), in ``old_post/``."""
        folders = [folder] if folder else [OLD_POSTS_DIR, POSTS_DIR]
        return {
            p.name: p for f in folders for p in sorted((self.dir / f).glob("*.md"))
        }

    def read(self, path: Path) -> Post:
        return parse(path.read_text("utf-8"), str(path))


def replica_feeds(replica: ReplicaServer, *names: str, **overrides: dict) -> dict:
    from crawler.replica import replica_catalog

    feeds = replica_catalog(replica.url)["feeds"]
    chosen = {name: feeds[name] for name in names} if names else feeds
    for name, extra in overrides.items():
        chosen[name] = {**chosen[name], **extra}
    return {"feeds": chosen}


@pytest.fixture
def mirror_factory(tmp_path: Path):
    def make(catalog: dict) -> Mirror:
        return Mirror(tmp_path, catalog)

    return make
