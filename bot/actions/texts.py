"""Small pieces of text the actions put into replies, in each customer language (whole replies live in domain.yml)."""

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handoff import ReplyWindow

LANGUAGE_NAMES = {
    "en": {"en": "English", "ja": "Japanese", "ko": "Korean"},
    "ja": {"en": "英語", "ja": "日本語", "ko": "韓国語"},
    "ko": {"en": "영어", "ja": "일본어", "ko": "한국어"},
}

QUEUE_NAMES = {
    "en": {
        "billing": "billing",
        "technical": "technical support",
        "account": "account",
        "orders": "orders",
        "general": "customer support",
    },
    "ja": {
        "billing": "お支払い担当",
        "technical": "技術サポート",
        "account": "アカウント担当",
        "orders": "ご注文担当",
        "general": "カスタマーサポート",
    },
    "ko": {"billing": "결제", "technical": "기술 지원", "account": "계정", "orders": "주문", "general": "고객 지원"},
}


def language_name(article_lang: str, customer_lang: str) -> str:
    """The name of `article_lang` in the customer's language."""
    return LANGUAGE_NAMES.get(customer_lang, LANGUAGE_NAMES["en"]).get(article_lang, article_lang)


def queue_name(queue: str, customer_lang: str) -> str:
    """A queue's name as the customer should read it."""
    return QUEUE_NAMES.get(customer_lang, QUEUE_NAMES["en"]).get(queue, queue)


EXPECT_WITHIN_MINUTES = {
    "en": "Our team will reply within {n} minutes.",
    "ja": "{n}分以内に担当者から返信いたします。",
    "ko": "{n}분 이내에 상담원이 답변드립니다.",
}
EXPECT_WITHIN_HOURS = {
    "en": "Our team will reply within {n} hour(s).",
    "ja": "{n}時間以内に担当者から返信いたします。",
    "ko": "{n}시간 이내에 상담원이 답변드립니다.",
}
EXPECT_BY = {
    "en": "Our team is away right now; expect a first reply by {when}.",
    "ja": "ただいま営業時間外です。{when}までに担当者から最初の返信をいたします。",
    "ko": "지금은 상담 시간이 아닙니다. {when}까지 첫 답변을 드립니다.",
}
EXPECT_BY_OPEN = {
    "en": "Expect a first reply from our team by {when}.",
    "ja": "{when}までに担当者から最初の返信をいたします。",
    "ko": "{when}까지 상담원이 첫 답변을 드립니다.",
}
WEEKDAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
    "ko": ("월", "화", "수", "목", "금", "토", "일"),
}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")  # fmt: skip


def _moment(when: datetime, customer_lang: str) -> str:
    """A local moment as a customer reads it, with the UTC offset so it is clear in any time zone."""
    offset = when.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset not in ("", "+0000") else "UTC"
    day = WEEKDAY_NAMES.get(customer_lang, WEEKDAY_NAMES["en"])[when.weekday()]
    clock = when.strftime("%H:%M")
    if customer_lang == "ja":
        return f"{when.month}月{when.day}日({day}) {clock}（{zone}）"
    if customer_lang == "ko":
        return f"{when.month}월 {when.day}일({day}) {clock} ({zone})"
    return f"{day} {when.day} {MONTH_NAMES[when.month - 1]}, {clock} ({zone})"


def reply_expectation(window: ReplyWindow, customer_lang: str) -> str:
    """When the customer can expect a first reply, in their language: "within N minutes/hours" while the team is
    on duty and the deadline is near, otherwise the day and time from the SLA and the queue's business hours."""
    wait = window.due - window.now
    if window.open_now and wait <= timedelta(hours=12):
        if wait <= timedelta(minutes=90):
            table, n = EXPECT_WITHIN_MINUTES, max(5, math.ceil(wait.total_seconds() / 60 / 5) * 5)
        else:
            table, n = EXPECT_WITHIN_HOURS, math.ceil(wait.total_seconds() / 3600)
        return table.get(customer_lang, table["en"]).format(n=n)
    table = EXPECT_BY_OPEN if window.open_now else EXPECT_BY
    when = _moment(window.due.astimezone(ZoneInfo(window.timezone)), customer_lang)
    return table.get(customer_lang, table["en"]).format(when=when)
