"""The site's search index: Pagefind, with Chinese indexed character by character.

Pagefind's extended binary segments Chinese into words when it indexes, and
the browser segments the reader's query again (``Intl.Segmenter``); the two
disagree often enough that a name or a term the text plainly contains is not
found (``bench/search_recall.py``: about one query in twenty of 2-4
characters). So the index is built from copies of the post pages in which
each Han character is a word of its own (``昆明日报`` → ``昆 明 日 报``,
``A股`` → ``A 股``, ``21世纪`` → ``21 世 纪``), and the search page turns the
query the same way and asks for it as an exact phrase (the characters next
to each other, in order): a substring search, which is what a reader of
Chinese expects. The page removes the spaces again from what it shows.

Only pages with ``data-pagefind-body`` (the posts) are indexed; the copies are
made in a temporary folder beside the site and removed; the index goes to
``{site}/pagefind/``. Pagefind runs as its Python package's command
(``python -m pagefind``, the extended binary): its Python API
(``PagefindIndex``) answered the write before the bundle was complete on a
site of 10,000 posts, and shut the binary down with ``pagefind.js`` unwritten.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["SEARCH_DIR", "SearchError", "build_search_index", "spaced"]

logger = logging.getLogger(__name__)

SEARCH_DIR = "pagefind"
INDEX_TIMEOUT = 3600
BODY_MARK = "data-pagefind-body"
# Han ideographs (CJK Unified Ideographs, Extension A, Compatibility), and the
# punctuation written between them (CJK symbols, full-width forms, curly
# quotes): "，6G" would otherwise be one word, and 6G not found.
_HAN = re.compile(
    r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef\u2018-\u201f])"
)
_TAG = re.compile(r"(<[^>]*>)")
_ARTICLE = re.compile(r"<article\b[^>]*\bdata-pagefind-body\b.*?</article>", re.S)


class SearchError(Exception):
    """The index could not be built; the message says why."""


def spaced(text: str) -> str:
    """``text`` with a space on each side of every Han character (and CJK punctuation)."""
    return _HAN.sub(r" \1 ", text)


def spaced_html(html: str) -> str:
    """The post page ``html`` with the text (not the markup) of its indexed
    ``<article>`` spaced; the rest of the page as it was."""

    def article(match: re.Match[str]) -> str:
        parts = _TAG.split(match[0])
        return "".join(part if i % 2 else spaced(part) for i, part in enumerate(parts))

    return _ARTICLE.sub(article, html, count=1)


def indexed_copies(site: Path, into: Path) -> int:
    """Spaced copies of the post pages of ``site`` under ``into``; how many."""
    copied = 0
    for path in site.rglob("*.html"):
        relative = path.relative_to(site)
        if relative.parts[0] == SEARCH_DIR:
            continue
        html = path.read_text("utf-8", errors="replace")
        if BODY_MARK not in html:
            continue
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(spaced_html(html), "utf-8")
        copied += 1
    return copied


def build_search_index(site: Path) -> int:
    """Index the post pages of the built site ``site`` into ``site/pagefind``;
    how many pages were indexed."""
    if importlib.util.find_spec("pagefind") is None:
        raise SearchError(
            "Pagefind is not installed: the search index needs "
            "`pip install 'pagefind[extended]>=1.5,<2'` (a dependency of this package)"
        )
    target = site / SEARCH_DIR
    with tempfile.TemporaryDirectory(prefix=".search-", dir=site.parent) as work:
        copies = Path(work)
        try:
            indexed_copies(site, copies)
        except OSError as e:
            raise SearchError(f"cannot prepare the pages of {site} for indexing: {e}") from None
        if target.exists():
            shutil.rmtree(target)
        command = [sys.executable, "-m", "pagefind", "--site", str(copies),
                   "--output-path", str(target), "--force-language", "zh"]  # fmt: skip
        try:
            proc = subprocess.run(
                command, capture_output=True, text=True, timeout=INDEX_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise SearchError(f"Pagefind took over {INDEX_TIMEOUT} s on {site}; stopped") from None
    output = proc.stdout + proc.stderr
    logger.info("pagefind:\n%s", output)
    if proc.returncode != 0 or not (target / "pagefind.js").is_file():
        tail = "\n".join(output.strip().splitlines()[-10:])
        raise SearchError(f"Pagefind failed on {site} (exit status {proc.returncode}):\n{tail}")
    found = re.search(r"Indexed (\d+) pages?", output)
    return int(found[1]) if found else 0
