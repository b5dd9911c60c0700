"""A hostile and broken source, served by the replica under ``/hostile/`` (and ``/private/``).

Normal crawls never see it: nothing outside these prefixes links here. Three
feeds read it (:func:`hostile_catalog`):

``hostile``
    HTML listing pages whose share pages are every way a page can be broken
    or built to hurt (truncated, binary, empty, oversized, redirect loops,
    redirects and links to another host, too slow, reset, lying charsets,
    titles and outlets that try to break YAML, Markdown or Liquid, bodies
    carrying the OWASP XSS filter-evasion vectors), good articles between
    them, and a second listing page of 10,000 links.
``hostiledata``
    The same listing idea with a JSON content API that answers what is not
    JSON, JSON of the wrong shape, wrong types, 100,000-deep nesting, and
    bodies in lying charsets.
``hostilelist``
    A JSON list API whose records are junk (not objects, wrong types,
    ``javascript:`` links) and whose second page nests 100,000 deep.

:data:`CASES` says what each item is and what a crawler must make of it:
``mirrored`` (a post, exact title where :attr:`Case.title` says so),
``refused`` (no post, a log line naming its URL) or ``safe`` (either, but
never an unsafe post). Connection-level faults (reset, data loss, a body
without length) are :class:`~replica.site.Response` objects with a
``fault``, which the server's handler acts out with :func:`send_fault`.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replica.content import TZ, html_attr, html_text, make_body

if TYPE_CHECKING:
    from replica.site import Response

PREFIXES = ("/hostile/", "/private/")
SHARE = "/hostile/html_News/NewsShare.html"
PRIVATE_SHARE = "/private/html_News/NewsShare.html"
OFFSITE_SHARE = "/hostile/offsite/html_News/NewsShare.html"  # only ever linked from another host
TARGET = "/hostile/target"  # where the off-host redirect points: must never be asked for
API = "/hostile/api/news"
LIST_API = "/hostile/api/list"
XSS_VECTORS_PATH = Path(__file__).resolve().parent / "data" / "xss-owasp.txt"

OUTLET = "恶意测试报"
DATA_OUTLET = "数据测试报"
LIST_OUTLET = "列表测试报"
SLOW_SECONDS = 5.0  # past the DOWNLOAD_TIMEOUT the tests set (2 s)
OVERSIZE_BYTES = 3_000_000  # past the DOWNLOAD_MAXSIZE the tests set (2 MB)
DEEP = 100_000  # JSON nesting: past any recursion limit
BULK = 50  # distinct good articles among the 10,000 links
LINKS = 10_000


@dataclass(frozen=True)
class Case:
    code: str  # its infoCode
    feed: str  # hostile, hostiledata or hostilelist
    kind: str  # what it is, for reports
    expect: str  # mirrored | refused | safe
    title: str | None = None  # the exact title a mirrored post must have
    fetched: bool = True  # False: the crawler must not even ask for it

    @property
    def marker(self) -> str:
        """What a log line about it contains (its infoCode in the URL)."""
        return self.code


# --- Text ----------------------------------------------------------------------

GOOD_TITLES = (
    "昆明滇池绿道全线贯通迎来首批游客",
    "曲靖高原特色农业订单同比增长三成",
    "玉溪新能源电池项目一期投产",
    "大理洱海保护治理取得新进展",
    "红河跨境电商进出口额稳步增长",
)
GBK_TITLE = "春城花卉出口再创新高"  # GB2312 only: encodable in every Chinese codec
YAML_TITLE = 'x"\n---\nlayout: evil\ntitle: "pwned"\n---\n\\ \' : # & * ! | > % @ `'
LIQUID_TITLE = "{{ site.github.token }} {% include /etc/passwd %} {%raw%}"
MARKDOWN_TITLE = "[点我](javascript:alert(1)) <script>alert(1)</script> *粗* _斜_"
CONTROL_TITLE = "控制\x07字符\x1b[31m红\u2028分隔\u202e反向\ufeff标记 😀"
# Dates as real pages print them (SPEC §2.2): infoCode → what the page's date
# says, from its publication time. A date without a time is that day at 00:00,
# and the title names the time a post must get (``DATE_TITLE``).
DATE_TEXTS: dict[str, tuple[str, Callable[[datetime], str]]] = {
    "HX-date-label-cjk": (
        "date after a label, 年月日",
        lambda w: f"发布时间：{w:%Y年%m月%d日 %H:%M}",
    ),
    "HX-date-label": ("date after a label", lambda w: f"时间：{w:%Y-%m-%d %H:%M}"),
    "HX-date-source": ("date before the source", lambda w: f"{w:%Y-%m-%d %H:%M:%S} 来源:云南网"),
    "HX-date-weekday": (
        "date, weekday, time",
        lambda w: f"{w:%Y年%m月%d日} 星期{'一二三四五六日'[w.weekday()]} {w:%H:%M}",
    ),
    "HX-date-editor": ("date before the editor", lambda w: f"{w:%Y-%m-%d %H:%M} | 编辑：张三"),
    "HX-date-only": ("a date without a time", lambda w: f"发布日期：{w:%Y-%m-%d}"),
}
# The listing /hostile/category/faults.html: good articles among each way a
# download fails (by the name it is counted under) and a body too large to keep.
FAULTS = {
    "HX-good-1": "",
    "HX-good-2": "",
    "HX-slow": "timeout",
    "HX-reset": "reset",
    "HX-dataloss": "dataloss",
    "HX-oversize": "too_big",
    "HX-oversize-stream": "too_big",
    "HX-flaky": "http_503",
    "HX-redirect-loop": "ignored",
    "HX-huge-body": "too_large",
}
DATE_TITLE = "日期测试"  # + the post's time as "YYYY-MM-DD HH:MM"
EVIL_OUTLETS = {
    "HX-liquid-outlet": "{% include /etc/passwd %}{{ site.time }}日报",
    "HX-markdown-outlet": "](javascript:alert(1))[日报",
    "HX-yaml-outlet": 'a: b\n---\n"日报" #',
}


def one_line(text: str) -> str:
    """What a crawler makes of a title: whitespace runs and controls as one space."""
    cleaned = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)
    return " ".join(cleaned.split())


def _cases() -> list[Case]:
    c: list[Case] = []
    h = "hostile"
    for k, title in enumerate(GOOD_TITLES, 1):
        c.append(Case(f"HX-good-{k}", h, "good article", "mirrored", title))
    # fmt: off
    c += [
        Case("HX-truncated", h, "truncated HTML (cut before the body)", "refused"),
        Case("HX-truncated-body", h, "truncated HTML (cut inside the body)", "safe"),
        Case("HX-dataloss", h, "connection closed before Content-Length bytes", "refused"),
        Case("HX-garbage", h, "binary garbage served as text/html", "refused"),
        Case("HX-empty", h, "an empty 200", "refused"),
        Case("HX-oversize", h, "over DOWNLOAD_MAXSIZE (Content-Length)", "refused"),
        Case("HX-oversize-stream", h, "over DOWNLOAD_MAXSIZE (no length)", "refused"),
        Case("HX-redirect-loop", h, "a redirect loop", "refused"),
        Case("HX-redirect-offsite", h, "a redirect to another host", "refused"),
        Case("HX-offsite-link", h, "a share link on another host", "refused", fetched=False),
        Case("HX-js-link", h, "a javascript: share link", "refused", fetched=False),
        Case("HX-robots", h, "a share link robots.txt disallows", "refused", fetched=False),
        Case("HX-slow", h, "slower than DOWNLOAD_TIMEOUT", "refused"),
        Case("HX-reset", h, "connection reset mid-answer", "refused"),
        Case("HX-flaky", h, "503 Service Unavailable, every time", "refused"),
        Case("HX-huge-body", h, "a body over MIRROR_MAX_BODY_BYTES once cleaned", "refused"),
        Case("HX-charset-utf8-lie", h, "declares UTF-8, is GBK", "mirrored", GBK_TITLE),
        Case("HX-charset-gbk-lie", h, "declares GBK, is UTF-8", "mirrored", GBK_TITLE),
        Case("HX-charset-unknown", h, "declares a charset that does not exist", "mirrored",
             GBK_TITLE),
        Case("HX-charset-latin1-lie", h, "declares ISO-8859-1, is GB18030", "safe"),
        Case("HX-yaml-title", h, "title built to break YAML front matter", "mirrored",
             one_line(YAML_TITLE)),
        Case("HX-liquid-title", h, "title with Liquid tags", "mirrored", LIQUID_TITLE),
        Case("HX-markdown-title", h, "title with a javascript: Markdown link", "mirrored",
             MARKDOWN_TITLE),
        Case("HX-control-title", h, "title with control and bidi characters", "mirrored",
             one_line(CONTROL_TITLE)),
        Case("HX-liquid-outlet", h, "outlet with Liquid tags", "mirrored", GOOD_TITLES[0]),
        Case("HX-markdown-outlet", h, "outlet built to break the back-link", "mirrored",
             GOOD_TITLES[1]),
        Case("HX-yaml-outlet", h, "outlet built to break YAML", "mirrored", GOOD_TITLES[2]),
        Case("HX-autolink", h, "share link built to break the Markdown autolink", "mirrored",
             GOOD_TITLES[3]),
        Case("HX-deep-nesting", h, "body nested 5,000 elements deep", "safe"),
        Case("HX-liquid-body", h, "body with Liquid tags", "mirrored", GOOD_TITLES[4]),
    ]
    # fmt: on
    c += [Case(code, h, kind, "mirrored") for code, (kind, _) in DATE_TEXTS.items()]
    c += [
        Case(f"HX-xss-{k:02d}", h, f"OWASP XSS vector {k}", "safe")
        for k in range(1, len(xss_vectors()) + 1)
    ]
    c += [
        Case(f"HX-bulk-{k:02d}", h, "good article among 10,000 links", "mirrored")
        for k in range(BULK)
    ]
    d = "hostiledata"
    c += [
        Case("HJ-good-1", d, "good JSON article", "mirrored", GOOD_TITLES[0]),
        Case("HJ-good-2", d, "good JSON article", "mirrored", GOOD_TITLES[1]),
        Case("HJ-not-json", d, "HTML served as application/json", "refused"),
        Case("HJ-array", d, "a JSON array, not an object", "refused"),
        Case("HJ-null", d, "JSON null", "refused"),
        Case("HJ-empty", d, "an empty 200", "refused"),
        Case("HJ-missing", d, "a JSON object lacking every field", "refused"),
        Case("HJ-wrong-types", d, "fields of the wrong JSON types", "refused"),
        Case("HJ-deep", d, "JSON nested 100,000 deep", "refused"),
        Case("HJ-bad-utf8", d, "declares UTF-8, holds invalid bytes", "safe"),
        Case("HJ-gbk", d, "JSON in GBK, declared", "mirrored", GBK_TITLE),
        Case("HJ-charset-lie", d, "JSON declared UTF-8, is GBK", "mirrored", GBK_TITLE),
        Case("HJ-xss", d, "JSON body with XSS vectors and Liquid", "safe"),
    ]
    lst = "hostilelist"
    # fmt: off
    c += [
        Case("HL-good-1", lst, "good record", "mirrored", GOOD_TITLES[2]),
        Case("HL-js-link", lst, "record linking javascript:", "mirrored", GOOD_TITLES[3]),
        Case("HL-data-link", lst, "record linking a data: URL", "mirrored", GOOD_TITLES[4]),
        Case("HL-markdown-link", lst, "record link built to break the autolink", "mirrored",
             GOOD_TITLES[0]),
        Case("HL-title-object", lst, "record fields of the wrong JSON types", "mirrored",
             GOOD_TITLES[1]),
        Case("20220220", lst, "record with a numeric infoCode", "mirrored", GBK_TITLE),
        Case("HL-no-fields", lst, "record and article without title", "refused"),
    ]
    # fmt: on
    return c


_XSS: list[str] | None = None


def xss_vectors() -> list[str]:
    """The OWASP XSS filter-evasion vectors, one a line (``data/xss-owasp.txt``)."""
    global _XSS
    if _XSS is None:
        text = XSS_VECTORS_PATH.read_text("utf-8")
        _XSS = [line for line in text.split("\n") if line.strip() and not line.startswith("##")]
    return _XSS


CASES: dict[str, Case] = {case.code: case for case in _cases()}
# Junk on the JSON list page: dropped there, never fetched (reason, what is served).
LIST_JUNK: tuple[tuple[str, Any], ...] = (
    ("bad_record", "just a string"),
    ("bad_record", 42),
    ("bad_record", None),
    ("bad_record", ["HL-in-a-list"]),
    ("bad_infocode", {"infoCode": ["HL-x"], "title": "列表"}),
    ("bad_infocode", {"infoCode": "../../etc/passwd"}),
    ("bad_infocode", {"infoCode": {"$ne": ""}}),
    ("missing_infocode", {"title": "没有编号"}),
)


def hostile_catalog(base_url: str) -> dict[str, Any]:
    """The three hostile feeds, reading the replica at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "feeds": {
            "hostile": {
                "outlet": "auto",
                "start_urls": [f"{base}/hostile/category/hostile.html"],
                "max_pages": 2,
            },
            "hostiledata": {
                "outlet": DATA_OUTLET,
                "start_urls": [f"{base}/hostile/category/hostiledata.html"],
                "api": f"{base}{API}?id={{infoCode}}",
            },
            "hostilelist": {
                "outlet": LIST_OUTLET,
                "list_api": f"{base}{LIST_API}?page={{page}}",
                "list_records": "records",
                "list_fields": {"url": "link"},
                "api": f"{base}{API}?id={{infoCode}}",
                "max_pages": 3,
            },
        }
    }


