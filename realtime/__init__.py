"""The real-time platform: the event log's write and replay side, the device item protocol,
the screens' socket base, the per-process ingest tick and the per-process fan-out hub.

Its models (EventLog, StreamSequence, DeviceItem) are in realtime/models.py; the outbox, which
delivers must-happen work, is its own app (outbox/).
"""
