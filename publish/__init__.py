"""Publish stage: versions, files, metadata, pages and portals, from built tables."""
