"""Evaluations: questionnaires and their kinds of question, surveys after a session, the acquis, the needs
analysis, and the results. See docs/evaluations.md."""
