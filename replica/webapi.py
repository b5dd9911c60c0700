"""The real source's JSON endpoints (SPEC §2.6), as the finews mirror read them.

The shipped catalog (``crawler/source/feeds.yaml``) reads these; every real host is
one loopback replica, so the paths and query strings are the real ones:

``/web/webapi?type=102&count=100&newsid=1``
    rolling news: ``{"records": [...]}``, records ``infoCode``, ``id``,
    ``title``, ``showtime``, ``digest`` (``【headline】text``), ``url_w``.
``/web/webapi?type=45&count=100&newsid=1``
    the regional outlets: ``{"nodeList": [...]}``, records ``infocode``,
    ``title``, ``showtime``, ``from`` (昆明日报 among them, the seed too).
``/information/newmarket/web/webapi?marketType=37|38|39&count=100``
    market outlets: ``{"record": [...]}``, records ``infoCode``, ``title``,
    ``datetime``, ``medianame``.
``/NewsData/GetNewsText.do?id={infoCode}``
    the body, under ``content`` (as rolling news reads it) and ``text`` (as
    the outlet lists read it); nothing else.

Each list gives its newest ``count`` records and has no other page. Bodies
carry the source's widgets (quote spans, ``Info.`` keys, chart blocks,
hidden paragraphs, ad images, promo links, content images served by the
replica under ``/images/``). Real finews posts (``finews``: a folder of them)
are served as the records and bodies they were made from.
"""

from __future__ import annotations

import random
import re
import struct
import threading
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from replica.content import (
    SEED_DATE_TEXT,
    SEED_INFO_CODE,
    SEED_OUTLET,
    SEED_TITLE,
    SENTENCES,
    TZ,
    _board,
    _chart,
    _crc,
    _stock,
    _title,
    read_seed_body,
)

WEBAPI_PATH = "/web/webapi"
MARKET_PATH = "/information/newmarket/web/webapi"
ROLLING_TYPE, REGIONAL_TYPE = "102", "45"
MARKET_TYPES = ("37", "38", "39")
MAX_COUNT = 100  # the most records a list gives (`count`)

# Replica feed → (outlets, digit in the codes of its stories)
FEEDS: dict[str, tuple[tuple[str, ...], int]] = {
    "emnews": (("中国证券报", "上海证券报", "央视新闻客户端", "证券时报"), 1),
    "regional": (("昆明日报", "重庆日报", "厦门日报", "春城晚报", "长江日报"), 2),
    "market37": (("中国证券报", "上海证券报", "证券时报"), 3),
    "market38": (("财联社", "每日经济新闻", "21世纪经济报道"), 4),
    "market39": (("第一财经", "证券日报", "经济参考报"), 5),
}
ROLLING_SHARE = "http://finance.eastmoney.com/news/1351,{id}.html"

FINANCE_TITLES = (
    "北向资金午后加速流入", "两市成交额连续第五日突破万亿", "多家券商上调全年业绩预期",
    "新能源汽车板块午后拉升", "央行开展逆回购操作", "公募基金二季度调仓路径曝光",
    "上市公司回购金额创年内新高", "机构密集调研医药龙头", "光伏产业链价格企稳",
    "外资机构看好中国资产", "锂电池出口同比大增", "稳增长政策持续发力",
)  # fmt: skip
FINANCE_SENTENCES = (
    "数据显示，截至收盘，沪指涨0.8%，深成指涨1.2%，创业板指涨1.5%。",
    "分析人士指出，随着稳增长政策持续发力，市场风险偏好有望进一步回升。",
    "公告显示，公司拟以自有资金回购股份，回购价格不超过每股30元。",
    "业内人士表示，行业景气度有望延续，龙头企业的竞争优势将进一步扩大。",
    "从资金面看，央行公开市场操作保持流动性合理充裕。",
    "机构认为，下半年经济修复态势有望延续，消费和制造业投资将成为重要支撑。",
)  # fmt: skip
APP_PROMO = (
    '<p><a href="http://acttg.eastmoney.com/pub/web_app_zxhq_01" class="toplink" '
    'target="_blank">在东方财富看资讯行情，选东方财富证券一站式开户交易&gt;&gt;</a></p>'
)
AD_IMAGE = (
    '<p><a href="http://acttg.eastmoney.com/pub/web_nr_dbtg_01" target="_blank">'
    '<img src="https://dfscdn.dfcfw.com/download/ad_banner_620x120.jpg" '
    'class="em_handle_adv_close" width="620" /></a></p>'
)
_INFO_KEYS = (("3293", "基金", "zlsj/"), ("3321", "业绩", "bbsj/"), ("338", "PPI", "cjsj/ppi.html"))


