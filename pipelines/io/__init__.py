"""I/O: what every stage uses, atomic writes, locks, failpoints, background
threads, start-up tweaks and step events. Imports only pipelines.core."""
