"""The body cleaner (SPEC §3.2): crawler/cleaning/cleaner.py."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from crawler.cleaning.cleaner import BodyCleaner, is_safe
from crawler.cleaning.eastmoney import RULES as EASTMONEY
from crawler.cleaning.rules import GENERIC, load_rules
from crawler.source.catalog import CatalogError, parse_catalog

ROOT = Path(__file__).resolve().parent.parent
BODIES = ROOT / "tests" / "data" / "bodies"
SEED = ROOT / "tests" / "data" / "seed" / "2022-02-20-NW202202202282281459.md"
SEED_RAW = ROOT / "replica" / "data" / "seed-raw-body.html"
SEED_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202202202282281459"
EM_URL = "http://finance.eastmoney.com/a/202205262391921712.html"
BASE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=X"

WIDGET_MARKUP = (
    "keytip",
    "infokey",
    'id="stock_',
    'id="bk_',
    "quote_",
    "EM_StockImg",
    "em_stock_key_common",
    "data-",
    "style=",
    "<center",
    "<!--",
)


@pytest.fixture(scope="module")
def cleaner() -> BodyCleaner:
    return BodyCleaner(rules=EASTMONEY)  # the shipped feeds' (the catalog's default)


def seed_body() -> str:
    text = SEED.read_text(encoding="utf-8")
    front_end = text.index("---\n", 4) + len("---\n")
    return text[front_end : text.index("\n\n<http")]


def text_of(html: str, minus: tuple[str, ...] = ()) -> str:
    """The text a reader sees, whitespace and U+3000 removed, minus ``minus``."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in root.xpath("//script | //style | //comment()"):
        el.drop_tree()
    text = re.sub(r"[\s\u3000]+", "", root.text_content())
    for dropped in minus:
        dropped = re.sub(r"[\s\u3000]+", "", dropped)
        assert dropped in text, dropped
        text = text.replace(dropped, "", 1)
    return text


def check_output(out: str) -> None:
    """What every cleaned body must be: one safe block, no blank line."""
    assert out == out.strip()
    assert "\n" not in out and "\r" not in out
    assert is_safe(out), out
    for pair in ("{{", "}}", "{%", "%}"):
        assert pair not in out


def clean(cleaner: BodyCleaner, html: str, base_url: str = BASE) -> str:
    out = cleaner.clean(html, base_url)
    check_output(out)
    assert cleaner.clean(out, base_url) == out, "not idempotent"
    return out


# --- the reference bodies ----------------------------------------------------

EASTMONEY_CLEAN = (
    "<p>国内首款使用超低GWP(全球变暖潜值)制冷剂的新能源汽车来了！</p>"
    "<p>据霍尼韦尔官网消息，5月24日，霍尼韦尔宣布为蔚来旗下ET7新能源汽车提供HFO-1234yf(四氟丙烯)"
    "制冷剂。据悉，这也标志着蔚来成为国内首家使用HFO-1234yf制冷剂的汽车企业。</p>"
    '<p><img src="https://dfscdn.dfcfw.com/download/D24676903417074885805_w800h555.jpg" alt="Image"></p>'
    "<p>图片来源：霍尼韦尔官网</p>"
    "<p>据记者了解，作为第四代制冷剂，HFO-1234yf制冷剂产品GWP小于1，与目前国内市场使用的氢氟碳化物"
    "(HFC)制冷剂相比，其全球变暖潜值降低达99.9%。</p>"
    "<p>新的产品带来新的机会。据记者采访，目前A股已有部分制冷剂生产企业具备产能，国内大型制冷剂生产企业"
    "亦均将其作为未来新的业绩增长点。具体来看，巨化股份、联创股份已有HFO-1234yf产品。</p>"
    "<p>据了解，《&lt;蒙特利尔议定书&gt;基加利修正案》(以下简称《基加利修正案》)已于2021年9月正式"
    "对我国生效。</p>"
    '<p class="em_media">（文章来源：上海证券报）</p>'
)


