import logging
from datetime import date

import pytest

from handoff import PolicyError, load_policies, parse_policies
from kb.lang import SUPPORTED_LANGUAGES
from tests.handoff.conftest import MATRICES, SAMPLE


def test_the_shipped_policies_load():
    policies = load_policies()
    assert policies.default_queue in policies.queues
    assert [m.name for m in policies.escalation] == ["billing", "urgent", "low priority", "default"]
    assert [len(m.levels) for m in policies.escalation] == [3, 2, 1, 4]
    assert policies.reminder_before == 30


def test_every_shipped_queue_has_a_name_in_every_customer_language():
    policies = load_policies()
    for queue in policies.queues:
        for lang in SUPPORTED_LANGUAGES:
            assert policies.queues[queue].name.get(lang), (queue, lang)
    assert policies.queue_name("key_accounts", "ja") == "法人担当"


def test_a_queue_name_falls_back_to_english_then_to_the_id_in_words():
    policies = parse_policies(
        SAMPLE.replace("billing: {tier: 1,", "billing: {name: {en: Billing team, ja: お支払い}, tier: 1,"),
        source="policies.yml",
    )
    assert policies.queue_name("billing", "ja") == "お支払い"
    assert policies.queue_name("billing", "ko") == "Billing team"
    assert policies.queue_name("general", "ko") == "general"
    assert policies.queue_name("key_accounts_retired", "en") == "key accounts retired"


def test_durations_and_hours_are_parsed(policies):
    assert [p.first_response for p in policies.sla] == [60, 120, 480, 240]
    assert policies.auto_close_after == 3 * 1440
    assert policies.business_hours["office"].weekly["mon"] == [(540, 1020)]


def _refused(text: str) -> str:
    with pytest.raises(PolicyError) as error:
        parse_policies(text, source="policies.yml")
    return str(error.value)


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_an_unknown_queue_in_a_rule_is_refused_with_its_line():
    bad = SAMPLE.replace("queue: billing, keywords", "queue: bilings, keywords")
    message = _refused(bad)
    assert f"policies.yml line {_line_of(bad, 'bilings')}: routing[2].queue: unknown queue 'bilings'" in message


def test_a_bad_duration_is_refused_with_its_line_and_how_to_write_it():
    bad = SAMPLE.replace("first_response: 2h", "first_response: two hours")
    message = _refused(bad)
    assert f"line {_line_of(bad, 'two hours')}: sla[1].first_response" in message
    assert "write e.g. '4h'" in message


def test_bad_opening_hours_and_time_zones_are_refused():
    assert "'18:00-09:00' must run forwards" in _refused(SAMPLE.replace('mon: ["09:00-17:00"]', 'mon: ["18:00-09:00"]'))
    bad = SAMPLE.replace("Asia/Tokyo", "Asia/Tokio")
    assert f"line {_line_of(bad, 'Asia/Tokio')}: business_hours.office.timezone: unknown time zone" in _refused(bad)


def test_a_missing_section_unknown_field_and_yaml_error_are_refused():
    assert "sla: Field required" in _refused(SAMPLE.split("sla:")[0])
    bad = SAMPLE.replace("reassign_to_lead: true", "reasign_to_lead: true")
    assert f"line {_line_of(bad, 'reasign')}: escalation[0].reasign_to_lead: Extra inputs" in _refused(bad)
    assert "line 3: not valid YAML" in _refused("default_queue: general\nqueues: [\n  - : :\n")


def test_escalation_has_at_most_four_ordered_levels():
    five = SAMPLE + "  - {level: 5, after: 8h, notify: [ceo]}\n"
    assert "escalation: List should have at most 4 items" in _refused(five)
    swapped = SAMPLE.replace("{level: 2, after: 1h", "{level: 2, after: 0m")
    assert "escalation[1].after: each level must come later" in _refused(swapped)


