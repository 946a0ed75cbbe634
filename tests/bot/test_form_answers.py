"""The handoff form's reading of the customer's answers (bot/actions/actions.py), in the app's environment."""

import pytest

from bot.actions.actions import NAME_MAX_CHARS, email_in, name_in


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ("Alex Kim", "Alex Kim"),
        ("My name is Alex Kim.", "Alex Kim"),
        ("山田太郎です", "山田太郎"),
        ("저는 김민수입니다", "김민수"),
        ("where is my parcel?", None),
        ("荷物はどこですか？", None),
        ("alex@example.com", None),
        ("/affirm", None),
        ("12345", None),
        ("", None),
        ("a" * (NAME_MAX_CHARS + 1), None),
    ],
)
def test_a_name_is_taken_from_the_answer_and_anything_that_cannot_be_one_is_refused(answer, name):
    assert name_in(answer) == name


@pytest.mark.parametrize(
    ("answer", "email"),
    [
        ("alex@example.com", "alex@example.com"),
        ("it is <Alex@Example.com>, thanks", "Alex@Example.com"),
        ("anné@exämple.com", "anné@exämple.com"),
        ("メールは taro@example.jp です", "taro@example.jp"),
        ("alex at example dot com", None),
        ("alex@localhost", None),
        ("a@b." + "c" * 260, None),
    ],
)
def test_an_email_address_is_found_in_the_answer(answer, email):
    assert email_in(answer) == email