def test_eastmoney_raw_body_cleans_exactly(cleaner: BodyCleaner) -> None:
    raw = (BODIES / "eastmoney-raw-body.html").read_text(encoding="utf-8")
    out = clean(cleaner, raw, EM_URL)
    assert out == EASTMONEY_CLEAN
    assert text_of(out) == text_of(raw)
    assert not is_safe(raw)  # style attributes


def test_seed_body_passes_through_unchanged(cleaner: BodyCleaner) -> None:
    body = seed_body()
    assert body.startswith("<p><strong>") and body.endswith(
        '<p class="em_media">（文章来源：昆明日报）</p>'
    )
    assert cleaner.clean(body, SEED_URL) == body


def test_seed_raw_body_cleans_to_the_seed_body(cleaner: BodyCleaner) -> None:
    raw = SEED_RAW.read_text(encoding="utf-8")
    # it really is the source's junk-wrapped page body
    for junk in (
        "　　",
        'style="',
        'id="p',
        "data-",
        'id="stock_',
        'id="bk_',
        'id="Info.',
        "infokey",
        "em_stock_key_common",
        'id="quote_',
        'id="bkquote_',
        "EM_StockImg_Start",
        "display:none",
        "em_handle_adv_close",
        "toplink",
        "一站式开户交易",
        "<script",
        "<!--",
        "\n\n",
    ):
        assert junk in raw, junk
    out = cleaner.clean(raw, SEED_URL)
    assert out == seed_body()
    assert text_of(out) == text_of(
        raw,
        minus=(
            "全新妙想投研助理，立即体验",
            "（本报记者 上述内容仅供校对）",
            "在东方财富看资讯行情，选东方财富证券一站式开户交易>>",
        ),
    )


def test_seed_raw_body_as_a_spider_extracts_it(cleaner: BodyCleaner) -> None:
    from parsel import Selector

    raw = SEED_RAW.read_text(encoding="utf-8")
    page = f'<html><body><h1>标题</h1><div id="ContentBody">{raw}</div>\n</body></html>'
    body = Selector(text=page).css("#ContentBody")
    assert len(body) == 1  # the raw body brings no second #ContentBody
    assert cleaner.clean(body.get(), SEED_URL) == seed_body()
    assert cleaner.clean("".join(body.xpath("node()").getall()), SEED_URL) == seed_body()


# --- real bodies of the mirror this project replaces -----------------------------

FINEWS = sorted(BODIES.glob("finews-*.html"))
ALREADY_CLEAN = {
    "finews-2021-12-08-ff-cash.html",
    "finews-2021-12-08-guangdong-trade.html",
    "finews-2021-12-08-huaxi-funds.html",
    "finews-2021-12-08-rmb-offshore.html",
    "finews-2021-12-08-rongxin-notes.html",
    "finews-2022-02-20-kunming-investment.html",
}


def test_finews_bodies_are_present() -> None:
    assert len(FINEWS) >= 7
    assert ALREADY_CLEAN.issubset(path.name for path in FINEWS)


