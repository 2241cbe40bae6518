"""Handoff group names and event types.

Every handoff event is logged (realtime.events.event_record) on one of two streams: the
receiving ED's `handoff.ed.<hospital_id>` and the crew tablet's `dispatch.unit.<unit_id>`.
Payloads carry the temporary identifier, never the patient's name (docs/handoff.md).
"""

from __future__ import annotations

from typing import Final

from dispatch.events import centre_group, unit_group

__all__ = [
    "ACTIVATION_ACKNOWLEDGED",
    "ACTIVATION_ESCALATED",
    "ACTIVATION_PROPOSED",
    "DELIVERY_DELIVERED",
    "DELIVERY_FAILED",
    "ED_ACKNOWLEDGED",
    "ENCOUNTER_REMOVED",
    "ENCOUNTER_UPDATED",
    "HOSPITAL_UPDATED",
    "MESSAGE_CREATED",
    "centre_group",
    "ed_group",
    "unit_group",
]

ENCOUNTER_UPDATED: Final = "handoff.encounter.updated"
# The crew chose another hospital: the previous ED takes the row off its board.
ENCOUNTER_REMOVED: Final = "handoff.encounter.removed"
ACTIVATION_PROPOSED: Final = "handoff.activation.proposed"
ACTIVATION_ESCALATED: Final = "handoff.activation.escalated"
ACTIVATION_ACKNOWLEDGED: Final = "handoff.activation.acknowledged"
MESSAGE_CREATED: Final = "handoff.message.created"
ED_ACKNOWLEDGED: Final = "handoff.ed.acknowledged"
HOSPITAL_UPDATED: Final = "handoff.hospital.updated"
# The hospital's system did not take a message (HL7 AE/AR, FHIR 4xx, or retries used up):
# to the crew with the encounter, to the centre with the job's ids and the reason only.
DELIVERY_FAILED: Final = "handoff.delivery.failed"
# A later message of the same channel got through: the failure shown is cleared.
DELIVERY_DELIVERED: Final = "handoff.delivery.delivered"


def ed_group(hospital_id: int) -> str:
    """The group every ED board screen of one hospital follows."""
    return f"handoff.ed.{hospital_id}"
