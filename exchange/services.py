"""Peers and their keys; sending a patient record to a peer; receiving one from a peer.

Sending: `exchange_send_encounter` builds the message once, stores it as an
OutboundMessage and enqueues an outbox task in the caller's transaction; the handler
(`exchange_deliver`) signs and POSTs it and records the receipt. A transient answer (5xx,
transient-error, no connection) is retried by the outbox with back-off under the same
message id; a fatal-error receipt ends the message `rejected`.

Receiving: `message_receive` checks the signature, the timestamp window, the message
structure and the message id, then opens (or updates) the encounter through handoff's own
services as the peer's unit's service crew, so it is audited, evented and shown on the ED
board like a local one. Every request leaves an InboundMessage; a rejected one changes
nothing else. Logs name message ids, peers and reason codes, never patient data.
docs/interop.md, "Between deployments".
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from dispatch import services as dispatch_services
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Assignment,
    Unit,
    UnitStatus,
)
from exchange import messages, signing, transport, treatment
from exchange.messages import Rejection
from exchange.models import (
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
    Peer,
    PeerKey,
)
from exchange.vitals import received_sets
from handoff import selectors as handoff_selectors
from handoff.interop.fhir import encounter_bundle
from handoff.models import Encounter, EncounterStatus, Hospital
from handoff.services import HandoffError
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open, encounter_update
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record
from outbox.models import OutboxTask
from outbox.services import OutboxError, outbox_enqueue, register_outbox_handler

logger = logging.getLogger(__name__)

SEND_KIND: Final = "exchange.send"
INBOUND_PATH: Final = "/api/v1/exchange/messages/"
TIMEOUT_SECONDS: Final = 15.0
LEASE_SECONDS: Final = 60
MAX_ATTEMPTS: Final = 12
MAX_ACTIVE_KEYS: Final = 2


class ExchangeError(Exception):
    """A peer or key operation that cannot be done; the message names the field."""


# --- Peers and keys ----------------------------------------------------------------------


def peer_url_problem(url: str) -> str | None:
    """Why `url` may not be a peer's base URL (None: it may): https (http only to loopback
    with HANDOFF_FHIR_HTTP_LOOPBACK), no credentials, host in EXCHANGE_PEER_ALLOWED_HOSTS."""
    return transport.url_problem(url)


def peer_create(*, name: str, base_url: str, station_id: int | None = None) -> Peer:
    """Register a peer; its base URL must pass `peer_url_problem`."""
    problem = peer_url_problem(base_url)
    if problem is not None:
        raise ExchangeError(f"base_url {problem}")
    if Peer.objects.filter(name=name).exists():
        raise ExchangeError(f"name: a peer {name!r} exists already")
    return Peer.objects.create(
        name=name,
        base_url=base_url.rstrip("/"),
        station_id=station_id,
        created_at=timezone.now(),
    )


def peer_key_add(*, peer: Peer, key_id: str | None = None, secret: str | None = None) -> str:
    """Add a key to `peer` (a new random one, or the one the peer created) and return the
    secret, the only time it is shown. With two active keys already, the oldest is retired
    (rotation: the new key and the previous one are accepted until the old is retired)."""
    if secret is not None and len(secret) < 32:
        raise ExchangeError("secret must be at least 32 characters")
    key_id = key_id or signing.new_key_id()
    secret = secret or signing.new_secret()
    now = timezone.now()
    with transaction.atomic():
        if PeerKey.objects.filter(key_id=key_id).exists():
            raise ExchangeError(f"key_id {key_id!r} exists already")
        active = list(
            PeerKey.objects.select_for_update()
            .filter(peer=peer, retired_at__isnull=True)
            .order_by("created_at", "pk")
        )
        for old in active[: max(0, len(active) - MAX_ACTIVE_KEYS + 1)]:
            old.retired_at = now
            old.save(update_fields=["retired_at"])
        PeerKey.objects.create(
            peer=peer,
            key_id=key_id,
            secret_encrypted=signing.encrypt_secret(secret),
            created_at=now,
        )
    logger.info("exchange: key %s added for peer %s", key_id, peer.name)
    return secret


def peer_key_retire(*, key_id: str) -> None:
    """Stop accepting and using a key (the end of a rotation)."""
    updated = PeerKey.objects.filter(key_id=key_id, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )
    if not updated:
        raise ExchangeError(f"key_id {key_id!r} is not an active key")


def _signing_key(peer: Peer) -> tuple[str, str]:
    key = PeerKey.objects.filter(peer=peer, retired_at__isnull=True).first()
    secret = signing.decrypt_secret(key.secret_encrypted) if key else None
    if key is None or secret is None:
        raise ExchangeError(f"peer {peer.name} has no usable active key")
    return key.key_id, secret


# --- Sending -----------------------------------------------------------------------------


def _own_endpoint() -> str:
    return settings.EXCHANGE_OWN_BASE_URL.rstrip("/") + INBOUND_PATH


def exchange_send_encounter(*, user: Any, encounter_id: int, peer_name: str) -> OutboundMessage:
    """Send an encounter's record (its FHIR document) to a peer as a patient-handoff message.

    Preconditions: the peer is active with a key; the encounter has a destination (the
    hospital of the peer that receives the patient, by its code). The message is built now
    and sent after commit through the outbox; the disclosure is audited when it is sent.
    """
    peer = Peer.objects.filter(name=peer_name, active=True).first()
    if peer is None:
        raise ExchangeError(f"peer: no active peer {peer_name!r}")
    _signing_key(peer)
    with transaction.atomic():
        encounter = (
            Encounter.objects.select_related("assignment__unit", "assignment__incident")
            .filter(pk=encounter_id)
            .first()
        )
        if encounter is None:
            raise ExchangeError(f"encounter: no encounter {encounter_id}")
        if encounter.destination_id is None:
            raise ExchangeError("encounter: has no destination hospital to hand over to")
        try:
            document = encounter_bundle(handoff_selectors.encounter_document(encounter))
        except ValueError as error:
            raise ExchangeError("encounter: its FHIR document could not be built") from error
        now = timezone.now()
        outbound = OutboundMessage(
            peer=peer,
            event=messages.PATIENT_HANDOFF,
            encounter=encounter,
            created_at=now,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        unit = encounter.assignment.unit
        bundle = messages.message_bundle(
            message_id=str(outbound.message_id),
            event=messages.PATIENT_HANDOFF,
            source=_own_endpoint(),
            source_name=settings.EXCHANGE_OWN_NAME,
            destination=peer.base_url + INBOUND_PATH,
            focus=[{**document, "id": document.get("id") or str(outbound.message_id)}],
            sender={
                "identifier": {"system": messages.UNIT_SYSTEM, "value": unit.call_sign},
                "display": unit.call_sign,
            },
            reason={
                "coding": [
                    {
                        "system": messages.DETERMINANT_SYSTEM,
                        "code": encounter.assignment.incident.determinant,
                    }
                ]
            },
            now=now,
        )
        outbound.body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
        outbound.save()
        outbox_enqueue(
            kind=SEND_KIND, key=f"exchange:{outbound.message_id}", payload={"id": outbound.pk}
        )
    return outbound


def _disclose(outbound: OutboundMessage, outcome: str, status: int | None) -> None:
    if outbound.encounter is None:
        return
    audit_record(
        actor=outbound.created_by,
        action="disclose",
        object_type="encounter",
        object_id=outbound.encounter.public_id,
        detail={
            "via": "exchange",
            "peer": outbound.peer.name,
            "message": str(outbound.message_id),
            "outcome": outcome,
            "status": status,
        },
    )


class _RetryError(OutboxError):
    def __init__(self, message: str, outbound_id: int, status: int | None) -> None:
        super().__init__(message)
        self.outbound_id = outbound_id
        self.status = status


def _on_failure(task: OutboxTask, exc: BaseException) -> None:
    """The handler's transaction rolled back: record the failed attempt on the message."""
    outbound = OutboundMessage.objects.filter(pk=task.payload.get("id")).first()
    if outbound is None:
        return
    OutboundMessage.objects.filter(pk=outbound.pk).update(last_error=str(exc)[:200])
    if isinstance(exc, _RetryError):
        _disclose(outbound, "failed", exc.status)