@pytest.mark.parametrize("path", FINEWS, ids=lambda p: p.stem)
def test_finews_body(cleaner: BodyCleaner, path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    out = clean(cleaner, raw, SEED_URL)
    assert text_of(out) == text_of(raw)
    for markup in WIDGET_MARKUP:
        assert markup not in out, markup
    if path.name in ALREADY_CLEAN:
        # Clean HTML passes through; bare text comes back as one paragraph.
        assert out == (raw if raw.startswith("<p") else f"<p>{raw}</p>")


def test_finews_raw_body_images_and_credit(cleaner: BodyCleaner) -> None:
    raw = (BODIES / "finews-2022-05-26-hfo-refrigerant.html").read_text(encoding="utf-8")
    out = clean(cleaner, raw, EM_URL)
    assert out.count("<img ") == 3
    assert "GetPic.aspx" not in out  # the chart block
    assert out.startswith("<p>国内首款") and out.endswith(
        '<p class="em_media">（文章来源：上海证券报）</p>'
    )
    assert "<p><strong>什么是HFO-1234yf</strong></p>" in out


# --- the rules, one by one ------------------------------------------------------

RULES = [
    # quote widgets, as spans and as links
    pytest.param(
        '<p>为<span id="stock_106.NIO"><a href="http://quote.eastmoney.com/unify/r/106.NIO" '
        'class="keytip" data-code="106,NIO">蔚来</a></span>旗下</p>',
        "<p>为蔚来旗下</p>",
        id="stock-span",
    ),
    pytest.param(
        '<p>为<a id="stock_1.600160" href="http://quote.eastmoney.com/unify/r/1.600160" '
        'class="keytip">巨化股份</a>旗下</p>',
        "<p>为巨化股份旗下</p>",
        id="stock-link",
    ),
    pytest.param(
        '<p>的<span id="bk_90.BK0493"><a href="http://quote.eastmoney.com/unify/r/90.BK0493" '
        'class="keytip" data-code="90,BK0493">新能源</a></span>汽车</p>',
        "<p>的新能源汽车</p>",
        id="bk-span",
    ),
    pytest.param(
        '<p>的<a id="bk_90.BK0493" href="http://quote.eastmoney.com/unify/r/90.BK0493">新能源</a>汽车</p>',
        "<p>的新能源汽车</p>",
        id="bk-link",
    ),
    pytest.param(
        '<p>新的<span id="Info.3321"><a href="http://data.eastmoney.com/bbsj/" class="infokey">业绩</a>'
        "</span>增长点</p>",
        "<p>新的业绩增长点</p>",
        id="info-span",
    ),
    pytest.param(
        '<p>新的<a href="http://data.eastmoney.com/bbsj/" class="infokey" target="_blank">业绩</a>增长点</p>',
        "<p>新的业绩增长点</p>",
        id="info-link",
    ),
    pytest.param(
        '<p>标志着<span web="1" href="http://quote.eastmoney.com/unify/r/106.NIO" '
        'class="em_stock_key_common" data-code="106,NIO">蔚来</span>成为</p>',
        "<p>标志着蔚来成为</p>",
        id="em-stock-key-common-span",
    ),
    pytest.param(
        '<p>　　<a class="em_stock_key_common" href="http://quote.eastmoney.com/r/0.002353">杰瑞股份</a>'
        "最受关注</p>",
        "<p>杰瑞股份最受关注</p>",
        id="em-stock-key-common-link",
    ),
    pytest.param(
        '<p>蔚来<span id="quote_106.NIO"></span>和新能源<span id="bkquote_90.BK0493"></span>。</p>',
        "<p>蔚来和新能源。</p>",
        id="empty-quote-spans",
    ),
    pytest.param(
        '<p>蔚来<span id="quote_106.NIO">12.34 (+1.2%)</span>涨</p>',
        "<p>蔚来涨</p>",
        id="filled-quote-span",
    ),
    # the source's advertising
    pytest.param(
        '<p>正文</p><p style="text-align:center;"><a href="https://acttg.eastmoney.com/pub/x" target="_blank">'
        '<img src="https://np-newspic.dfcfw.com/download/ad.jpg" class="em_handle_adv_close" /></a></p>'
        "<p>下文</p>",
        "<p>正文</p><p>下文</p>",
        id="ad-image",
    ),
    pytest.param(
        '<p>正文</p><img class="x em_handle_adv_close" src="/ad.jpg"><p>下文</p>',
        "<p>正文</p><p>下文</p>",
        id="bare-ad-image",
    ),
    pytest.param(
        '<p>　　<a class="toplink" target="_blank" href="https://ai.eastmoney.com/x">全新妙想投研助理，立即体验</a>'
        "</p><p>正文</p>",
        "<p>正文</p>",
        id="toplink",
    ),
    pytest.param(
        "<p>正文</p><p>在东方财富看资讯行情，选东方财富证券一站式开户交易&gt;&gt;</p>",
        "<p>正文</p>",
        id="app-promo-text",
    ),
    pytest.param(
        '<p>正文</p><p style="text-indent:2em"><a href="https://acttg.eastmoney.com/pub/y">'
        "在东方财富看资讯行情，选东方财富证券一站式开户交易&gt;&gt;</a></p>",
        "<p>正文</p>",
        id="app-promo-link",
    ),
    pytest.param(
        "<p>东方财富证券今日公告，公司拟发行公司债券，募集资金用于补充营运资金，本次发行已获证监会注册。</p>",
        "<p>东方财富证券今日公告，公司拟发行公司债券，募集资金用于补充营运资金，本次发行已获证监会注册。</p>",
        id="news-about-the-source-stays",
    ),
    pytest.param(
        "<p>东方财富证券开户数同比增长三成。</p><p>投资者开户交易活跃。</p>",
        "<p>东方财富证券开户数同比增长三成。</p><p>投资者开户交易活跃。</p>",
        id="short-news-stays",
    ),
    pytest.param(
        '<p>正文</p><p><a href="https://acttg.eastmoney.com/pub/z">下载东方财富APP，随时看行情</a></p>',
        "<p>正文</p>",
        id="app-download-link",
    ),
    # data tables
    pytest.param(
        '<table border="1" class="t" style="width:100%"><thead><tr><th colspan="2" width="50" '
        'align="center">证券</th></tr></thead><tbody><tr><td id="c1" data-v="1">002353</td>'
        '<td rowspan="2" style="color:red" class="num">杰瑞股份</td></tr></tbody></table>',
        '<table><thead><tr><th colspan="2">证券</th></tr></thead><tbody><tr><td>002353</td>'
        '<td rowspan="2">杰瑞股份</td></tr></tbody></table>',
        id="table",
    ),
    # the chart block, comments, hidden elements, presentational attributes
    pytest.param(
        '<p>前</p><!-- EM_StockImg_Start --><p style="text-align:center;"><a href="http://quote.eastmoney.com/'
        'unify/r/106.NIO" class="EmImageRemark"><img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?'
        'nid=106.NIO&amp;imageType=k" alt="K图 NIO_0" /></a></p>图说<!-- EM_StockImg_End -->后<p>后文</p>',
        "<p>前</p><p>后</p><p>后文</p>",
        id="chart-block",
    ),
    pytest.param("<p>a<!-- comment -->b</p><!-- EM_StockImg_Start -->", "<p>ab</p>", id="comments"),
    pytest.param(
        '<p style="display:none;height:1px;overflow:hidden;"><br /></p><p>正文</p>'
        '<div style="DISPLAY : NONE">隐藏</div><p hidden>也隐藏</p><span style="visibility:hidden">藏</span>',
        "<p>正文</p>",
        id="hidden",
    ),
    pytest.param(
        '<p id="p1" style="text-align:center;" data-pid="1" align="center" lang="zh" title="t">正文</p>',
        "<p>正文</p>",
        id="attributes",
    ),
    pytest.param(
        '<p class="em_media other">（文章来源：上海证券报）</p><p class="em_other">x</p>',
        '<p class="em_media">（文章来源：上海证券报）</p><p>x</p>',
        id="em-media-class",
    ),
    pytest.param(
        '<p><span style="font-family:宋体">正文</span><font color="red">红</font></p>',
        "<p>正文红</p>",
        id="presentational-spans",
    ),
    pytest.param(
        '<center><img src="https://dfscdn.dfcfw.com/download/a.jpg" alt="Image" width="552" '
        'style="border:#d1d1d1 1px solid;" /></center>',
        '<p><img src="https://dfscdn.dfcfw.com/download/a.jpg" alt="Image"></p>',
        id="center-unwrapped",
    ),
    pytest.param(
        '<div id="ContentBody" class="txtinfos"><div class="b"><p>一</p></div>\n<p>二</p></div>',
        "<p>一</p><p>二</p>",
        id="wrapper-divs-unwrapped",
    ),
    pytest.param("<div>一段<br>两行</div>", "<div>一段<br>两行</div>", id="text-div-kept"),
    # unsafe markup and URLs
    pytest.param(
        '<p>a<script type="text/javascript">var x = "<p>";</script>b</p><style>p{}</style>',
        "<p>ab</p>",
        id="script-style",
    ),
    pytest.param(
        '<p>看<iframe src="https://v.qq.com/x"></iframe>视频</p><object data="x.swf">flash</object>'
        '<embed src="y.swf">',
        "<p>看视频</p>",
        id="iframe-object-embed",
    ),
    pytest.param(
        '<form action="/s"><p>正文</p><input name="q"><button>搜索</button></form>',
        "<p>正文</p>",
        id="form",
    ),
    pytest.param(
        '<p><a href="javascript:void(0)">点我</a></p>', "<p>点我</p>", id="javascript-link"
    ),
    pytest.param(
        '<p><a href="http://finance.eastmoney.com/a/1.html" target="_blank" rel="nofollow">原文</a></p>',
        '<p><a href="http://finance.eastmoney.com/a/1.html">原文</a></p>',
        id="link-kept",
    ),
    pytest.param(
        '<p><a href="../news/1.html">相关</a></p>',
        '<p><a href="http://finews.zning.xyz/news/1.html">相关</a></p>',
        id="relative-link",
    ),
    pytest.param(
        '<p><img src="/download/a.jpg" alt="图"></p>',
        '<p><img src="http://finews.zning.xyz/download/a.jpg" alt="图"></p>',
        id="relative-image",
    ),
    pytest.param(
        '<p><img src="b.png"></p>',
        '<p><img src="http://finews.zning.xyz/html_News/b.png"></p>',
        id="relative-image-path",
    ),
    pytest.param(
        '<p><img alt="图" src="//dfscdn.dfcfw.com/download/c.jpg" width="1"></p>',
        '<p><img src="http://dfscdn.dfcfw.com/download/c.jpg" alt="图"></p>',
        id="protocol-relative-image",
    ),
    pytest.param(
        '<p><img src="data:image/gif;base64,R0lGOD" data-src="/lazy.jpg"></p>',
        '<p><img src="http://finews.zning.xyz/lazy.jpg"></p>',
        id="lazy-image",
    ),
    pytest.param(
        '<p>前<img src="data:image/png;base64,iVBORw0KGgo=">后</p>',
        "<p>前后</p>",
        id="data-image-dropped",
    ),
    # whitespace
    pytest.param(
        "<p>　　第一段</p>\n\n<p>　　<strong>　　小标题</strong></p>\r\n  \n<p>\n　　第二段\n</p>\n",
        "<p>第一段</p><p><strong>小标题</strong></p><p>第二段</p>",
        id="indentation-and-blank-lines",
    ),
    pytest.param(
        "<p>　　一行<br />　　二行<br /></p>", "<p>一行<br>二行</p>", id="indentation-after-br"
    ),
    pytest.param("<p>甲　　乙</p>", "<p>甲　　乙</p>", id="inner-ideographic-space-kept"),
    pytest.param("<p>line one\nline two</p>", "<p>line one line two</p>", id="newline-in-text"),
    pytest.param("<pre>a\n\n  b</pre>", "<pre>a&#10;&#10;  b</pre>", id="pre-keeps-its-lines"),
    pytest.param("  \n<p>正文</p>\n  ", "<p>正文</p>", id="outer-whitespace"),
    pytest.param(
        "<p>正文</p><p></p><p><br></p><p>　　</p><p>&nbsp;</p><p><span></span></p><p><strong> </strong></p>",
        "<p>正文</p>",
        id="empty-paragraphs",
    ),
    pytest.param(
        "<p><img src='https://a.example/x.jpg'></p>",
        '<p><img src="https://a.example/x.jpg"></p>',
        id="image-only-paragraph-kept",
    ),
    pytest.param("", "", id="empty"),
    pytest.param("仅文字，没有标签。", "<p>仅文字，没有标签。</p>", id="plain-text"),
    # Liquid
    pytest.param(
        "<p>{{ site.url }} 与 {% include x.html %}</p>",
        "<p>&#123;{ site.url }&#125; 与 &#123;% include x.html %&#125;</p>",
        id="liquid",
    ),
    pytest.param(
        "<p>{{{ a }}} {%raw%} 单个 { 和 } 与 {x}</p>",
        "<p>&#123;&#123;{ a }&#125;&#125; &#123;%raw%&#125; 单个 { 和 } 与 {x}</p>",
        id="liquid-runs",
    ),
    pytest.param(
        '<p><a href="http://x.example/?q={{a}}">l</a></p>',
        '<p><a href="http://x.example/?q=&#123;{a}&#125;">l</a></p>',
        id="liquid-in-attribute",
    ),
    # entities and text survive
    pytest.param(
        "<p>《&lt;蒙特利尔议定书&gt;》 A&amp;B \"引号\" 'x'</p>",
        "<p>《&lt;蒙特利尔议定书&gt;》 A&amp;B \"引号\" 'x'</p>",
        id="entities",
    ),
    pytest.param("<p>a\x00b\x07c</p>", "<p>abc</p>", id="control-characters"),
    pytest.param(
        '<?xml version="1.0" encoding="utf-8"?><p>x</p>', "<p>x</p>", id="xml-declaration"
    ),
    pytest.param(
        "<h2>标题</h2><ul><li>　　一</li>\n<li>二</li></ul><blockquote><p>引</p></blockquote><hr>"
        "<figure><img src='https://a.example/f.jpg' alt=''><figcaption>图注</figcaption></figure>",
        "<h2>标题</h2><ul><li>一</li><li>二</li></ul><blockquote><p>引</p></blockquote><hr>"
        '<figure><img src="https://a.example/f.jpg" alt=""><figcaption>图注</figcaption></figure>',
        id="news-reader-tags",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), RULES)
def test_rule(cleaner: BodyCleaner, raw: str, expected: str) -> None:
    assert clean(cleaner, raw) == expected


def test_feed_drop_selectors() -> None:
    cleaner = BodyCleaner(drop=[".ad_context3", "p.editor", "div#share > p"])
    raw = (
        '<p>第一段</p><div class="ad_context3"><script>ads()</script><p>广告</p></div>'
        '<p>第二段</p><p class="editor">（责任编辑：张三）</p><div id="share"><p>打开微信</p></div>尾'
    )
    assert clean(cleaner, raw) == "<p>第一段</p><p>第二段</p><p>尾</p>"
    # without the selectors, the feed's boilerplate is ordinary text
    assert "责任编辑" in BodyCleaner().clean(raw, BASE)


def test_drop_accepts_one_string() -> None:
    assert BodyCleaner(drop="p.editor").clean('<p class="editor">x</p><p>y</p>', BASE) == "<p>y</p>"


def test_invalid_drop_selector_is_refused() -> None:
    with pytest.raises(ValueError, match="drop selector"):
        BodyCleaner(drop=["p[[["])


def test_no_base_url_keeps_relative_urls(cleaner: BodyCleaner) -> None:
    assert cleaner.clean('<p><img src="/a.jpg"></p>', "") == '<p><img src="/a.jpg"></p>'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<html></html>", ""),
        ("<html><body><p>a</p></body></html>", "<p>a</p>"),
        ("<p>a</p></body></html><p>b</p>", "<p>a</p><p>b</p>"),
        ("<head><title>标题</title></head><p>b</p>", "<p>b</p>"),
        ("<!DOCTYPE html><p>a</p>", "<p>a</p>"),
        ("<![CDATA[x]]>y<?php echo 1 ?>z", "<p>yz</p>"),
        ("<", "<p>&lt;</p>"),
        ("a &amp b &lt c", "<p>a &amp; b &lt; c</p>"),
        ("<p", ""),
        ("</p>", ""),
        ("<p>a\x0cb\ufffe\ud800c\x85d\u2028e</p>", "<p>abcd e</p>"),
        ("<a href='http://[::1'>坏链接</a>", "<p>坏链接</p>"),
        ("<table><td>x</table>", "<table><tbody><tr><td>x</td></tr></tbody></table>"),
        (
            "<section><article><p>a</p></article></section><font>b</font><marquee>c</marquee>",
            "<p>a</p><p>bc</p>",
        ),
    ],
)
def test_odd_input(cleaner: BodyCleaner, raw: str, expected: str) -> None:
    assert clean(cleaner, raw) == expected


