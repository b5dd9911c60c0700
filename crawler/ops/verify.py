"""Checks a whole mirror against the archive format (``scrapy verify``).

For every file in ``_posts/`` and ``old_post/``:

- its name is ``YYYY-MM-DD-infoCode.md`` and the date is the front matter's;
- it reads as a post (:func:`crawler.mirror.archive.read`: UTF-8, front matter that
  loads and has the keys, body, share link and back-links in place) and is
  byte for byte what :func:`crawler.mirror.archive.render` writes for that post;
- its body keeps no unsafe markup (:func:`crawler.cleaning.cleaner.is_safe`), nor
  Markdown outside its HTML blocks that Jekyll would turn into markup;

across the mirror, each infoCode is in one file only, and every category a
post names has its page ``category/{category}.html``, a valid category page.

The per-file checks are independent, so a large mirror is checked in
chunks by a pool of processes (``jobs``).
"""

from __future__ import annotations

import html
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import lxml.etree
import lxml.html
import yaml

from crawler.cleaning.cleaner import is_safe
from crawler.mirror.archive import (
    CATEGORY_DIR,
    FILENAME,
    OLD_POSTS_DIR,
    POSTS_DIR,
    TAG_SUFFIX,
    FormatError,
    info_code_of,
    parse,
    post_names,
    render,
)
from crawler.mirror.capture import (
    OPEN_SUFFIX,
    SUFFIX,
    CaptureError,
    capture_dir,
    capture_files,
    check_file,
    payload_digest,
    read_exchange,
    read_provenance,
)
from crawler.mirror.images import IMAGES_DIR, image_sources
from crawler.mirror.reader import FOLDERS
from crawler.mirror.revisions import REVISIONS_DIR, revised_codes, superseded_at, versions

__all__ = [
    "MARKDOWN_BLOCK_TAGS",
    "MirrorVerifier",
    "Problem",
    "check_post",
    "markdown_outside_html",
]

#: Tags kramdown (Jekyll's Markdown) takes as raw HTML blocks when a line
#: starts with them: what is inside is left alone, what is outside is Markdown.
MARKDOWN_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl",
    "dt", "fieldset", "figcaption", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "legend", "li", "main", "nav", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "td", "th", "thead", "tfoot", "tr", "ul",
})  # fmt: skip
# Markdown that makes markup: links and images ``](``, ``][``, reference
# definitions ``]:``, autolinks ``<scheme:``, attribute lists and extensions ``{:``.
_MARKDOWN_MARKUP = re.compile(r"\]\s*[(\[:]|<[A-Za-z][A-Za-z0-9+.\-]*:|\{:")
_NOT_A_NAME = re.compile(r"[\s/\\]|^\.")
_CHUNK = 2000


@dataclass(frozen=True, order=True)
class Problem:
    path: str  # relative to the mirror's root
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def markdown_outside_html(body: str) -> str | None:
    """Markdown in ``body`` that Jekyll would turn into markup, or None.

    kramdown leaves the inside of a block-level HTML element alone but reads
    text (and inline elements) around them as Markdown, where
    ``[x](javascript:…)`` is a link and ``*x*{: onclick=…}`` an attribute.
    """
    if not _MARKDOWN_MARKUP.search(body):
        return None
    try:
        # A list of text and elements (lxml-stubs has it return one element).
        nodes = cast("list[str | lxml.html.HtmlElement]", lxml.html.fragments_fromstring(body))
    except (ValueError, lxml.etree.ParserError):
        return body[:60]
    loose: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            loose.append(node)
        elif not isinstance(node.tag, str) or node.tag.lower() not in MARKDOWN_BLOCK_TAGS:
            loose.append(node.text_content() if isinstance(node.tag, str) else "")
            loose.append(node.tail or "")
        else:
            loose.append(node.tail or "")
    for text in loose:
        match = _MARKDOWN_MARKUP.search(text)
        if match:
            start = max(0, match.start() - 20)
            return text[start : match.end() + 30]
    return None


@dataclass
class FileResult:
    name: str
    folder: str
    info_code: str | None = None
    category: str | None = None
    problems: tuple[str, ...] = ()