def _receipt_code(receipt: Any) -> str:
    try:
        header = receipt["entry"][0]["resource"]
        return str(header["response"]["code"])
    except (KeyError, IndexError, TypeError):
        return ""


def exchange_deliver(task: OutboxTask) -> dict[str, Any] | None:
    """Outbox handler `exchange.send`: sign and POST the stored message, record the receipt."""
    outbound = (
        OutboundMessage.objects.select_for_update(of=("self",))
        .select_related("peer", "encounter", "created_by")
        .filter(pk=task.payload.get("id"))
        .first()
    )
    if outbound is None or outbound.status != OutboundStatus.PENDING:
        return {"skipped": True}
    try:
        key_id, secret = _signing_key(outbound.peer)
    except ExchangeError as error:
        raise OutboxError(str(error)) from None
    url = outbound.peer.base_url + INBOUND_PATH
    try:
        reply = transport.post_signed(
            url,
            outbound.body.encode("utf-8"),
            key_id=key_id,
            secret=secret,
            timeout=TIMEOUT_SECONDS,
        )
    except transport.TransportError as error:
        if error.retryable:
            raise _RetryError(error.message, outbound.pk, error.status) from None
        return _rejected(outbound, error.status, None, error.message)
    code = _receipt_code(reply.receipt)
    if 200 <= reply.status < 300 and code == "ok":
        outbound.status = OutboundStatus.ACCEPTED
        outbound.http_status = reply.status
        outbound.receipt_code = code
        outbound.receipt = reply.receipt
        outbound.answered_at = timezone.now()
        outbound.last_error = ""
        outbound.save()
        _disclose(outbound, "delivered", reply.status)
        logger.info("exchange: message %s accepted by %s", outbound.message_id, outbound.peer)
        return {"accepted": True, "status": reply.status}
    if reply.status >= 500 or reply.status in (408, 425, 429) or code == "transient-error":
        raise _RetryError(
            f"peer answered HTTP {reply.status} {code}".strip(), outbound.pk, reply.status
        )
    return _rejected(outbound, reply.status, reply.receipt, f"peer answered HTTP {reply.status}")


