"""Everything the use cases say to customers, in each customer language: one catalogue, so the bot, the API's
own replies and any later channel word a thing the same way. (The bot's small talk and the wording of its rules
live in bot/domain.yml; the contact form's questions live with the form, in usecases/form.py.)"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handoff import ReplyWindow

Table = dict[str, str]

TICKET_CREATED: Table = {
    "en": "Thanks. I've passed your request to our {queue_name} team as ticket {ticket_ref}. {reply_expectation} "
    "You can keep this chat open; their reply will appear here.",
    "ja": "ありがとうございます。{queue_name}チームにチケット {ticket_ref} としてお渡ししました。{reply_expectation} "
    "このチャットを開いたままにしていただければ、ここに返信が届きます。",
    "ko": "감사합니다. {queue_name} 팀에 티켓 {ticket_ref}(으)로 전달했어요. {reply_expectation} "
    "이 채팅을 열어 두시면 답변이 여기에 표시됩니다.",
}
KNOWN_INCIDENT: Table = {
    "en": "Other customers have reported the same problem, so our team already knows about it and is working on it. "
    "Your ticket has been added to it.",
    "ja": "同じ問題が他のお客様からも報告されており、担当チームはすでに把握して対応中です。"
    "お客様のチケットもこの件に追加しました。",
    "ko": "다른 고객님들도 같은 문제를 알려 주셔서 담당 팀이 이미 알고 있고 해결 중이에요. "
    "고객님의 티켓도 이 건에 추가했어요.",
}
TICKET_FAILED: Table = {
    "en": "I'm sorry, I couldn't create your ticket just now. Please try again in a moment; nothing you wrote is lost.",
    "ja": "申し訳ありません。ただいまチケットを作成できませんでした。少し時間をおいてもう一度お試しください。"
    "入力内容は保存されています。",
    "ko": "죄송합니다. 지금 티켓을 만들지 못했어요. 잠시 후 다시 시도해 주세요. 작성하신 내용은 저장되어 있어요.",
}
WAITING_FOR_AGENT: Table = {
    "en": "Thanks, I've added this to your ticket {ticket}. A member of our team will reply here.",
    "ja": "ありがとうございます。チケット {ticket} に追記しました。担当者からこちらに返信いたします。",
    "ko": "감사합니다. 티켓 {ticket}에 추가했어요. 상담원이 여기로 답변드립니다.",
}
# After the handoff, in the conversation: the ticket moved to another team (an agent's escalation or transfer, or
# the SLA's escalation matrix), with when to expect a reply, or REPLY_HERE when there is no deadline to promise.
TICKET_MOVED: Table = {
    "en": "Your request {ticket_ref} is now with our {queue_name} team. {reply_expectation}",
    "ja": "チケット {ticket_ref} は{queue_name}チームが引き継ぎました。{reply_expectation}",
    "ko": "티켓 {ticket_ref}은(는) 이제 {queue_name} 팀에서 담당합니다. {reply_expectation}",
}
REPLY_HERE: Table = {
    "en": "They will reply here.",
    "ja": "担当者からこちらに返信いたします。",
    "ko": "상담원이 여기로 답변드립니다.",
}
# The ticket is resolved: the first lines of the agent's resolution (`resolution_excerpt`), and how to go on.
TICKET_RESOLVED: Table = {
    "en": "Your request {ticket_ref} is resolved: {resolution} If anything is still wrong, just reply here.",
    "ja": "チケット {ticket_ref} は解決しました：{resolution} まだ問題がある場合は、こちらにご返信ください。",
    "ko": "티켓 {ticket_ref}이(가) 해결되었어요: {resolution} 아직 문제가 있으면 여기에 답장해 주세요.",
}
BOT_UNAVAILABLE: Table = {
    "en": "Sorry, I'm having trouble answering right now. Your message is saved. Please try again in a moment, "
    'or type "talk to a person" and leave your details so our team can reply.',
    "ja": "申し訳ありません。ただいま応答に問題が発生しています。メッセージは保存されました。"
    "少し時間をおいて再度お試しいただくか、"
    "「担当者と話したい」と入力して連絡先をお残しください。",
    "ko": "죄송합니다. 지금 답변에 문제가 있어요. 메시지는 저장되었습니다. 잠시 후 다시 시도하시거나, "
    '"상담원 연결"이라고 입력하고 연락처를 남겨 주세요.',
}
# With the details form below it: the bot is unavailable, so the form is the way to a person.
BOT_UNAVAILABLE_FORM: Table = {
    "en": "Sorry, our assistant is unavailable right now. Your message is saved. To have a person from our team "
    "help you, leave your details below and we'll reply here.",
    "ja": "申し訳ありません。ただいまアシスタントをご利用いただけません。メッセージは保存されました。"
    "担当者がお手伝いしますので、下のフォームに連絡先をご記入ください。こちらに返信いたします。",
    "ko": "죄송합니다. 지금은 도우미를 이용할 수 없어요. 메시지는 저장되었습니다. "
    "상담원의 도움을 받으시려면 아래에 연락처를 남겨 주세요. 여기로 답변드립니다.",
}
LANGUAGE_NAMES: dict[str, Table] = {
    "en": {"en": "English", "ja": "Japanese", "ko": "Korean"},
    "ja": {"en": "英語", "ja": "日本語", "ko": "韓国語"},
    "ko": {"en": "영어", "ja": "일본어", "ko": "한국어"},
}
EXPECT_WITHIN_MINUTES: Table = {
    "en": "Our team will reply within {n} minutes.",
    "ja": "{n}分以内に担当者から返信いたします。",
    "ko": "{n}분 이내에 상담원이 답변드립니다.",
}
EXPECT_WITHIN_HOURS: Table = {
    "en": "Our team will reply within {n} hour(s).",
    "ja": "{n}時間以内に担当者から返信いたします。",
    "ko": "{n}시간 이내에 상담원이 답변드립니다.",
}
EXPECT_BY: Table = {
    "en": "Our team is away right now; expect a first reply by {when}.",
    "ja": "ただいま営業時間外です。{when}までに担当者から最初の返信をいたします。",
    "ko": "지금은 상담 시간이 아닙니다. {when}까지 첫 답변을 드립니다.",
}
EXPECT_BY_OPEN: Table = {
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
# "Within N minutes" while the deadline is this near (rounded up to five minutes), "within N hours" up to the day's
# horizon; beyond it, or with the team away, the day and time.
MINUTES_HORIZON = timedelta(minutes=90)
HOURS_HORIZON = timedelta(hours=12)
RESOLUTION_EXCERPT_CHARS = 300  # of the agent's resolution, the customer is told at most this much
SENTENCE_ENDS = ".!?。！？…"


def say(table: Table, lang: str, **values: object) -> str:
    """The entry of `table` in `lang` (English if the table lacks it), its {placeholders} filled.

    >>> say(WAITING_FOR_AGENT, "ko", ticket="TZ-1001")
    '감사합니다. 티켓 TZ-1001에 추가했어요. 상담원이 여기로 답변드립니다.'
    """
    return table.get(lang, table["en"]).format(**values)


def language_name(article_lang: str, customer_lang: str) -> str:
    """The name of `article_lang` in the customer's language."""
    return LANGUAGE_NAMES.get(customer_lang, LANGUAGE_NAMES["en"]).get(article_lang, article_lang)


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
    if window.open_now and wait <= HOURS_HORIZON:
        if wait <= MINUTES_HORIZON:
            return say(EXPECT_WITHIN_MINUTES, customer_lang, n=max(5, math.ceil(wait.total_seconds() / 300) * 5))
        return say(EXPECT_WITHIN_HOURS, customer_lang, n=math.ceil(wait.total_seconds() / 3600))
    table = EXPECT_BY_OPEN if window.open_now else EXPECT_BY
    return say(table, customer_lang, when=_moment(window.due.astimezone(ZoneInfo(window.timezone)), customer_lang))


