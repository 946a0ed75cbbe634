"""`tierzero kb calibrate`: fits the decision thresholds on labelled questions, and refuses bad options plainly."""

import json
from pathlib import Path

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


def test_a_confidence_the_labelled_questions_cannot_reach_is_said_plainly(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("TIERZERO_DATA_DIR", str(data_dir))
    demo = Path(__file__).resolve().parents[2] / "kb" / "demo" / "calibration.jsonl"
    english = [line for line in demo.read_text(encoding="utf-8").splitlines() if '"lang": "en"' in line]
    labelled = data_dir / "english.jsonl"
    labelled.write_text("\n".join(english), encoding="utf-8")
    command = ["kb", "calibrate", "--labelled", str(labelled), "--dry-run", "--confidence", "0.95"]
    assert main([*command, "--target-wrong", "0.2"]) == 0  # none wrong of 36 bounds the rate at 8 %
    assert "answers nothing" not in capsys.readouterr().out
    assert main([*command, "--target-wrong", "0.01"]) == 0  # 8 %, not 1 %
    assert f"answers nothing: {len(english)} questions cannot show the target" in capsys.readouterr().out
