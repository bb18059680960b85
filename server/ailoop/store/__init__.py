"""Event stores: the local SQLite store every event is written to first, and the shared one."""
