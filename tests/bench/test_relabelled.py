"""bench.kb_eval.relabelled: an intent set's labels corrected from another set with the same texts."""

from bench.kb_eval import relabelled


def row(text, label, split="train", oos_type=None):
    return {
        "text": text,
        "label": label,
        "split": split,
        "lang": "en",
        "is_oos": oos_type is not None,
        "oos_type": oos_type,
    }


def test_a_text_labelled_otherwise_in_the_reference_takes_its_in_scope_label():
    rows = [row("Where is my card?", "card_arrival"), row("change my pin", "card_arrival", "test")]
    reference = [row("where is my card?", "card_arrival"), row("Change my PIN ", "change_pin")]
    rows.append(row("how do i change a pin", "change_pin"))

    fixed, changed = relabelled(rows, reference)

    assert [r["label"] for r in fixed] == ["card_arrival", "change_pin", "change_pin"]
    assert fixed[1]["split"] == "test" and not fixed[1]["is_oos"]
    assert changed == {"in-scope label": 1}


def test_an_in_scope_row_whose_reference_intent_is_not_in_scope_becomes_id_oos():
    rows = [row("card swallowed by the atm", "change_pin", "test"), row("pin", "change_pin")]
    reference = [row("card swallowed by the atm", "card_swallowed")]

    fixed, changed = relabelled(rows, reference)

    assert {k: fixed[0][k] for k in ("label", "is_oos", "oos_type", "split")} == {
        "label": "oos",
        "is_oos": True,
        "oos_type": "id-oos",
        "split": "id-oos_test",
    }
    assert changed == {"id-oos": 1}


def test_out_of_scope_rows_move_in_scope_only_when_the_reference_says_so_and_off_topic_rows_never_move():
    rows = [
        row("pin", "change_pin"),
        row("change my pin please", "oos", "id-oos_train", "id-oos"),
        row("atm ate my card", "oos", "id-oos_train", "id-oos"),
        row("what's the weather", "oos", "ood-oos_valid", "ood-oos"),
    ]
    reference = [
        row("change my pin please", "change_pin"),
        row("atm ate my card", "card_swallowed"),
        row("what's the weather", "change_pin"),
    ]

    fixed, changed = relabelled(rows, reference)

    assert [(r["label"], r["split"]) for r in fixed] == [
        ("change_pin", "train"),
        ("change_pin", "train"),
        ("oos", "id-oos_train"),
        ("oos", "ood-oos_valid"),
    ]
    assert changed == {"in-scope label": 1}
