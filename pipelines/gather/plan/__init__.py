"""Gather stage, the plan: the plan document parsed into its six tables."""
