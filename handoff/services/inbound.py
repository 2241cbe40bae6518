"""Outcomes the hospital system sends in: its credential, and receiving one message.

A hospital authenticates with its inbound token (`HospitalInboundToken`, only the SHA-256
kept; issued by `manage.py hospital_inbound_token`, shown once). Every message is kept as
an `InboundMessage`; one refused changes nothing else and stays for inspection with the
element at fault. docs/interop.md, "Outcome back to EMS".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.system_tokens import (
    SystemTokenKind,
    system_token_issue,
    system_token_owner,
    system_token_revoke,
)
from audit.services import audit_record
from handoff.interop import inbound
from handoff.interop.delivery import message_control_id
from handoff.interop.document import identifier_systems
from handoff.models import (
    Encounter,
    Hospital,
    HospitalInboundToken,
    InboundMessage,
    InboundStatus,
    OutcomeSource,
)
from handoff.services import HandoffError
from handoff.services.outcome import outcome_record_from_hospital

TOKEN_PREFIX: Final = "ghin_"  # noqa: S105 - the prefix that tells the token apart, no secret
# A message body larger than this is refused unread (an A03 or an Encounter is a few KB).
MAX_BODY_BYTES: Final = 256 * 1024
_UNKNOWN: Final = "No encounter sent to this hospital has that identifier."


INBOUND_TOKEN = SystemTokenKind(
    model=HospitalInboundToken,
    owner="hospital",
    prefix=TOKEN_PREFIX,
    action="inbound_token",
    object_type="hospital",
    holder="the hospital's inbound token",
    realm="hospital-inbound",
)


def inbound_token_issue(*, hospital: Hospital, label: str = "") -> str:
    """A new inbound token for `hospital`: returned once, only its hash is stored; audited."""
    return str(system_token_issue(INBOUND_TOKEN, owner=hospital, label=label))


def inbound_token_revoke(*, token_id: int) -> HospitalInboundToken:
    """Revoke an inbound token at once (the hospital's next message gets 401); audited."""
    return system_token_revoke(INBOUND_TOKEN, token_id=token_id)  # type: ignore[no-any-return]


def inbound_token_hospital(header: str | None) -> Hospital | None:
    """The hospital an `Authorization: Bearer <token>` header authenticates, or None."""
    return system_token_owner(INBOUND_TOKEN, header)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Received:
    """The answer to one message: accepted or the error, and the kept row."""

    error: inbound.InboundError | None
    message: InboundMessage
    control_id: str
    not_found: bool = False


def _keep(
    hospital: Hospital,
    kind: str,
    body: str,
    *,
    control_id: str,
    encounter: Encounter | None = None,
    error: inbound.InboundError | None = None,
) -> InboundMessage:
    return InboundMessage.objects.create(
        hospital=hospital,
        kind=kind,
        status=InboundStatus.ACCEPTED if error is None else InboundStatus.REJECTED,
        encounter=encounter,
        control_id=control_id[:64],
        error_field=error.where[:64] if error else "",
        error=error.message[:300] if error else "",
        body=body,
        received_at=timezone.now(),
    )


def _record(
    hospital: Hospital, kind: str, parsed: inbound.InboundOutcome, locations: dict[str, str]
) -> Encounter:
    if parsed.encounter_uuid is not None:
        found = Encounter.objects.filter(public_id=parsed.encounter_uuid)
    else:
        found = Encounter.objects.filter(temp_identifier=parsed.visit_number)
    # Another hospital's patient is answered exactly like an unknown one: the sender learns
    # nothing about encounters that were never its own.
    encounter = found.filter(destination=hospital).first()
    if encounter is None:
        raise inbound.InboundError(
            _UNKNOWN, where=locations["encounter"], code=inbound.ERR_UNKNOWN_KEY
        )
    try:
        outcome_record_from_hospital(
            hospital=hospital, encounter_id=encounter.pk, data=parsed.data, source=kind
        )
    except HandoffError as error:
        where = locations.get(error.field or "", locations["ed_disposition"])
        code = inbound.ERR_TABLE_VALUE if "one of" in error.message else inbound.ERR_DATA_TYPE
        raise inbound.InboundError(error.message, where=where, code=code) from None
    return encounter


def _receive(
    hospital: Hospital,
    kind: str,
    body: str,
    parse: Any,
    locations: dict[str, str],
    control_id_of: Any = None,
) -> Received:
    control_id = ""
    try:
        parsed = parse()
        control_id = parsed.control_id
        with transaction.atomic():
            encounter = _record(hospital, kind, parsed, locations)
            row = _keep(hospital, kind, body, control_id=control_id, encounter=encounter)
    except inbound.InboundError as error:
        # Refused before the parser took the control id (MSH-9, MSH-12, ...): the ACK still
        # names the message the sender sent, when its header can be read.
        if not control_id and control_id_of is not None:
            control_id = control_id_of(body)[:64]
        row = _keep(hospital, kind, body, control_id=control_id, error=error)
        audit_record(
            actor=None,
            action="inbound_reject",
            object_type="hospital",
            object_id=hospital.pk,
            detail={"kind": kind, "message": row.pk, "where": error.where},
        )
        return Received(
            error=error,
            message=row,
            control_id=control_id,
            not_found=error.code == inbound.ERR_UNKNOWN_KEY,
        )
    return Received(error=None, message=row, control_id=control_id)


def a03_receive(*, hospital: Hospital, body: str) -> Received:
    """An HL7 v2 ADT^A03 from `hospital` (authenticated): recorded, or kept and refused."""
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        error = inbound.InboundError("The message is too large.", where="MSH", reject=True)
        row = _keep(hospital, OutcomeSource.HL7, body[:1000], control_id="", error=error)
        return Received(error=error, message=row, control_id="")
    return _receive(
        hospital,
        OutcomeSource.HL7,
        body,
        lambda: inbound.parse_a03(body),
        inbound.HL7_LOCATION,
        control_id_of=lambda text: message_control_id(
            text.replace("\r\n", "\r").replace("\n", "\r").strip("\r \t\x0b\x1c")
        ),
    )


def a03_ack(*, body: str, received: Received) -> str:
    """The ACK answering an A03 that `a03_receive` took (over HTTP or MLLP): AA, or AE/AR
    with the ERR naming the field; its own MSH-10 names the kept row."""
    return inbound.ack(
        body,
        control_id=received.control_id,
        error=received.error,
        now=timezone.now(),
        ack_control_id=f"GHACK{received.message.pk}",
    )


def fhir_encounter_receive(*, hospital: Hospital, body: str, resource: Any) -> Received:
    """A FHIR Encounter update from `hospital` (authenticated): recorded, or kept and refused.

    `resource` is the parsed JSON (None when the body was not JSON)."""
    system = identifier_systems(settings.FHIR_IDENTIFIER_BASE, settings.FHIR_MRN_SYSTEMS).encounter

    def parse() -> inbound.InboundOutcome:
        if resource is None:
            raise inbound.InboundError("The body is not JSON.", where="Encounter", reject=True)
        return inbound.parse_fhir_encounter(resource, encounter_system=system)

    return _receive(hospital, OutcomeSource.FHIR, body, parse, inbound.FHIR_LOCATION)