def check_post(path: Path, folder: str) -> FileResult:
    """The problems of one post file (its name, format, and body)."""
    result = FileResult(path.name, folder)
    match = FILENAME.fullmatch(path.name)
    if not match:
        result.problems = ("not a post file name (YYYY-MM-DD-infoCode.md)",)
        return result
    result.info_code = match["infoCode"]
    problems: list[str] = []
    try:
        text = path.read_bytes().decode("utf-8")
        post = parse(text, path.name)
    except UnicodeDecodeError as e:
        result.problems = (f"not UTF-8 ({e.reason} at byte {e.start})",)
        return result
    except OSError as e:
        result.problems = (f"cannot be read: {e.strerror or e}",)
        return result
    except FormatError as e:
        result.problems = (str(e).removeprefix(f"{path.name}: "),)
        return result
    result.category = post.category
    day = post.date.strftime("%Y-%m-%d")
    if match["date"] != day:
        problems.append(f"file name date {match['date']} is not the front matter's {day}")
    if not post.category or _NOT_A_NAME.search(post.category):
        problems.append(f"category {post.category!r} cannot name a page (one word, no '/')")
    # The back-links' base, as written (MIRROR_BASE_URL of the crawl).
    footer = text.rsplit("\n\n", 1)[-1].rstrip()
    base = footer[footer.rfind("](") + 2 : -2] if footer.endswith("/)") else ""
    expected = render(post, base)
    if expected != text:
        problems.append(_first_difference(expected, text))
    problems.extend(missing_images(path.parent.parent, base, post.body))
    if not is_safe(post.body):
        problems.append("body keeps unsafe markup (script, event handler, unsafe URL, Liquid, …)")
    loose = markdown_outside_html(post.body)
    if loose is not None:
        problems.append(
            f"body has Markdown outside its HTML blocks that Jekyll turns into markup: {loose!r}"
        )
    result.problems = tuple(problems)
    return result


def _first_difference(expected: str, text: str) -> str:
    want, have = expected.split("\n"), text.split("\n")
    for number, (a, b) in enumerate(zip(want, have, strict=False), 1):
        if a != b:
            return (
                f"line {number} is not in the archive format: {_short(b)!r}, expected {_short(a)!r}"
            )
    if len(have) > len(want):
        return f"{len(have) - len(want)} line(s) after the back-links (no newline at the end)"
    return f"ends at line {len(have)}, before the back-links"


def _one_line(message: str) -> str:
    return re.sub(r"\s*\n\s*", " ", message.strip())


def _short(line: str) -> str:
    return line if len(line) <= 80 else line[:77] + "..."


def _check_chunk(root: str, folder: str, names: list[str]) -> list[FileResult]:
    base = Path(root) / folder
    return [check_post(base / name, folder) for name in names]


def missing_images(root: Path, base: str, body: str) -> list[str]:
    """The local images (``MIRROR_IMAGES=local``) the body shows that are not in the mirror."""
    prefix = f"{base}/{IMAGES_DIR}/"
    missing = []
    for source in image_sources(body):
        if source.startswith(prefix):
            name = html.unescape(source[len(prefix) :])
            if "/" in name or not (root / IMAGES_DIR / name).is_file():
                missing.append(f"local image {IMAGES_DIR}/{name} is missing")
    return missing


def check_revision(path: Path, post: Path) -> list[str]:
    """The problems of one revision file of ``post``."""
    try:
        text = path.read_bytes().decode("utf-8")
        version = parse(text, path.name)
        current = parse(post.read_bytes().decode("utf-8"), post.name)
    except UnicodeDecodeError as e:
        return [f"not UTF-8 ({e.reason} at byte {e.start})"]
    except OSError as e:
        return [f"cannot be read: {e.strerror or e}"]
    except FormatError as e:
        return [str(e).removeprefix(f"{path.name}: ")]
    problems = []
    footer = text.rsplit("\n\n", 1)[-1].rstrip()
    base = footer[footer.rfind("](") + 2 : -2] if footer.endswith("/)") else ""
    expected = render(version, base)
    if expected != text:
        problems.append(_first_difference(expected, text))
    if (version.date, version.category) != (current.date, current.category):
        problems.append(f"its date or category is not its post's ({post.name})")
    if path.stat().st_mtime > post.stat().st_mtime and path.read_bytes() != post.read_bytes():
        problems.append(f"newer than its post {post.name}: the post is not the newest version")
    return problems


