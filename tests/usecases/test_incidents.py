"""usecases.incidents: a burst of similar tickets becomes an incident agents list and resolve, without HTTP."""

from __future__ import annotations

import pytest

from tests.usecases.helpers import handed_off
from usecases.errors import Conflict, NotFound
from usecases.incidents import Incidents

OUTAGE = [
    "I get an error on the checkout page when I pay",
    "The checkout page shows an error when I try to pay",
    "Error on the checkout page when paying",
    "I get an error at checkout when I try to pay",
    "The checkout page gives me an error when I pay",
]


def test_a_burst_is_listed_with_its_tickets_and_resolved_once(ctx, clock):
    incidents = Incidents(ctx)
    assert incidents.list() == []
    ids = []
    for text in OUTAGE:
        ids.append(handed_off(ctx, text))
        clock.advance(minutes=2)
    handed_off(ctx, "Where is my parcel? It has not arrived yet")

    [incident] = incidents.list(status="open")
    assert incident.count == 5 and [t.id for t in incident.tickets] == ids
    assert incident.created_at.tzinfo is not None and all(t.created_at.tzinfo for t in incident.tickets)
    assert incidents.get(incident.id) == incident
    assert incidents.list(status="resolved") == []

    done = incidents.resolve(incident.id, "Aiko", "fixed")
    assert (done.status, done.resolved_by, done.resolution) == ("resolved", "Aiko", "fixed")
    assert done.resolved_at == clock.now()
    with pytest.raises(Conflict, match="already resolved"):
        incidents.resolve(incident.id, "Aiko")
    with pytest.raises(NotFound):
        incidents.get(999)
    with pytest.raises(NotFound):
        incidents.resolve(999, "Aiko")
