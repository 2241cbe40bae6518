"""`manage.py hospital_inbound_token`: a hospital system's credential for sending outcomes.

`hospital_inbound_token CODE [--label TEXT]` issues a token and prints it once (only its
SHA-256 is stored); `--list` shows a hospital's tokens by id, `--revoke ID` ends one at
once. docs/interop.md, "Outcome back to EMS".
"""

from __future__ import annotations

from accounts.system_tokens import SystemTokenCommand
from handoff.models import Hospital
from handoff.services.inbound import INBOUND_TOKEN


class Command(SystemTokenCommand):
    help = "Issue (printed once), list or revoke a hospital's inbound token for outcomes."
    kind = INBOUND_TOKEN
    owner_model = Hospital
    owner_word = "hospital"
    kind_word = "inbound"
    store_in = "the hospital's interface engine"
