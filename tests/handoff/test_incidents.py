"""Incidents: a burst of similar tickets within the window becomes one incident, on a clock the tests move."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handoff import HandoffRequest, HandoffService, PolicyError, Ticket, parse_policies
from handoff.incidents import (
    Incident,
    IncidentAlreadyResolved,
    IncidentDetector,
    embedding_similarity,
    open_incident_of,
    resolve_incident,
    word_overlap,
)
from handoff.service import open_conversation
from tests.handoff.conftest import SAMPLE

OUTAGE = "The checkout page shows an error when I pay"
INCIDENTS = "incidents: {window: 30m, min_tickets: 3, similarity: 0.6}\n"


@pytest.fixture
def policies():
    return parse_policies(SAMPLE + INCIDENTS, source="sample.yml")


@pytest.fixture
def hand_off(sessions, policies, clock):
    """Hand off a new conversation saying `text` on the word-overlap similarity; returns the ticket id."""

    def make(text: str, service: HandoffService | None = None) -> int:
        with sessions() as session:
            conversation, _ = open_conversation(session)
            session.commit()
            ticket = (service or HandoffService(policies, clock)).hand_off(
                session,
                HandoffRequest(conversation_id=conversation.id, reason="asked_for_person", description=text),
            )
            session.commit()
            return ticket.id

    return make


def incidents(sessions) -> list[Incident]:
    with sessions() as session:
        found = list(session.scalars(select(Incident).order_by(Incident.id)))
        for incident in found:
            _ = [t.priority for t in incident.tickets]  # load before the session closes
        return found


def ticket(sessions, ticket_id: int) -> Ticket:
    with sessions() as session:
        found = session.get(Ticket, ticket_id)
        _ = found.history
        return found


def test_the_config_is_validated_with_line_and_reason():
    policies = parse_policies(SAMPLE, source="sample.yml")
    assert (policies.incidents.window, policies.incidents.min_tickets, policies.incidents.similarity) == (30, 5, 0.92)
    custom = parse_policies(SAMPLE + "incidents: {window: 1h, min_tickets: 4, similarity: 0.9, priority: urgent}\n")
    assert (custom.incidents.window, custom.incidents.min_tickets, custom.incidents.priority) == (60, 4, "urgent")
    for bad, reason in [
        ("incidents: {window: soon}", "not a duration"),
        ("incidents: {min_tickets: 1}", "greater than or equal to 2"),
        ("incidents: {similarity: 1.5}", "less than or equal to 1"),
        ("incidents: {priority: critical}", "incidents.priority"),
        ("incidents: {windw: 30m}", "incidents.windw"),
    ]:
        with pytest.raises(PolicyError) as error:
            parse_policies(SAMPLE + bad + "\n", source="bad.yml")
        assert f"bad.yml line {SAMPLE.count(chr(10)) + 1}" in str(error.value)
        assert reason in str(error.value)


def test_word_overlap_scores_alike_texts_high_and_unrelated_ones_low():
    same, reworded, other = word_overlap(OUTAGE, [OUTAGE, OUTAGE + " today", "Where is my parcel?"])
    assert same == 1.0 and reworded > 0.8 and other < 0.1
    ja = word_overlap("決済ページでエラーが出ます", ["決済ページでエラーが出ました", "荷物が届きません"])
    assert ja[0] > 0.5 > ja[1]


def test_a_burst_of_similar_tickets_becomes_exactly_one_incident(sessions, clock, hand_off):
    first = hand_off(OUTAGE)
    clock.advance(minutes=5)
    second = hand_off(OUTAGE + " today")
    assert incidents(sessions) == []  # two are not enough: min_tickets is 3
    clock.advance(minutes=5)
    third = hand_off("Error on the checkout page when I pay")
    clock.advance(minutes=1)
    fourth = hand_off(OUTAGE + "!")

    [incident] = incidents(sessions)
    assert incident.status == "open"
    assert incident.title == ticket(sessions, first).subject
    assert [t.id for t in incident.tickets] == [first, second, third, fourth]
    assert incident.ticket_count == 4


def test_the_incident_raises_priority_one_level_and_records_it_in_each_history(sessions, clock, hand_off):
    ids = [hand_off(OUTAGE) for _ in range(3)]
    [incident] = incidents(sessions)
    for ticket_id in ids:
        found = ticket(sessions, ticket_id)
        assert found.priority == "high"  # from normal
        [event] = [e for e in found.history if e.action == "incident"]
        assert event.actor == "incidents"
        assert event.detail["incident_id"] == incident.id
        assert event.detail["priority"] == ["normal", "high"]
        assert event.detail["joined"] == "created"
    # the new ticket's SLA follows its raised priority (the sample's "high" policy), the older ones keep theirs
    newest = ticket(sessions, ids[-1])
    assert [e.detail["policy"] for e in newest.history if e.action == "sla_started"] == ["high"]
    later = hand_off(OUTAGE)
    assert ticket(sessions, later).priority == "high"
    assert [e.detail["joined"] for e in ticket(sessions, later).history if e.action == "incident"] == ["joined"]


def test_a_configured_priority_is_where_the_tickets_go_never_down(sessions, clock):
    policies = parse_policies(SAMPLE + "incidents: {window: 30m, min_tickets: 2, similarity: 0.6, priority: urgent}\n")
    service = HandoffService(policies, clock)
    ids = []
    for text in (OUTAGE, OUTAGE):
        with sessions() as session:
            conversation, _ = open_conversation(session)
            session.flush()
            request = HandoffRequest(conversation_id=conversation.id, reason="asked_for_person", description=text)
            ids.append(service.hand_off(session, request).id)
            session.commit()
    assert [ticket(sessions, i).priority for i in ids] == ["urgent", "urgent"]
    low = parse_policies(SAMPLE + "incidents: {min_tickets: 2, similarity: 0.6, priority: low}\n")
    with sessions() as session:
        raised = session.get(Ticket, ids[0])
        assert IncidentDetector(low)._raise(raised) == "urgent"


def test_tickets_outside_the_window_are_not_grouped(sessions, clock, hand_off):
    hand_off(OUTAGE)
    clock.advance(minutes=31)
    hand_off(OUTAGE)
    clock.advance(minutes=20)
    hand_off(OUTAGE)
    assert incidents(sessions) == []  # never three within 30 minutes
    clock.advance(minutes=5)
    hand_off(OUTAGE)  # the last three are within 30 minutes
    [incident] = incidents(sessions)
    assert incident.ticket_count == 3


def test_unrelated_tickets_are_not_grouped_and_below_the_threshold_nothing_happens(sessions, clock, hand_off):
    unrelated = [
        hand_off("Where is my parcel? It was due on Monday"),
        hand_off("I forgot my password and cannot log in"),
        hand_off("Please send me an invoice for last month"),
        hand_off(OUTAGE),
        hand_off("How do I change my shipping address"),
    ]
    assert incidents(sessions) == []
    assert [ticket(sessions, i).priority for i in unrelated[:1]] == ["normal"]
    outage = [hand_off(OUTAGE), hand_off(OUTAGE)]
    [incident] = incidents(sessions)
    assert sorted(t.id for t in incident.tickets) == sorted([unrelated[3], *outage])
    assert ticket(sessions, unrelated[0]).priority == "normal"


def test_a_resolved_incident_takes_no_new_tickets_and_cannot_be_resolved_twice(sessions, clock, hand_off):
    ids = [hand_off(OUTAGE) for _ in range(3)]
    with sessions() as session:
        [incident] = session.scalars(select(Incident)).all()
        assert open_incident_of(session, ids[0]) is not None
        resolve_incident(session, incident.id, "Aiko", clock.now(), "payment provider fixed")
        session.commit()
        assert open_incident_of(session, ids[0]) is None
        with pytest.raises(IncidentAlreadyResolved):
            resolve_incident(session, incident.id, "Aiko", clock.now())
    assert [e.action for e in ticket(sessions, ids[0]).history][-1] == "incident_resolved"
    clock.advance(minutes=1)
    loner = hand_off(OUTAGE)
    with sessions() as session:
        assert open_incident_of(session, loner) is None
        assert session.scalar(select(func.count()).select_from(Incident)) == 1


def test_a_conversation_handed_off_again_is_not_counted_twice(sessions, clock, policies):
    service = HandoffService(policies, clock)
    with sessions() as session:
        conversation, _ = open_conversation(session)
        session.flush()
        request = HandoffRequest(conversation_id=conversation.id, reason="asked_for_person", description=OUTAGE)
        for _ in range(4):
            service.hand_off(session, request)
        session.commit()
    assert incidents(sessions) == []


def test_the_real_embedder_groups_paraphrases_and_not_other_problems(sessions, clock, embedder):
    policies = parse_policies(SAMPLE + "incidents: {window: 30m, min_tickets: 3, similarity: 0.92}\n")
    service = HandoffService(policies, clock, embed=embedder.embed_queries)
    similarity = embedding_similarity(embedder.embed_queries)
    scores = similarity(OUTAGE, ["I get an error on the checkout page when paying", "Where is my parcel?"])
    assert scores[0] > 0.92 > scores[1]

    def send(text: str) -> int:
        with sessions() as session:
            conversation, _ = open_conversation(session)
            session.flush()
            request = HandoffRequest(conversation_id=conversation.id, reason="asked_for_person", description=text)
            ticket_id = service.hand_off(session, request).id
            session.commit()
            return ticket_id

    send("Where is my parcel?")
    ids = [send(OUTAGE), send("I get an error on the checkout page when paying"), send("Checkout gives me an error")]
    [incident] = incidents(sessions)
    assert sorted(t.id for t in incident.tickets) == ids


def test_each_text_is_embedded_once_and_scores_as_if_embedded_afresh(embedder):
    embedded: list[str] = []

    def counting(texts):
        embedded.extend(texts)
        return embedder.embed_queries(texts)

    similarity = embedding_similarity(counting)
    others = ["I get an error on the checkout page when paying", "Where is my parcel?"]
    first = similarity(OUTAGE, others)
    again = similarity("Checkout gives me an error", [OUTAGE, *others])
    assert sorted(embedded) == sorted([OUTAGE, *others, "Checkout gives me an error"])
    afresh = embedding_similarity(embedder.embed_queries)
    assert again[1:] == pytest.approx(afresh("Checkout gives me an error", others))
    assert first == pytest.approx(afresh(OUTAGE, others))


def test_the_similarity_is_the_cosine_whatever_the_vectors_lengths():
    vectors = {"a": [3.0, 0.0], "b": [2.0, 2.0], "c": [0.0, -5.0], "zero": [0.0, 0.0]}
    similarity = embedding_similarity(lambda texts: [vectors[t] for t in texts])
    assert similarity("a", ["b", "c", "zero", "a"]) == pytest.approx([2**-0.5, 0.0, 0.0, 1.0])
    assert similarity("a", []) == []


def test_only_the_most_recently_used_vectors_are_kept(monkeypatch):
    monkeypatch.setattr("handoff.incidents.VECTORS_KEPT", 2)
    embedded: list[str] = []

    def counting(texts):
        embedded.extend(texts)
        return [[1.0, float(len(t))] for t in texts]

    similarity = embedding_similarity(counting)
    similarity("a", ["bb"])
    similarity("ccc", ["a"])  # "bb" is dropped: least recently used
    similarity("a", ["bb"])
    assert embedded == ["a", "bb", "ccc", "bb"]


def test_after_a_restart_the_recent_tickets_are_embedded_ahead_not_while_the_next_one_is_created(
    sessions, policies, clock, hand_off, embedder
):
    for text in ("Where is my parcel?", "I cannot log in", OUTAGE):
        hand_off(text, HandoffService(policies, clock, embed=embedder.embed_queries))
    embedded: list[str] = []

    def counting(texts):
        embedded.extend(texts)
        return embedder.embed_queries(texts)

    restarted = HandoffService(policies, clock, embed=counting)
    with sessions() as session:
        assert restarted.warm_incident_vectors(session) == 3
    assert sorted(embedded) == sorted(["Where is my parcel?", "I cannot log in", OUTAGE])
    embedded.clear()
    hand_off("Checkout gives me an error", restarted)
    assert embedded == ["Checkout gives me an error"]


def test_warming_without_an_embedding_model_or_with_incidents_off_does_nothing(sessions, clock):
    off = parse_policies(SAMPLE + "incidents: {enabled: false}\n", source="sample.yml")
    with sessions() as session:
        assert HandoffService(off, clock, embed=lambda texts: [[1.0]] * len(texts)).warm_incident_vectors(session) == 0
        assert HandoffService(parse_policies(SAMPLE + INCIDENTS), clock).warm_incident_vectors(session) == 0
