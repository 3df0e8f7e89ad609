"""Intake: receiving files (inbox, HTTP, table files), validating them and archiving them
with their reports. Above validate, gather and state, which it puts together."""
