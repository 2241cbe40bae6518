"""Every write of the handoff: the pre-hospital record, the ED's actions, team activations.

Each service owns its transaction: it locks the encounter row, checks who may act and the
state, writes, and records the events (realtime.events) that the ED board and the crew
tablet show. Event payloads never carry the patient's name (handoff.selectors.board_row).

One module per aggregate, each read on its own:

- `encounters`: open, update and close the crew's patient record (ATMIST, history).
- `vitals`: vitals sets and their scores, one at a time or set-based from a device batch.
- `treatment`: procedures and medications given (ATMIST Treatment).
- `activations`: the team activations the findings call for, their acknowledgement and
  escalation.
- `destination`: the receiving hospital, pre-registration, and the live ETA to it.
- `board`: the receiving ED's actions (acknowledge, bay, diversion) and the messages
  between crew and ED.
- `handover`: arrival, transfer of care, the ED's close, and reconciliation with the
  hospital's record number.
- `_common`: input cleaning, the row lock, the board-row event and the audit row every
  service shares.

Here: the error every service raises.
"""

from __future__ import annotations


class HandoffError(Exception):
    """A request the handoff rules refuse; `field` names the input at fault.

    Codes: "invalid" (bad input, 400), "unknown" (a referenced object does not exist, 400),
    "closed", "invalid_transition" and "conflict" (the record's state forbids it, 409).
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


CONFLICT_CODES = frozenset({"closed", "invalid_transition", "conflict", "client_id_conflict"})