# --- XSS vectors -----------------------------------------------------------------

XSS = [
    "<script>alert(1)</script><p>t</p>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT><p>t</p>",
    "<p><img src=x onerror=alert(1)>t</p>",
    '<p onclick="alert(1)" onmouseover=alert(2)>t</p>',
    '<div onmouseenter="alert(1)"><b onfocus=alert(1) tabindex=0>t</b></div>',
    '<table background="javascript:alert(1)"><tr><td onclick="alert(1)">t</td></tr></table>',
    '<a href="javascript:alert(1)">t</a>',
    '<a href="jAvAsCrIpT&#58;alert(1)">t</a>',
    '<a href="  java\tscript:alert(1)">t</a>',
    '<a href="java&#x0A;script:alert(1)">t</a>',
    '<a href="&#x6A;&#x61;vascript&colon;alert(1)">t</a>',
    '<a href="&#0000106avascript:alert(1)">t</a>',
    '<a href="JAVASCRIPT:alert(1)">t</a>',
    '<iframe src="https://evil.example/"></iframe><p>t</p>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "<svg onload=alert(1)><circle r=1 /></svg><p>t</p>",
    "<svg/onload=alert(1)>",
    '<svg><a xlink:href="javascript:alert(1)"><text>t</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">t</math>',
    '<object data="javascript:alert(1)"></object><p>t</p>',
    '<embed src="https://evil.example/x.swf"><p>t</p>',
    '<form action="javascript:alert(1)"><input type="submit" value="t"></form>',
    '<form><button formaction="javascript:alert(1)">t</button><input onfocus=alert(1) autofocus></form>',
    "<style>@import 'https://evil.example/x.css';</style><p>t</p>",
    '<p style="background:url(javascript:alert(1))">t</p>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><p>t</p>',
    '<base href="javascript:alert(1)//"><p><a href="x">t</a></p>',
    '<link rel="stylesheet" href="https://evil.example/x.css"><p>t</p>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">t</a>',
    '<a href="vbscript:msgbox(1)">t</a>',
    '<img src="javascript:alert(1)"><p>t</p>',
    '<img src="x" srcset="javascript:alert(1) 1x"><p>t</p>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<p>x<!--[if IE]><script>alert(1)</script><![endif]-->y</p>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<p>{{ site }} {% include x %}</p>",
    '<video><source onerror="alert(1)"></video><audio src=x onerror=alert(1)></audio><p>t</p>',
    "<details open ontoggle=alert(1)><summary>t</summary></details>",
    '<a href="http://ok.example/" onclick="alert(1)" style="x">t</a>',
]
UNSAFE_OUTPUT = re.compile(
    r"<\s*/?\s*(?:script|style|iframe|svg|math|object|embed|form|input|button|meta|base|link|noscript|video|audio)\b"
    r"|\son[a-z]+\s*=|javascript:|vbscript:|data:|\sstyle\s*=|\{\{|\{%",
    re.I,
)


