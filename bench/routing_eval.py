"""Routing benchmark: which order of the routing rules and the queue classifier sends requests to the right queue?

    $(scripts/venv.sh app)/bin/python -m bench.routing_eval [--model e5-int8] [bitext] [banking77] [demo]

Every order is run side by side on the same embeddings and the same trained classifier (logistic regression on the
sentence embeddings, `handoff.classifier`, fitted on the train split only and observed on the test split):

- `rules, then classifier`: every rule first (first match wins), the classifier when none matches — the order
  before rules could yield;
- `classifier only`: the classifier's pick for every request (no rules, `min_confidence` not applied);
- `hard rules, classifier, yielding rules`: the hard rules, then the classifier when it is at least
  `min_confidence` sure, then the rules marked `yields: true`, then the default — what `handoff.routing.route`
  does now;
- `rules only`: no classifier at all (for reference).

Data: two public sets from ../shared/data — Bitext (category = queue; train on `train`, test on `dev`) and BANKING77
(77 intents grouped into seven queues; train on `train`, test on `test`), rules from `bench/routing_*.yml` — and
`demo`: the live classifier's own recipe (`usecases.queue_classifier`), trained on the demo knowledge base's
passages labelled by the topic rules of config/policies.yml and tested on tests/data/demo_questions.jsonl with the
shipped rules (a question the knowledge base does not cover counts as right only in the default queue).
Writes `bench/routing_results.json` and `bench/routing_results.md`.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from handoff.classifier import TopicClassifier, topic_queues
from handoff.policies import DEFAULT_POLICIES_FILE, Policies, load_policies
from handoff.routing import Classify, Facts, route
from kb import DEFAULT_MODEL, load_embedder

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parent.parent / "shared" / "data"
DEMO_QUESTIONS = HERE.parent / "tests" / "data" / "demo_questions.jsonl"
DEMO_KB = HERE.parent / "kb" / "demo"
SETS = ("bitext", "banking77", "demo")

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

RULES_THEN_CLASSIFIER = "rules, then classifier"
CLASSIFIER_ONLY = "classifier only"
HARD_CLASSIFIER_YIELDING = "hard rules, classifier, yielding rules"
RULES_ONLY = "rules only"
# order → (the policies it routes with, whether the classifier is asked)
ORDERS: dict[str, tuple[Callable[[Policies], Policies], bool]] = {
    RULES_THEN_CLASSIFIER: (
        lambda p: p.model_copy(update={"routing": [r.model_copy(update={"yields": False}) for r in p.routing]}),
        True,
    ),
    CLASSIFIER_ONLY: (
        lambda p: p.model_copy(
            update={"routing": [], "classifier": p.classifier.model_copy(update={"min_confidence": 0.0})}
        ),
        True,
    ),
    HARD_CLASSIFIER_YIELDING: (lambda p: p, True),
    RULES_ONLY: (lambda p: p, False),
}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_set(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], Path]:
    """(train, test) pairs of (text, queue) and the rules file of a public data set."""
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


def compare(
    test: list[Facts], truths: list[str], predictions: list[tuple[str, float]], policies: Policies
) -> dict[str, dict]:
    """Route every test request in every order with the same predictions; count what went where and why."""
    results = {}
    for order, (adapt, asks) in ORDERS.items():
        routed_with = adapt(policies)
        by: Counter[str] = Counter()
        right: Counter[str] = Counter()
        confusion: dict[str, Counter[str]] = {}
        for facts, truth, prediction in zip(test, truths, predictions, strict=True):
            classify: Classify | None = (lambda _text, p=prediction: p) if asks else None
            decided = route(facts, routed_with, classify=classify)
            source = "rule" if decided.routed_by.startswith("rule") else decided.routed_by
            by[source] += 1
            right[source] += decided.queue == truth
            confusion.setdefault(truth, Counter())[decided.queue] += 1
        total = len(test)
        queues = sorted(confusion)
        results[order] = {
            "accuracy": round(sum(right.values()) / total, 4),
            "share": {k: round(by[k] / total, 4) for k in ("rule", "classifier", "default")},
            "accuracy_by_source": {k: round(right[k] / by[k], 4) if by[k] else None for k in ("rule", "classifier")},
            "per_queue_recall": {q: round(confusion[q][q] / sum(confusion[q].values()), 4) for q in queues},
            "confusion": {q: dict(confusion[q]) for q in queues},
        }
    return results


def evaluate(name: str, embedder) -> dict:
    """A public data set: the classifier fitted on its train split, every order observed on its test split."""
    train, test, rules_file = load_set(name)
    policies = load_policies(rules_file)
    started = time.perf_counter()
    train_vectors = embedder.embed_queries([t for t, _ in train])
    test_vectors = embedder.embed_queries([t for t, _ in test])
    embed_seconds = time.perf_counter() - started
    classifier = TopicClassifier(embedder.embed_queries).fit_vectors(train_vectors, [q for _, q in train])
    predictions = classifier.predict_vectors(test_vectors)
    truths = [q for _, q in test]
    return {
        "data_set": name,
        "train": len(train),
        "test": len(test),
        "queues": len({q for _, q in train}),
        "min_confidence": policies.classifier.min_confidence,
        "hard_rules": sum(not r.yields for r in policies.routing),
        "yielding_rules": sum(r.yields for r in policies.routing),
        "orders": compare([Facts(t) for t, _ in test], truths, predictions, policies),
        "embed_seconds": round(embed_seconds, 1),
    }


def evaluate_demo(embedder) -> dict:
    """The live recipe on the demo knowledge base: its passages labelled by the shipped topic rules (vectors from
    the index, as the API reuses them), the demo questions routed by the shipped rules."""
    from sqlalchemy.orm import sessionmaker

    from api.bootstrap import load_demo_kb
    from api.db import create_tables, make_engine
    from kb import KnowledgeBase
    from usecases.queue_classifier import QueueClassifier

    policies = load_policies(DEFAULT_POLICIES_FILE)
    questions = _rows(DEMO_QUESTIONS)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'kb.db'}")
        create_tables(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        load_demo_kb(sessions, DEMO_KB)
        kb = KnowledgeBase(sessions, embedder, Path(folder) / "index")
        kb.sync()
        vectors, labels = QueueClassifier(kb, policies).passages()
        topics = {a.group: a.topic for a in kb.articles.values()}
        engine.dispose()
    test_vectors = embedder.embed_queries([q["query"] for q in questions])
    embed_seconds = time.perf_counter() - started
    queue_of = topic_queues(policies)
    truths = [queue_of[topics[q["group"]]] if q["group"] else policies.default_queue for q in questions]
    classifier = TopicClassifier(embedder.embed_queries).fit_vectors(vectors, labels)
    predictions = classifier.predict_vectors(test_vectors)
    facts = [Facts(q["query"], lang=q["lang"]) for q in questions]
    orders = compare(facts, truths, predictions, policies)
    in_scope = sum(bool(q["group"]) for q in questions)
    for result in orders.values():  # the questions the knowledge base does not cover are the default queue's row
        confusion = result["confusion"]
        right = sum(row.get(q, 0) for q, row in confusion.items() if q != policies.default_queue)
        result["in_scope_accuracy"] = round(right / in_scope, 4)
        result["out_of_scope_to_default"] = result["per_queue_recall"].get(policies.default_queue)
    return {
        "data_set": "demo",
        "train": len(labels),
        "test": len(questions),
        "queues": len(set(labels)),
        "training_examples": dict(Counter(labels).most_common()),
        "in_scope": in_scope,
        "min_confidence": policies.classifier.min_confidence,
        "hard_rules": sum(not r.yields for r in policies.routing),
        "yielding_rules": sum(r.yields for r in policies.routing),
        "orders": orders,
        "embed_seconds": round(embed_seconds, 1),
    }


def best_order(result: dict) -> str:
    return max(result["orders"], key=lambda order: result["orders"][order]["accuracy"])


def _confusion(result: dict, order: str) -> str:
    routed = result["orders"][order]
    queues = sorted(routed["confusion"])
    columns = [*queues, *sorted({c for row in routed["confusion"].values() for c in row} - set(queues))]
    lines = [
        f"### {result['data_set']} — {order}: confusion (rows: true queue, columns: routed to)",
        "",
        "| true \\ routed | " + " | ".join(columns) + " | recall |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for q in queues:
        row = routed["confusion"][q]
        cells = [f"**{row.get(c, 0)}**" if c == q else str(row.get(c, 0) or "") for c in columns]
        lines.append(f"| {q} | " + " | ".join(cells) + f" | {routed['per_queue_recall'][q]:.3f} |")
    return "\n".join(lines)


def table(results: list[dict]) -> str:
    """Every order on every data set, the best accuracy of each data set in bold."""
    lines = [
        "| data set | train / test | order | accuracy | by rules | by classifier | to default | rule precision "
        "| classifier precision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        best = best_order(r)
        for order, o in r["orders"].items():
            accuracy = f"**{o['accuracy']:.3f}**" if order == best else f"{o['accuracy']:.3f}"
            precision = [f"{p:.3f}" if p is not None else "–" for p in o["accuracy_by_source"].values()]
            lines.append(
                f"| {r['data_set']} | {r['train']} / {r['test']} | {order} | {accuracy} | {o['share']['rule']:.1%} "
                f"| {o['share']['classifier']:.1%} | {o['share']['default']:.1%} | {precision[0]} | {precision[1]} |"
            )
    return "\n".join(lines)


def report(results: list[dict], model: str) -> str:
    sets = " ".join(r["data_set"] for r in results)
    lines = [
        "# Routing benchmark",
        "",
        f"`python -m bench.routing_eval --model {model} {sets}` on {platform.machine()}, Python "
        f"{platform.python_version()}. The classifier (logistic regression on the embeddings) is fitted on the train "
        "split and observed on the test split; every order routes the same test requests with the same "
        "predictions. *Rules, then classifier*: every rule first (first match wins), the classifier when none "
        "matches and its confidence reaches `min_confidence`. *Classifier only*: its pick for every request "
        "(`min_confidence` not applied). *Hard rules, classifier, yielding rules*: the hard rules, then the "
        "classifier at `min_confidence` or above, then the rules marked `yields: true` (`handoff.routing.route`). "
        "*Rules only*: no classifier. What no step routes goes to the default queue (counted wrong on Bitext and "
        "BANKING77, whose rules files `bench/routing_*.yml` hold keyword rules only, all yielding). Bitext text "
        "is generated, so its scores run optimistic.",
        "",
        table(results),
        "",
    ]
    demo = next((r for r in results if r["data_set"] == "demo"), None)
    if demo is not None:
        examples = ", ".join(f"{q} {n}" for q, n in demo["training_examples"].items())
        lines += [
            "## demo: the live classifier's recipe",
            "",
            f"Trained on the demo knowledge base's {demo['train']} passages labelled by the topic rules of "
            f"config/policies.yml ({examples}); tested on tests/data/demo_questions.jsonl routed by the shipped "
            f"rules ({demo['in_scope']} questions on the knowledge base's subjects, "
            f"{demo['test'] - demo['in_scope']} outside them, whose right queue is the default, "
            "`general`). No question carries a topic or customer attributes, so the topic rules and the "
            "enterprise rule never match here.",
            "",
            "| order | accuracy | on the KB's subjects | outside them: left to the default queue |",
            "|---|---|---|---|",
            *(
                f"| {order} | {o['accuracy']:.3f} | {o['in_scope_accuracy']:.3f} | {o['out_of_scope_to_default']:.3f} |"
                for order, o in demo["orders"].items()
            ),
            "",
        ]
    lines += ["\n\n".join(_confusion(r, HARD_CLASSIFIER_YIELDING) for r in results), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model spec (default {DEFAULT_MODEL})")
    parser.add_argument("sets", nargs="*", default=list(SETS), help="bitext, banking77, demo (default all)")
    args = parser.parse_args()
    unknown = set(args.sets) - set(SETS)
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(sorted(unknown))}: use {', '.join(SETS)}")
    embedder = load_embedder(args.model)
    results = [evaluate_demo(embedder) if name == "demo" else evaluate(name, embedder) for name in args.sets]
    print(table(results))
    (HERE / "routing_results.json").write_text(
        json.dumps({"model": args.model, "results": results}, indent=1) + "\n", encoding="utf-8"
    )
    (HERE / "routing_results.md").write_text(report(results, args.model), encoding="utf-8")


if __name__ == "__main__":
    main()
