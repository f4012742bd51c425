"""One row per audited change: written by the flush listener in ``tracking``, never updated."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..extensions import db

HIDDEN = "(masqué)"  # a personal free text's value in the log: it says the text changed, not what it says (RGPD purge)

ACTION_LABELS = {
    "create": "Création",
    "update": "Modification",
    "status": "Changement de statut",
    "cancel": "Annulation",
    "delete": "Suppression",
    "issue": "Émission",
    "generate": "Génération",
    "correct": "Correction",
    "justify": "Justification",
}
OBJECT_LABELS = {
    "session": "Session",
    "enrolment": "Inscription",
    "funding_line": "Ligne de financement",
    "attendance": "Émargement",
    "document": "Document généré",
    "invoice": "Facture ou avoir",
    "payment": "Paiement",
    "quality_request": "Réclamation ou médiation",
    "improvement_action": "Action d'amélioration",
}


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200), default="")  # frozen: the name when it happened
    action: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [before, after]}
    ip: Mapped[str] = mapped_column(String(45), default="")

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def object_label(self) -> str:
        return OBJECT_LABELS.get(self.object_type, self.object_type)