def test_every_priority_queue_and_channel_needs_an_sla():
    uncovered = SAMPLE.replace("  - {name: the rest, first_response: 4h, resolution: 16h}\n", "")
    message = _refused(uncovered)
    assert "no SLA policy covers low/general/web" in message and "add a catch-all" in message


def test_a_priority_rule_sets_or_raises_never_both():
    bad = SAMPLE.replace("{name: billing, set: high, queues", "{name: billing, set: high, raise: 1, queues")
    assert "priority[1]: a priority rule needs exactly one of `set` or `raise`" in _refused(bad)


PUBLIC = SAMPLE.replace(
    "    holidays: [2025-01-13]\n", "    public_holidays: {country: JP}\n    holidays: [12-29, 2025-06-02]\n"
)


def test_public_holidays_by_country_and_the_company_days_close_the_office():
    policies = parse_policies(PUBLIC, source="policies.yml")
    office = policies.calendar("general")
    for day in (date(2025, 1, 13), date(2027, 1, 11), date(2027, 2, 11), date(2027, 12, 29), date(2025, 6, 2)):
        assert office.intervals(day) == [], day
    assert office.intervals(date(2027, 1, 12)) and office.intervals(date(2026, 6, 2))


def test_the_shipped_tokyo_calendar_knows_later_years_and_the_year_end_days():
    office = load_policies().calendar("general")
    assert office.intervals(date(2027, 1, 11)) == [] and office.intervals(date(2027, 2, 11)) == []
    for year_end in ("2027-12-29", "2027-12-30", "2027-12-31", "2028-01-03"):  # the company's days off
        assert office.intervals(date.fromisoformat(year_end)) == [], year_end
    assert office.intervals(date(2027, 12, 28))


def test_an_unknown_country_or_subdivision_is_refused_with_its_line_and_a_hint():
    bad = PUBLIC.replace("{country: JP}", "{country: XJ}")
    message = _refused(bad)
    assert f"line {_line_of(bad, 'XJ')}: business_hours.office.public_holidays.country: " in message
    assert "unknown country 'XJ'" in message and "ISO 3166-1 alpha-2 code, e.g. JP" in message
    assert "write 'Japan' as its two-letter code: country: JP" in _refused(PUBLIC.replace("JP}", "Japan}"))
    bad = PUBLIC.replace("{country: JP}", "{country: US,\n                      subdivision: ZZ}")
    message = _refused(bad)
    assert f"line {_line_of(bad, 'ZZ')}: business_hours.office.public_holidays.subdivision: " in message
    assert "unknown subdivision 'ZZ' of US (subdivisions: AK, AL," in message
    assert "JP has no subdivisions" in _refused(PUBLIC.replace("{country: JP}", "{country: JP, subdivision: '13'}"))
    lower = parse_policies(PUBLIC.replace("{country: JP}", "{country: us, subdivision: ca}"), source="policies.yml")
    assert lower.business_hours["office"].public_holidays.model_dump() == {"country": "US", "subdivision": "CA"}
    bad = PUBLIC.replace("12-29", "13-29")
    assert f"line {_line_of(bad, '13-29')}: business_hours.office.holidays[0]: Value error, '13-29' is not a day" in (
        _refused(bad)
    )


def test_a_calendar_of_dates_ending_within_a_year_is_warned_about_at_load_and_after(caplog):
    soon = SAMPLE.replace("holidays: [2025-01-13]", "holidays: [2025-01-13, 2026-05-06]")
    with caplog.at_level(logging.WARNING, logger="handoff.policies"):
        policies = parse_policies(soon, source="policies.yml", today=date(2025, 7, 1))
    assert [r.getMessage() for r in caplog.records] == [
        f"policies.yml line {_line_of(soon, 'holidays:')}: business_hours.office.holidays: the holidays end on "
        "2026-05-06, less than 12 months after 2025-07-01: every later public holiday counts as a business day in SLA "
        "deadlines; add `public_holidays: {country: ...}` (the country's two-letter code, e.g. JP: every year is "
        "known) or the dates to come"
    ]
    assert policies.warnings(date(2025, 5, 6)) == []  # exactly a year ahead is enough
    assert policies.warnings(date(2025, 5, 7))[0].startswith("business_hours.office.holidays: the holidays end on")
    public = parse_policies(PUBLIC, source="policies.yml")
    assert public.warnings(date(2030, 1, 1)) == []
    assert load_policies().warnings(date(2030, 1, 1)) == []
    around_the_clock = SAMPLE.replace("    holidays: [2025-01-13]\n", "")  # no holidays at all: nothing to warn of
    assert parse_policies(around_the_clock, source="policies.yml").warnings(date(2030, 1, 1)) == []