# --- Serving --------------------------------------------------------------------


class Hostile:
    """Answers the hostile paths; ``make`` builds a site Response."""

    def __init__(self, now: datetime, make: Callable[..., Response]):
        self.now = now.astimezone(TZ).replace(second=0, microsecond=0)
        self.make = make
        self.hits: dict[str, list[float]] = defaultdict(list)  # infoCode → monotonic times

    def respond(self, path: str, query: dict[str, list[str]], base: str) -> Response:
        def arg(name: str) -> str:
            values = query.get(name)
            return values[0] if values else ""

        if path == "/hostile/category/hostile.html":
            return self.html(_listing(self.listing_rows(base), "hostile_2.html"))
        if path == "/hostile/category/hostile_2.html":
            return self.html(_listing(self.link_flood(base), None))
        if path == "/hostile/category/polite.html":  # robots.txt and retries, in a small feed
            rows = [_link(f"{PRIVATE_SHARE}?infoCode=HX-robots", "HX-robots")] + [
                _link(f"../html_News/NewsShare.html?infoCode={c}", c)
                for c in ("HX-good-1", "HX-good-2", "HX-flaky")
            ]
            return self.html(_listing("".join(rows), None))
        if path == "/hostile/category/faults.html":  # each way a download fails, and a huge body
            rows = [_link(f"../html_News/NewsShare.html?infoCode={c}", c) for c in FAULTS]
            return self.html(_listing("".join(rows), None))
        if path == "/hostile/category/hostiledata.html":
            rows = [_link(f"..{SHARE[len('/hostile'):]}?infoCode={c.code}", c.code)
                    for c in CASES.values() if c.feed == "hostiledata"]  # fmt: skip
            return self.html(_listing("".join(rows), None))
        if path in (SHARE, PRIVATE_SHARE, OFFSITE_SHARE):
            return self.share(arg("infoCode"), arg("hop"), base)
        if path == API:
            return self.api(arg("id"))
        if path == LIST_API:
            return self.list_api(arg("page"), base)
        return self.make(404, "text/html; charset=utf-8", b"<h1>404</h1>")

    # Listings -----------------------------------------------------------------

    def listing_rows(self, base: str) -> str:
        host = base.split("://", 1)[-1]
        offsite = base.replace("127.0.0.1", "localhost", 1)
        rows = []
        for case in CASES.values():
            if case.feed != "hostile" or case.code.startswith("HX-bulk-"):
                continue
            href = f"../html_News/NewsShare.html?infoCode={case.code}"
            if case.code == "HX-offsite-link":
                href = f"{offsite}{OFFSITE_SHARE}?infoCode={case.code}"
            elif case.code == "HX-js-link":
                href = f"javascript:alert(1)//{host}/html_News/NewsShare.html?infoCode={case.code}"
            elif case.code == "HX-robots":
                href = f"{PRIVATE_SHARE}?infoCode={case.code}"
            elif case.code == "HX-autolink":
                href += "&x=> [x](javascript:alert(1)) <y"
            rows.append(_link(href, case.code))
        return "".join(rows)

    def link_flood(self, base: str) -> str:
        """10,000 links: the bulk articles (each many times) among junk links."""
        rows = []
        for i in range(LINKS):
            kind = i % 10
            if kind == 0:
                code = f"HX-bulk-{(i // 10) % BULK:02d}"
                href = f"../html_News/NewsShare.html?infoCode={code}&amp;n={i}"
            elif kind == 1:
                href = "javascript:void(0)"
            elif kind == 2:
                href = f"#anchor-{i}"
            elif kind == 3:
                href = f"mailto:editor{i}@example.invalid"
            elif kind == 4:
                href = f"/hostile/junk/{i}.html" if i % 1000 != 4 else "http://[::1/not-a-url"
            else:
                href = f"../html_News/NewsList.html?page={i}"
            rows.append(f'<li><a href="{href}">{i}</a></li>')
        return "".join(rows)

    # Share pages --------------------------------------------------------------

    def when(self, code: str) -> datetime:
        return self.now - timedelta(minutes=5 + zlib.crc32(code.encode()) % 600)

    def share(self, code: str, hop: str, base: str) -> Response:
        case = CASES.get(code)
        if case is None:
            return self.make(404, "text/html; charset=utf-8", b"<h1>404</h1>")
        self.hits[code].append(time.monotonic())
        if code == "HX-flaky":
            return self.make(503, "text/html; charset=utf-8", b"<h1>503</h1>")
        if code == "HX-redirect-loop":
            other = "" if hop else "&hop=1"
            return self.redirect(f"{base}{SHARE}?infoCode={code}{other}")
        if code == "HX-redirect-offsite":
            offsite = base.replace("127.0.0.1", "localhost", 1)
            return self.redirect(f"{offsite}{TARGET}?from={code}")
        if code == "HX-slow":
            time.sleep(SLOW_SECONDS)
        if code == "HX-reset":
            return self.fault("reset", b"")
        if code == "HX-empty":
            return self.make(200, "text/html; charset=utf-8", b"")
        if code == "HX-garbage":
            encoded = self.page(case).encode("utf-8")
            junk = random.Random(code).randbytes(4096)
            return self.make(200, "text/html; charset=utf-8", zlib.compress(encoded) + junk)
        page = self.page(case)
        if code == "HX-truncated":
            return self.html(page[: page.index('<div class="time">') + 30])
        if code == "HX-truncated-body":
            return self.html(page[: page.index('id="ContentBody">') + 300])
        if code == "HX-dataloss":
            return self.fault("dataloss", page.encode("utf-8"))
        if code == "HX-oversize":
            padded = page.replace("</body>", "<!--" + "x" * OVERSIZE_BYTES + "--></body>")
            return self.html(padded)
        if code == "HX-oversize-stream":
            padded = page.replace("</body>", "<!--" + "x" * OVERSIZE_BYTES + "--></body>")
            return self.fault("stream", padded.encode("utf-8"))
        if code == "HX-charset-utf8-lie":
            return self.make(200, "text/html; charset=utf-8", page.encode("gbk"))
        if code == "HX-charset-gbk-lie":
            page = page.replace('<meta charset="utf-8">', '<meta charset="gbk">')
            return self.make(200, "text/html; charset=gbk", page.encode("utf-8"))
        if code == "HX-charset-unknown":
            return self.make(200, "text/html; charset=x-no-such-charset", page.encode("utf-8"))
        if code == "HX-charset-latin1-lie":
            page = page.replace('<meta charset="utf-8">', '<meta charset="iso-8859-1">')
            return self.make(200, "text/html", page.encode("gb18030"))
        return self.html(page)

    def published(self, code: str) -> datetime:
        """The time a post of ``code`` must carry: :meth:`when`, at 00:00 for a date alone."""
        when = self.when(code)
        return when.replace(hour=0, minute=0) if code == "HX-date-only" else when

    def date_text(self, code: str) -> str:
        when = self.when(code)
        return DATE_TEXTS[code][1](when) if code in DATE_TEXTS else f"{when:%Y-%m-%d %H:%M:%S}"

    def title(self, case: Case) -> str:
        if case.code in DATE_TEXTS:
            return f"{DATE_TITLE} {self.published(case.code):%Y-%m-%d %H:%M}"
        if case.code == "HX-yaml-title":
            return YAML_TITLE
        if case.code == "HX-control-title":
            return CONTROL_TITLE
        if case.code.startswith("HX-charset-"):
            return GBK_TITLE
        if case.title is not None:
            return case.title
        return f"{GOOD_TITLES[zlib.crc32(case.code.encode()) % len(GOOD_TITLES)]}（{case.code}）"

    def body(self, case: Case) -> str:
        code = case.code
        if code.startswith("HX-xss-"):
            vector = xss_vectors()[int(code[len("HX-xss-") :]) - 1]
            return f"<p>前文 {code}。</p>{vector}<p>后文 {code}。</p>"
        if code == "HX-deep-nesting":
            return "<p>嵌套前文。</p>" + "<div><span>" * 5000 + "深处" + "</span></div>" * 5000
        if code in ("HX-liquid-body", "HJ-xss"):
            return (
                "<p>模板 {{ site.github }} 与 {% include /etc/passwd %} 以及 {%raw%}。</p>"
                "<p>{{'a' | append: 'b'}}</p><script>alert(1)</script><p>结束。</p>"
                '<img src=x onerror=alert(1)><a href="javascript:alert(1)">链接</a>'
            )
        if code.startswith("HX-charset-"):
            return "<p>春城花卉出口再创新高，一季度出口额同比增长。</p>"
        if code == "HX-huge-body":  # about 1.3 MB of paragraphs that cleaning keeps
            return "".join(f"<p>第{i}段。{'滇池绿道长文测试' * 22}</p>" for i in range(2400))
        serial = zlib.crc32(code.encode()) % 1000
        return make_body("hostile", serial, code, OUTLET, False)

    def page(self, case: Case) -> str:
        outlet = EVIL_OUTLETS.get(case.code, OUTLET)
        title = self.title(case)
        return (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html_text(one_line(title))}</title>\n</head>\n<body>\n"
            f'<div class="article">\n<h1>{html_text(title)}</h1>\n'
            f'<div class="info"><div class="time">{html_text(self.date_text(case.code))}</div>'
            f'<div class="source">来源：<a href="#">{html_text(outlet)}</a></div></div>\n'
            f'<div id="ContentBody">{self.body(case)}</div>\n</div>\n</body>\n</html>\n'
        )

    # JSON -----------------------------------------------------------------------

    def api(self, code: str) -> Response:
        case = CASES.get(code)
        json_type = "application/json; charset=utf-8"
        if case is None or case.feed == "hostile":
            return self.make(404, json_type, b'{"error": "not found"}')
        fields = {
            "title": self.title(case),
            "showtime": f"{self.when(code):%Y-%m-%d %H:%M:%S}",
            "medianame": DATA_OUTLET,
            "text": self.body(case),
        }
        if code == "HJ-not-json":
            return self.make(200, json_type, "<html><body>系统繁忙</body></html>".encode())
        if code == "HJ-array":
            return self.make(200, json_type, b"[1, 2, 3]")
        if code == "HJ-null":
            return self.make(200, json_type, b"null")
        if code == "HJ-empty":
            return self.make(200, json_type, b"")
        if code == "HJ-missing":
            return self.make(200, json_type, b"{}")
        if code == "HJ-wrong-types":
            data: Any = {"title": {"$ne": 1}, "showtime": [2022], "medianame": True, "text": 5}
            return self.make(200, json_type, json.dumps(data).encode())
        if code == "HJ-deep":
            return self.make(200, json_type, b'{"title": ' + b"[" * DEEP + b"]" * DEEP + b"}")
        if code == "HJ-bad-utf8":
            raw = json.dumps(fields, ensure_ascii=False).encode("utf-8")
            return self.make(200, json_type, raw.replace("春".encode(), b"\xff\xfe\xfd"))
        if code == "HJ-gbk":
            raw = json.dumps(fields, ensure_ascii=False).encode("gbk")
            return self.make(200, "application/json; charset=gbk", raw)
        if code == "HJ-charset-lie":
            return self.make(200, json_type, json.dumps(fields, ensure_ascii=False).encode("gbk"))
        if code == "HL-no-fields":
            return self.make(200, json_type, json.dumps({"text": fields["text"]}).encode())
        if case.feed == "hostilelist" and code != "HL-title-object":  # the record has the rest
            return self.make(200, json_type, json.dumps({"text": fields["text"]}).encode())
        return self.make(200, json_type, json.dumps(fields, ensure_ascii=False).encode())

    def list_api(self, page: str, base: str) -> Response:
        json_type = "application/json; charset=utf-8"
        if page == "2":  # deeper than any parser's recursion limit
            return self.make(200, json_type, b'{"records": ' + b"[" * DEEP + b"]" * DEEP + b"}")
        if page != "1":
            return self.make(200, json_type, b'{"records": []}')
        records: list[Any] = []
        for case in CASES.values():
            if case.feed != "hostilelist":
                continue
            record: dict[str, Any] = {
                "infoCode": int(case.code) if case.code.isdigit() else case.code,
                "title": self.title(case),
                "showtime": f"{self.when(case.code):%Y-%m-%d %H:%M:%S}",
                "medianame": LIST_OUTLET,
                "link": f"{base}{SHARE}?infoCode={case.code}",
            }
            if case.code == "HL-js-link":
                record["link"] = "javascript:alert(document.cookie)"
            elif case.code == "HL-data-link":
                record["link"] = "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="
            elif case.code == "HL-markdown-link":
                record["link"] += "&x=> [x](javascript:alert(1)) <y"
            elif case.code == "HL-title-object":
                record.update(title={"$gt": ""}, showtime=[1, 2], medianame={"a": 1})
            elif case.code == "HL-no-fields":
                del record["title"]
            records.append(record)
        for k, (_, junk) in enumerate(LIST_JUNK):
            records.insert(1 + 2 * k, junk)
        return self.make(
            200, json_type, json.dumps({"records": records}, ensure_ascii=False).encode()
        )

    # Helpers ----------------------------------------------------------------------

    def html(self, text: str) -> Response:
        return self.make(200, "text/html; charset=utf-8", text.encode("utf-8"))

    def redirect(self, location: str) -> Response:
        response = self.make(302, "text/html; charset=utf-8", b"")
        response.headers["Location"] = location
        return response

    def fault(self, fault: str, body: bytes) -> Response:
        response = self.make(200, "text/html; charset=utf-8", body)
        response.fault = fault
        return response