@pytest.mark.parametrize("raw", XSS)
def test_xss_vector(cleaner: BodyCleaner, raw: str) -> None:
    assert not is_safe(raw)
    out = clean(cleaner, raw)
    assert not UNSAFE_OUTPUT.search(out), out


def test_xss_vectors_keep_harmless_text(cleaner: BodyCleaner) -> None:
    assert clean(cleaner, '<a href="javascript:alert(1)">t</a>') == "<p>t</p>"
    assert clean(cleaner, "<p><img src=x onerror=alert(1)>t</p>") == (
        '<p><img src="http://finews.zning.xyz/html_News/x">t</p>'
    )
    assert clean(cleaner, '<a href="http://ok.example/" onclick="alert(1)">t</a>') == (
        '<p><a href="http://ok.example/">t</a></p>'
    )


# --- is_safe ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<p>正文</p>",
        EASTMONEY_CLEAN,
        '<p><a href="https://a.example/x?y=1&amp;z=2">l</a> <a href="mailto:a@b.example">m</a></p>',
        '<p><img src="//cdn.example/a.jpg" alt="x"><a href="/rel">r</a></p>',
        "<p>javascript: 是一种语言，onload=1 也只是文字；data: 同理</p>",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "<p>&#123;{ site }&#125;</p>",
        '<p class="em_media">（文章来源：昆明日报）</p>',
    ],
)
def test_is_safe_accepts(html: str) -> None:
    assert is_safe(html)


