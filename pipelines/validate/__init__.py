"""Validate stage: Table Schema and business rules, on submissions and on staged packages."""
