"""A hospital's delivery endpoints: changed only by two administrators.

Whoever sets a hospital's FHIR endpoint or MLLP receiver receives every later patient
record sent to that hospital, so a change is a request (`EndpointChange`) until an
administrator other than the requester approves it; request, approval and rejection are in
the audit chain. The endpoints must also be in the settings' allow-lists, checked here, in
the admin form (Hospital.clean) and again before every send (handoff.interop.delivery).
Seeding and migrations set endpoints directly. docs/security.md, "Delivery endpoints".
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, audit_token
from handoff.interop.fhir_auth import endpoint_origin
from handoff.models import (
    DELIVERY_FIELDS,
    EndpointChange,
    EndpointChangeStatus,
    Hospital,
    delivery_endpoint_errors,
)

DECIDE_PERMISSION = "handoff.decide_endpointchange"


class EndpointChangeError(Exception):
    """A change request the two-person rule refuses; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def fhir_origin(url: str) -> str:
    """scheme://host:port of a FHIR endpoint, for the audit trail ("" when none); a URL that
    has no such origin (not http(s), a bad port) goes in as its digest."""
    if not url:
        return ""
    return audit_token(endpoint_origin(url) or url)


def mllp_address(host: str, port: int | None) -> str:
    """host:port of an MLLP receiver, for the audit trail ("" when none)."""
    return audit_token(f"{host.lower()}:{port}") if host else ""


def _detail(change: EndpointChange) -> dict[str, Any]:
    # Hosts and URLs are configuration, not patient data; a URL that is not a plain token
    # (a query string, say) is recorded by its digest.
    return {
        "change": change.pk,
        "hospital": change.hospital_id,
        "fields": change.changed_fields(),
        "fhir_old": audit_token(change.old_fhir_endpoint),
        "fhir_new": audit_token(change.fhir_endpoint),
        "hl7_old": mllp_address(change.old_hl7_host, change.old_hl7_port),
        "hl7_new": mllp_address(change.hl7_host, change.hl7_port),
    }


def _live(hospital: Hospital) -> tuple[str, str, int | None]:
    return hospital.fhir_endpoint, hospital.hl7_host, hospital.hl7_port


def endpoint_change_request(
    *,
    user: Any,
    hospital_id: int,
    fhir_endpoint: str,
    hl7_host: str,
    hl7_port: int | None,
) -> EndpointChange:
    """Ask for the hospital's delivery endpoints to become these; live once approved.

    Preconditions: the values pass the allow-lists, differ from the live ones, and no other
    request for the hospital is waiting (EndpointChangeError naming the field otherwise).
    """
    fhir_endpoint, hl7_host = fhir_endpoint.strip(), hl7_host.strip()
    errors = delivery_endpoint_errors(fhir_endpoint, hl7_host, hl7_port)
    if errors:
        field, message = next(iter(errors.items()))
        raise EndpointChangeError(message, field=field)
    with transaction.atomic():
        hospital = Hospital.objects.select_for_update().get(pk=hospital_id)
        if (fhir_endpoint, hl7_host, hl7_port) == _live(hospital):
            raise EndpointChangeError("These are the hospital's endpoints already.")
        waiting = EndpointChange.objects.filter(
            hospital=hospital, status=EndpointChangeStatus.PENDING
        ).first()
        if waiting is not None:
            raise EndpointChangeError(
                f"Endpoint change #{waiting.pk} of this hospital is waiting for approval: "
                "approve or reject it first.",
                field="fhir_endpoint",
            )
        change = EndpointChange.objects.create(
            hospital=hospital,
            old_fhir_endpoint=hospital.fhir_endpoint,
            old_hl7_host=hospital.hl7_host,
            old_hl7_port=hospital.hl7_port,
            fhir_endpoint=fhir_endpoint,
            hl7_host=hl7_host,
            hl7_port=hl7_port,
            requested_by=user,
            requested_at=timezone.now(),
        )
        audit_record(
            actor=user,
            action="endpoint_change_request",
            object_type="hospital",
            object_id=hospital.pk,
            detail=_detail(change),
        )
    return change


def endpoint_change_decide(*, user: Any, change_id: int, approve: bool) -> EndpointChange:
    """Approve (the hospital's endpoints become the requested ones) or reject a request.

    Preconditions: `user` holds handoff.decide_endpointchange; the request is waiting; an
    approver is not the requester (who may withdraw it by rejecting); on approval the live
    endpoints are still those the request was made against and the new ones still pass the
    allow-lists. EndpointChangeError otherwise.
    """
    if not user.has_perm(DECIDE_PERMISSION):
        raise EndpointChangeError("Only an administrator may approve or reject endpoint changes.")
    hospital_id = (
        EndpointChange.objects.filter(pk=change_id).values_list("hospital_id", flat=True).first()
    )
    if hospital_id is None:
        raise EndpointChangeError(f"Endpoint change #{change_id} does not exist.")
    with transaction.atomic():
        # Hospital first, as endpoint_change_request locks it: the two never deadlock.
        hospital = Hospital.objects.select_for_update().get(pk=hospital_id)
        change = EndpointChange.objects.select_for_update().get(pk=change_id)
        if change.status != EndpointChangeStatus.PENDING:
            raise EndpointChangeError(
                f"Endpoint change #{change.pk} is {change.status} already: nothing to decide."
            )
        if approve and change.requested_by_id == user.pk:
            raise EndpointChangeError(
                f"Endpoint change #{change.pk} was requested by you: another administrator "
                "must approve it."
            )
        if approve:
            old = (change.old_fhir_endpoint, change.old_hl7_host, change.old_hl7_port)
            if _live(hospital) != old:
                raise EndpointChangeError(
                    f"The endpoints of {hospital.code} changed since change #{change.pk} was "
                    "requested: reject it and request again."
                )
            errors = delivery_endpoint_errors(
                change.fhir_endpoint, change.hl7_host, change.hl7_port
            )
            if errors:
                field, message = next(iter(errors.items()))
                raise EndpointChangeError(f"Change #{change.pk}: {message}", field=field)
            for name in DELIVERY_FIELDS:
                setattr(hospital, name, getattr(change, name))
            hospital.save(update_fields=list(DELIVERY_FIELDS))
        change.status = EndpointChangeStatus.APPROVED if approve else EndpointChangeStatus.REJECTED
        change.decided_by = user
        change.decided_at = timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=user,
            action="endpoint_change_approve" if approve else "endpoint_change_reject",
            object_type="hospital",
            object_id=hospital.pk,
            detail={**_detail(change), "requested_by": change.requested_by_id},
        )
    return change
