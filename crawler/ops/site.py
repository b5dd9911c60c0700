"""``scrapy site``: the mirror built into a static site a reader can search (SPEC §10).

Three steps, each said when it fails:

1. **Category pages split.** A category page lists ``category_page_size``
   posts (the mirror's ``_config.yml``, default 200), newest first; for a
   category holding more, the further pages ``category/{category}/page{N}.html``
   (``layout: category_more``; rolling news: ``/{category}/page{N}/``) are
   written here, and those no longer needed removed. The first page stays
   ``category/{category}.html`` (``/{category}/``), the finews site's URL.
   They are plain files in the mirror, so a plain ``jekyll build`` (GitHub
   Pages) builds them too.
2. **Jekyll** builds ``MIRROR_DIR`` into the output folder.
3. **Pagefind** (its Python package) indexes the post pages of the built
   site (the ``<article data-pagefind-body>`` of the ``post`` layout, with the
   title, date and outlet as metadata) into ``{output}/pagefind/``, which the
   site's ``/search/`` page reads in the browser (:mod:`crawler.ops.search`).
"""

from __future__ import annotations

import logging
import math
import os
import re
import resource
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crawler.mirror.archive import CATEGORY_DIR, POSTS_DIR, FormatError, write_atomic, yaml_plain
from crawler.mirror.reader import ArchiveReader
from crawler.ops.search import SEARCH_DIR, SearchError, build_search_index

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "SEARCH_DIR",
    "SiteBuild",
    "SiteError",
    "build_site",
    "category_counts",
    "split_categories",
]

DEFAULT_PAGE_SIZE = 200
MORE_LAYOUT = "category_more"
JEKYLL_TIMEOUT = 3600


class SiteError(Exception):
    """The site could not be built; the message says what and why."""


@dataclass
class SiteBuild:
    """What :func:`build_site` did, and how long each step took (seconds)."""

    output: Path
    posts: int = 0
    pages_written: list[str] = field(default_factory=list)
    pages_removed: list[str] = field(default_factory=list)
    jekyll_seconds: float = 0.0
    index_seconds: float = 0.0
    jekyll_cpu_seconds: float = 0.0  # user + system time of the jekyll process
    index_cpu_seconds: float = 0.0
    indexed: int = 0
    index_bytes: int = 0

    def line(self) -> str:
        return (
            f"Built the site of {self.posts} posts in {self.output}: "
            f"jekyll {self.jekyll_seconds:.1f} s, search index of {self.indexed} pages "
            f"({self.index_bytes / 1e6:.1f} MB) {self.index_seconds:.1f} s"
        )


def page_size(root: Path) -> int:
    """``category_page_size`` of the mirror's ``_config.yml`` (default 200)."""
    try:
        config = yaml.safe_load((root / "_config.yml").read_text("utf-8"))
    except FileNotFoundError:
        return DEFAULT_PAGE_SIZE
    except (OSError, yaml.YAMLError) as e:
        raise SiteError(f"cannot read {root / '_config.yml'}: {e}") from None
    size = config.get("category_page_size") if isinstance(config, dict) else None
    if size is None:
        return DEFAULT_PAGE_SIZE
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise SiteError(
            f"{root / '_config.yml'}: category_page_size must be a positive integer, not {size!r}"
        )
    return size


def category_counts(root: Path) -> Counter[str]:
    """How many posts of ``_posts/`` (what Jekyll builds) each category has."""

    def skip(error: FormatError) -> None:
        logger.warning("Left out of the category page counts: %s", error)

    posts = ArchiveReader(root).posts(folders=[POSTS_DIR], on_error=skip)
    return Counter(p.category for p in posts)


def _front_matter(path: Path) -> dict:
    text = path.read_text("utf-8")
    if not text.startswith("---\n"):
        return {}
    meta = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
    return meta if isinstance(meta, dict) else {}


def more_page(first: dict, category: str, number: int, first_url: str, rolling: bool) -> str:
    """``category/{category}/page{number}.html``: page ``number`` of a category."""
    lines = [
        "---",
        f"layout: {MORE_LAYOUT}",
        f"title: {yaml_plain(str(first.get('title') or category))}",
        f"category: {yaml_plain(category)}",
        f"page_number: {number}",
        f"first_page: {yaml_plain(first_url)}",
    ]
    if rolling:
        lines.append(f"permalink: {yaml_plain(f'{first_url}page{number}/')}")
    return "\n".join([*lines, "---", ""])


