"""The watch log, the needs-analysis register, the disability partner network and the trainees' adaptations."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...accounts.models import User
from ...companies.models import Company
from ...core.timeutil import utcnow
from ...core.types import UTCDateTime
from ...enrolments.models import Enrolment
from ...extensions import db
from ...sessions.models import TrainingSession
from ..models import ImprovementAction

# Qualiopi 23 (legal), 24 (professional: competences, trades, jobs), 25 (teaching and technological innovations).
WATCH_DOMAINS = {
    "legal": "Légale et réglementaire",
    "professional": "Compétences, métiers et emplois",
    "teaching": "Innovations pédagogiques",
    "technological": "Innovations technologiques",
}
# The indicator each watch domain documents.
WATCH_INDICATORS = {"legal": 23, "professional": 24, "teaching": 25, "technological": 25}


class WatchEntry(db.Model):
    """One item of the watch log: what was read or heard, where, what it means for us, and the action it led to."""

    __tablename__ = "watch_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(300))  # « Légifrance, décret n° 2026-… », « Salon Learning Tech »
    domain: Mapped[str] = mapped_column(String(20))  # a WATCH_DOMAINS key
    summary: Mapped[str] = mapped_column(Text)
    analysis: Mapped[str] = mapped_column(Text, default="")  # what it changes (or not) for the organisation
    action_id: Mapped[int | None] = mapped_column(ForeignKey("improvement_action.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    action: Mapped[ImprovementAction | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def domain_label(self) -> str:
        return WATCH_DOMAINS.get(self.domain, self.domain)


NEEDS_CHANNELS = {
    "interview": "Entretien",
    "meeting": "Réunion avec l'entreprise",
    "specification": "Cahier des charges",
    "funder": "Échange avec le financeur",
    "other": "Autre",
}


class NeedsAnalysis(db.Model):
    """A needs analysis held outside the questionnaire (Qualiopi 4): with whom, how, what was found and decided."""

    __tablename__ = "needs_analysis"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20))  # a NEEDS_CHANNELS key
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="SET NULL"), index=True)
    contact: Mapped[str] = mapped_column(String(200), default="")  # who expressed the need
    needs: Mapped[str] = mapped_column(Text)  # the needs found
    outcome: Mapped[str] = mapped_column(Text, default="")  # what was decided: objectives adapted, course chosen…
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company: Mapped[Company | None] = relationship()
    session: Mapped[TrainingSession | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def channel_label(self) -> str:
        return NEEDS_CHANNELS.get(self.channel, self.channel)


PARTNER_KINDS = {
    "agefiph": "Agefiph",
    "cap_emploi": "Cap emploi",
    "mdph": "MDPH",
    "fiphfp": "FIPHFP",
    "ressource_handicap": "Ressource handicap formation (RHF)",
    "other": "Autre",
}


class DisabilityPartner(db.Model):
    """A partner of the disability network (Qualiopi 26), with its contact."""

    __tablename__ = "disability_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # a PARTNER_KINDS key
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def kind_label(self) -> str:
        return PARTNER_KINDS.get(self.kind, self.kind)


class AdaptationStatus(str, enum.Enum):
    REQUESTED = "requested"
    DECIDED = "decided"
    CARRIED_OUT = "carried_out"
    CHECKED = "checked"
    DECLINED = "declined"


ADAPTATION_STATUSES = {
    "requested": "Demandée",
    "decided": "Décidée",
    "carried_out": "Mise en œuvre",
    "checked": "Vérifiée en fin de session",
    "declined": "Non retenue",
}


class Adaptation(db.Model):
    """A trainee's adaptation for a disability: requested → decided → carried out → checked at the session's end
    (or declined, with the reason and the partner the trainee was directed to)."""

    __tablename__ = "adaptation"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AdaptationStatus.REQUESTED.value)
    request: Mapped[str] = mapped_column(Text)  # the need as expressed
    requested_on: Mapped[dt.date]
    decision: Mapped[str] = mapped_column(Text, default="")  # what the organisation decided to do (or why not)
    decided_on: Mapped[dt.date | None]
    carried_out: Mapped[str] = mapped_column(Text, default="")  # what was actually done
    carried_out_on: Mapped[dt.date | None]
    end_check: Mapped[str] = mapped_column(Text, default="")  # the end-of-session check with the trainee
    checked_on: Mapped[dt.date | None]
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("disability_partner.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    enrolment: Mapped[Enrolment] = relationship()
    partner: Mapped[DisabilityPartner | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return ADAPTATION_STATUSES.get(self.status, self.status)
