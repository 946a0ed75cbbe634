import logging
from datetime import date

import pytest

from handoff import PolicyError, load_policies, parse_policies
from kb.lang import SUPPORTED_LANGUAGES
from tests.handoff.conftest import SAMPLE


def test_the_shipped_policies_load():
    policies = load_policies()
    assert policies.default_queue in policies.queues
    assert len(policies.escalation) == 4
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
