"""The handoff form's reading of the customer's answers (bot/actions/actions.py), in the app's environment."""

from pathlib import Path

import pytest
import yaml

from usecases.form import CANCEL_WORDS, NAME_MAX_CHARS, email_in, name_in


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


def test_every_way_of_cancelling_the_nlu_data_teaches_says_a_cancel_word():
    nlu = yaml.safe_load((Path(__file__).resolve().parents[2] / "nlu_data" / "nlu.yml").read_text(encoding="utf-8"))
    (examples,) = [entry["examples"] for entry in nlu["nlu"] if entry.get("intent") == "cancel"]
    lines = [line.removeprefix("- ").strip() for line in examples.splitlines() if line.strip()]
    assert len(lines) > 20 and [line for line in lines if not CANCEL_WORDS.search(line)] == []
    assert not [name for name in ("Robert", "Roberta", "Alex Kim", "山田太郎", "김민수") if CANCEL_WORDS.search(name)]
