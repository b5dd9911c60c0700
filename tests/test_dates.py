from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from crawler.dates import parse_date

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2022-02-20 14:29:54", SH, "2022-02-20 14:29:54 +0800"),
        ("2022/2/20 14:29", SH, "2022-02-20 14:29:00 +0800"),
        ("2022年02月20日 14:29", SH, "2022-02-20 14:29:00 +0800"),
        ("2022年2月20日14时29分", SH, "2022-02-20 14:29:00 +0800"),
        ("2022-02-20T06:29:54+00:00", SH, "2022-02-20 14:29:54 +0800"),
        ("2022-02-20T14:29:54+08:00", SH, "2022-02-20 14:29:54 +0800"),
        ("  2022-02-20 14:29:54\n", SH, "2022-02-20 14:29:54 +0800"),
        # A feed in another zone: its own offset, daylight saving included.
        ("2022-07-01 12:00", ZoneInfo("Europe/Berlin"), "2022-07-01 12:00:00 +0200"),
        ("2022-01-01 12:00", ZoneInfo("Europe/Berlin"), "2022-01-01 12:00:00 +0100"),
        ("2022-02-20T06:29:54.250Z", SH, "2022-02-20 14:29:54 +0800"),
        ("Sun, 20 Feb 2022 06:29:54 GMT", SH, "2022-02-20 14:29:54 +0800"),
        ("20220220", SH, "2022-02-20 00:00:00 +0800"),
    ],
)
def test_common_formats(text, tz, expected):
    assert parse_date(text, tz).strftime("%Y-%m-%d %H:%M:%S %z") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # As real pages print them: a label before, words after, a weekday between.
        ("发布时间：2026年11月30日 14:00", "2026-11-30 14:00:00 +0800"),
        ("时间：2026-11-30 14:00", "2026-11-30 14:00:00 +0800"),
        ("2026-11-30 14:00:00 来源:云南网", "2026-11-30 14:00:00 +0800"),
        ("2026年11月30日 星期一 14:00", "2026-11-30 14:00:00 +0800"),
        ("2026-11-30 14:00 | 编辑：张三", "2026-11-30 14:00:00 +0800"),
        ("发布时间: 2026/11/30 9:05", "2026-11-30 09:05:00 +0800"),
        ("2026年11月30日 周一 14时05分", "2026-11-30 14:05:00 +0800"),
        ("\n  来源：昆明日报  2026-11-30 14:00  浏览：123 \n", "2026-11-30 14:00:00 +0800"),
        # The first date-time counts, not a later "updated" one.
        ("2026-11-30 14:00 更新：2026-12-01 09:30", "2026-11-30 14:00:00 +0800"),
        ("发布于2026-11-30T06:00:00+00:00（北京时间14时）", "2026-11-30 14:00:00 +0800"),
        # A date without a time of day is that day at 00:00 in the feed's zone.
        ("2026-11-30", "2026-11-30 00:00:00 +0800"),
        ("发布日期：2026年11月30日", "2026-11-30 00:00:00 +0800"),
        ("2026年11月30日 星期一 来源：云南日报", "2026-11-30 00:00:00 +0800"),
    ],
)
def test_dates_with_words_around_them(text, expected):
    assert parse_date(text, SH).strftime("%Y-%m-%d %H:%M:%S %z") == expected


@pytest.mark.parametrize(
    "text",
    ["", "not a date", "12:30", "2022-13-45 99:99", "今天", "发布时间：今天 14:00",
     "时间：2026-11-31 14:00", "浏览次数：12345"],
)
def test_not_dates(text):
    with pytest.raises(ValueError):
        parse_date(text, SH)
