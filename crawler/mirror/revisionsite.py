"""An article's revisions on the Jekyll site: what readers see (issue 16).

``_revisions/`` is the archive's (Jekyll ignores folders starting with ``_``
unless they are collections, so an earlier version is never built as a
post). For the site, :func:`publish` writes from it, after each revision:

- ``revisions/{infoCode}/v{n}.html``: version ``n`` (1 the first fetched),
  a page of the ``revision`` layout with the version's title and body;
- ``revisions/{infoCode}/diff{n}.html``: what changed from version ``n`` to
  ``n + 1`` (the last being the post), additions in ``<ins>``, deletions in
  ``<del>``: Chinese text has no spaces between words, so it is compared by
  sentences, then by characters within the sentences that differ;
- ``_data/revisions.json``: per revised infoCode, how many revisions, when,
  and the pages; the post layout shows it on the post, the Atom feed takes
  the last revision's time as the entry's ``updated``, and the home page
  lists the most recent corrections from ``_data/corrections.json``.

Every page is made again from the files, so a run killed between two of
them leaves pages the next revision of the article puts right.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import re
from collections.abc import Iterator
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path

import lxml.html

from crawler.mirror.archive import DATE_FORMAT, read, write_atomic, yaml_string
from crawler.mirror.paths import STATE_DIR
from crawler.mirror.revisions import superseded_at, versions

SITE_DIR = "revisions"
DATA_FILE = "_data/revisions.json"
RECENT_FILE = "_data/corrections.json"
RECENT = 20  # corrections the home page lists
LOCK_FILE = "revisions.lock"
SIMILAR = 0.5  # sentences at least this alike are compared character by character
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "blockquote",
           "pre", "ul", "ol", "figure", "figcaption"}  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")  # noqa: RUF001


def text_of(body: str) -> str:
    """The text of a cleaned body, one line per block (paragraph, heading, row)."""
    if not body.strip():
        return ""
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    lines: list[str] = []
    parts: list[str] = [root.text or ""]

    def walk(node: lxml.html.HtmlElement) -> Iterator[str]:
        block = node.tag in _BLOCKS or node.tag == "br"
        if block:
            yield "\n"
        yield node.text or ""
        for child in node:
            yield from walk(child)
        if block:
            yield "\n"
        yield node.tail or ""

    for child in root:
        parts.extend(walk(child))
    for line in "".join(parts).split("\n"):
        if line.strip():
            lines.append(line.strip())
    return "\n".join(lines)


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence's end (。！？；, line ends), nothing lost."""  # noqa: RUF002
    return [s for s in _SENTENCE_END.split(text) if s]


def _escape(text: str) -> str:
    """Text as HTML that Jekyll's Liquid leaves alone, line ends as ``<br>``."""
    escaped = html.escape(text, quote=False).replace("{", "&#123;").replace("}", "&#125;")
    return escaped.replace("\n", "<br>\n")


def diff_html(old: str, new: str) -> str:
    """The difference from ``old`` to ``new`` text as HTML: ``<del>`` and ``<ins>``."""
    a, b = sentences(old), sentences(new)
    out: list[str] = []
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        was, now = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            out.append(_escape(was))
        elif op == "replace":
            out.append(_chars(was, now))
        else:
            out.append(_marked(was, now))
    return "".join(out)


def _chars(old: str, new: str) -> str:
    """Sentences that differ, by characters; rewritten ones (under half the
    same) deleted and inserted whole, which reads better than their shreds."""
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < SIMILAR:
        return _marked(old, new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(_escape(old[i1:i2]))
        else:
            out.append(_marked(old[i1:i2], new[j1:j2]))
    return "".join(out)


def _marked(deleted: str, inserted: str) -> str:
    return (f"<del>{_escape(deleted)}</del>" if deleted else "") + (
        f"<ins>{_escape(inserted)}</ins>" if inserted else ""
    )


def _page(front: dict[str, str | int], content: str) -> str:
    lines = ["---", "layout: revision"]
    for key, value in front.items():
        lines.append(f"{key}: {yaml_string(value) if isinstance(value, str) else value}")
    return "\n".join(lines) + "\n---\n" + content + "\n"


def _iso(when: datetime) -> str:
    return when.strftime(DATE_FORMAT)


def publish(root: Path, info_code: str, post: Path) -> dict | None:
    """Write the site pages of ``info_code``'s revisions and its entry in
    ``_data/revisions.json``; that entry (None: no revision counts)."""
    kept = versions(root, info_code, post)
    folder = root / SITE_DIR / info_code
    files = [*kept, post]
    loaded = [read(path) for path in files]
    wanted: set[str] = set()
    versions_data = []
    for n, (path, version) in enumerate(zip(kept, loaded[:-1], strict=True), start=1):
        when = superseded_at(path)
        assert when is not None
        after = loaded[n]
        common: dict[str, str | int] = {
            "revision_of": info_code,
            "version": n,
            "versions": len(files),
            "superseded": _iso(when.astimezone(version.date.tzinfo)),
        }
        title_diff = diff_html(version.title, after.title)
        body_diff = diff_html(text_of(version.body), text_of(after.body))
        pages = {
            f"v{n}.html": _page({"title": version.title, "kind": "version", **common},
                                version.body),
            f"diff{n}.html": _page(
                {"title": after.title, "kind": "diff", **common},
                f'<h2 class="diff-title">{title_diff}</h2>\n<div class="diff">{body_diff}</div>',
            ),
        }  # fmt: skip
        for name, text in pages.items():
            target = folder / name
            wanted.add(name)
            if not target.exists() or target.read_text("utf-8") != text:
                write_atomic(target, text)
        versions_data.append(
            {"n": n, "title": version.title, "superseded": common["superseded"],
             "url": f"/{SITE_DIR}/{info_code}/v{n}.html",
             "diff": f"/{SITE_DIR}/{info_code}/diff{n}.html"}
        )  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        for extra in folder.iterdir():
            if extra.name not in wanted and not extra.name.startswith("."):
                extra.unlink()
    entry = (
        {"count": len(kept), "updated": versions_data[-1]["superseded"],
         "title": loaded[-1].title, "versions": versions_data}
        if kept else None
    )  # fmt: skip
    _update_data(root, info_code, entry)
    return entry


def _update_data(root: Path, info_code: str, entry: dict | None) -> None:
    state = root / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    with open(state / LOCK_FILE, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = root / DATA_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            data = {}
        if entry is None:
            data.pop(info_code, None)
        else:
            data[info_code] = entry
        write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))
        recent = sorted(
            data.items(),
            key=lambda item: datetime.strptime(item[1]["updated"], DATE_FORMAT),
            reverse=True,
        )[:RECENT]
        listed = [{"code": code, "title": e["title"], "updated": e["updated"], "count": e["count"]}
                  for code, e in recent]  # fmt: skip
        write_atomic(root / RECENT_FILE, json.dumps(listed, ensure_ascii=False, indent=1))
