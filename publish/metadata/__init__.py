"""Publish stage: the metadata of a version (Data Package, DCAT-AP, udata)."""
