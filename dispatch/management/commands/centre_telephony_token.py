"""`manage.py centre_telephony_token`: a centre's telephony system credential for its queue.

`centre_telephony_token CODE [--label TEXT]` issues a token and prints it once (only its
SHA-256 is stored); `--list` shows a centre's tokens by id, `--revoke ID` ends one at once.
docs/centres.md.
"""

from __future__ import annotations

from accounts.system_tokens import SystemTokenCommand
from dispatch.models import DispatchCentre
from dispatch.services.call_queue import TELEPHONY_TOKEN


class Command(SystemTokenCommand):
    help = "Issue (printed once), list or revoke a dispatch centre's telephony (CTI) token."
    kind = TELEPHONY_TOKEN
    owner_model = DispatchCentre
    owner_word = "dispatch centre"
    kind_word = "telephony"
    store_in = "the centre's telephony system"
