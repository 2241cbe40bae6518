"""WebSocket of the ED incoming board."""

from __future__ import annotations

from typing import Any

from dispatch.selectors import hospital_summary
from handoff import access, events, selectors
from realtime.consumers import ScreenConsumer, envelope


class EDBoardConsumer(ScreenConsumer):
    """An ED board: follows its hospital's stream. ED actions go through the REST API."""

    def resolve(self, user: Any) -> Any:
        return access.access_staff_hospital(user)

    def group_names_for(self, target: Any) -> list[str]:
        return [events.ed_group(target.pk)]

    def snapshot(self, target: Any) -> dict[str, Any]:
        # Sickest first (NEWS2 risk), then soonest ETA: the rows of handoff.encounter.updated,
        # which replace a row by encounter_id.
        incoming = selectors.ed_incoming_list(hospital_id=target.pk)
        # Handed over (or closed by the ED) in the last minutes, newest first.
        recent = selectors.ed_recent_list(hospital_id=target.pk)
        # Every snapshot (on connect and on each resync) is a read of each patient it shows.
        access.audit_encounter_reads(
            self.scope["user"],
            [row["encounter_id"] for row in (*incoming, *recent)],
            via="ws_snapshot",
        )
        return envelope(
            "handoff.board.snapshot",
            stream=events.ed_group(target.pk),
            data={"hospital": hospital_summary(target), "incoming": incoming, "recent": recent},
        )
