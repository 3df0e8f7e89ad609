"""Build stage: records into typed Arrow tables, spilled to disk when large."""
