"""A peer registered on this side, with a key, and signed requests from it."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from exchange import messages, signing
from exchange.services import INBOUND_PATH, peer_create, peer_key_add
from handoff.interop.fhir import encounter_bundle
from tests import factories
from tests.handoff.interop.documents import encounter as sample_document

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def _peer_settings(settings):
    settings.EXCHANGE_PEER_ALLOWED_HOSTS = ["peer-a.example", "127.0.0.1"]
    settings.EXCHANGE_OWN_BASE_URL = "https://here.example"


@pytest.fixture
def receiving_hospital(db):
    # The sample document (tests/handoff/interop/documents.py) is bound for STMARY.
    return factories.HospitalFactory(code="STMARY", name="St Mary's Hospital")


@pytest.fixture
def peer(db):
    station = factories.StationFactory()
    peer = peer_create(name="peer-a", base_url="https://peer-a.example", station_id=station.pk)
    peer_key_add(peer=peer, key_id="k_test", secret=SECRET)
    return peer


def handoff_message(message_id: str | None = None, **document_changes: Any) -> dict[str, Any]:
    document = encounter_bundle(sample_document(**document_changes))
    document["id"] = str(uuid.uuid4())
    return messages.message_bundle(
        message_id=message_id or str(uuid.uuid4()),
        event=messages.PATIENT_HANDOFF,
        source="https://peer-a.example/api/v1/exchange/messages/",
        source_name="peer-a",
        destination="https://here.example/api/v1/exchange/messages/",
        focus=[document],
        sender={"identifier": {"system": messages.UNIT_SYSTEM, "value": "MEDIC 12"}},
        reason={"coding": [{"system": messages.DETERMINANT_SYSTEM, "code": "ECHO"}]},
        now=datetime.now(UTC),
    )


def post(
    client,
    body: bytes | dict[str, Any],
    *,
    key_id: str = "k_test",
    secret: str = SECRET,
    stamp: int | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = str(stamp if stamp is not None else int(time.time()))
    sent = {
        signing.KEY_ID_HEADER: key_id,
        signing.TIMESTAMP_HEADER: ts,
        signing.SIGNATURE_HEADER: signature or signing.sign(secret, "POST", INBOUND_PATH, ts, raw),
    }
    if headers is not None:
        sent = headers
    return client.post(
        INBOUND_PATH,
        data=raw,
        content_type="application/fhir+json",
        headers={"Accept": "application/fhir+json", **sent},
    )


@pytest.fixture
def routed_here(paramedic, unit, dispatcher, hospital):
    """A local encounter bound for `hospital`."""
    from handoff.services.destination import destination_set
    from handoff.services.encounters import encounter_open
    from tests.handoff.conftest import make_assignment

    assignment = make_assignment(unit, dispatcher)
    encounter = encounter_open(
        user=paramedic, assignment_id=assignment.pk, data={"family_name": "Virtanen"}
    )
    return destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
