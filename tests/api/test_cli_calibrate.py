"""`tierzero kb calibrate`: fits the decision thresholds on labelled questions, and refuses bad options plainly."""

import json

import pytest

from api.cli import main
from kb.search import POLICY_FILE, DecisionPolicy


@pytest.fixture
def labelled(data_dir, monkeypatch):
    monkeypatch.setenv("TIERZERO_DATA_DIR", str(data_dir))
    rows = [
        {"query": "I forgot my password", "lang": "en", "article_id": "reset-password-en"},
        {"query": "how do I reset my password", "lang": "en", "article_id": "reset-password-en"},
        {"query": "can I pay with PayPay", "lang": "en", "article_id": None},
    ]
    path = data_dir / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "option", [["--target-wrong", "1.5"], ["--target-wrong", "-0.1"], ["--confidence", "1"], ["--confidence", "0"]]
)
def test_out_of_range_options_are_refused_before_any_work(labelled, capsys, option):
    assert main(["kb", "calibrate", "--labelled", str(labelled), *option]) == 2
    assert "--target-wrong must be at least 0 and below 1" in capsys.readouterr().err


def test_too_few_labelled_questions_keep_the_default_thresholds(labelled, data_dir, capsys):
    assert main(["kb", "calibrate", "--labelled", str(labelled), "--confidence", "0.95"]) == 0
    printed = capsys.readouterr().out
    assert "too few questions: default kept" in printed and "wrote" in printed
    assert DecisionPolicy.load(data_dir / POLICY_FILE) == DecisionPolicy()
