"""The in-memory adapter: a full, deterministic ``Transport`` for care-logic tests."""
