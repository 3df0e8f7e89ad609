"""The open-data pipeline of France's OGP action plan: gather, validate, publish."""
