"""The body cleaner (SPEC §3.2): a source's raw article HTML → one clean HTML block.

Two passes, one parse each:

1. **lxml pre-pass** on the parsed fragment, for what needs the tree: the
   source's quote widgets become their plain text, its chart block, ads, app
   promotions and hidden elements go, a feed's own boilerplate (``drop``
   selectors) goes, links and images are made absolute against the page URL,
   pure wrapper ``<div>``\\ s are unwrapped, empty paragraphs go and whitespace
   is normalised (no ``　　`` indentation, no line breaks between blocks).
2. **nh3 allowlist** (built once per :class:`BodyCleaner`): only the tags and
   attributes a news reader needs survive; ``script``/``style``/… go with
   their content; only ``http``, ``https`` and ``mailto`` URLs are kept (no
   ``data:`` URLs at all, not even ``data:image``); comments go.

Last, Liquid markup (``{{``, ``}}``, ``{%``, ``%}``) is neutralised with
character references, since Jekyll runs Liquid over post bodies, and the
result is made one line-break-free block.

A source's own markup (its widgets, chart block, ads, app promotions and the
outlet credit line's class) is named in a rules module the feed names
(:mod:`crawler.cleaning.rules`; the shipped feeds': :mod:`crawler.cleaning.eastmoney`);
this module applies those rules at fixed points of the pre-pass.

:func:`is_safe` checks a cleaned body (e.g. a mirrored file's) for markup that
could execute; it does not trust the cleaner, it tokenizes the text itself.

Its length: one algorithm whose steps share the allowlists and patterns
defined at the top; the source-specific rules already live apart
(:mod:`crawler.cleaning.rules`), and :func:`is_safe` is the cleaner's
counter-check, kept beside the allowlist it must agree with.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections.abc import Callable, Sequence
from typing import cast
from urllib.parse import urljoin

import nh3
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from crawler.cleaning.rules import GENERIC, SourceRules, no_promotion, rules_digest
from crawler.cleaning.tree import (
    EMPTY,
    HTML_PARSER,
    Element,
    Elements,
    drop_tag,
    drop_tree,
    tags,
    text_content,
)

__all__ = ["ALLOWED_TAGS", "ALLOWED_URL_SCHEMES", "CLEANER_VERSION", "BodyCleaner", "is_safe"]

#: Raise it with every change to this module that changes what a body cleans
#: to: the capture's provenance records it with each post (:func:`cleaner_version`),
#: and ``scrapy rebuild`` names it when the posts it rewrites changed because
#: the cleaner did. A source's rules module (``cleaning``) is versioned by its
#: own text (:func:`crawler.cleaning.rules.rules_digest`).
CLEANER_VERSION = 1

#: The tags a cleaned body may hold; every other tag is unwrapped (its text kept).
ALLOWED_TAGS: frozenset[str] = frozenset({
    "p", "br", "div", "span", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "a", "img", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
    "blockquote", "pre", "code", "hr", "table", "thead", "tbody", "tfoot",
    "tr", "th", "td", "caption", "figure", "figcaption",
})  # fmt: skip
#: URL schemes a kept link or image may use (relative URLs are made absolute).
ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

_ATTRIBUTES: dict[str, set[str]] = {
    "*": set(),  # without it, nh3 (ammonia) keeps lang and title everywhere
    "a": {"href"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# ``class`` survives only where it carries meaning: the source rules' kept
# class (the outlet credit line), on these tags.
_CLASSED_TAGS = ("p", "div", "span")
# Never kept: the pre-pass removes them with their content, except the
# _UNWRAP_DANGEROUS ones (void, or wrapping the article), which go alone;
# nh3 removes the _NH3_CONTENT_TAGS with their content again, as a second line.
_REMOVED_TAGS: frozenset[str] = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed",
    "applet", "param", "form", "input", "button", "select", "option",
    "textarea", "svg", "math", "meta", "link", "base", "noscript",
    "template", "canvas", "audio", "video", "source", "track", "title",
    "head", "map", "area",
})  # fmt: skip
_UNWRAP_DANGEROUS: frozenset[str] = frozenset({
    "embed", "param", "input", "meta", "link", "base", "source", "track",
    "area", "form",
})  # fmt: skip
_NH3_CONTENT_TAGS = {
    "script", "style", "iframe", "object", "embed", "applet", "form",
    "textarea", "select", "button", "svg", "math", "noscript", "template",
    "title", "frameset", "frame", "canvas", "audio", "video",
}  # fmt: skip

_BLOCK_TAGS: frozenset[str] = frozenset({
    "address", "article", "aside", "blockquote", "caption", "center", "dd",
    "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
# Elements that never have content once parsed: nothing to normalise in them.
_VOID_TAGS: frozenset[str] = frozenset({"br", "img", "hr"})
# Elements that go when they hold no text and no image/table.
_EMPTY_REMOVABLE: frozenset[str] = frozenset({
    "p", "div", "span", "strong", "b", "em", "i", "u", "s", "sub", "sup", "a",
    "font", "center", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "section", "article", "figure", "figcaption", "small", "big", "label",
})  # fmt: skip

# The tree is walked in Python rather than with XPath: on bodies of twenty
# elements, an XPath's set-up cost more than the walk (each of these walks
# selects what the XPath in its comment would, in the same order).
_CONTENT_TAGS = ("img", "table", "hr")  # descendant::*[self::img or self::table or self::hr]
# //*[@hidden or contains(translate(@style, $upper, $lower), 'display:none')
#     or contains(translate(@style, $upper, $lower), 'visibility:hidden')],
# with $upper the ASCII capitals and " \t\r\n", $lower the small letters.
_STYLE_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", " \t\r\n")

_SPACE = " \t\r\n\f"
_INDENT = _SPACE + "\u3000"
_NEWLINE_RUN = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")
# Characters XML (hence lxml) refuses, lone surrogates, and C0/C1 controls but
# for tab and newline; Unicode line/paragraph separators become spaces.
_INVALID_CHARS = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SEPARATORS = {0x2028: " ", 0x2029: " "}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_DOCUMENT_TAGS = re.compile(r"</?(?:html|body)\b[^>]*>", re.I)
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_PRE = re.compile(r"<pre\b.*?</pre>", re.S | re.I)
_LIQUID = re.compile(r"\{(?=[{%])|(?<=[}%])\}")


class BodyCleaner:
    """Cleans raw article bodies; build one per feed and reuse it.

    ``drop`` names extra CSS selectors whose elements are removed (a feed's
    own boilerplate); an invalid selector raises :class:`ValueError` here.
    ``rules`` are its source's (:mod:`crawler.cleaning.rules`); none by default.
    """

    def __init__(self, drop: Sequence[str] = (), rules: SourceRules = GENERIC) -> None:
        self.rules = rules
        if isinstance(drop, str):
            drop = (drop,)
        selectors: list[Elements] = []
        for selector in drop:
            try:
                selectors.append(cast(Elements, CSSSelector(selector, translator="html")))
            except (SelectorError, etree.XPathError) as exc:
                raise ValueError(f"invalid drop selector {selector!r}: {exc}") from exc
        self._drop = tuple(selectors)
        self._drop_names = tuple(drop)
        self._sanitize = _build_sanitizer(rules.kept_class)

    def clean(self, html: str, base_url: str, fired: set[str] | None = None) -> str:
        """Raw article body HTML → cleaned HTML: one block, no blank line.

        ``fired``, when given, collects the feed's ``drop`` selectors that
        removed something, as ``drop <selector>`` (``scrapy rebuild`` says why
        a post changed); a crawl passes none and pays nothing for it.
        """
        html = _INVALID_CHARS.sub("", _XML_DECL.sub("", html))
        if "\u2028" in html or "\u2029" in html:  # translate() reads every character
            html = html.translate(_SEPARATORS)
        if not html.strip():
            return ""
        root = _parse(html)
        # The walks below visit each node many times: lxml makes a node's Python
        # object at each visit unless one is alive, so one is kept alive for each.
        alive = list(root.iter())
        self._prune(root, fired)
        _absolutize(root, base_url)
        _unwrap_wrappers(root)
        _remove_empty(root)
        _normalize_space(root, in_pre=False)
        _wrap_loose(root)
        # The root's children with their tails, in one call: the root is a bare
        # <div> (no attribute; no text left, _wrap_loose put it in a paragraph).
        inner = etree.tostring(root, method="html", encoding="unicode")[5:-6]  # <div>, </div>
        del alive
        return _finish(self._sanitize(inner))

    def _prune(self, root: Element, fired: set[str] | None = None) -> None:
        rules, kept = self.rules, self.rules.kept_class
        rules.before(root)
        # One walk finds what the three removals below take, each in document
        # order as its XPath would. (A node inside a subtree removed before its
        # turn is out of the tree by then: removing it changes nothing left.)
        marks: list[Element] = []
        removed: list[Element] = []
        hidden: list[Element] = []
        for node in root.iter():
            tag = node.tag  # (a comment's or instruction's is a function: tested apart)
            if not isinstance(tag, str):
                if isinstance(node, (etree._Comment, etree._ProcessingInstruction)):
                    marks.append(node)
            elif tag in _REMOVED_TAGS:
                removed.append(node)
            else:
                style = node.get("style")
                if (style and _hidden_style(style)) or node.get("hidden") is not None:
                    hidden.append(node)
        for node in marks:  # //comment() | //processing-instruction()
            drop_tree(node)
        for el in removed:  # //script | //style | …
            if el.tag in _UNWRAP_DANGEROUS:
                # Void (or wrapping) elements: libxml2 may nest what follows
                # them inside them, so they go and their "content" stays.
                drop_tag(el)
            else:
                drop_tree(el)
        for name, selector in zip(self._drop_names, self._drop, strict=True):
            for el in selector(root):
                if el is not root:
                    drop_tree(el)
                    if fired is not None:
                        fired.add(f"drop {name}")
        for el in hidden:  # (a hidden one in a dropped tag's place is still in the tree)
            drop_tree(el)
        rules.widgets(root)
        for el in list(tags(root)):
            cls = el.get("class")
            if el.tag == "span" and (not kept or not cls or kept not in cls.split()):
                drop_tag(el)  # presentational only, once styles go
            elif cls is not None:  # //*[@class]: nh3 would leave an empty class="" behind
                if kept and kept in cls.split() and el.tag in _CLASSED_TAGS:
                    el.set("class", kept)
                else:
                    del el.attrib["class"]
        if rules.is_promotion is no_promotion or (
            rules.promotion_word and rules.promotion_word not in text_content(root)
        ):
            return  # no paragraph can be a promotion
        # //p | //div[not(descendant::p or descendant::div)]
        paragraphs = [
            el
            for el in root.iter("p", "div")
            if el.tag == "p" or next(el.iterdescendants("p", "div"), None) is None
        ]
        for p in paragraphs:
            text = text_content(p).strip(EMPTY)
            if rules.is_promotion(p, text):
                drop_tree(p)


def cleaner_version(drop: Sequence[str], cleaning: str) -> str:
    """The version of the cleaning a feed's bodies get, ``<CLEANER_VERSION>+<drop
    digest>+<rules digest>``: this module's :data:`CLEANER_VERSION`, a digest of
    the feed's own ``drop`` selectors and one of its source's rules module
    (``cleaning``: its name and text, :func:`~crawler.cleaning.rules.rules_digest`)."""
    selectors = hashlib.sha256("\n".join(drop).encode()).hexdigest()[:8]
    return f"{CLEANER_VERSION}+{selectors}+{rules_digest(cleaning)}"


def _hidden_style(style: str) -> bool:
    """Whether an element's ``style`` hides it (with ``hidden``, what the
    XPath above :data:`_STYLE_FOLD` selects)."""
    style = style.translate(_STYLE_FOLD)
    return "display:none" in style or "visibility:hidden" in style


def _parse(html: str) -> Element:
    """The fragment's nodes under a new ``<div>`` root.

    Not :func:`lxml.html.fragment_fromstring`: it fails an ``assert`` on
    bodies that start with ``<html>`` but have no ``<body>``.
    """
    html = _DOCUMENT_TAGS.sub("", html)  # libxml2 drops what follows </html>
    doc = etree.fromstring(f"<html><body>{html}</body></html>", HTML_PARSER)
    for container in doc:  # what libxml2 moved into <head> goes with it
        if container.tag == "body":  # taken out whole: moving its children costs more
            doc.remove(container)
            container.tag = "div"
            container.tail = None
            container.attrib.clear()
            return container
    return etree.Element("div")


def _build_sanitizer(kept_class: str) -> Callable[[str], str]:
    return nh3.Cleaner(  # the allowlist is built once
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_NH3_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        allowed_classes={tag: {kept_class} for tag in _CLASSED_TAGS} if kept_class else None,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        strip_comments=True,
        link_rel=None,
    ).clean


def _safe_url(value: str, base_url: str) -> str | None:
    """``value`` made absolute against ``base_url``; None when not allowed."""
    value = value.strip(_SPACE)
    if not value:
        return None
    try:
        url = urljoin(base_url, value) if base_url else value
    except ValueError:
        return None
    match = _SCHEME.match(_URL_JUNK.sub("", url).lower())
    if match is not None and match.group(1) not in ALLOWED_URL_SCHEMES:
        return None
    return url


def _absolutize(root: Element, base_url: str) -> None:
    """Links and images made absolute, unsafe ones removed; attributes in order."""
    for el in list(root.iter("a", "img")):  # //a | //img
        if el.tag == "img":
            src = el.get("src") or ""
            if not src.strip() or src.strip().lower().startswith("data:"):
                src = el.get("data-original") or el.get("data-src") or src  # lazy loading
            url = _safe_url(src, base_url)
            if url is None:
                drop_tree(el)
                continue
            alt = el.get("alt")
            el.attrib.clear()
            el.set("src", url)
            if alt is not None:
                el.set("alt", alt)
        else:
            url = _safe_url(el.get("href") or "", base_url)
            if url is None:
                drop_tag(el)
                continue
            el.attrib.clear()
            el.set("href", url)


def _is_block(el: etree._Element) -> bool:
    return isinstance(el.tag, str) and el.tag in _BLOCK_TAGS


def _unwrap_wrappers(root: Element) -> None:
    """A ``<div>`` holding only blocks is a wrapper: its content stays, it goes."""
    for div in reversed(list(root.iter("div"))):
        if div is root or div.get("class"):  # the rules' kept class, the one left: it stays
            continue
        if (
            len(div)
            and not (div.text or "").strip(_INDENT)
            and all(_is_block(child) and not (child.tail or "").strip(_INDENT) for child in div)
        ):
            drop_tag(div)


def _wrap_loose(root: Element) -> None:
    """Loose text and inline elements at the top go into paragraphs.

    Jekyll's Markdown leaves HTML blocks alone but parses anything between
    them (``*x*{: onclick=…}``, ``[a](javascript:…)``); with every top-level
    node a block there is nothing left for it to parse.
    """
    para: etree._Element | None = None
    out: list[etree._Element] = []

    def loose() -> etree._Element:
        nonlocal para
        if para is None:
            para = etree.Element("p")
            out.append(para)
        return para

    def add_text(text: str | None) -> None:
        if text and text.strip(_INDENT):
            p = loose()
            if len(p):
                p[-1].tail = (p[-1].tail or "") + text
            else:
                p.text = (p.text or "") + text

    # Tags the sanitizer unwraps would leave their content loose: unwrap them now.
    while unwrapped := [
        el for el in root if isinstance(el.tag, str) and el.tag not in ALLOWED_TAGS
    ]:
        for el in unwrapped:
            drop_tag(el)
    add_text(root.text)
    root.text = None
    for child in list(root):
        tail, child.tail = child.tail, None
        root.remove(child)
        if _is_block(child):
            para = None
            out.append(child)
        else:
            loose().append(child)
        add_text(tail)
    root.extend(out)


def _remove_empty(root: Element) -> None:
    """Paragraphs (and inline wrappers) left empty by the removals go."""
    # (root.iter(*_EMPTY_REMOVABLE) selects the same: lxml sets up a matcher of
    # its 28 names at each call, three times the cost of this walk)
    for el in reversed([el for el in root.iter() if el.tag in _EMPTY_REMOVABLE]):
        if el is root:
            continue
        text = el.text  # (most hold text of their own: no need for all of it)
        if text and text.strip(EMPTY):
            continue
        if (
            not text_content(el).strip(EMPTY)
            and next(el.iterdescendants(*_CONTENT_TAGS), None) is None
        ):
            drop_tree(el)


# lxml makes a new str of an element's text or tail at each reading (a
# paragraph's: microseconds): the functions below read each once and set it
# only when it changes.


def _strip_indent(el: etree._Element, text: str | None) -> str | None:
    """Drop whitespace and ``　　`` at the start of a paragraph's text;
    ``text`` is ``el.text``; returns what ``el.text`` is then."""
    first_text = text
    top = el
    while True:
        if text:
            stripped = text.lstrip(_INDENT)
            if len(stripped) != len(text):
                el.text = stripped or None
                if el is top:
                    first_text = el.text
            if stripped:
                return first_text
        if not len(el):
            return first_text
        first = el[0]
        tag = first.tag
        if tag in _BLOCK_TAGS or tag == "br" or tag == "img":
            return first_text
        el = first
        text = el.text


def _normalize_space(el: etree._Element, in_pre: bool) -> None:
    """No line breaks and no indentation; nothing between or around blocks."""
    text = el.text
    if not in_pre and text and "\n" in text:  # (a text without "\n" is left as it is)
        el.text = text = _NEWLINE_RUN.sub(" ", text)
    # The children, their tails and tags as the first loop leaves them, for the
    # last one (read again only if _trim_breaks changes them).
    children: list[etree._Element] = []
    tails: list[str | None] = []
    names: list[object] = []
    for child in el:
        tail = child.tail
        if not in_pre and tail and "\n" in tail:
            child.tail = tail = _NEWLINE_RUN.sub(" ", tail)
        tag = child.tag
        children.append(child)
        tails.append(tail)
        names.append(tag)
        # (void elements and comments have nothing to normalise)
        if not isinstance(tag, str) or tag in _VOID_TAGS:
            continue
        if in_pre or len(child) or tag in _BLOCK_TAGS or tag == "pre":
            _normalize_space(child, in_pre or tag == "pre")
        else:  # an inline element holding only text (most of them): its text is all
            inner = child.text
            if inner and "\n" in inner:
                child.text = _NEWLINE_RUN.sub(" ", inner)
    own = el.tag
    if in_pre or own == "pre":
        return
    block = own in _BLOCK_TAGS or el.getparent() is None
    if block:
        if _trim_breaks(el):
            text = el.text
            children = list(el)
            tails = [child.tail for child in children]
            names = [child.tag for child in children]
        text = _strip_indent(el, text)
        if text and (not children or names[0] in _BLOCK_TAGS):
            stripped = text.rstrip(_SPACE)
            if len(stripped) != len(text):
                el.text = stripped or None
    if not children:
        return
    blocks = [tag in _BLOCK_TAGS for tag in names]
    last = len(children) - 1
    for index, tail in enumerate(tails):
        if not tail:
            continue
        trimmed = tail
        if blocks[index] or names[index] == "br":
            trimmed = trimmed.lstrip(_INDENT)
        if block and (index == last or blocks[index + 1]):
            trimmed = trimmed.rstrip(_SPACE)
        if len(trimmed) != len(tail):
            children[index].tail = trimmed or None


def _trim_breaks(el: etree._Element) -> bool:
    """``<br>`` at the very start or end of a block goes; whether one did."""
    trimmed = False
    while len(el) and el[-1].tag == "br" and not (el[-1].tail or "").strip(_INDENT):
        drop_tree(el[-1])
        trimmed = True
    while len(el) and el[0].tag == "br" and not (el.text or "").strip(_INDENT):
        el.text = None
        drop_tree(el[0])
        trimmed = True
    return trimmed


def _finish(html: str) -> str:
    """Neutralise Liquid; no line break left (``pre`` keeps its as ``&#10;``)."""
    if "\n" in html or "\r" in html:
        html = _PRE.sub(
            lambda m: m.group(0).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "&#10;"),
            html,
        )
        html = _NEWLINE_RUN.sub(" ", html.replace("\r", "\n"))
    if "{" in html or "}" in html:
        html = _LIQUID.sub(lambda m: "&#123;" if m.group(0) == "{" else "&#125;", html)
    return html.strip(_SPACE)


