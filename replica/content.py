"""What the replica publishes: deterministic articles, listings and faults.

Nothing here touches the network. Every article is computed from its feed and
its *serial* (0 = the oldest of a feed), so a feed of 5000 articles costs
nothing until a page of it is asked for. Articles added later with
:meth:`Source.publish` are stored (they carry the time they were published).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

SEED_INFO_CODE = "NW202202202282281459"
SEED_TITLE = "昆明出台产业招商提质增效实施意见"
SEED_DATE_TEXT = "2022-02-20 14:29:54"
SEED_OUTLET = "昆明日报"
SEED_BODY_PATH = Path(__file__).resolve().parent / "data" / "seed-raw-body.html"

# A listing past this many pages is out of a default crawl's reach (SPEC §2.1,
# max_pages 5): page 1 then also recommends the seed article.
REACHABLE_PAGES = 5


@dataclass(frozen=True)
class FeedSpec:
    name: str  # the feed as it appears in the replica's URLs
    code: str  # four capitals in the infoCodes of its articles
    outlets: tuple[str, ...]
    listing: str  # "html" or the JSON layout: "records", "nodeList", "data.list"
    gbk: bool = False  # listing and share pages in GBK/GB2312/GB18030


FEEDS: dict[str, FeedSpec] = {
    f.name: f
    for f in (
        FeedSpec("kunmingribao", "KMRB", ("昆明日报",), "html"),
        FeedSpec("chunchengwanbao", "CCWB", ("春城晚报",), "html", gbk=True),
        FeedSpec("yunnanribao", "YNRB", ("云南日报",), "html"),
        FeedSpec("yunnanwang", "YNWG", ("云南网",), "records"),
        FeedSpec("dalidaily", "DLRB", ("大理日报",), "nodeList"),
        FeedSpec(
            "yunnan", "YNXW",
            ("曲靖日报", "玉溪日报", "红河日报", "昭通日报", "保山日报"),
            "data.list",
        ),
        # Not in the shipped catalog: an aggregate (`record`) through which
        # alone a feed of 昆明日报 can be mirrored (tests/test_listings.py).
        FeedSpec("kunming", "KMJH", ("昆明日报", "都市时报", "昆明信息港"), "record"),
    )
}  # fmt: skip
HTML_FEEDS = tuple(n for n, f in FEEDS.items() if f.listing == "html")
LIST_API_FEEDS = tuple(n for n, f in FEEDS.items() if f.listing != "html")
# Catalog feed names that read a replica feed of another name; the outlet, if
# any, is the one their `outlets` cuts out of the aggregate.
ALIASES: dict[str, tuple[str, str | None]] = {
    "yunnanxinwen": ("yunnan", None),
    "qujingribao": ("yunnan", "曲靖日报"),
}
_BY_CODE = {f.code: f.name for f in FEEDS.values()}

# How a chunchengwanbao page declares its encoding, by serial (share pages) or
# page number (listings): (style, codec it is written in).
GBK_STYLES: tuple[tuple[str, str], ...] = (
    ("header", "gbk"),  # charset=gbk in Content-Type only
    ("meta", "gbk"),  # <meta charset="gbk"> only
    ("http-equiv", "gb2312"),  # <meta http-equiv=Content-Type …charset=gb2312> only
    ("none", "gb18030"),  # declared nowhere
)

DATE_FORMATS = 4


def format_date(when: datetime, style: int) -> str:
    """``when`` (Asia/Shanghai) the way the source writes it, in ``style``."""
    if style == 0:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    if style == 1:
        return f"{when.year}/{when.month}/{when.day} {when:%H:%M}"
    if style == 2:
        return when.strftime("%Y年%m月%d日 %H:%M")
    return when.isoformat(timespec="seconds")  # …T14:29:54+08:00


def _has_seconds(style: int) -> bool:
    return style in (0, 3)


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class Article:
    info_code: str
    feed: str
    serial: int  # -1: the seed or a fault article
    title: str
    date: datetime | None
    date_text: str
    outlet: str
    fault: str = ""  # the reason, for a fault article
    style: int = 0  # date format


# --- Text ------------------------------------------------------------------
# Every string below is valid GB2312 (a test checks): chunchengwanbao pages
# declared gb2312 are written in it.

PLACES = (
    "昆明", "曲靖", "玉溪", "大理", "红河", "昭通", "保山", "丽江",
    "西双版纳", "普洱", "楚雄", "文山", "临沧", "德宏", "滇中新区",
)  # fmt: skip
SUBJECTS = (
    "高原特色农业", "数字经济", "滇池保护治理", "乡村振兴", "旅游市场",
    "新能源汽车产业", "鲜切花出口", "咖啡产业", "营商环境", "中老铁路货运",
    "生物医药", "普洱茶产业", '"数字云南"建设', "绿色铝产业", "跨境电商",
    "城市更新", "义务教育", "医保服务",
)  # fmt: skip
PREDICATES = (
    "发展提速", "再上新台阶", "取得新进展", "交出亮眼成绩单", "按下“快进键”",
    "迎来新机遇", "出台实施方案", "一批项目集中签约", "一季度实现开门红",
    "跑出加速度", "持续向好", "提质增效",
)  # fmt: skip
SENTENCES = (
    "记者从市发展和改革委员会获悉，今年以来全市固定资产投资保持较快增长。",
    "据统计，一季度全省规模以上工业增加值同比增长百分之八点二。",
    "相关负责人表示，下一步将持续优化营商环境，为企业发展提供更好服务。",
    "项目建成后，预计可年产鲜切花三亿枝，带动周边两千余户农户增收。",
    "会议强调，要坚持稳中求进工作总基调，全力以赴抓项目、促投资、稳增长。",
    "中老铁路开通运营以来，累计发送旅客超过一千万人次，货物运输量持续攀升。",
    "今年，当地将重点推进高标准农田建设，新建高标准农田二十万亩。",
    "该企业负责人介绍，公司今年计划新增投资五亿元，扩大生产规模。",
    "滇池流域水质持续改善，草海和外海水质均保持在四类以上。",
    "截至目前，全市已建成充电桩一万二千余个，基本实现主城区全覆盖。",
    "活动现场，来自省内外的百余家企业展示了咖啡、茶叶、花卉等特色产品。",
    "专家认为，数字技术与实体经济深度融合，将为区域发展注入新动能。",
    "据悉，该项目总投资约十八亿元，计划于明年年底前竣工投产。",
    "当天，工作人员深入田间地头，为群众讲解科学种植和病虫害防治知识。",
    "文旅部门数据显示，假日期间全省共接待游客三千余万人次，旅游收入同比增长。",
    "下一步，将进一步完善产业链条，推动产业集群化、绿色化发展。",
    "在政务服务大厅，企业开办时间已压缩至一个工作日以内。",
    "该市还将加快推进城市更新，改造老旧小区一百二十个，惠及居民三万余户。",
    "业内人士指出，随着市场需求回暖，相关产品价格有望保持稳定。",
    "近年来，当地坚持生态优先、绿色发展，森林覆盖率达到百分之六十五以上。",
    "据了解，这批签约项目涵盖新材料、生物医药、现代物流等多个领域。",
    "学校负责人介绍，新校区可提供学位二千四百个，将于秋季学期投入使用。",
    "医保部门表示，将持续推进异地就医直接结算，让群众少跑腿。",
    "依托口岸优势，跨境电商进出口额连续三年保持两位数增长。",
    "村民们说，产业发展起来了，在家门口就能就业，日子越过越红火。",
    "根据《&lt;关于加快发展数字经济的意见&gt;实施方案》，全省将建设一批数字化车间。",
)  # fmt: skip
STOCKS = (
    ("0.000538", "云南白药"), ("1.600096", "云天化"), ("1.600459", "贵研铂业"),
    ("0.000807", "云铝股份"), ("0.300142", "沃森生物"), ("1.600422", "昆药集团"),
    ("1.600497", "驰宏锌锗"), ("0.002053", "云南能投"),
)  # fmt: skip
STOCK_SENTENCES = (
    "板块方面，{stock}等相关个股盘中表现活跃。",
    "{stock}相关负责人表示，公司将持续加大在滇投资力度。",
    "从上市公司看，{stock}一季度营业收入同比增长。",
)  # fmt: skip
BOARDS = (("90.BK0493", "新能源"), ("90.BK0727", "医疗服务"), ("90.BK0478", "有色金属"))
TABLE_ROWS = (
    ("地区生产总值", "亿元"), ("规模以上工业增加值", "亿元"), ("固定资产投资", "亿元"),
    ("社会消费品零售总额", "亿元"), ("接待游客", "万人次"), ("外贸进出口", "亿元"),
)  # fmt: skip
# Only in pages that declare no encoding (written in GB18030): a character
# GBK has not, so a page guessed as GBK, UTF-8 or cp1252 decodes wrongly.
GB18030_ONLY_SENTENCE = "展厅里还陈列着南汉刘䶮时期的铜镜复制品，吸引不少市民驻足观看。"


def _title(rng: random.Random) -> str:
    return rng.choice(PLACES) + rng.choice(SUBJECTS) + rng.choice(PREDICATES)


def _stock(rng: random.Random) -> str:
    code, name = rng.choice(STOCKS)
    market, number = code.split(".")
    link = f"http://quote.eastmoney.com/unify/r/{code}"
    if rng.random() < 0.6:
        return (
            f'<span id="stock_{code}"><a href="{link}" class="keytip" '
            f'data-code="{market},{number}">{name}</a></span>'
            f'<span id="quote_{code}"></span>'
        )
    return (
        f'<span web="1" href="{link}" class="em_stock_key_common" '
        f'data-code="{market},{number}">{name}</span>'
    )


def _board(rng: random.Random) -> str:
    code, name = rng.choice(BOARDS)
    return (
        f'<span id="bk_{code}"><a href="http://quote.eastmoney.com/unify/r/{code}" '
        f'class="keytip" data-code="{code.replace(".", ",")}">{name}</a></span>'
        f'<span id="bkquote_{code}"></span>'
    )


def _chart(rng: random.Random) -> str:
    code, _name = rng.choice(STOCKS)
    market, number = code.split(".")
    return (
        '<!-- EM_StockImg_Start --><p style="text-align:center;">'
        f'<a href="http://quote.eastmoney.com/unify/r/{code}" '
        f'data-code="{number}|{market}|7" data-code2="{number}|{market}|3|" '
        'class="EmImageRemark" target="_blank">'
        f'<img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid={code}'
        f'&imageType=k&token={_crc(code):08x}&at=1" border="0" alt="K图 {number}_0" '
        f'data-code="K {number}|{market}|7" style="border:#d1d1d1 1px solid;" '
        'width="578" height="276" /></a></p><!-- EM_StockImg_End -->'
    )


def _table(rng: random.Random) -> str:
    rows = rng.sample(TABLE_ROWS, 3)
    cells = "".join(
        f'<tr><td style="text-align:left;">{name}</td><td>{rng.randint(50, 9000)}.'
        f"{rng.randint(0, 9)}</td><td>{unit}</td>"
        f"<td>{rng.randint(1, 15)}.{rng.randint(0, 9)}%</td></tr>"
        for name, unit in rows
    )
    return (
        '<table class="data-table" border="1" cellspacing="0" style="width:100%;" '
        'data-source="tjj"><thead><tr><th>指标</th><th>数值</th><th>单位</th>'
        f"<th>同比增长</th></tr></thead><tbody>{cells}</tbody></table>"
    )


@lru_cache(maxsize=4096)
def make_body(feed: str, serial: int, info_code: str, outlet: str, gb18030: bool) -> str:
    """The raw body HTML of a generated article, widget junk and all."""
    rng = random.Random(f"body:{feed}:{serial}")
    indent = "\u3000\u3000" if rng.random() < 0.5 else ""
    parts: list[str] = []
    if rng.random() < 0.3:
        parts.append('<p style="display:none;height:1px;overflow:hidden;"><br /></p>')
    if rng.random() < 0.4:
        parts.append(_chart(rng))
    paragraphs = rng.randint(3, 7)
    stock_at = rng.randrange(paragraphs) if rng.random() < 0.7 else -1
    board_at = rng.randrange(paragraphs) if rng.random() < 0.4 else -1
    figure_at = rng.randrange(paragraphs) if rng.random() < 0.3 else -1
    table_at = rng.randrange(paragraphs) if rng.random() < 0.25 else -1
    for i in range(paragraphs):
        text = "".join(rng.sample(SENTENCES, rng.randint(1, 3)))
        if i == stock_at:
            text += rng.choice(STOCK_SENTENCES).format(stock=_stock(rng))
        if i == board_at:
            text = f"受{_board(rng)}等板块带动，" + text
        if gb18030 and i == paragraphs - 1:
            text += GB18030_ONLY_SENTENCE
        if rng.random() < 0.25:
            attrs = f' id="p{i}" data-role="para" style="text-indent:2em;"'
        else:
            attrs = ""
        parts.append(f"<p{attrs}>{indent}{text}</p>")
        if i == figure_at:
            parts.append(
                '<p style="text-align:center;"><img src="/images/'
                f'{info_code}-{i}.jpg" alt="图片" width="600" '
                'style="border:#d1d1d1 1px solid;padding:3px;" /></p>'
                f'<p style="text-align:center;">图片来源：{outlet}</p>'
            )
        if i == table_at:
            parts.append(_table(rng))
    parts.append(f'<p class="em_media">（文章来源：{outlet}）</p>')
    return "".join(parts)


def read_seed_body() -> str:
    return SEED_BODY_PATH.read_text(encoding="utf-8")


# --- Faults ----------------------------------------------------------------

LONG_INFO_CODE = "KMRB-fault-long-" + "x" * 54  # 70 characters


def fault_codes() -> dict[str, dict[str, str]]:
    """feed → {reason: infoCode} of the faulty items (SPEC §7)."""
    return {
        "kunmingribao": {
            "no_title": "KMRB-fault-no-title",
            "bad_date": "KMRB-fault-bad-date",
            "empty_body": "KMRB-fault-empty-body",
            "long_info_code": LONG_INFO_CODE,
            "http_404": "KMRB-fault-404",
            "http_500": "KMRB-fault-500",
        },
        "yunnanribao": {
            "not_json": "YNRB-fault-not-json",
            "no_title": "YNRB-fault-no-title",
        },
        "yunnanwang": {
            "no_info_code": "",  # the record has no infoCode at all
            "bad_info_code": "../../etc/passwd",
        },
    }


# --- The source ------------------------------------------------------------


@dataclass
class _Feed:
    spec: FeedSpec
    published: list[Article] = field(default_factory=list)  # oldest first


class Source:
    """Every feed's articles, newest first, and what was published since."""

    def __init__(self, articles: int, per_page: int, faults: bool, now: datetime):
        if articles < 1 or per_page < 1:
            raise ValueError("articles and per_page must be at least 1")
        self.articles = articles
        self.per_page = per_page
        self.now = now.astimezone(TZ)
        self._feeds = {name: _Feed(spec) for name, spec in FEEDS.items()}
        self._lock = threading.Lock()
        self.faults = fault_codes() if faults else {}
        self._fault_articles: dict[str, Article] = {}
        # Articles changed since publication (a correction): infoCode → (title, body), None kept.
        self.revised: dict[str, tuple[str | None, str | None]] = {}
        self.gone: set[str] = set()  # articles taken down since: answered 404
        for feed, reasons in self.faults.items():
            for k, (reason, code) in enumerate(reasons.items()):
                # yunnanwang's faults are list records, not articles
                if feed != "yunnanwang":
                    self._fault_articles[code] = self._fault_article(feed, reason, code, k)

    # Articles -------------------------------------------------------------

    def count(self, feed: str) -> int:
        return self.articles + len(self._feeds[feed].published)

    def base_article(self, feed: str, serial: int) -> Article:
        if feed == "kunmingribao" and serial == 0:
            return Article(
                SEED_INFO_CODE, feed, -1, SEED_TITLE,
                datetime(2022, 2, 20, 14, 29, 54, tzinfo=TZ), SEED_DATE_TEXT, SEED_OUTLET,
            )  # fmt: skip
        spec = FEEDS[feed]
        position = self.articles - 1 - serial  # 0: the newest
        minutes = 15 * (position + 1) + _crc(f"{feed}:{position}") % 9 - 4
        style = serial % DATE_FORMATS
        when = self.now.replace(second=0, microsecond=0) - timedelta(minutes=minutes)
        if _has_seconds(style):
            when += timedelta(seconds=_crc(f"s:{feed}:{serial}") % 60)
        rng = random.Random(f"title:{feed}:{serial}")
        return Article(
            f"NW{spec.code}{serial:08d}", feed, serial, _title(rng), when,
            format_date(when, style), spec.outlets[serial % len(spec.outlets)],
            style=style,
        )  # fmt: skip

    def at(self, feed: str, position: int) -> Article | None:
        """The article at ``position`` of ``feed`` (0: the newest)."""
        published = self._feeds[feed].published
        with self._lock:
            n_pub = len(published)
            if 0 <= position < n_pub:
                return published[n_pub - 1 - position]
        position -= n_pub
        if 0 <= position < self.articles:
            return self.base_article(feed, self.articles - 1 - position)
        return None

    def lookup(self, info_code: str) -> Article | None:
        if info_code in self._fault_articles:
            return self._fault_articles[info_code]
        if info_code == SEED_INFO_CODE:
            return self.base_article("kunmingribao", 0)
        if len(info_code) != 14 or not info_code.startswith("NW"):
            return None
        feed, digits = _BY_CODE.get(info_code[2:6]), info_code[6:]
        if feed is None or not digits.isdigit():
            return None
        serial = int(digits)
        if serial < self.articles:
            if feed == "kunmingribao" and serial == 0:
                return None  # the seed stands in for it
            return self.base_article(feed, serial)
        published = self._feeds[feed].published
        with self._lock:
            index = serial - self.articles
            return published[index] if index < len(published) else None

    def info_codes(self, feed: str) -> list[str]:
        """Every good article of ``feed``, newest first."""
        return [a.info_code for a in self.page_slice(feed, 0, self.count(feed))]

    def page_slice(self, feed: str, start: int, stop: int) -> list[Article]:
        out = []
        for position in range(max(start, 0), min(stop, self.count(feed))):
            article = self.at(feed, position)
            if article is not None:
                out.append(article)
        return out

    def pages(self, feed: str) -> int:
        return max(1, -(-self.count(feed) // self.per_page))

    def page_of(self, feed: str, info_code: str) -> int:
        """The listing page of ``info_code`` (its first), 0 if not listed."""
        if info_code == SEED_INFO_CODE and feed == "kunmingribao":
            return (self.count(feed) - 1) // self.per_page + 1
        for page in range(1, self.pages(feed) + 1):
            start = (page - 1) * self.per_page
            codes = [a.info_code for a in self.page_slice(feed, start, start + self.per_page)]
            if info_code in codes:
                return page
        return 0

    def seed_page(self) -> int:
        return self.page_of("kunmingribao", SEED_INFO_CODE)

    def revise(
        self, info_code: str, title: str | None, body: str | None, gone: bool = False
    ) -> bool:
        """Change an article's title and/or body from now on (a correction),
        or take it down (``gone``: 404); False if there is no such article."""
        if self.lookup(info_code) is None:
            return False
        with self._lock:
            if gone:
                self.gone.add(info_code)
            old_title, old_body = self.revised.get(info_code, (None, None))
            self.revised[info_code] = (title or old_title, body or old_body)
        return True

    def current(self, article: Article) -> Article:
        """``article`` with its title as revised (:meth:`revise`)."""
        if article.info_code in self.gone:
            return dataclasses.replace(article, fault="http_404")
        title = self.revised.get(article.info_code, (None, None))[0]
        return dataclasses.replace(article, title=title) if title else article

    def body(self, article: Article) -> str:
        revised = self.revised.get(article.info_code, (None, None))[1]
        if revised:
            return revised
        if article.info_code == SEED_INFO_CODE:
            return read_seed_body()
        if article.fault == "empty_body":
            return ""
        serial = article.serial if article.serial >= 0 else _crc(article.info_code)
        gb18030 = FEEDS[article.feed].gbk and self.gbk_style(article)[0] == "none"
        return make_body(article.feed, serial, article.info_code, article.outlet, gb18030)

    def gbk_style(self, article: Article) -> tuple[str, str]:
        return GBK_STYLES[max(article.serial, 0) % len(GBK_STYLES)]

    # Publishing -----------------------------------------------------------

    def publish(self, feed: str, n: int, clock: datetime) -> list[str]:
        """Put ``n`` newer articles at the top of ``feed``; their infoCodes,
        newest first (as page 1 lists them)."""
        target, outlet = ALIASES.get(feed, (feed, None))
        if target not in self._feeds:
            raise KeyError(feed)
        if n < 0:
            raise ValueError("n must not be negative")
        state = self._feeds[target]
        spec = state.spec
        clock = clock.astimezone(TZ).replace(microsecond=0)
        codes = []
        with self._lock:
            for _ in range(n):
                serial = self.articles + len(state.published)
                newest = (
                    state.published[-1].date
                    if state.published
                    else (self.base_article(target, self.articles - 1).date)
                )
                assert newest is not None
                when = max(clock, newest + timedelta(seconds=1))
                style = 0 if serial % 2 == 0 else 3  # both with seconds: stays ordered
                rng = random.Random(f"title:{target}:{serial}")
                article = Article(
                    f"NW{spec.code}{serial:08d}", target, serial, _title(rng), when,
                    format_date(when, style),
                    outlet or spec.outlets[serial % len(spec.outlets)], style=style,
                )  # fmt: skip
                state.published.append(article)
                codes.append(article.info_code)
        return codes[::-1]  # as listed: newest first

    # Faults ---------------------------------------------------------------

    def _fault_article(self, feed: str, reason: str, code: str, k: int) -> Article:
        rng = random.Random(f"fault:{code}")
        # listed at row 1 + 2k of page 1: between the good ones around it
        minutes = 15 * (2 * k + 1) + 7
        when = self.now.replace(second=0, microsecond=0) - timedelta(minutes=minutes)
        text = "not a date" if reason == "bad_date" else format_date(when, 0)
        title = "" if reason == "no_title" else _title(rng)
        return Article(
            code, feed, -1, title, None if reason == "bad_date" else when, text,
            FEEDS[feed].outlets[0], fault=reason,
        )  # fmt: skip

    def fault_articles(self, feed: str) -> list[Article]:
        return [a for a in self._fault_articles.values() if a.feed == feed]


def html_text(text: str) -> str:
    return escape(text, quote=False)


def html_attr(text: str) -> str:
    return escape(text, quote=True)
