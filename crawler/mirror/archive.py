"""The archive format (SPEC §3): one definition for the writer, readers and ``verify``.

A post is one Markdown file ``_posts/{YYYY-MM-DD}-{infoCode}.md``::

    ---
    layout: post
    title: "{title}"
    date: {YYYY-MM-DD HH:MM:SS +0800}
    categories: {category}
    tags: {outlet}新闻
    ---
    {cleaned body HTML}

    <{share URL}>

    [返回{outlet}新闻]({base}/category/{category}.html)｜[返回首页]({base}/)

with no newline after the last line. A rolling-news post (a feed with
``post: rolling``) has a ``> {digest}`` line and a blank line before the
body, and its back-link goes to ``{base}/{category}/``::

    > {digest}

    {cleaned body HTML}

    <{share URL}>

    [返回{outlet}新闻]({base}/{category}/)｜[返回首页]({base}/)

Its length: rendering and parsing a post stay side by side on purpose, so
that each is the other's inverse (``verify`` and the readers depend on it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import socket
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import yaml

POSTS_DIR = "_posts"
OLD_POSTS_DIR = "old_post"
CATEGORY_DIR = "category"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
TAG_SUFFIX = "新闻"
FILENAME = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})-(?P<infoCode>[A-Za-z0-9_-]{1,64})\.md")
# libyaml's loader when PyYAML has it: the same YAML, ten times faster (verify, readers).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"  # RFC 3986 reserved, with "%" and "~"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|!~])")


class FormatError(ValueError):
    """A file that is not a post of the archive format."""


@dataclass(frozen=True)
class Post:
    info_code: str
    title: str
    date: datetime  # aware, in the feed's time zone
    category: str
    outlet: str
    body: str
    share_url: str
    #: Rolling news only (SPEC §3.1): the digest line's text, Markdown-safe
    #: (:func:`crawler.cleaning.cleaner.clean_digest`); None for an outlet's post.
    digest: str | None = None
    #: The file the post was read from (:func:`read`); not part of its value.
    path: Path | None = field(default=None, compare=False, repr=False)

    @functools.cached_property  # a writer asks for it more than once per post
    def filename(self) -> str:
        date = self.date  # (as strftime's %Y-%m-%d gives it, a fourth of the cost)
        return f"{date.year}-{date.month:02d}-{date.day:02d}-{self.info_code}.md"

    @property
    def category_url(self) -> str:
        """Where the post's category page is on the site, from its root."""
        return category_url(self.category, rolling=self.digest is not None)


def category_url(category: str, rolling: bool = False) -> str:
    """``/category/{category}.html``; ``/{category}/`` for rolling news."""
    return f"/{category}/" if rolling else f"/{CATEGORY_DIR}/{category}.html"


# What PyYAML's emitter escapes in a double-quoted scalar (allow_unicode): a
# value without any of these is written as is between the quotes.
_YAML_ESCAPED = re.compile('[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd]|["\\\\\u2028\u2029\ufeff]')


def yaml_string(value: str) -> str:
    """``value`` as a YAML double-quoted scalar on one line, CJK left as is."""
    if not _YAML_ESCAPED.search(value):
        return f'"{value}"'  # what yaml_dump_string gives, five times faster
    return yaml_dump_string(value)


def yaml_dump_string(value: str) -> str:
    return yaml.dump(value, default_style='"', allow_unicode=True, width=float("inf")).rstrip("\n")


@functools.lru_cache(maxsize=4096)  # tags and categories: a few values, over and over
def yaml_plain(value: str) -> str:
    """``value`` as a plain YAML scalar where that reads back the same, else quoted."""
    if value and "\n" not in value and yaml_load_value(value) == value:
        return value
    return yaml_string(value)


def yaml_load_value(text: str) -> object:
    try:
        return yaml.load(f"v: {text}\n", Loader=_Loader)["v"]
    except (yaml.YAMLError, TypeError):
        return None