def _rejected(
    outbound: OutboundMessage, status: int | None, receipt: Any, error: str
) -> dict[str, Any]:
    outbound.status = OutboundStatus.REJECTED
    outbound.http_status = status
    outbound.receipt = receipt
    outbound.receipt_code = _receipt_code(receipt) or "fatal-error"
    outbound.answered_at = timezone.now()
    outbound.last_error = error[:200]
    outbound.save()
    _disclose(outbound, "rejected", status)
    logger.error(
        "exchange: message %s rejected by %s: %s", outbound.message_id, outbound.peer, error
    )
    return {"accepted": False, "status": status}


register_outbox_handler(
    SEND_KIND,
    exchange_deliver,
    lease_seconds=LEASE_SECONDS,
    max_attempts=MAX_ATTEMPTS,
    on_failure=_on_failure,
)


# --- Receiving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers: HTTP status and a FHIR resource (receipt or outcome)."""

    status: int
    resource: dict[str, Any]


def _header(headers: Any, name: str) -> str:
    value = headers.get(name)
    return value.strip() if isinstance(value, str) else ""


def _authenticate(method: str, path: str, headers: Any, body: bytes) -> PeerKey:
    key_id = _header(headers, signing.KEY_ID_HEADER)
    stamp = _header(headers, signing.TIMESTAMP_HEADER)
    signature = _header(headers, signing.SIGNATURE_HEADER)
    for name, value in (
        (signing.KEY_ID_HEADER, key_id),
        (signing.TIMESTAMP_HEADER, stamp),
        (signing.SIGNATURE_HEADER, signature),
    ):
        if not value:
            raise Rejection(401, "unsigned", name, f"the {name} header is required")
    key = (
        PeerKey.objects.select_related("peer")
        .filter(key_id=key_id, retired_at__isnull=True, peer__active=True)
        .first()
    )
    if key is None:
        raise Rejection(401, "unknown_key", signing.KEY_ID_HEADER, "no active peer key has this id")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > settings.EXCHANGE_SIGNATURE_WINDOW:
        raise Rejection(
            401,
            "expired_timestamp",
            signing.TIMESTAMP_HEADER,
            f"must be Unix seconds within {settings.EXCHANGE_SIGNATURE_WINDOW} s of now",
        )
    secret = signing.decrypt_secret(key.secret_encrypted)
    if secret is None or not signing.signature_matches(
        secret, method, path, stamp, body, signature
    ):
        raise Rejection(
            401, "bad_signature", signing.SIGNATURE_HEADER, "does not match this request"
        )
    return key


def _outcome(rejection: Rejection) -> dict[str, Any]:
    return messages.operation_outcome(
        code=messages.ISSUE_TYPE.get(rejection.reason, "invalid"),
        element=rejection.element,
        message=f"{rejection.element}: {rejection.message}",
    )