# --- is_safe ------------------------------------------------------------------

_UNSAFE_TAGS: frozenset[str] = _REMOVED_TAGS | {
    "isindex", "keygen", "portal", "xml", "xss", "import", "bgsound", "layer",
    "ilayer", "plaintext", "xmp", "listing", "set", "animate", "handler",
}  # fmt: skip
_URL_ATTRIBUTES: frozenset[str] = frozenset({
    "href", "src", "action", "formaction", "background", "poster", "cite",
    "data", "codebase", "lowsrc", "dynsrc", "xlink:href", "ping", "longdesc",
    "usemap", "manifest", "icon", "archive", "classid", "profile", "srcset",
})  # fmt: skip
_TAG = re.compile(r"<\s*/?\s*([a-zA-Z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>?", re.S)
_ATTR = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?", re.S)
_MARKUP_DECLARATION = re.compile(r"<\s*[!?]")
_LIQUID_OPEN = re.compile(r"\{[{%]")


def _unsafe_url(value: str) -> bool:
    for candidate in value.split(",") if "," in value else (value,):
        url = _URL_JUNK.sub("", html_lib.unescape(candidate)).lower()
        match = _SCHEME.match(url)
        if match is not None and match.group(1) not in ALLOWED_URL_SCHEMES:
            return True
    return False


