"""Redact card numbers, passwords, one-time codes and other secrets from text before it is stored.

Card numbers are recognised by their digit count and the Luhn checksum, so order numbers and phone numbers stay.
Passwords and codes are recognised by the word before them (password, code, パスワード, 비밀번호, …) and by
containing a digit, so "my password is not working" stays as it is; a password of letters only is missed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CARD = "[card number removed]"
SECRET = "[secret removed]"

_CARD_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")
_SECRET_AFTER_WORD = re.compile(
    r"(?P<label>\b(?:password|passcode|passwd|pwd|pin|otp|one[- ]time code|verification code|security code|cvv|cvc"
    r"|2fa code|auth(?:entication)? code|api key|secret)\b"
    r"|パスワード|暗証番号|認証コード|確認コード|ワンタイムパスワード|セキュリティコード"
    r"|비밀번호|비번|인증번호|인증 코드|인증코드|보안코드|OTP)"
    r"(?P<glue>\s*(?:is|was|:|=|は|が|：|는|은|이|가)?\s*(?:is\s+)?[\"'「『]?)"
    r"(?P<secret>(?=[!-~]*[0-9])[!-~]{3,64})",
    re.IGNORECASE,
)
_API_TOKEN = re.compile(r"\b(?:sk|pk|tz_[a-z]{2})_[A-Za-z0-9_\-]{16,}\b")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


@dataclass
class Redaction:
    """Redacted text and what kinds of secret were removed (for the audit, never the secrets themselves)."""

    text: str
    removed: list[str] = field(default_factory=list)


def redact(text: str) -> Redaction:
    """Replace secrets in `text` with placeholders.

    >>> redact("my card 4111 1111 1111 1111 was charged twice").text
    'my card [card number removed] was charged twice'
    >>> redact("order 1234567890123 is late").text
    'order 1234567890123 is late'
    >>> redact("my password is hunter2!").text
    'my password is [secret removed]'
    """
    removed: list[str] = []

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            removed.append("card_number")
            return CARD
        return match.group()

    def secret(match: re.Match[str]) -> str:
        if match.group("secret").startswith("["):
            return match.group()
        removed.append("secret")
        return f"{match.group('label')}{match.group('glue')}{SECRET}"

    def token(match: re.Match[str]) -> str:
        removed.append("token")
        return SECRET

    text = _CARD_CANDIDATE.sub(card, text)
    text = _SECRET_AFTER_WORD.sub(secret, text)
    text = _API_TOKEN.sub(token, text)
    return Redaction(text, removed)
