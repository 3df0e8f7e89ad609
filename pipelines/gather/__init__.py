"""Gather stage: the plan document and the progress submissions read into records."""
