"""Web: the bodies' door (and, next, the steward's console), an adapter like ``pipelines.cli``.

Routes, server-rendered French templates (autoescaped, complete without JavaScript),
security headers, sessions, CSRF and rate limits; every decision below is a library call
(``pipelines.intake.dropoff``, ``pipelines.state.accesses``), the same as the command's.
"""