def test_the_shipped_escalation_matrices_by_priority_queue_and_breach():
    policies = load_policies()
    pick = policies.escalation_for
    assert pick("urgent", "general", "web", "first_response").name == "urgent"
    assert pick("urgent", "general", "web", "first_response").levels[0].model_dump() == {
        "level": 3,
        "after": 0,
        "notify": ["assignee", "queue_lead", "support_manager", "head_of_support"],
        "reassign_to_lead": False,
        "raise_tier": True,
        "raise_priority": False,
    }
    assert pick("urgent", "billing", "email", "resolution").name == "billing"  # billing comes first
    assert pick("low", "orders", "web", "resolution").name == "low priority"
    assert pick("low", "orders", "web", "resolution").levels[0].notify == ["queue_lead"]
    assert pick("normal", "technical", "email", "first_response").name == "default"


def test_a_single_list_of_levels_is_still_one_matrix_for_every_ticket(policies):
    (matrix,) = policies.escalation
    assert (matrix.name, [level.level for level in matrix.levels]) == ("default", [1, 2, 3, 4])
    assert policies.escalation_for("low", "vip", "email", "resolution") is matrix
    none = parse_policies(SAMPLE.split("escalation:")[0], source="policies.yml")
    assert none.escalation == [] and none.escalation_for("urgent", "general", "web", "first_response") is None


def test_matrices_are_matched_in_order_on_priority_queue_channel_and_breach():
    policies = parse_policies(MATRICES, source="matrices.yml")
    pick = policies.escalation_for
    assert pick("urgent", "billing", "web", "first_response").name == "billing"
    assert pick("urgent", "general", "web", "first_response").name == "urgent"
    assert pick("normal", "general", "web", "resolution").name == "late resolution"
    assert pick("normal", "general", "web", "first_response").name == "default"


def test_bad_matrices_are_refused_with_their_lines():
    bad = MATRICES.replace("queues: [billing]\n    levels", "queues: [biling]\n    levels")
    assert f"line {_line_of(bad, 'biling')}: escalation[0].queues: unknown queue 'biling'" in _refused(bad)
    bad = MATRICES.replace("    priorities: [urgent]\n", "    priorities: [urgent]\n    channels: [fax]\n")
    assert f"line {_line_of(bad, 'fax')}: escalation[1].channels: unknown channel 'fax'" in _refused(bad)
    bad = MATRICES.replace("{level: 4, after: 2h, notify: [vp]}", "{level: 2, after: 2h, notify: [vp]}")
    assert (
        f"line {_line_of(bad, 'level: 2, after: 2h')}: escalation[1].levels[1].level: levels must go up "
        "(1 to 4; a matrix may skip some); got 2 after 3"
    ) in _refused(bad)
    bad = MATRICES.replace("{level: 2, after: 1h, notify: [finance_director]}", "{level: 2, after: 0m, notify: [x]}")
    assert f"line {_line_of(bad, 'notify: [x]')}: escalation[0].levels[1].after: each level must come later" in (
        _refused(bad)
    )
    five = MATRICES.replace(
        "      - {level: 2, after: 1h, notify: [finance_director]}\n",
        "      - {level: 2, after: 1h, notify: [finance_director]}\n"
        "      - {level: 3, after: 2h, notify: [a]}\n      - {level: 4, after: 3h, notify: [b]}\n"
        "      - {level: 4, after: 4h, notify: [c]}\n",
    )
    assert f"line {_line_of(five, 'levels:')}: escalation[0].levels: List should have at most 4 items" in (
        _refused(five)
    )
    bad = MATRICES.replace("- name: high\n", "- name: low\n")
    assert "escalation[3].name: two matrices are called 'low'" in _refused(bad)
    bad = MATRICES.replace("    breach: resolution\n", "    breach: late\n")
    assert f"line {_line_of(bad, 'breach: late')}: escalation[4].breach: Input should be" in _refused(bad)
    bad = MATRICES.replace(
        "  - name: billing\n    queues: [billing]\n    levels:", "  - name: billing\n    queues: [billing]\n    level:"
    )
    assert "escalation[0].levels: Field required" in _refused(bad)