class MirrorVerifier:
    """Checks the mirror in ``root``; ``jobs`` processes (1: in this one)."""

    def __init__(self, root: str | os.PathLike[str], jobs: int = 1):
        self.root = Path(root)
        self.jobs = max(1, jobs)
        self.posts = 0
        self.revisions = 0
        self.categories: set[str] = set()

    def listing(self) -> dict[str, list[str]]:
        """The files to check, by folder (hidden files are the crawler's, in flight)."""
        found: dict[str, list[str]] = {}
        for folder in FOLDERS:
            try:
                with os.scandir(self.root / folder) as entries:
                    found[folder] = sorted(
                        e.name for e in entries if not e.name.startswith(".") and e.is_file()
                    )
            except FileNotFoundError:
                found[folder] = []
        return found

    def results(self) -> Iterator[FileResult]:
        chunks = [
            (folder, names[i : i + _CHUNK])
            for folder, names in self.listing().items()
            for i in range(0, len(names), _CHUNK)
        ]
        if self.jobs == 1 or len(chunks) < 2:
            for folder, names in chunks:
                yield from _check_chunk(str(self.root), folder, names)
            return
        with ProcessPoolExecutor(max_workers=min(self.jobs, len(chunks))) as pool:
            futures = [pool.submit(_check_chunk, str(self.root), f, n) for f, n in chunks]
            for future in futures:
                yield from future.result()

    def problems(self) -> list[Problem]:
        """Every problem of the mirror, by path."""
        problems: list[Problem] = []
        where: dict[str, list[str]] = defaultdict(list)
        self.posts, self.categories = 0, set()
        for result in self.results():
            rel = f"{result.folder}/{result.name}"
            problems.extend(Problem(rel, _one_line(message)) for message in result.problems)
            if result.info_code is not None:
                self.posts += 1
                where[result.info_code].append(rel)
            if result.category is not None:
                self.categories.add(result.category)
        for info_code, paths in where.items():
            if len(paths) > 1:
                for rel in paths:
                    others = ", ".join(p for p in paths if p != rel)
                    problems.append(Problem(rel, f"infoCode {info_code} is also in {others}"))
        for category in sorted(self.categories):
            problems.extend(self.check_category(category))
        problems.extend(self.check_revisions(where))
        return sorted(problems)

    def check_revisions(self, posts: dict[str, list[str]]) -> list[Problem]:
        """Each ``_revisions/{infoCode}/`` file is a post of the archive format,
        named by the time it was superseded, of a post that is mirrored, and
        older than that post (the post is the newest version). The newest
        copy may be identical to the post: a run killed between keeping it and
        replacing the post left it (crawler.mirror.revisions)."""
        problems: list[Problem] = []
        self.revisions = 0
        for code in revised_codes(self.root):
            folder = f"{REVISIONS_DIR}/{code}"
            where = posts.get(code)
            if not where:
                problems.append(Problem(folder, f"revisions of {code}, which has no post"))
                continue
            post = self.root / where[0]
            files = sorted(p for p in (self.root / folder).iterdir() if not p.name.startswith("."))
            for path in files:
                rel = f"{folder}/{path.name}"
                if superseded_at(path) is None:
                    problems.append(Problem(rel, "not a revision file name (YYYYMMDDTHHMMSSZ.md)"))
                    continue
                self.revisions += 1
                problems.extend(Problem(rel, m) for m in check_revision(path, post))
        return problems

    def check_category(self, category: str) -> list[Problem]:
        rel = f"{CATEGORY_DIR}/{category}.html"
        path = self.root / rel
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return [Problem(rel, f"missing: category {category} has posts but no page")]
        except (OSError, UnicodeDecodeError) as e:
            return [Problem(rel, f"cannot be read: {e}")]
        meta = None
        if text.startswith("---\n") and "\n---\n" in text[3:]:
            try:
                meta = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
            except yaml.YAMLError:
                meta = None
        if not isinstance(meta, dict):
            return [Problem(rel, "no valid front matter")]
        problems = []
        if meta.get("layout") != "category":
            problems.append(Problem(rel, f"layout is {meta.get('layout')!r}, not 'category'"))
        if str(meta.get("category")) != category:
            problems.append(Problem(rel, f"category is {meta.get('category')!r}, not {category!r}"))
        if not str(meta.get("title", "")).endswith(TAG_SUFFIX):
            problems.append(
                Problem(rel, f"title {meta.get('title')!r} is not '<outlet>{TAG_SUFFIX}'")
            )
        return problems


def capture_problems(root: str | os.PathLike[str]) -> tuple[list[Problem], int]:
    """``verify --capture``: every post against the raw capture's provenance
    (:mod:`crawler.mirror.capture`), and every closed WARC file's digests; the
    problems, and the number of posts whose records were found."""
    root = Path(root)
    problems: list[Problem] = []
    state = capture_dir(root).relative_to(root)
    for path in capture_files(root):
        problems.extend(Problem(f"{state}/{path.name}", m) for m in check_file(path))
    for path in sorted(capture_dir(root).glob(f"*{SUFFIX}{OPEN_SUFFIX}")):
        problems.append(
            Problem(
                f"{state}/{path.name}",
                "capture file still open: a crawl is writing it, or one crashed "
                "(the next crawl on this host keeps its complete records)",
            )
        )
    provenance = read_provenance(root)
    backed = 0
    for folder in (POSTS_DIR, OLD_POSTS_DIR):
        for name in post_names(root / folder):
            code = info_code_of(name)
            rel = f"{folder}/{name}"
            line = provenance.get(code or "")
            if line is None:
                problems.append(Problem(rel, "no capture recorded for it"))
                continue
            if line.get("post") != name:
                problems.append(Problem(rel, f"its capture is recorded for {line.get('post')}"))
            if len(versions(root, code or "", root / folder / name)) > line.get("revisions", 0):
                problems.append(Problem(rel, "revised from a response its capture does not hold"))
            refs = line.get("records", [])
            if not any(ref.get("role") == "article" for ref in refs):
                problems.append(Problem(rel, "its capture has no article record"))
                continue
            try:
                for ref in refs:
                    exchange = read_exchange(root, ref)
                    digest = payload_digest(exchange.body)
                    if digest != ref.get("digest"):
                        message = f"{ref['role']} record {ref['id']}: digest {digest}"
                        problems.append(Problem(rel, f"{message}, recorded {ref.get('digest')}"))
            except CaptureError as e:
                problems.append(Problem(rel, f"its capture is lost: {e}"))
                continue
            backed += 1
    return sorted(problems), backed