def _keep(
    *,
    body: bytes,
    status: int,
    resource: dict[str, Any],
    key: PeerKey | None = None,
    message: messages.Message | None = None,
    rejection: Rejection | None = None,
    record: messages.PatientRecord | None = None,
    encounter: Encounter | None = None,
) -> InboundMessage:
    return InboundMessage.objects.create(
        peer=key.peer if key else None,
        key_id=key.key_id if key else "",
        message_id=message.message_id if message else "",
        event=message.event if message else "",
        body_sha256=signing.body_digest(body),
        body_bytes=len(body),
        status=InboundStatus.REJECTED if rejection else InboundStatus.ACCEPTED,
        http_status=status,
        reason=rejection.reason if rejection else "",
        element=rejection.element[:120] if rejection else "",
        receipt=resource,
        source_encounter=record.source_encounter[:64] if record else "",
        source_incident=record.source_incident[:64] if record else "",
        encounter=encounter,
        received_at=timezone.now(),
    )


def message_receive(*, method: str, path: str, headers: Any, body: bytes) -> Answer:
    """Authenticate, validate and apply one inbound message; every outcome is kept.

    401: unsigned, unknown key, expired timestamp, bad signature (an OperationOutcome).
    400: malformed JSON or not a message Bundle (an OperationOutcome), or content we cannot
    take (a fatal-error receipt). 409: a message id seen before with other content. A repeat
    of an accepted message gets its stored receipt and changes nothing.
    """
    key: PeerKey | None = None
    message: messages.Message | None = None
    try:
        key = _authenticate(method, path, headers, body)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Rejection(400, "malformed_json", "Bundle", "the body is not JSON") from None
        message = messages.parse_message(data)
    except Rejection as rejection:
        resource = _outcome(rejection)
        _keep(body=body, status=rejection.status, resource=resource, key=key, rejection=rejection)
        logger.warning("exchange: request rejected (%s, %s)", rejection.reason, rejection.element)
        return Answer(rejection.status, resource)
    return _apply(key, message, body)


def _answer(
    key: PeerKey, message: messages.Message, code: str, outcome: dict[str, Any] | None
) -> dict[str, Any]:
    return messages.response_bundle(
        request_id=message.message_id,
        event=message.event,
        code=code,
        source=_own_endpoint(),
        destination=message.source,
        outcome=outcome,
        now=timezone.now(),
    )


def _apply(key: PeerKey, message: messages.Message, body: bytes) -> Answer:
    digest = signing.body_digest(body)
    earlier = InboundMessage.objects.filter(
        peer=key.peer, message_id=message.message_id, status=InboundStatus.ACCEPTED
    ).first()
    if earlier is not None:
        return _repeat(key, message, body, earlier, digest)
    try:
        with transaction.atomic():
            record = messages.patient_record(message)
            encounter = _take_patient(key.peer, record, message.focus[0])
            receipt = _answer(key, message, "ok", None)
            _keep(
                body=body,
                status=200,
                resource=receipt,
                key=key,
                message=message,
                record=record,
                encounter=encounter,
            )
    except IntegrityError:
        # The same message id raced in on another connection and won: answer as a repeat.
        earlier = InboundMessage.objects.filter(
            peer=key.peer, message_id=message.message_id, status=InboundStatus.ACCEPTED
        ).first()
        if earlier is None:
            raise
        return _repeat(key, message, body, earlier, digest)
    except (Rejection, HandoffError) as error:
        rejection = (
            error
            if isinstance(error, Rejection)
            else Rejection(400, "invalid_content", error.field or "Bundle", str(error))
        )
        receipt = _answer(key, message, "fatal-error", _outcome(rejection))
        _keep(
            body=body,
            status=rejection.status,
            resource=receipt,
            key=key,
            message=message,
            rejection=rejection,
        )
        logger.warning(
            "exchange: message %s from %s rejected (%s, %s)",
            message.message_id,
            key.peer,
            rejection.reason,
            rejection.element,
        )
        return Answer(rejection.status, receipt)
    logger.info("exchange: message %s from %s accepted", message.message_id, key.peer)
    return Answer(200, receipt)


def _repeat(
    key: PeerKey,
    message: messages.Message,
    body: bytes,
    earlier: InboundMessage,
    digest: str,
) -> Answer:
    if earlier.body_sha256 == digest:
        # Idempotent: the sender did not get (or lost) the receipt; the same one again.
        return Answer(earlier.http_status, earlier.receipt)
    rejection = Rejection(
        409,
        "replayed_message_id",
        "MessageHeader.id",
        "this message id was accepted before with other content",
    )
    receipt = _answer(key, message, "fatal-error", _outcome(rejection))
    _keep(body=body, status=409, resource=receipt, key=key, message=message, rejection=rejection)
    logger.warning(
        "exchange: message %s from %s replayed with other content", message.message_id, key.peer
    )
    return Answer(409, receipt)