def markdown_text(text: str) -> str:
    """``text`` with Markdown's punctuation escaped, for link labels.

    Braces become character references: Jekyll runs Liquid over a post before
    Markdown, and ``\\{%`` would still open a Liquid tag.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return escaped.replace("\\{", "&#123;").replace("\\}", "&#125;")


def autolink_url(url: str) -> str:
    """``url`` fit for a Markdown autolink: spaces, ``<>``, quotes, braces and
    non-ASCII percent-encoded (existing ``%xx`` kept), so it cannot end the link
    early or open Liquid."""
    return quote(url, safe=_URL_SAFE)


def render(post: Post, base_url: str) -> str:
    """The post file's text, byte for byte as SPEC §3.1 gives it."""
    base = base_url.rstrip("/")
    return (
        "---\n"
        "layout: post\n"
        f"title: {yaml_string(post.title)}\n"
        f"date: {post.date.strftime(DATE_FORMAT)}\n"
        f"categories: {yaml_plain(post.category)}\n"
        f"tags: {yaml_plain(post.outlet + TAG_SUFFIX)}\n"
        "---\n"
        + ("" if post.digest is None else f"> {post.digest}\n\n")
        + f"{post.body}\n"
        "\n"
        f"<{autolink_url(post.share_url)}>\n"
        "\n"
        f"[返回{markdown_text(post.outlet)}{TAG_SUFFIX}]({base}{post.category_url})"
        f"｜[返回首页]({base}/)"
    )  # fmt: skip


def parse(text: str, path: str = "<post>") -> Post:
    """Read a post file's text back; raises :class:`FormatError` naming ``path``."""
    if not text.startswith("---\n"):
        raise FormatError(f"{path}: no front matter")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise FormatError(f"{path}: front matter is not closed")
    try:
        meta = yaml.load(text[4:end], Loader=_Loader)
    except yaml.YAMLError as e:
        raise FormatError(f"{path}: front matter is not valid YAML: {e}") from None
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: front matter is not a mapping")
    for key in ("layout", "title", "date", "categories", "tags"):
        if key not in meta:
            raise FormatError(f"{path}: front matter lacks {key!r}")
    try:
        date = datetime.strptime(str(meta["date"]), DATE_FORMAT)
    except ValueError:
        raise FormatError(f"{path}: date {meta['date']!r} is not {DATE_FORMAT}") from None
    tags = str(meta["tags"])
    if not tags.endswith(TAG_SUFFIX):
        raise FormatError(f"{path}: tags {tags!r} do not end in {TAG_SUFFIX}")
    parts = text[end + 5 :].rsplit("\n\n", 2)
    if len(parts) != 3 or not (parts[1].startswith("<") and parts[1].endswith(">")):
        raise FormatError(f"{path}: body, share link and back-links are not in place")
    body, share, footer = parts
    category = str(meta["categories"])
    digest = None
    back_link = footer.rpartition("｜[返回首页](")[0]
    if back_link.endswith(f"{category_url(category, rolling=True)})"):
        if not body.startswith("> ") or "\n\n" not in body:
            raise FormatError(f"{path}: a rolling-news post without its '> ' digest line")
        digest, body = body[2:].split("\n\n", 1)
    match = FILENAME.fullmatch(Path(path).name)
    info_code = match["infoCode"] if match else ""
    return Post(
        info_code=info_code,
        title=str(meta["title"]),
        date=date,
        category=category,
        outlet=tags[: -len(TAG_SUFFIX)],
        body=body,
        share_url=share[1:-1],
        digest=digest,
    )


def read(path: str | Path) -> Post:
    """The post in the file at ``path``, with its ``path``; :class:`FormatError` if not one.

    The file is read as bytes and decoded as UTF-8 so that its text is exactly
    what :func:`render` wrote (no newline translation).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    return replace(parse(text, str(path)), path=path)


def write(root: str | Path, post: Post, base_url: str) -> Path:
    """Write ``post`` into ``{root}/_posts/`` atomically; the file's path."""
    return write_atomic(Path(root) / POSTS_DIR / post.filename, render(post, base_url))


def post_names(folder: Path) -> list[str]:
    """The names of the post files (``YYYY-MM-DD-{infoCode}.md``) in ``folder``,
    in no order; none if it is absent. Other files, the writers' hidden
    temporary files among them, are not posts."""
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if FILENAME.fullmatch(e.name) and e.is_file()]
    except FileNotFoundError:
        return []


_CATEGORY_LINE = re.compile(rb"\ncategories: ([^\n]*)\n")


def category_of(path: Path, head: int = 4096) -> str | None:
    """The category in the front matter of the post at ``path``, read from
    its first ``head`` bytes; None when it is not there (not a post of ours)."""
    with open(path, "rb") as f:
        start = f.read(head)
    found = _CATEGORY_LINE.search(start)
    if not found:
        return None
    value = yaml_load_value(found[1].decode("utf-8", "replace"))
    return str(value) if value is not None else None


def info_code_of(filename: str) -> str | None:
    """The infoCode in a post's file name, or None for any other file."""
    match = FILENAME.fullmatch(filename)
    return match["infoCode"] if match else None


