"""Operations: the scheduler heartbeat, /healthz, the embedded scheduler and `serve`."""
