"""The outbox: must-happen work enqueued in the caller's transaction and run after commit."""