@dataclass(frozen=True)
class Story:
    """One record of a list endpoint, and the body the content API gives for it."""

    code: str  # the infoCode (NW…)
    title: str
    time_text: str  # "YYYY-MM-DD HH:MM:SS", or "" (a record the source sent without)
    outlet: str
    when: datetime | None = None
    id: str = ""  # rolling news: the record's id (the digits of its infoCode)
    digest: str = ""  # rolling news: "【headline】text"
    url_w: str = ""  # rolling news: the article's public page


def _info_key(rng: random.Random) -> str:
    number, name, path = rng.choice(_INFO_KEYS)
    return (
        f'<span id="Info.{number}"><a href="http://data.eastmoney.com/{path}" '
        f'class="infokey">{name}</a></span>'
    )


def finance_body(code: str, outlet: str) -> str:
    """The raw body HTML of a generated story: the widgets of the real source."""
    rng = random.Random(f"webapi:{code}")
    parts: list[str] = []
    if rng.random() < 0.4:
        parts.append('<p style="display:none;height:1px;overflow:hidden;"><br /></p>')
    if rng.random() < 0.4:
        parts.append(_chart(rng))
    paragraphs = rng.randint(2, 5)
    for i in range(paragraphs):
        pool = FINANCE_SENTENCES if rng.random() < 0.6 else SENTENCES
        text = "".join(rng.sample(pool, rng.randint(1, 2)))
        if i == 0:
            text = f"{rng.choice(('今日', '近日', '记者获悉'))}，{_stock(rng)}{text}"
        elif rng.random() < 0.5:
            text = f"受{_board(rng)}带动，{_info_key(rng)}方面，{text}"
        indent = "\u3000\u3000" if rng.random() < 0.5 else ""
        parts.append(f"<p>{indent}{text}</p>")
        if i == 0 and rng.random() < 0.5:
            parts.append(
                f'<center><img src="/images/{code}-{i}.png" alt="Image" width="552" '
                'style="border:#d1d1d1 1px solid;padding:3px;margin:5px 0;" /></center>'
                f'<p style="text-align:center;">图片来源：{outlet}</p>'
            )
    if rng.random() < 0.3:
        parts.append(AD_IMAGE)
    parts.append(f'<p class="em_media">（文章来源：{outlet}）</p>')
    if rng.random() < 0.5:
        parts.append(APP_PROMO)
    return "".join(parts)


