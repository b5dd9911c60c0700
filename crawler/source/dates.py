"""Publication times as the source writes them (SPEC §2.2)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from dateutil import parser as dateparser

# The first date in the text, with the time of day that follows it if any:
# a label before it (发布时间：) or words after it (来源:云南网, | 编辑：张三) are
# left out; a weekday (星期一, 周一) or a "T" may stand between date and time.
_DATE_TIME = re.compile(
    r"""
    (?<!\d)
    (?P<year>\d{4}) \s* (?:[-/.]|年) \s* (?P<month>\d{1,2}) \s* (?:[-/.]|月) \s*
    (?P<day>\d{1,2}) (?!\d) \s* 日?
    (?:
        (?: \s* | T ) (?: (?:星期|周|礼拜) [一二三四五六日天] \s* )?
        (?: (?P<half>上午|下午|晚上|凌晨) \s* )?
        (?P<time>
            (?P<hour>\d{1,2}) \s* [:：时] \s* (?P<minute>\d{1,2}) (?!\d)
            (?: \s* [:：分] \s* (?P<second>\d{1,2}(?:[.,]\d+)?) (?![\d.,]) )?
        )
        (?: \s* (?P<ampm>[AaPp]\.?[Mm]\.?) (?![A-Za-z]) )?
        (?P<zone> [+-]\d{2}:?\d{2} (?!\d) | \s? Z (?![A-Za-z]) )?
    )?
    """,
    re.VERBOSE,
)

# 下午 2:29 is 14:29; 上午/凌晨 are before noon (a 24-hour time is taken as it is).
_HALVES = {"上午": "AM", "凌晨": "AM", "下午": "PM", "晚上": "PM"}


def parse_date(text: str, tz: tzinfo) -> datetime:
    """``text`` as an aware datetime in ``tz``; a time without offset is in ``tz``.

    Reads ``2022-02-20 14:29:54``, ``2022/2/20 14:29``, ``2022年02月20日 14:29``,
    ``2022年2月20日14时29分``, ISO 8601 with an offset, also with a label or other
    words around them (``发布时间：2022-02-20 14:29``, ``2022-02-20 14:29 来源:云南网``,
    ``2022年2月20日 星期日 14:29``): the first date in the text counts, with the
    time of day right after it; a date without one is at 00:00. Text without such
    a date is left to python-dateutil whole (``Sun, 20 Feb 2022 06:29:54 GMT``).
    Raises ValueError for anything that is not a date.
    """
    found = _DATE_TIME.search(text)
    if found is not None:
        value = _plain(found, tz)
        if value is not None:
            return value
        when = "{}-{}-{}".format(found["year"], found["month"], found["day"])
        if found["time"]:
            when += " {}:{}:{}".format(found["hour"], found["minute"], found["second"] or "0")
            half = _HALVES.get(found["half"]) or (found["ampm"] or "").replace(".", "").upper()
            if half and int(found["hour"]) <= 12:
                when += f" {half}"
            when += (found["zone"] or "").replace(" ", "")
    else:
        when = text.strip()
        if not re.search(r"\d{4}", when):
            raise ValueError(f"not a date: {text!r}")
    try:
        value = dateparser.parse(when, yearfirst=True)
    except (ValueError, OverflowError, dateparser.ParserError) as e:
        raise ValueError(f"not a date: {text!r}") from e
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value.astimezone(tz)


def _plain(found: re.Match[str], tz: tzinfo) -> datetime | None:
    """The match read directly, when it is plainly valid: what python-dateutil
    reads it as, without its tokenizer (a sixth of the cost); None otherwise
    (a fraction of a second, a value out of range), for dateutil to decide."""
    second = found["second"]
    if second is not None and not second.isdigit():
        return None
    hour = minute = 0
    if found["time"]:
        hour, minute = int(found["hour"]), int(found["minute"])
        half = _HALVES.get(found["half"]) or (found["ampm"] or "").replace(".", "").upper()
        if half and hour <= 12:
            if half == "PM" and hour < 12:
                hour += 12
            elif half == "AM" and hour == 12:
                hour = 0
    zone = (found["zone"] or "").strip()
    offset: tzinfo | None = None
    if zone and (found["half"] or found["ampm"]):
        return None  # dateutil reads "PMZ" as one unknown zone name
    if zone == "Z":
        offset = timezone.utc
    elif zone:
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        offset = timezone(-delta if zone[0] == "-" else delta)
    try:
        value = datetime(
            int(found["year"]),
            int(found["month"]),
            int(found["day"]),
            hour,
            minute,
            int(second or 0),
            tzinfo=offset,
        )
        return value.replace(tzinfo=tz) if offset is None else value.astimezone(tz)
    except (ValueError, OverflowError):
        return None
