"""The needs analysis sent to the client companies before a session."""