def split_categories(root: Path, counts: Counter[str], size: int) -> tuple[list[str], list[str]]:
    """Write the further pages of each category longer than ``size`` posts and
    remove those no longer needed; the files (relative paths) written and removed."""
    written: list[str] = []
    removed: list[str] = []
    folder = root / CATEGORY_DIR
    for page in sorted(folder.glob("*.html")) if folder.is_dir() else []:
        category = page.stem
        try:
            first = _front_matter(page)
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise SiteError(f"cannot read the category page {page}: {e}") from None
        permalink = first.get("permalink")
        rolling = isinstance(permalink, str) and permalink.endswith("/")
        first_url = str(permalink) if rolling else f"/{CATEGORY_DIR}/{category}.html"
        pages = max(1, math.ceil(counts.get(category, 0) / size))
        more = folder / category
        for number in range(2, pages + 1):
            path = more / f"page{number}.html"
            text = more_page(first, category, number, first_url, rolling)
            try:
                if path.read_text("utf-8") == text:
                    continue
            except FileNotFoundError:
                pass
            write_atomic(path, text)
            written.append(path.relative_to(root).as_posix())
        for path in sorted(more.glob("page*.html")) if more.is_dir() else []:
            number_text = path.stem[len("page") :]
            if number_text.isdigit() and int(number_text) > pages:
                path.unlink()
                removed.append(path.relative_to(root).as_posix())
    return written, removed


def jekyll_command() -> str:
    found = shutil.which("jekyll")
    if found is None:
        raise SiteError(
            "Jekyll is not installed: `scrapy site` needs the `jekyll` command (Debian/Ubuntu: "
            "apt-get install jekyll ruby-jekyll-feed; elsewhere: gem install jekyll)"
        )
    return found


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BACKTRACE = re.compile(r"^\s*from |\.rb:\d+:in ")


def jekyll_error(output: str) -> str:
    """What Jekyll said went wrong (``Liquid Exception: … in …/post.html``), without
    its banner and Ruby's backtrace; its last lines if it said nothing of the kind."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    said = [line for line in lines if re.search(r"Exception|Error", line)]
    said = [line for line in said if not _BACKTRACE.search(line)]
    return "\n".join(said[:5] or [line for line in lines if line][-10:])


def run_jekyll(root: Path, output: Path) -> None:
    command = [jekyll_command(), "build", "--source", str(root), "--destination", str(output)]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=JEKYLL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise SiteError(f"jekyll build of {root} took over {JEKYLL_TIMEOUT} s; stopped") from None
    except OSError as e:
        raise SiteError(f"cannot run jekyll: {e}") from None
    logger.info("jekyll build:\n%s", proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SiteError(
            f"jekyll build of {root} failed (exit status {proc.returncode}):\n"
            + jekyll_error(proc.stdout + proc.stderr)
        )


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_site(
    root: str | os.PathLike[str], output: str | os.PathLike[str] | None = None
) -> SiteBuild:
    """Build the mirror in ``root`` into ``output`` (default ``root/_site``)."""
    root = Path(root).resolve()
    if not (root / POSTS_DIR).is_dir() and not (root / "_config.yml").is_file():
        raise SiteError(f"{root} is not a mirror: it has no {POSTS_DIR}/ and no _config.yml")
    target = Path(output).resolve() if output else root / "_site"
    build = SiteBuild(target)
    jekyll_command()  # before anything is written
    counts = category_counts(root)
    build.posts = sum(counts.values())
    try:
        build.pages_written, build.pages_removed = split_categories(root, counts, page_size(root))
    except OSError as e:
        raise SiteError(f"cannot write the category pages of {root}: {e}") from None
    start, cpu = time.monotonic(), children_cpu()
    run_jekyll(root, target)
    build.jekyll_seconds = time.monotonic() - start
    build.jekyll_cpu_seconds = children_cpu() - cpu
    start, cpu = time.monotonic(), children_cpu()
    try:
        build.indexed = build_search_index(target)
    except SearchError as e:
        raise SiteError(str(e)) from None
    build.index_seconds = time.monotonic() - start
    build.index_cpu_seconds = children_cpu() - cpu
    build.index_bytes = folder_bytes(target / SEARCH_DIR)
    return build
