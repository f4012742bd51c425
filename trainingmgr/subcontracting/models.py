"""A subcontractor's invoice for a session, with what it was checked against."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import Money, UTCDateTime
from ..extensions import db
from ..files.models import StoredFile
from ..resources.models import Trainer
from ..sessions.models import TrainingSession


class TrainerInvoice(db.Model):
    """The invoice a subcontracting trainer sent for a session: its PDF, number, date and amounts as it states them,
    and the amount it was checked against when recorded (the contract's total, or the rate × the trainer's hours),
    with the result: ``matches`` False is a mismatch shown as a warning, None when there was nothing to compare."""

    __tablename__ = "trainer_invoice"
    __table_args__ = (UniqueConstraint("trainer_id", "number", name="uq_trainer_invoice_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("trainer.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    issued_on: Mapped[dt.date] = mapped_column(index=True)  # the BPF counts the purchases of a year by it
    amount_excl_vat: Mapped[Decimal] = mapped_column(Money())
    vat_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    expected_excl_vat: Mapped[Decimal | None] = mapped_column(Money())
    expected_basis: Mapped[str] = mapped_column(String(200), default="")
    matches: Mapped[bool | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    trainer: Mapped[Trainer] = relationship()
    session: Mapped[TrainingSession] = relationship()
    file: Mapped[StoredFile] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def amount_incl_vat(self) -> Decimal:
        return self.amount_excl_vat + self.vat_amount