def category_page(outlet: str, category: str, rolling: bool = False) -> str:
    """``category/{category}.html`` (SPEC §3.3); rolling news's is served at
    ``/{category}/`` (the finews site's ``/emnews/``), where its posts link."""
    return (
        "---\n"
        "layout: category\n"
        f"title: {yaml_plain(outlet + TAG_SUFFIX)}\n"
        f"category: {yaml_plain(category)}\n"
        + (f"permalink: {category_url(category, rolling=True)}\n" if rolling else "")
        + "---\n"
    )


def add_category_page(root: Path, category: str, text: str) -> bool:
    """Write the category page ``text`` into the mirror at ``root`` unless it
    is there (the user may have edited it); whether it was written. The one
    writer of category pages: the write pipeline and ``scrapy writer`` call it."""
    page = root / CATEGORY_DIR / f"{category}.html"
    if page.exists():
        return False
    write_atomic(page, text)
    return True


_TEMP_NAME = re.compile(r"\.(?P<host>[^.]+)-(?P<pid>\d+)\.[^.]+\.tmp$")  # see _create_temp


def writer_id() -> str:
    """``host-pid`` of this process, in its temporary files' names (see :func:`is_stale_temp`)."""
    return f"{_host()}-{os.getpid()}"


@functools.cache
def _host() -> str:
    """This host's name as a temporary file's name carries it (asked once: a
    system call per post file otherwise)."""
    return socket.gethostname().replace(".", "_")


def is_stale_temp(path: Path, max_age: float = 600) -> bool:
    """Whether ``path`` is a temporary file of :func:`write_atomic` nobody will finish:
    its writer, on this host, is dead, or it is older than ``max_age`` seconds.
    Any other file (named otherwise) is not."""
    name = path.name
    shape = _TEMP_NAME.search(name) if name.startswith(".") else None
    if shape is None:
        return False
    if shape["host"] == _host():
        try:
            os.kill(int(shape["pid"]), 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass  # alive, someone else's
    try:
        return time.time() - path.stat().st_mtime > max_age
    except OSError:
        return False


def write_atomic(path: Path, text: str, durable: bool = True) -> Path:
    """Write ``text`` to ``path`` so that it is either absent, old, or complete.

    The text goes to a hidden temporary file in the same folder (Jekyll skips
    dot-files) and is renamed into place. ``durable``: the file reaches the
    disk before the rename, and the rename after it, so a power cut cannot
    leave an empty post behind an index line that calls it mirrored.

    The file gets the mode the process umask gives a new file (0644 under
    umask 022), so a web server running as another user can read the site;
    ``tempfile.mkstemp`` would make it 0600.
    """
    return place(stage(path, text, durable), path, durable)


def stage(path: Path, text: str, durable: bool = True, writer: str = "") -> str:
    """The first half of :func:`write_atomic`: ``text`` in a new hidden
    temporary file beside ``path`` (on the disk, if ``durable``), its name
    returned for :func:`place`. ``writer``: the process that will place it, in
    the name (:func:`is_stale_temp`), when another one stages it. Nothing is
    left behind when it fails."""
    data = text.encode("utf-8")
    fd, tmp = _create_temp(path, writer or writer_id())
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard(tmp)
        raise
    return tmp


def place(tmp: str, path: Path, durable: bool = True) -> Path:
    """The second half of :func:`write_atomic`: the staged file ``tmp`` renamed
    to ``path`` (the rename on the disk, if ``durable``); removed if that fails."""
    try:
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    if durable:
        sync_dir(path.parent)
    return path


def discard(tmp: str) -> None:
    """A staged file that will not be placed, removed (if it is still there)."""
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _create_temp(path: Path, writer: str) -> tuple[int, str]:
    """A new hidden temporary file beside ``path``, ``.{name}.{writer}.{random}.tmp``,
    created with mode 0666 less the umask (as ``open(…, "w")`` would); the
    folder too, if it is missing."""
    prefix = f"{path.parent}/.{path.name}.{writer}."
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    while True:
        # Not secrets: the name needs no secrecy (O_EXCL makes it ours), and
        # os.urandom is a system call per post file.
        tmp = f"{prefix}{random.getrandbits(32):08x}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            if path.parent.is_dir():
                raise
            path.parent.mkdir(parents=True, exist_ok=True)


def sync_dir(path: Path) -> None:
    """Make the renames in the folder ``path`` durable (a power cut keeps them)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # a file system that cannot sync folders
    finally:
        os.close(fd)
