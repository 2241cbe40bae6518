"""The Python reference client of the Golden Hour device protocol (docs/protocol.md).

No Django imports: integrators, the simulator and the tests use it the same way.
"""

from device_client.client import (
    DeviceClient,
    DeviceClientError,
    Outbox,
    OutboxItem,
    Refusal,
    RejectedItem,
)

__all__ = ["DeviceClient", "DeviceClientError", "Outbox", "OutboxItem", "Refusal", "RejectedItem"]
