"""Core: under every stage, the exception tree, the problem record, settings and dataset
definitions, Table Schemas, text helpers. Imports nothing of the project above it."""