@pytest.mark.parametrize(
    "html",
    [
        "<script>x</script>",
        "<ScRiPt>x</ScRiPt>",
        "<p>a</p><style>p{}</style>",
        '<iframe src="https://a.example/"></iframe>',
        "<object></object>",
        "<embed>",
        "<form></form>",
        "<svg></svg>",
        "<math></math>",
        "<p onclick=x>a</p>",
        "<p/onclick=x>a</p>",
        '<p style="color:red">a</p>',
        '<a href="javascript:x">a</a>',
        "<a href='JaVaScRiPt&#x3A;x'>a</a>",
        '<a href=" &#14; javascript:x">a</a>',
        '<a href="vbscript:x">a</a>',
        '<a href="data:text/html,x">a</a>',
        '<img src="data:image/png;base64,AAAA">',
        "<img src=javascript:x>",
        "<!-- comment -->",
        "<p>{{ x }}</p>",
        "<p>{% x %}</p>",
        '<meta http-equiv="refresh" content="0">',
        '<base href="https://a.example/">',
    ],
)
def test_is_safe_rejects(html: str) -> None:
    assert not is_safe(html)


@pytest.mark.parametrize(
    "raw",
    [
        'x *y*{: onclick="alert(1)"}',
        "<p>a</p>tail [y](javascript:alert(1))",
        "<strong>b</strong> <em>c</em> loose ![i](javascript:1)",
        "<center><img src='/a.jpg'></center>text",
    ],
)
def test_nothing_is_left_for_markdown_between_blocks(cleaner: BodyCleaner, raw: str) -> None:
    """Jekyll's Markdown parses text outside HTML blocks: every top-level node is a block."""
    out = clean(cleaner, raw)
    top = lxml.html.fragment_fromstring(out, create_parent="div")
    assert not (top.text or "").strip()
    for child in top:
        assert child.tag in {
            "p",
            "div",
            "table",
            "ul",
            "ol",
            "blockquote",
            "pre",
            "hr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "figure",
        }, out
        assert not (child.tail or "").strip(), out