class WebApi:
    """The five list endpoints and the content API, with what they serve."""

    def __init__(self, articles: int, now: datetime, faults: bool, finews: Path | None):
        self.now = now.astimezone(TZ).replace(microsecond=0)
        self._lock = threading.Lock()
        self._lists: dict[str, list[Story]] = {}  # newest first
        self._bodies: dict[str, dict[str, str]] = {}  # infoCode → {"content"|"text": html}
        self._serial = {feed: 0 for feed in FEEDS}
        n = min(articles, MAX_COUNT)
        for feed in FEEDS:
            self._lists[feed] = [self._story(feed, self._aged(feed, k)) for k in range(n)]
        self._mix_rolling_into_markets()
        self._add_seed()
        if faults:
            # The API hiccup the finews mirror wrote as a post with no title and date.
            hiccup = self._story("emnews", self.now)
            self._lists["emnews"].insert(
                min(3, n), replace(hiccup, title="", time_text="", when=None)
            )
        if finews is not None:
            self.add_finews(finews)

    # Stories ---------------------------------------------------------------

    def _aged(self, feed: str, position: int) -> datetime:
        """When the story at ``position`` of ``feed`` (0: the newest) came out."""
        minutes = 11 * (position + 1) + _crc(f"{feed}:{position}") % 7
        return self.now - timedelta(minutes=minutes, seconds=_crc(f"s{feed}{position}") % 60)

    def _story(self, feed: str, when: datetime, outlet: str = "") -> Story:
        """A new story of ``feed``, out at ``when``, its body stored for the content API."""
        outlets, digit = FEEDS[feed]
        serial = self._serial[feed]
        self._serial[feed] += 1
        rng = random.Random(f"webapi:title:{feed}:{serial}")
        outlet = outlet or outlets[serial % len(outlets)]
        number = f"{when:%Y%m%d}{digit}{(239000000 + serial * 7919) % 10**9:09d}"  # 18 digits
        title = (
            _title(rng)
            if feed == "regional"
            else rng.choice(FINANCE_TITLES)
            + rng.choice(("", " 机构：后市可期", " 多只个股涨停", " 资金持续流入"))
        )
        story = Story(
            code=f"NW{number}", title=title, time_text=f"{when:%Y-%m-%d %H:%M:%S}",
            outlet=outlet, when=when,
        )  # fmt: skip
        body = finance_body(story.code, outlet)
        if feed == "emnews":
            paragraphs = (re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<p>(.*?)</p>", body))
            lead = next((p.strip("\u3000") for p in paragraphs if p.strip()), title)
            story = replace(
                story, id=number, digest=f"【{title}】{lead[:80]}（{outlet}）",
                url_w=ROLLING_SHARE.format(id=number),
            )  # fmt: skip
        self._bodies.setdefault(story.code, {"content": body, "text": body})
        return story

    def _mix_rolling_into_markets(self) -> None:
        """Every fourth rolling story is also on the market list of its outlet,
        under its NW infoCode: two posts of one article, as on the finews site."""
        for k, story in enumerate(self._lists["emnews"]):
            if k % 4 != 1:
                continue
            for feed in MARKET_TYPES:
                if story.outlet in FEEDS[f"market{feed}"][0]:
                    plain = Story(
                        story.code, story.title, story.time_text, story.outlet, story.when
                    )
                    market = self._lists[f"market{feed}"]
                    market.append(plain)
                    market.sort(key=_newest_first)

    def _add_seed(self) -> None:
        seed = Story(
            SEED_INFO_CODE, SEED_TITLE, SEED_DATE_TEXT, SEED_OUTLET,
            datetime.strptime(SEED_DATE_TEXT, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ),
        )  # fmt: skip
        self._lists["regional"].append(seed)
        body = read_seed_body()
        self._bodies[SEED_INFO_CODE] = {"content": body, "text": body}

    def add_finews(self, folder: Path) -> list[str]:
        """Serve each finews post in ``folder`` as the record and body it was
        made from: rolling news on ``type=102``, the others on ``marketType=37``."""
        added = []
        for path in sorted(folder.glob("*.md")):
            if path.name == "README.md":
                continue
            feed, story, key, body = read_finews_post(path)
            with self._lock:
                self._lists[feed].append(story)
                self._lists[feed].sort(key=_newest_first)
                bodies = self._bodies.setdefault(story.code, {})
                bodies[key] = body
                bodies.setdefault("content" if key == "text" else "text", body)
            added.append(story.code)
        return added

    def publish(self, feed: str, n: int, clock: datetime, outlet: str = "") -> list[str]:
        """``n`` newer stories at the top of ``feed``; their keys (the ``id``
        for rolling news, else the infoCode), newest first."""
        if feed not in FEEDS:
            raise KeyError(feed)
        keys = []
        with self._lock:
            stories = self._lists[feed]
            for _ in range(n):
                newest = max((s.when for s in stories if s.when), default=clock)
                when = max(
                    clock.astimezone(TZ).replace(microsecond=0), newest + timedelta(seconds=1)
                )
                story = self._story(feed, when, outlet)
                stories.insert(0, story)
                keys.append(story.id or story.code)
        return keys[::-1]

    def keys(self, feed: str, outlet: str = "") -> list[str]:
        """The keys of the good stories ``feed`` lists (all of them), newest first."""
        with self._lock:
            return [
                s.id or s.code for s in self._lists[feed]
                if s.title and (not outlet or s.outlet == outlet)
            ]  # fmt: skip

    # Answers ---------------------------------------------------------------

    def records(self, feed: str, count: int) -> list[dict[str, str]]:
        with self._lock:
            stories = list(self._lists[feed][: max(0, min(count, MAX_COUNT))])
        return [record(feed, s) for s in stories]

    def webapi(self, query: dict[str, list[str]]) -> tuple[dict[str, Any], int]:
        kind = _arg(query, "type")
        count = _count(query)
        if kind == ROLLING_TYPE:
            return {"records": self.records("emnews", count)}, 200
        if kind == REGIONAL_TYPE:
            return {"nodeList": self.records("regional", count)}, 200
        return {"error": f"no list of type {kind!r}"}, 404

    def market(self, query: dict[str, list[str]]) -> tuple[dict[str, Any], int]:
        kind = _arg(query, "marketType")
        if kind not in MARKET_TYPES:
            return {"error": f"no market list {kind!r}"}, 404
        return {"record": self.records(f"market{kind}", _count(query))}, 200

    def body(self, code: str | None) -> dict[str, str] | None:
        with self._lock:
            found = self._bodies.get(code or "")
        return dict(found) if found else None


def record(feed: str, s: Story) -> dict[str, str]:
    """The record as the real endpoint gives it: its keys, in its order."""
    if feed == "emnews":
        return {
            "infoCode": s.code, "id": s.id, "title": s.title, "showtime": s.time_text,
            "digest": s.digest, "url_w": s.url_w,
        }  # fmt: skip
    if feed == "regional":
        return {"infocode": s.code, "title": s.title, "showtime": s.time_text, "from": s.outlet}
    return {"infoCode": s.code, "title": s.title, "datetime": s.time_text, "medianame": s.outlet}


def read_finews_post(path: Path) -> tuple[str, Story, str, str]:
    """(replica feed, record, body key, body) a finews post was made from.

    The post's body is what the content API gave (less the ``　　`` that
    mirror removed); a rolling-news post's digest line was the record's
    digest after its ``【headline】``.
    """
    text = path.read_text(encoding="utf-8")
    front, rest = text[4:].split("\n---\n", 1)
    meta = dict(line.split(":", 1) for line in front.splitlines())
    title = meta["title"].strip()[1:-1]
    time_text = meta["date"].strip().removesuffix("+0800").strip()
    when = (
        datetime.strptime(time_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ) if time_text else None
    )
    code = path.name[: -len(".md")].rsplit("-", 1)[1]
    body, share, _footer = rest.rsplit("\n\n", 2)
    if meta["categories"].strip() == "emnews":
        digest, body = body[2:].split("\n\n", 1)
        story = Story(
            f"NW{code}", title, time_text, "", when, id=code,
            digest=f"【{title}】{digest}", url_w=share[1:-1],
        )  # fmt: skip
        return "emnews", story, "content", body
    outlet = meta["tags"].strip().removesuffix("新闻")
    return "market37", Story(code, title, time_text, outlet, when), "text", body


def _newest_first(s: Story) -> tuple[int, float]:
    # A record without a time (an API hiccup) stays on top, as it came.
    return (0, 0.0) if s.when is None else (1, -s.when.timestamp())


def _arg(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    return values[0] if values else ""


def _count(query: dict[str, list[str]]) -> int:
    count = _arg(query, "count")
    return int(count) if count.isdigit() else 20


# --- Images ------------------------------------------------------------------


def png(seed: str, width: int = 552, height: int = 320) -> bytes:
    """A small PNG of one colour (from ``seed``): the content images bodies show."""
    crc = _crc(seed)
    colour = bytes(((crc >> 16) & 0x7F | 0x60, (crc >> 8) & 0x7F | 0x60, crc & 0x7F | 0x60))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )  # fmt: skip

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    )  # fmt: skip
