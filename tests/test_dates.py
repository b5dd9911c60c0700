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
    ],
)
def test_common_formats(text, tz, expected):
    assert parse_date(text, tz).strftime("%Y-%m-%d %H:%M:%S %z") == expected


@pytest.mark.parametrize("text", ["", "not a date", "12:30", "2022-13-45 99:99", "今天"])
def test_not_dates(text):
    with pytest.raises(ValueError):
        parse_date(text, SH)
