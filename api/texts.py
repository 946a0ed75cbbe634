"""What the API itself says to customers when the bot cannot (Rasa down or slow), in their language."""

BOT_UNAVAILABLE = {
    "en": "Sorry, I'm having trouble answering right now. Your message is saved. Please try again in a moment, "
    'or type "talk to a person" and leave your details so our team can reply.',
    "ja": "申し訳ありません。ただいま応答に問題が発生しています。メッセージは保存されました。"
    "少し時間をおいて再度お試しいただくか、"
    "「担当者と話したい」と入力して連絡先をお残しください。",
    "ko": "죄송합니다. 지금 답변에 문제가 있어요. 메시지는 저장되었습니다. 잠시 후 다시 시도하시거나, "
    '"상담원 연결"이라고 입력하고 연락처를 남겨 주세요.',
}

WAITING_FOR_AGENT = {
    "en": "Thanks, I've added this to your ticket {ticket}. A member of our team will reply here.",
    "ja": "ありがとうございます。チケット {ticket} に追記しました。担当者からこちらに返信いたします。",
    "ko": "감사합니다. 티켓 {ticket}에 추가했어요. 상담원이 여기로 답변드립니다.",
}


def say(table: dict[str, str], lang: str, **values: str) -> str:
    return table.get(lang, table["en"]).format(**values)
