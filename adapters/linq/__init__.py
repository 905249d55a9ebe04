"""The Linq Partner API V3 adapter."""
