"""Surveys after a session: invitations, the tokenised answer page, reminders, low-score alerts."""