_DIGEST_MARKUP = re.compile(r"([\\`*_\[\]<>|])")


def clean_digest(digest: str) -> str:
    """The rolling-news digest line (SPEC §3.1) from a record's ``digest``.

    Its text after the last ``】`` (the source's ``【headline】`` lead), on one
    line, with what Markdown or Liquid would turn into markup escaped
    (backslash before ``\\ ` * _ [ ] < > |``, braces as character
    references); a plain sentence passes unchanged.
    """
    text = " ".join(digest.rsplit("】", 1)[-1].split())
    text = _DIGEST_MARKUP.sub(r"\\\1", text)
    return text.replace("{", "&#123;").replace("}", "&#125;")


def is_safe(html: str) -> bool:
    """True when ``html`` holds no markup that could execute in the mirror.

    False on any ``script``/``style``/``iframe``/``object``/``embed``/form/
    ``svg``/``math``/``meta``/``link``/``base`` tag, any ``on*``, ``style`` or
    ``srcdoc`` attribute, any URL whose scheme is not http, https or mailto
    (so no ``javascript:``, ``vbscript:`` or ``data:`` URL, entities and
    whitespace notwithstanding), any comment, CDATA or processing
    instruction, and any Liquid opener (``{{``, ``{%``) Jekyll would run.
    """
    if _LIQUID_OPEN.search(html) or _MARKUP_DECLARATION.search(html):
        return False
    for match in _TAG.finditer(html):
        if match.group(1).lower() in _UNSAFE_TAGS:
            return False
        for attr in _ATTR.finditer(match.group(2)):
            name = attr.group(1).lower()
            if name.startswith("on") or name in ("style", "srcdoc"):
                return False
            if name in _URL_ATTRIBUTES:
                value = attr.group(2) or attr.group(3) or attr.group(4) or ""
                if _unsafe_url(value):
                    return False
    return True
