"""One side of the two-deployment test, run inside that side's own process and database
(`manage.py shell -c`), so nothing of the other side's state is reachable from it."""

from __future__ import annotations

import json

from django.utils import timezone

from accounts.models import Role, User
from dispatch.models import Assignment, AssignmentStatus, DispatchCentre, Incident, Station, Unit
from exchange.models import InboundMessage, OutboundMessage
from exchange.services import peer_create, peer_key_add
from handoff.models import Encounter, Hospital
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open


def seed(*, side: str, other: str, other_url: str, key_id: str, secret: str) -> None:
    """This side's centre, station, hospital H-<side>, a crew with a patient bound for the
    other side's hospital H-<other> (known here too: the other side's ED), and the peer."""
    now = timezone.now()
    centre = DispatchCentre.objects.create(name=f"Centre {side}", code=f"centre-{side}")
    station = Station.objects.create(
        centre=centre, name=f"Station {side}", code=f"station-{side}", lat=60.17, lon=24.94
    )
    for code in (f"H-{side}", f"H-{other}"):
        Hospital.objects.create(name=f"Hospital {code}", code=code, lat=60.18, lon=24.92,
                                capabilities=["general"])  # fmt: skip
    unit = Unit.objects.create(
        centre=centre, home_station=station, call_sign=f"{side.upper()}-ALS-1", unit_type="ALS",
        capabilities=[],
    )  # fmt: skip
    crew = User.objects.create(username=f"crew-{side}", role=Role.CREW, unit=unit)
    dispatcher = User.objects.create(
        username=f"disp-{side}", role=Role.DISPATCHER, dispatch_centre=centre
    )
    incident = Incident.objects.create(
        centre=centre, chief_complaint="chest pain", determinant="DELTA",
        response_mode="lights_sirens", location_source="map", lat=60.17, lon=24.95,
        confidence=0.9, road_lat=60.17, road_lon=24.95, road_distance_m=3.0,
        call_received_at=now, created_at=now, created_by=dispatcher,
    )  # fmt: skip
    assignment = Assignment.objects.create(
        incident=incident, unit=unit, status=AssignmentStatus.TRANSPORTING, notified_at=now
    )
    encounter = encounter_open(
        user=crew,
        assignment_id=assignment.pk,
        data={"family_name": f"Patient{side}", "given_name": "Aino", "allergies": ["Latex"],
              "working_impression": "STEMI"},
    )  # fmt: skip
    hospital = Hospital.objects.get(code=f"H-{other}")
    destination_set(user=crew, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest")
    peer = peer_create(name=other, base_url=other_url, station_id=station.pk)
    peer_key_add(peer=peer, key_id=key_id, secret=secret)
    print(json.dumps({"encounter": str(encounter.public_id)}))


def report() -> None:
    """What this side holds of the exchange, as JSON on stdout."""
    out = {
        "outbound": [
            {"status": m.status, "code": m.receipt_code, "http": m.http_status}
            for m in OutboundMessage.objects.order_by("pk")
        ],
        "inbound": [
            {
                "status": m.status,
                "peer": m.peer.name if m.peer else None,
                "encounter": str(m.encounter.public_id) if m.encounter else None,
            }
            for m in InboundMessage.objects.order_by("pk")
        ],
        "encounters": [
            {
                "id": str(e.public_id),
                "family": e.family_name,
                "destination": e.destination.code if e.destination else None,
                "unit": e.assignment.unit.call_sign,
                "allergies": e.allergies,
            }
            for e in Encounter.objects.select_related("destination", "assignment__unit")
        ],
    }
    print(json.dumps(out))


def resend() -> None:
    """Send this side's first message again, as it was (a sender that lost the receipt)."""
    from exchange import transport
    from exchange.services import INBOUND_PATH, _signing_key

    outbound = OutboundMessage.objects.select_related("peer").order_by("pk").first()
    assert outbound is not None
    key_id, secret = _signing_key(outbound.peer)
    reply = transport.post_signed(
        outbound.peer.base_url + INBOUND_PATH,
        outbound.body.encode(),
        key_id=key_id,
        secret=secret,
        timeout=15,
    )
    print(json.dumps({"status": reply.status, "receipt": reply.receipt, "first": outbound.receipt}))
