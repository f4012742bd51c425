"""The triggers, contexts, attachments and defaults of each domain; importing the package registers them all."""
from . import attendance, billing, sessions, signing, surveys  # noqa: F401
