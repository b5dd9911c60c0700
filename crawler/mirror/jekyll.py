"""The Jekyll site around the archive (SPEC §3.3): its files, and keeping them installed.

The site's files ship in the package, under ``crawler/mirror/site/``: ``_config.yml``
(a template), the layouts (``default``, ``post``, ``category``, ``feed``), the
home page ``index.html``, the mirror-wide Atom feed ``feed.xml`` and a style
sheet. :class:`JekyllSite` installs them into a mirror folder:

- ``_config.yml`` is written once, when absent, from the settings; from then
  on it belongs to the user and is never written again.
- Every other file is written when absent, and replaced by a newer shipped
  version only if the installed copy is still the one the crawler wrote: the
  hashes of what was installed are kept in ``.mirror/site.json``, so a file
  the user edited is kept (and logged) rather than clobbered. Delete an
  edited file to get the shipped version back.

Beside each category page ``category/{category}.html`` the site has that
category's Atom feed, ``feed/{category}.xml`` (a page with ``layout: feed``),
written when absent; the ``feed`` layout lists the category's newest posts.
Every file is written atomically (:func:`crawler.mirror.archive.write_atomic`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import yaml

from crawler.mirror.archive import CATEGORY_DIR, TAG_SUFFIX, write_atomic, yaml_plain, yaml_string
from crawler.mirror.paths import SITE_MANIFEST_FILE, STATE_DIR

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11's
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

logger = logging.getLogger(__name__)

__all__ = [
    "CONFIG",
    "FEED_DIR",
    "MANIFEST",
    "InstallReport",
    "JekyllSite",
    "category_feed_page",
    "shipped_files",
    "site_location",
]

CONFIG = "_config.yml"
FEED_DIR = "feed"
MANIFEST = f"{STATE_DIR}/{SITE_MANIFEST_FILE}"


def shipped_files() -> dict[str, bytes]:
    """The site's files as shipped in the package: relative path → content."""
    found: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, f"{name}/")
            elif not child.name.startswith("."):
                found[name] = child.read_bytes()

    walk(files("crawler.mirror") / "site", "")
    return found


def site_location(base_url: str) -> tuple[str, str]:
    """Jekyll's ``url`` and ``baseurl`` for the back-links' ``MIRROR_BASE_URL``.

    ``//finews.withounder.com`` → (``//finews.withounder.com``, ``""``);
    ``https://example.org/news/`` → (``https://example.org``, ``/news``);
    ``""`` or ``/news`` → a site on any host: (``""``, ``""``/``/news``).
    """
    parts = urlsplit(base_url.strip())
    host = f"{parts.scheme}:" if parts.scheme else ""
    host += f"//{parts.netloc}" if parts.netloc else ""
    return host, parts.path.rstrip("/")


def category_feed_page(outlet: str, category: str) -> str:
    """``feed/{category}.xml``: the category's Atom feed, built by the ``feed`` layout."""
    return (
        "---\n"
        "layout: feed\n"
        f"title: {yaml_plain(outlet + TAG_SUFFIX)}\n"
        f"category: {yaml_plain(category)}\n"
        "---\n"
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class InstallReport:
    installed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited by the user: left alone


class JekyllSite:
    """The site files of the mirror in ``root``."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        title: str,
        description: str = "",
        base_url: str = "",
    ):
        self.root = Path(root)
        self.title = title
        self.description = description
        self.base_url = base_url
        #: What the last :meth:`install` did (None before any).
        self.installed: InstallReport | None = None
        self._feeds: set[str] = set()

    def config_text(self, template: str) -> str:
        url, baseurl = site_location(self.base_url)
        return Template(template).substitute(
            title=yaml_string(self.title),
            description=yaml_string(self.description),
            url=yaml_string(url),
            baseurl=yaml_string(baseurl),
        )

    def install(self) -> InstallReport:
        """Bring the site's files up to date without touching what the user edited."""
        report = InstallReport()
        manifest_path = self.root / MANIFEST
        manifest = self._load_manifest(manifest_path)
        recorded = dict(manifest)
        for name, shipped in shipped_files().items():
            path = self.root / name
            if name == CONFIG:
                if not path.exists():
                    write_atomic(path, self.config_text(shipped.decode("utf-8")))
                    report.installed.append(name)
                continue
            want = _digest(shipped)
            try:
                have = _digest(path.read_bytes())
            except FileNotFoundError:
                have = None
            if have == want:
                manifest[name] = want
                continue
            if have is not None and manifest.get(name) != have:
                report.kept.append(name)
                logger.info(
                    "Kept site file %s: it was edited, so the shipped version is not "
                    "installed (delete the file to get it)",
                    path,
                )
                continue
            write_atomic(path, shipped.decode("utf-8"))
            manifest[name] = want
            (report.updated if have is not None else report.installed).append(name)
        if manifest != recorded:
            write_atomic(manifest_path, json.dumps({"files": manifest}, indent=1, sort_keys=True))
        self.add_missing_feeds()
        if report.installed or report.updated:
            logger.info(
                "Installed the site's files in %s: %d new, %d updated",
                self.root,
                len(report.installed),
                len(report.updated),
            )
        self.installed = report
        return report

    def add_feed(self, category: str, outlet: str) -> bool:
        """Write ``feed/{category}.xml`` unless present; whether it was written."""
        if category in self._feeds:
            return False
        self._feeds.add(category)
        path = self.root / FEED_DIR / f"{category}.xml"
        if path.exists():
            return False
        write_atomic(path, category_feed_page(outlet, category))
        logger.debug("Wrote the Atom feed page %s", path)
        return True

    def add_missing_feeds(self) -> int:
        """A feed page for every category page that lacks one; how many were written."""
        written = 0
        for page in sorted((self.root / CATEGORY_DIR).glob("*.html")):
            if page.stem in self._feeds or (self.root / FEED_DIR / f"{page.stem}.xml").exists():
                self._feeds.add(page.stem)
                continue
            title = _front_matter(page).get("title")
            outlet = (
                str(title)[: -len(TAG_SUFFIX)] if str(title).endswith(TAG_SUFFIX) else page.stem
            )
            written += self.add_feed(page.stem, outlet)
        return written

    @staticmethod
    def _load_manifest(path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text("utf-8"))
            found = data["files"]
            if isinstance(found, dict):
                return {str(k): str(v) for k, v in found.items()}
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError):
            logger.warning(
                "Site manifest %s is damaged: treating every installed site file as edited",
                path,
            )
        return {}


def _front_matter(path: Path) -> dict:
    try:
        text = path.read_text("utf-8")
        meta = (
            yaml.safe_load(text[4 : text.index("\n---\n", 3)]) if text.startswith("---\n") else None
        )
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return meta if isinstance(meta, dict) else {}