def feed_cleaning(value: object | None) -> str:
    spec: dict[str, object] = {"outlet": "昆明日报", "start_urls": ["http://example.com/"]}
    if value is not None:
        spec["cleaning"] = value
    return parse_catalog({"feeds": {"f": spec}})["f"].cleaning


def test_a_feed_names_its_sources_rules_in_the_catalog() -> None:
    assert feed_cleaning(None) == "crawler.cleaning.eastmoney"  # the shipped feeds' source
    assert load_rules(feed_cleaning(None)) is EASTMONEY
    assert load_rules(feed_cleaning("none")) is GENERIC
    assert load_rules(feed_cleaning("")) is GENERIC
    with pytest.raises(CatalogError, match=r"feed 'f', key 'cleaning': cannot import .*nosuch"):
        feed_cleaning("crawler.cleaning.nosuch")
    with pytest.raises(CatalogError, match=r"key 'cleaning': module 'crawler.cleaning.tree' has"):
        feed_cleaning("crawler.cleaning.tree")


def test_a_feed_without_rules_gets_the_generic_sanitizer_alone() -> None:
    raw = (
        '<p>为<span id="stock_106.NIO"><a href="http://quote.eastmoney.com/unify/r/106.NIO">'
        '蔚来</a></span>造车</p><p class="em_media">（文章来源：上海证券报）</p>'
        "<p>下载东方财富APP，查看更多行情&gt;&gt;</p>"
    )
    ours = BodyCleaner(rules=EASTMONEY).clean(raw, BASE)
    generic = BodyCleaner().clean(raw, BASE)
    assert 'class="em_media"' in ours and "东方财富APP" not in ours
    assert "class=" not in generic and "东方财富APP" in generic
    assert '<a href="http://quote.eastmoney.com/unify/r/106.NIO">蔚来</a>' in generic