def resolution_excerpt(resolution: str, lang: str, limit: int = RESOLUTION_EXCERPT_CHARS) -> str:
    r"""The first lines of an agent's resolution as the customer is told them: whole lines (spaces tidied, blank
    lines dropped) while they fit in `limit` characters, or the first line cut with "…"; ending as a sentence.

    >>> resolution_excerpt("Refunded the second charge\n\nIt shows in 3 days.", "en")
    'Refunded the second charge It shows in 3 days.'
    >>> resolution_excerpt("Line one.\nLine two is longer", "en", limit=12)
    'Line one.'
    >>> resolution_excerpt("返金しました", "ja"), resolution_excerpt("word " * 10, "en", limit=12)
    ('返金しました。', 'word word…')
    """
    lines = [tidy for line in resolution.splitlines() if (tidy := " ".join(line.split()))]
    if not lines:
        return ""
    excerpt = ""
    for line in lines:
        longer = f"{excerpt} {line}" if excerpt else line
        if len(longer) > limit - 1:  # room for the full stop
            break
        excerpt = longer
    if not excerpt:  # the first line alone is too long: cut it, at a space when that keeps most of it
        cut = lines[0][: limit - 1]
        at_word = cut.rsplit(" ", 1)[0]
        excerpt = (at_word if len(at_word) > limit // 2 else cut).rstrip() + "…"
    return excerpt if excerpt[-1] in SENTENCE_ENDS else excerpt + ("。" if lang == "ja" else ".")
