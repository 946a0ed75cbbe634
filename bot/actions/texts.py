"""Small pieces of text the actions put into replies, in each customer language (whole replies live in domain.yml)."""

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

NOT_GIVEN = {"en": "there", "ja": "お客", "ko": "고객"}


def language_name(article_lang: str, customer_lang: str) -> str:
    """The name of `article_lang` in the customer's language."""
    return LANGUAGE_NAMES.get(customer_lang, LANGUAGE_NAMES["en"]).get(article_lang, article_lang)


def queue_name(queue: str, customer_lang: str) -> str:
    """A queue's name as the customer should read it."""
    return QUEUE_NAMES.get(customer_lang, QUEUE_NAMES["en"]).get(queue, queue)


# Until SLA policies are configured per queue, the customer is told the default first-response target.
FIRST_REPLY_HOURS = {"urgent": 1, "high": 4, "normal": 8, "low": 24}
EXPECTATION = {
    "en": "Our team usually replies within {hours} hour(s).",
    "ja": "通常{hours}時間以内に担当者から返信いたします。",
    "ko": "보통 {hours}시간 이내에 상담원이 답변드립니다.",
}


def reply_expectation(priority: str, customer_lang: str) -> str:
    """When the customer can expect a first reply, in their language."""
    hours = FIRST_REPLY_HOURS.get(priority, FIRST_REPLY_HOURS["normal"])
    return EXPECTATION.get(customer_lang, EXPECTATION["en"]).format(hours=hours)