def _service_crew(peer: Peer, call_sign: str) -> tuple[Unit, Any]:
    """The local unit standing for the peer's unit, and its service crew member (no password:
    it cannot log in; handoff's services act as it, so the chain names who brought it)."""
    if peer.station is None:
        raise Rejection(
            400,
            "not_receiving",
            "MessageHeader.destination",
            "this deployment does not receive patients from this peer",
        )
    local_sign = f"{peer.name}:{call_sign}"[:32]
    unit, _ = Unit.objects.get_or_create(
        call_sign=local_sign,
        defaults={
            "centre": peer.station.centre,
            "home_station": peer.station,
            "unit_type": "ALS",
            "capabilities": [],
            "status": UnitStatus.TRANSPORTING,
        },
    )
    user_model = get_user_model()
    username = f"peer.{local_sign}"[:150]
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model(
            username=username, role="crew", unit=unit, first_name=peer.name, last_name=call_sign
        )
        user.set_unusable_password()
        user.save()
    return unit, user


def _assignment(
    peer: Peer, record: messages.PatientRecord, unit: Unit, hospital: Hospital, user: Any
) -> Assignment:
    """The local incident and assignment the peer's unit brings the patient under: the one
    of an earlier message about the same incident while it is still active, else a new one."""
    earlier = (
        InboundMessage.objects.filter(
            peer=peer,
            status=InboundStatus.ACCEPTED,
            source_incident=record.source_incident,
            encounter__isnull=False,
        )
        .exclude(source_incident="")
        .select_related("encounter__assignment")
        .first()
    )
    if earlier is not None and earlier.encounter is not None:
        assignment = earlier.encounter.assignment
        if assignment.status in ACTIVE_ASSIGNMENT_STATUSES and assignment.unit_id == unit.pk:
            return assignment
    return dispatch_services.transport_received_open(
        user=user,
        unit=unit,
        hospital_id=hospital.pk,
        hospital_at=(hospital.lat, hospital.lon),
        determinant=record.determinant,
        chief_complaint=record.fields.get("chief_complaint") or "Patient from peer",
        brought_by=f"{peer.name} unit {record.unit_call_sign}",
        received_from=peer.name,
    )


def _take_patient(
    peer: Peer, record: messages.PatientRecord, document: dict[str, Any]
) -> Encounter:
    """Open (or update) the local encounter of a received patient record."""
    hospital = Hospital.objects.filter(code=record.hospital_code).first()
    if hospital is None:
        raise Rejection(
            400, "unknown_hospital", "Encounter.serviceProvider", "no hospital here has this code"
        )
    unit, user = _service_crew(peer, record.unit_call_sign)
    earlier = (
        InboundMessage.objects.filter(
            peer=peer,
            status=InboundStatus.ACCEPTED,
            source_encounter=record.source_encounter,
            encounter__status=EncounterStatus.OPEN,
        )
        .select_related("encounter")
        .first()
    )
    if earlier is not None and earlier.encounter is not None:
        encounter = encounter_update(
            user=user, encounter_id=earlier.encounter.pk, data=record.fields
        )
    else:
        assignment = _assignment(peer, record, unit, hospital, user)
        encounter = encounter_open(user=user, assignment_id=assignment.pk, data=record.fields)
    if encounter.destination_id != hospital.pk:
        encounter = destination_set(
            user=user, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="other"
        )
    for vitals in received_sets(document):
        # The sender's observation id keys the set: a later message with the same set
        # returns the stored one instead of a copy. Ranges and NEWS2 are checked here again.
        vitals_record(
            user=user,
            encounter_id=encounter.pk,
            data=vitals.data,
            client_id=f"{peer.name[:24]}:{vitals.source_id}"[:64],
            taken_at=vitals.taken_at,
        )
    for procedure in treatment.received_procedures(document):
        intervention_record(
            user=user,
            encounter_id=encounter.pk,
            client_id=f"{peer.name[:24]}:{procedure.source_id}"[:64],
            text=procedure.text,
            code=procedure.code,
            performed_at=procedure.performed_at,
        )
    for med in treatment.received_medications(document):
        medication_record(
            user=user,
            encounter_id=encounter.pk,
            client_id=f"{peer.name[:24]}:{med.source_id}"[:64],
            name=med.name,
            dose=med.dose,
            unit=med.unit,
            route=med.route,
            given_at=med.given_at,
            # The sending crew confirmed a dose outside the plausible range there (its
            # system refuses it otherwise); one far beyond it is still refused here.
            dose_confirmed=True,
        )
    return encounter
