"""Gather stage, progress submissions: reading one file, the inbox, the plan facts a
submission is checked against, the progress rows rebuilt from the archive, the template."""
