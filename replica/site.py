"""The replica's HTTP side: pages and JSON at the source's paths, on loopback.

:class:`Replica` serves a :class:`~replica.content.Source` with a
:class:`http.server.ThreadingHTTPServer` in a background thread, counts what
it is asked for (:meth:`Replica.stats`), and answers control requests under
``/_replica/`` (publish, revise, stats, reset, images) that it does not count.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from replica.content import (
    ALIASES,
    FEEDS,
    GBK_STYLES,
    HTML_FEEDS,
    REACHABLE_PAGES,
    SEED_INFO_CODE,
    TZ,
    Article,
    Source,
    html_attr,
    html_text,
)
from replica.hostile import PREFIXES as HOSTILE_PREFIXES
from replica.hostile import Hostile, send_fault
from replica.webapi import FEEDS as WEBAPI_FEEDS
from replica.webapi import MARKET_PATH, WEBAPI_PATH, WebApi, png

KINDS = ("listing", "share", "api", "list_api", "content", "robots", "image", "other")
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
SHARE_PATH = "/html_News/NewsShare.html"


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fault: str = ""  # reset | dataloss | stream: a broken answer (replica.hostile)


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(status, "application/json; charset=utf-8", body)


def _html(text: str, status: int = 200) -> Response:
    return Response(status, "text/html; charset=utf-8", text.encode("utf-8"))


def _error_page(status: int, message: str) -> Response:
    return _html(
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{status}</title>'
        f"</head><body><h2>{status} {html_text(message)}</h2></body></html>\n",
        status,
    )


def kind_of(path: str) -> str:
    """What a request for ``path`` is, for :meth:`Replica.stats`."""
    if path.startswith("/category/"):
        return "listing"
    if path == SHARE_PATH:
        return "share"
    if path == "/NewsData/GetNewsText.do":
        return "api"
    if path.startswith("/api/list/") or path in (WEBAPI_PATH, MARKET_PATH):
        return "list_api"
    if path.startswith("/images/"):
        return "image"
    if path == "/api/content":
        return "content"
    if path == "/robots.txt":
        return "robots"
    return "other"


# --- Pages -------------------------------------------------------------------


class Site:
    """Turns a request path and query into a :class:`Response`."""

    def __init__(self, source: Source, webapi: WebApi):
        self.source = source
        self.webapi = webapi
        self.hostile = Hostile(source.now, Response)
        #: While True, every image answers 503, as a source's image host that is down.
        self.images_down = False

    def respond(self, path: str, query: dict[str, list[str]], base: str) -> Response:
        def arg(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        if path in ("/", "/index.html"):
            return self.home()
        if path.startswith(HOSTILE_PREFIXES):  # the hostile feeds' pages, apart
            return self.hostile.respond(path, query, base)
        if path.startswith("/error/"):  # /error/500/…: a page that always fails so
            code = path.split("/")[2]  # (a feed whose listing is broken, in tests)
            if code.isdigit() and 400 <= int(code) <= 599:
                return _error_page(int(code), "服务器错误")
        if path == "/robots.txt":
            return Response(200, "text/plain; charset=utf-8", ROBOTS_TXT.encode())
        if path.startswith("/category/") and path.endswith(".html"):
            name = path[len("/category/") : -len(".html")]
            feed, _, number = name.partition("_")
            if feed in HTML_FEEDS and (not number or number.isdigit()):
                page = int(number) if number else 1
                if 1 <= page <= self.source.pages(feed):
                    return self.listing(feed, page, base)
            return _error_page(404, "页面不存在")
        if path == SHARE_PATH:
            article = self._article(arg("infoCode"))
            if article is None:
                return _error_page(404, "文章不存在")
            return self.share(article)
        if path == WEBAPI_PATH:  # the real source's lists (replica.webapi)
            return _json(*self.webapi.webapi(query))
        if path == MARKET_PATH:
            return _json(*self.webapi.market(query))
        if path.startswith("/images/") and path.endswith((".png", ".jpg")):
            if self.images_down:
                return _error_page(503, "图片服务暂不可用")
            name = path[len("/images/") :]
            return Response(200, "image/png", png(name))
        if path == "/NewsData/GetNewsText.do":
            body = self.webapi.body(arg("id"))
            if body is not None:  # a story of the real source's lists: the body only
                return _json(body)
            return self.news_text(self._article(arg("id")))
        if path.startswith("/api/list/"):
            feed = path[len("/api/list/") :]
            asked = arg("page") or "1"
            if feed not in FEEDS or FEEDS[feed].listing == "html":
                return _json({"error": "no such list"}, 404)
            if not asked.isdigit() or int(asked) < 1:
                return _json({"error": "bad page"}, 400)
            return self.list_api(feed, int(asked), base)
        if path == "/api/content":
            return self.content(self._article(arg("id")), arg("key") or "text")
        return _error_page(404, "页面不存在")

    def _article(self, info_code: str | None) -> Article | None:
        article = self.source.lookup(info_code) if info_code else None
        return self.source.current(article) if article is not None else None

    # HTML ---------------------------------------------------------------

    def home(self) -> Response:
        links = "".join(
            f'<li><a href="/category/{f}.html">{FEEDS[f].outlets[0]}</a></li>' for f in HTML_FEEDS
        )
        return _html(
            '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            "<title>新闻客户端</title></head><body><h1>新闻客户端</h1>"
            f"<ul>{links}</ul></body></html>\n"
        )

    def _charset(self, feed: str, style: tuple[str, str] | None) -> tuple[str, str, str]:
        """(Content-Type, <meta> for <head>, codec) of a page of ``feed``."""
        if not FEEDS[feed].gbk or style is None:
            return "text/html; charset=utf-8", '<meta charset="utf-8">', "utf-8"
        how, codec = style
        if how == "header":
            return f"text/html; charset={codec}", "", codec
        if how == "meta":
            return "text/html", f'<meta charset="{codec}">', codec
        if how == "http-equiv":
            meta = f'<meta http-equiv="Content-Type" content="text/html; charset={codec}">'
            return "text/html", meta, codec
        return "text/html", "", codec

    def _page(self, feed: str, style: tuple[str, str] | None, head: str, body: str,
              status: int = 200) -> Response:  # fmt: skip
        content_type, meta, codec = self._charset(feed, style)
        text = (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n'
            + (meta + "\n" if meta else "")
            + head
            + '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="stylesheet" href="/css/news.css">\n'
            "<script>var _hmt = _hmt || []; (function () { var s = document"
            '.createElement("script"); s.src = "/js/stat.js"; })();</script>\n'
            "</head>\n<body>\n" + _nav(feed) + body + _FOOTER + "</body>\n</html>\n"
        )
        return Response(status, content_type, text.encode(codec))

    def listing(self, feed: str, page: int, base: str) -> Response:
        source, per_page = self.source, self.source.per_page
        outlet = FEEDS[feed].outlets[0]
        start = (page - 1) * per_page
        items = source.page_slice(feed, start, start + per_page)
        if page > 1:  # the last one of the page before, again
            items = source.page_slice(feed, start - 1, start) + items
        rows = [self._row(a, k, base, feed) for k, a in enumerate(items)]
        if page == 1:
            for k, fault in enumerate(source.fault_articles(feed)):
                rows.insert(min(1 + 2 * k, len(rows)), self._row(fault, k + 1, base, feed))
        aside = ""
        if (page == 1 and feed == "kunmingribao"
                and source.seed_page() > REACHABLE_PAGES):  # fmt: skip
            seed = source.lookup(SEED_INFO_CODE)
            assert seed is not None
            aside = (
                '<div class="aside"><h3>推荐</h3><ul><li><a href="../html_News/'
                f'NewsShare.html?infoCode={seed.info_code}&amp;from=tuijian">'
                f"{html_text(seed.title)}</a></li></ul></div>\n"
            )
        pages = source.pages(feed)
        nav = [f'<a href="{feed}.html">首页</a>']
        if page > 1:
            prev = f"{feed}.html" if page == 2 else f"{feed}_{page - 1}.html"
            nav.append(f'<a href="{prev}">上一页</a>')
        nav.append(f"<span>{page}/{pages}</span>")
        if page < pages:
            nav.append(f'<a rel="next" href="{feed}_{page + 1}.html">下一页</a>')
        else:
            nav.append('<span class="disabled">下一页</span>')
        nav.append(f'<a href="{feed}_{pages}.html">尾页</a>')
        body = (
            f'<div class="list"><h2>{outlet}</h2>\n<ul class="news">\n'
            + "".join(rows)
            + "</ul>\n"
            + f'<div class="pages">{" ".join(nav)}</div>\n</div>\n'
            + aside
        )
        style = _gbk_style(page - 1)
        head = f"<title>{outlet} - 第{page}页</title>\n"
        return self._page(feed, style, head, body)

    def _row(self, article: Article, k: int, base: str, feed: str) -> str:
        code = article.info_code
        forms = (
            f"../html_News/NewsShare.html?infoCode={code}",
            f"{base}/html_News/NewsShare.html?infoCode={code}",
            f"../html_News/NewsShare.html?from=list&amp;infoCode={code}&amp;x=1",
            f"/html_News/NewsShare.html?infoCode={code}&amp;channel={feed}",
            f"//{base.split('://', 1)[-1]}/html_News/NewsShare.html?infoCode={code}",
        )
        title = html_text(article.title or "无标题")
        when = article.date.strftime("%m-%d %H:%M") if article.date else ""
        row = (
            f'<li><a href="{forms[k % len(forms)]}" title="{html_attr(article.title)}" '
            f'target="_blank">{title}</a> <span class="date">{when}</span>'
        )
        if k % 3 == 0:
            row += f' <a class="more" href="{forms[(k + 2) % len(forms)]}">[详情]</a>'
        return row + "</li>\n"

    def share(self, article: Article) -> Response:
        if article.fault == "http_404":
            return _error_page(404, "文章不存在")
        if article.fault == "http_500":
            return _error_page(500, "服务器内部错误")
        feed = article.feed
        style = self.source.gbk_style(article) if FEEDS[feed].gbk else None
        h1 = f"<h1>{html_text(article.title)}</h1>\n" if article.title else ""
        body = (
            '<div class="article">\n' + h1 + '<div class="info">'
            f'<div class="time">{html_text(article.date_text)}</div>'
            f'<div class="source">来源：<a href="#">{html_text(article.outlet)}</a></div>'
            "</div>\n"
            f'<div id="ContentBody">{self.source.body(article)}</div>\n'
            '<div class="share-bar"><a href="javascript:void(0)" class="share-wx">'
            "分享到微信</a></div>\n</div>\n"
        )
        head = f"<title>{html_text(article.title or article.outlet)}</title>\n"
        return self._page(feed, style, head, body)

    # JSON ---------------------------------------------------------------

    def _failed(self, article: Article | None) -> Response | None:
        if article is None or article.fault == "http_404":
            return _json({"error": "not found"}, 404)
        if article.fault == "http_500":
            return _json({"error": "internal error"}, 500)
        return None

    def news_text(self, article: Article | None) -> Response:
        failed = self._failed(article)
        if failed is not None:
            return failed
        assert article is not None
        if article.fault == "not_json":
            return Response(
                200, "application/json; charset=utf-8",
                "<html><body>系统繁忙，请稍后再试</body></html>".encode(),
            )  # fmt: skip
        data = {
            "title": article.title,
            "showtime": article.date_text,
            "medianame": article.outlet,
            "text": self.source.body(article),
        }
        if not article.title:
            del data["title"]
        return _json(data)

    def content(self, article: Article | None, key: str) -> Response:
        if key not in ("text", "content"):
            return _json({"error": "bad key"}, 400)
        failed = self._failed(article)
        if failed is not None:
            return failed
        assert article is not None
        return _json({key: self.source.body(article)})

    def list_api(self, feed: str, page: int, base: str) -> Response:
        source, per_page = self.source, self.source.per_page
        start = (page - 1) * per_page
        layout = FEEDS[feed].listing
        records = [
            _record(a, layout, base) for a in source.page_slice(feed, start, start + per_page)
        ]
        if page == 1 and feed in source.faults:
            bad = source.faults[feed]
            for k, (reason, code) in enumerate(bad.items()):
                record = _record(source.base_article(feed, source.articles - 1), layout, base)
                record["title"] = f"{record['title']}（{reason}）"
                if reason == "no_info_code":
                    record.pop("infoCode", None)
                    record.pop("infocode", None)
                else:
                    record["infoCode" if "infoCode" in record else "infocode"] = code
                records.insert(min(1 + 2 * k, len(records)), record)
        if layout == "records":
            return _json({"records": records, "page": page})
        if layout == "nodeList":
            return _json({"code": 0, "nodeList": records})
        if layout == "record":
            return _json({"code": 0, "total": source.count(feed), "record": records})
        return _json({"code": 200, "data": {"list": records, "page": page}})


def _record(article: Article, layout: str, base: str) -> dict[str, str]:
    if layout == "nodeList":
        return {
            "infocode": article.info_code,
            "title": article.title,
            "datetime": article.date_text,
            "from": article.outlet,
            "url": f"{base}{SHARE_PATH}?infoCode={article.info_code}",
        }
    return {
        "infoCode": article.info_code,
        "title": article.title,
        "showtime": article.date_text,
        "medianame": article.outlet,
    }


def _gbk_style(index: int) -> tuple[str, str]:
    return GBK_STYLES[index % len(GBK_STYLES)]


def _nav(feed: str) -> str:
    links = "".join(
        f' | <a href="/category/{f}.html">{FEEDS[f].outlets[0]}</a>' for f in HTML_FEEDS
    )
    return (
        f'<div class="nav" id="top"><a href="/">首页</a>{links}'
        ' | <a href="/private/admin.html">管理</a>'
        ' | <a href="/html_News/NewsList.html?type=1">要闻</a></div>\n'
    )


_FOOTER = (
    '<div class="footer"><p>本网站所刊登的信息，未经协议授权，禁止下载使用。</p>'
    '<p><a href="#top">返回顶部</a></p></div>\n'
    '<script src="/js/share.js"></script>\n'
)


# --- Server ----------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], replica: Replica):
        self.replica = replica
        self._live: dict[threading.Thread, socket.socket] = {}
        self._live_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        me = threading.current_thread()
        with self._live_lock:
            self._live[me] = request
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(me, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away; errors of ours are answered with a 500

    def drop_connections(self, timeout: float = 5.0) -> None:
        """End every open connection (idle keep-alives too) and wait for them."""
        with self._live_lock:
            live = list(self._live.items())
        for _, sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread, _ in live:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "finews-replica/1.0"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this
    # Headers and body go out in two writes: without TCP_NODELAY the body waits
    # for the client's delayed ACK (~40 ms), a latency the real source has not.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: no line per request

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length > 0 else b""
        form = {}
        if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            form = parse_qs(data.decode("utf-8", "replace"))
        self._dispatch(head=False, form=form)

    def _dispatch(self, head: bool, form: dict[str, list[str]] | None = None) -> None:
        replica = self.server.replica
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path.startswith("/_replica/"):
            self._send(replica._control(url.path, {**(form or {}), **query}), head)
            return
        # In flight from the request read to just before its answer is sent:
        # within the client's own send-to-receive span, so that max_in_flight
        # never counts more requests at once than the client really had.
        replica._enter(self.path, kind_of(url.path))
        replica._saw_agent(self.headers.get("User-Agent") or "")
        try:
            if replica.latency_ms:
                time.sleep(replica.latency_ms / 1000)
            host = self.headers.get("Host")
            base = f"http://{host}" if host else replica.url
            try:
                response = replica.site.respond(url.path, query, base)
            except Exception as e:  # a bug of ours: answer it, keep it for tests
                replica.errors.append(e)
                response = _error_page(500, "replica error")
        finally:
            replica._leave()
        self._send(response, head)

    def _send(self, response: Response, head: bool) -> None:
        if response.fault:
            send_fault(self, response)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)


class Replica:
    """The news source, replicated on ``host:port`` (0: a free port).

    ``now`` anchors the articles' dates (default: the time it is made,
    floored to the minute, Asia/Shanghai); the same arguments give the same
    site. ``faults`` adds the bad items of SPEC §7 to the first pages.
    """

    def __init__(
        self,
        articles: int = 40,
        per_page: int = 10,
        latency_ms: float = 0,
        faults: bool = True,
        now: datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        finews: str | Path | None = None,
    ):
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        self._now_given = now is not None
        if now is None:
            now = datetime.now(TZ).replace(second=0, microsecond=0)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=TZ)
        self.now = now.astimezone(TZ)
        self._t0 = time.monotonic()
        self.latency_ms = latency_ms
        self.host, self.port = host, port
        self.source = Source(articles, per_page, faults, self.now)
        self.webapi = WebApi(articles, self.now, faults, Path(finews) if finews else None)
        self.site = Site(self.source, self.webapi)
        self.errors: list[BaseException] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url = ""
        self._stats_lock = threading.Lock()
        self._requests = 0
        self._by_path: Counter[str] = Counter()
        self._by_kind: Counter[str] = Counter()
        self._in_flight = 0
        self._max_in_flight = 0
        self._last_arrival: float | None = None
        self._min_gap: float | None = None
        self._agents: Counter[str] = Counter()

    # Life -------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; the base URL, no trailing slash."""
        if self._server is None:
            server = _Server((self.host, self.port), self)
            self._server = server
            host, port = cast(tuple[str, int], server.server_address[:2])  # bound to an IP
            self._url = f"http://{host}:{port}"
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1},
                name=f"replica:{port}", daemon=True,
            )  # fmt: skip
            self._thread.start()
        return self._url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Replica:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("the replica is not started")
        return self._url

    # Content ----------------------------------------------------------------

    @property
    def faults(self) -> dict[str, dict[str, str]]:
        """feed → {reason: infoCode} of the bad items served (empty: none)."""
        return {feed: dict(reasons) for feed, reasons in self.source.faults.items()}

    @property
    def feeds(self) -> tuple[str, ...]:
        """The feed names :meth:`publish` takes."""
        return tuple(FEEDS) + tuple(ALIASES) + tuple(WEBAPI_FEEDS)

    def publish(self, feed: str, n: int = 1, outlet: str = "") -> list[str]:
        """Add ``n`` newer articles at the top of ``feed``; their infoCodes,
        newest first.

        ``feed`` is a replica feed or a catalog feed reading one (publishing
        to ``qujingribao`` adds 曲靖日报 articles to the aggregate), or one of
        the real source's lists (``emnews``, ``regional``, ``market37``…,
        ``outlet`` choosing whose the new stories are; for ``emnews`` the
        keys given are the records' ``id``).
        """
        if feed in WEBAPI_FEEDS:
            return self.webapi.publish(feed, n, self._clock(), outlet)
        return self.source.publish(feed, n, self._clock())

    def _clock(self) -> datetime:
        if self._now_given:
            return self.now + timedelta(seconds=time.monotonic() - self._t0)
        return datetime.now(TZ)

    def info_codes(self, feed: str) -> list[str]:
        """The good articles of ``feed``, newest first."""
        return self.source.info_codes(ALIASES.get(feed, (feed, None))[0])

    def seed_page(self) -> int:
        """The kunmingribao listing page holding the seed article."""
        return self.source.seed_page()

    def article(self, info_code: str) -> dict[str, Any] | None:
        """What the replica serves for ``info_code`` (None: nothing)."""
        a = self.source.lookup(info_code)
        if a is None:
            return None
        gbk = FEEDS[a.feed].gbk
        style = self.source.gbk_style(a) if gbk else ("header", "utf-8")
        return {
            "info_code": a.info_code, "feed": a.feed, "title": a.title,
            "date": a.date, "date_text": a.date_text, "outlet": a.outlet,
            "body": self.source.body(a), "fault": a.fault,
            "declared": style[0], "charset": style[1],
            "path": f"{SHARE_PATH}?infoCode={a.info_code}",
        }  # fmt: skip

    def catalog(self) -> dict[str, Any]:
        """The replica's own catalog pointed at this replica."""
        from replica.feeds import replica_catalog

        return replica_catalog(self.url)

    # Measures ---------------------------------------------------------------

    def _enter(self, path: str, kind: str) -> None:
        with self._stats_lock:
            self._requests += 1
            self._by_path[path] += 1
            self._by_kind[kind] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            now = time.monotonic()
            if self._last_arrival is not None:
                gap = now - self._last_arrival
                self._min_gap = gap if self._min_gap is None else min(self._min_gap, gap)
            self._last_arrival = now

    def _saw_agent(self, agent: str) -> None:
        with self._stats_lock:
            self._agents[agent] += 1

    def _leave(self) -> None:
        with self._stats_lock:
            self._in_flight -= 1

    def stats(self) -> dict[str, Any]:
        """Requests served (``/_replica/*`` aside): total, by path, by kind,
        how many were being handled at once, at most and now, and the
        shortest time between two arrivals (seconds; None under two)."""
        with self._stats_lock:
            return {
                "requests": self._requests,
                "by_path": dict(self._by_path),
                "by_kind": {k: self._by_kind.get(k, 0) for k in KINDS},
                "max_in_flight": self._max_in_flight,
                "in_flight": self._in_flight,
                "min_gap": self._min_gap,
                "user_agents": dict(self._agents),
            }

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._requests = 0
            self._by_path.clear()
            self._by_kind.clear()
            self._agents.clear()
            self._max_in_flight = self._in_flight
            self._last_arrival = self._min_gap = None

    def _control(self, path: str, query: dict[str, list[str]]) -> Response:
        if path == "/_replica/stats":
            return _json(self.stats())
        if path == "/_replica/reset":
            self.reset_stats()
            return _json({"ok": True})
        if path == "/_replica/publish":
            feed = (query.get("feed") or [""])[0]
            n = (query.get("n") or ["1"])[0]
            outlet = (query.get("outlet") or [""])[0]
            if not n.isdigit() or int(n) > 100_000:
                return _json({"error": "n must be a whole number"}, 400)
            try:
                return _json(self.publish(feed, int(n), outlet))
            except KeyError:
                return _json({"error": f"unknown feed {feed!r}"}, 404)
        if path == "/_replica/images":  # ?down=1: every image answers 503; ?down=0: back
            self.site.images_down = (query.get("down") or ["0"])[0] == "1"
            return _json({"images_down": self.site.images_down})
        if path == "/_replica/revise":  # a correction: ?infoCode=…&title=…&body=…[&gone=1]
            code = (query.get("infoCode") or [""])[0]
            title = (query.get("title") or [""])[0] or None
            body = (query.get("body") or [""])[0] or None
            gone = (query.get("gone") or [""])[0] == "1"
            if not self.source.revise(code, title, body, gone):
                return _json({"error": f"no article {code!r}"}, 404)
            return _json({"ok": True})
        return _json({"error": "unknown control"}, 404)