def test_every_ticket_and_breach_needs_a_matrix_and_every_matrix_a_ticket():
    no_default = MATRICES.split("  - name: default\n")[0]
    message = _refused(no_default)
    assert "escalation: no escalation matrix covers normal/general/web on a first response breach" in message
    assert "add a catch-all matrix last" in message
    first = MATRICES.replace("  - name: billing\n", "  - {name: everyone, levels: []}\n  - name: billing\n")
    message = _refused(first)
    assert f"line {_line_of(first, '- name: billing')}: escalation[1].name: the matrix 'billing' never applies" in (
        message
    )
    assert "escalation[6].name: the matrix 'default' never applies" in message


def test_the_shipped_topic_rules_yield_and_the_customer_and_keyword_rules_are_hard():
    routing = {rule.name: rule.yields for rule in load_policies().routing}
    assert routing.pop("enterprise customers") is False
    assert {name: yields for name, yields in routing.items() if name.endswith("words")} == dict.fromkeys(
        ["billing words", "account words", "app words", "order words"], False
    )
    assert all(yields for name, yields in routing.items() if name.endswith("topic")), routing
    assert load_policies().classifier.min_confidence == 0.5


@pytest.mark.parametrize(
    ("rule", "condition"),
    [
        ("{name: enterprise, queue: vip, yields: true, customer: {plan: [enterprise]}}", "customer"),
        ("{name: korean email, queue: general, yields: true, languages: [ko], channels: [email]}", "languages"),
        ("{name: by mail, queue: general, yields: true, keywords: [refund], channels: [email]}", "channels"),
        ("{name: refund intent, queue: billing, yields: true, intents: [ask_refund]}", "intents"),
    ],
)
def test_a_rule_on_customer_attributes_intents_channels_or_languages_cannot_yield(rule, condition):
    bad = SAMPLE.replace("routing:\n", f"routing:\n  - {rule}\n")
    message = _refused(bad)
    assert f"policies.yml line {_line_of(bad, rule)}: routing[0].yields: a rule on customer attributes" in message
    assert "cannot overrule it; drop `yields` or those conditions" in message


def test_a_hard_rule_after_a_yielding_one_is_refused_with_its_line():
    bad = SAMPLE.replace("{name: money, queue: billing,", "{name: money, queue: billing, yields: true,")
    message = _refused(bad)
    line = _line_of(bad, "name: refund intent")
    assert (
        f"policies.yml line {line}: routing[4].name: the hard rule 'refund intent' comes after 'money', which yields"
        in message
    )
    fixed = bad.replace("{name: billing topic, queue: billing,", "{name: billing topic, queue: billing, yields: true,")
    fixed = fixed.replace("  - {name: refund intent, queue: billing, intents: [ask_refund]}\n", "")
    assert [r.yields for r in parse_policies(fixed).routing] == [False, False, True, True]


def test_min_moved_tickets_is_at_least_one():
    assert parse_policies(SAMPLE).classifier.min_moved_tickets == 20
    message = _refused(SAMPLE + "classifier: {min_confidence: 0.7, min_moved_tickets: 0}\n")
    assert "classifier.min_moved_tickets: Input should be greater than or equal to 1" in message