def _link(href: str, code: str) -> str:
    return f'<li><a href="{html_attr(href)}" title="{html_attr(code)}">{html_text(code)}</a></li>\n'


def _listing(rows: str, next_page: str | None) -> str:
    nav = f'<a rel="next" href="{next_page}">下一页</a>' if next_page else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>恶意测试</title></head><body>\n"
        f'<ul class="news">\n{rows}</ul>\n<div class="pages">{nav}</div>\n</body></html>\n'
    )


def send_fault(handler: BaseHTTPRequestHandler, response: Response) -> None:
    """Act out ``response.fault`` on the handler's connection, then drop it."""
    handler.close_connection = True
    sock: socket.socket = handler.connection
    head = (
        f"HTTP/1.1 {response.status} OK\r\nContent-Type: {response.content_type}\r\n"
        "Server: finews-replica/1.0\r\n"
    )
    try:
        if response.fault == "reset":
            sock.sendall(head.encode())  # half an answer, then RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        elif response.fault == "dataloss":
            cut = response.body[: len(response.body) // 3]
            length = len(response.body)
            sock.sendall(f"{head}Content-Length: {length}\r\n\r\n".encode() + cut)
            sock.shutdown(socket.SHUT_RDWR)
        elif response.fault == "stream":  # no Content-Length: the body ends at close
            sock.sendall(f"{head}Connection: close\r\n\r\n".encode())
            for start in range(0, len(response.body), 16384):
                sock.sendall(response.body[start : start + 16384])
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client gave up first
