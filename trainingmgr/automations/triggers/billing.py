"""Automations about invoices: the context "invoice" (an issued invoice, not a credit note), the triggers
invoice_due (J−n before the due date) and invoice_overdue (J+n after it), the attachments "invoice_pdf" (the
invoice's stored file, checked against its SHA-256) and "transfer_qr" (the EPC QR code of what remains due), and the
default rules that replace the worker's periodic reminders of overdue invoices (billing/payments/services.py).

- Only an invoice with something left to pay (payments and credit notes deducted) is written about, at the moment
  the message is planned and again when it leaves: once paid, nothing more leaves.
- *Decision*: a rule writing to the payer about an overdue invoice skips an invoice already reminded (by hand with
  the *Relancer* button, or by another rule) on or after the day the rule's reminder falls due: never two reminders
  the same day, and a reminder sent by hand during an outage is not followed by the late automatic one. The default
  rules fire at fixed days (J+7, J+22, J+37); a manual reminder no longer moves the next automatic one.
- A reminder to the payer (invoice_overdue) counts: reminder_count + 1, last_reminder_at, the log line, as the
  manual one does (payments.send_reminder). A notice before the due date (invoice_due) and a copy to the advisor,
  the company's contacts, do not count.

The calls of a contrat de formation's payment schedule (billing/schedule): the context "payment_call" (a call
invoiced), the trigger payment_call_invoiced, the attachments "call_invoice" and "call_transfer_qr", and the default
rule that replaces the e-mail the call's job sent. *Decision*: the call's invoice is still issued by its job on the
morning of its date (or « Envoyer maintenant »), with the contract's checks, the refusal shown on the schedule page
and the retry the next morning; the rule e-mails it at the next pass. An invoice number exists only once issued
(gapless numbering): a dry run cannot name it before, so the e-mail is planned from the issue, and the dry run lists
it exactly (its number, its files).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from sqlalchemy import select

from ...accounts.models import User
from ...billing.invoices.issue import is_public_buyer
from ...billing.kinds import PayerKind
from ...billing.models import Invoice, InvoiceKind, PaymentCall
from ...billing.payments import services as payments
from ...billing.payments.transfer import qr_attachment, transfer_or_none
from ...billing.schedule import services as schedule
from ...companies.models import Company
from ...core.errors import ConflictError
from ...core.formatting import date_fr, money_fr
from ...core.links import external_url
from ...core.persistence import lock_row
from ...core.timeutil import PARIS, paris_date, paris_datetime, utcnow
from ...documents.catalogue import Var
from ...enrolments.models import Enrolment
from ...extensions import db
from ...files.services import read_checked
from ...messaging.models import OutboxMessage
from ...organisation.services import get_organisation, staff_recipients
from ...sessions.models import TrainingSession
from .. import registry
from ..registry import AttachmentKind, Context, DefaultRule, DefaultTemplate, Occurrence, Recipient, Trigger
from .common import ORG_VARIABLES, org_variables

log = logging.getLogger("trainingmgr.billing")

OBJECT_TYPE = "invoice"
PAYER = "payer"  # Recipient.ref of the invoice's payer: their reminders are counted on the invoice
AUDIENCES = ("payer", "advisor", "company_hr", "company_signatory")

# --------------------------------------------------------------------------- the context


VARIABLES = (
    *ORG_VARIABLES,
    Var("invoice.number", "Numéro de la facture", "F2026-0042"),
    Var("invoice.date", "Date d'émission", "25/11/2026"),
    Var("invoice.due_date", "Date d'échéance", "25/12/2026"),
    Var("invoice.total", "Montant TTC", "1 234,56 €"),
    Var("invoice.settled", "Déjà réglé ou annulé par avoir (vide si rien)", "200,00 €"),
    Var("invoice.balance", "Reste dû TTC", "1 034,56 €"),
    Var("invoice.days_late", "Jours de retard (0 avant l'échéance)", "7"),
    Var("invoice.reminder_number", "Numéro de cette relance (relances déjà envoyées + 1)", "1"),
    Var("invoice.buyer", "Nom de l'acheteur", "Atelier d'architecture Garonne"),
    Var("invoice.file_number", "Numéro de dossier du financeur (OPCO)", "EP-2026-1234"),
    Var("invoice.engagement_number", "Numéro d'engagement (acheteur public)", "EJ-4500012345"),
    Var("invoice.payment_terms", "Modalités de paiement de la facture", "Paiement à 30 jours par virement."),
    Var("invoice.public_terms", "Acheteur public (Chorus Pro) : vrai ou faux", "False"),
    Var("invoice.professional", "Payeur professionnel (pas un particulier) : vrai ou faux", "True"),
    Var("invoice.has_file", "La facture a un fichier (PDF ou Word) à joindre : vrai ou faux", "True"),
    Var("transfer.holder", "Virement : bénéficiaire (vide si pas de virement possible)", "Formaction Sud-Ouest"),
    Var("transfer.iban", "Virement : IBAN", "FR76 3000 6000 0112 3456 7890 189"),
    Var("transfer.bic", "Virement : BIC", "AGRIFRPP"),
    Var("transfer.reference", "Virement : référence", "F2026-0042"),
    Var("transfer.amount", "Virement : montant (le reste dû)", "1 034,56 €"),
    Var("session.title", "Intitulé de la session facturée (vide si aucune)", "Chorus Pro : déposer ses factures"),
    Var("session.reference", "Référence de la session", "n° 12"),
    Var("session.dates", "Dates de la session", "du 25/11/2026 au 26/11/2026"),
    Var("recipient.name", "Nom du destinataire", "Service comptabilité"),
    Var("recipient.email", "E-mail du destinataire", "compta@client.example"),
    Var("link", "Page de la facture (pour l'équipe de l'organisme ; vide pour les autres)", ""),
)


def load(object_type: str, object_id: int) -> Invoice | None:
    invoice = db.session.get(Invoice, object_id) if object_type == OBJECT_TYPE else None
    if invoice is None or invoice.kind != InvoiceKind.INVOICE.value or not invoice.is_issued:
        return None
    return invoice


def _company(invoice: Invoice) -> Company | None:
    company_id = invoice.payer_company_id or invoice.beneficiary_company_id
    return db.session.get(Company, company_id) if company_id else None


def _staff() -> list[Recipient]:
    org = get_organisation()
    emails = staff_recipients()
    names = dict(db.session.execute(select(User.email, User.name).where(User.email.in_(emails))).all())
    return [Recipient(email, org.quality_contact_name if email == org.quality_contact_email and
                      org.quality_contact_name else names.get(email) or email, ref="advisor") for email in emails]


def recipients(invoice: Invoice, audience: str) -> list[Recipient]:
    if audience == "payer":
        email = payments.reminder_recipient(invoice)
        return [Recipient(email, invoice.buyer_name or email, ref=PAYER)] if email else []
    if audience == "advisor":
        return _staff()
    role = {"company_hr": "hr", "company_signatory": "signatory"}.get(audience)
    company = _company(invoice) if role else None
    contact = company.contact(role) if company else None
    return [Recipient(contact.email.strip(), contact.name or contact.email, ref=contact)] if contact else []


def _transfer(invoice: Invoice, balance) -> dict:
    transfer, _ = transfer_or_none(invoice, balance) if balance > 0 else (None, "")
    if transfer is None:
        return {"holder": "", "iban": "", "bic": "", "reference": "", "amount": ""}
    return {"holder": transfer.name, "iban": transfer.iban_formatted, "bic": transfer.bic or "",
            "reference": transfer.reference, "amount": transfer.amount_label}


def _session(invoice: Invoice) -> dict:
    session = db.session.get(TrainingSession, invoice.session_id) if invoice.session_id else None
    if session is None:
        return {"title": "", "reference": "", "dates": ""}
    return {"title": session.title, "reference": f"n° {session.id}", "dates": session.dates_label}


def build(invoice: Invoice, recipient: Recipient) -> dict:
    """The plain dict a template renders with. ``days_late`` is counted on the day it is built (Paris)."""
    detail = payments.balance_of(invoice)
    today = paris_date(utcnow())
    settled = detail.paid + detail.credited
    return {
        "org": org_variables(),
        "invoice": {
            "number": invoice.number or "", "date": date_fr(invoice.issue_date), "due_date": date_fr(invoice.due_date),
            "total": money_fr(detail.total), "settled": money_fr(settled) if settled else "",
            "balance": money_fr(max(detail.balance, payments.ZERO)),
            "days_late": max(0, (today - invoice.due_date).days) if invoice.due_date else 0,
            "reminder_number": invoice.reminder_count + 1, "buyer": invoice.buyer_name or "",
            "file_number": invoice.opco_file_number or "", "engagement_number": invoice.engagement_number or "",
            "payment_terms": invoice.payment_terms or "", "public_terms": is_public_buyer(invoice),
            "professional": invoice.payer_kind != PayerKind.INDIVIDUAL.value,
            "has_file": invoice.pdf_file_id is not None or invoice.docx_file_id is not None,
        },
        "transfer": _transfer(invoice, detail.balance),
        "session": _session(invoice),
        "recipient": {"name": recipient.name, "email": recipient.email},
        "link": external_url("billing.show", invoice_id=invoice.id) if recipient.ref == "advisor" else "",
    }


def sample(session_id: int, enrolment_id: int | None) -> tuple[Invoice, Recipient] | None:
    """The session's first issued invoice (the one the trainee's company or the trainee pays, if any), to its
    payer."""
    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.session_id == session_id, Invoice.kind == InvoiceKind.INVOICE.value,
                              Invoice.is_issued).order_by(Invoice.id)))
    if not invoices:
        return None
    enrolment = db.session.get(Enrolment, enrolment_id) if enrolment_id else None
    chosen = invoices[0]
    if enrolment is not None:
        chosen = next((i for i in invoices if i.payer_trainee_id == enrolment.trainee_id
                       or (enrolment.company_id and i.payer_company_id == enrolment.company_id)), chosen)
    payer = recipients(chosen, "payer")
    return chosen, payer[0] if payer else Recipient("", chosen.buyer_name or "")


registry.register_context(Context(
    code="invoice", label="Facture", variables=VARIABLES, load=load, recipients=recipients, build=build,
    sample=sample))

# --------------------------------------------------------------------------- the triggers


def _send_time(rule) -> dt.time:
    try:
        return dt.time.fromisoformat(rule.send_time or "09:00")
    except ValueError:
        return dt.time(9, 0)


def _utc(day: dt.date, time: dt.time) -> dt.datetime:
    return paris_datetime(day, time).astimezone(dt.UTC)


def _unpaid(first_due: dt.date, last_due: dt.date) -> list[Invoice]:
    """Issued invoices due between both days (included) with something left to pay."""
    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.kind == InvoiceKind.INVOICE.value, Invoice.is_issued,
                              Invoice.due_date.is_not(None), Invoice.due_date >= first_due,
                              Invoice.due_date <= last_due).order_by(Invoice.due_date, Invoice.id)))
    left = payments.balances(invoices)
    return [i for i in invoices if left[i.id] > 0]


def _find(rule, start: dt.datetime, end: dt.datetime, sign: int) -> Iterator[tuple[Invoice, dt.datetime]]:
    """(invoice, due_at) for the unpaid invoices whose due date ± the rule's offset falls in [start, end]."""
    shift = dt.timedelta(days=sign * rule.offset_days)
    time = _send_time(rule)
    first = start.astimezone(PARIS).date() - shift - dt.timedelta(days=1)
    last = end.astimezone(PARIS).date() - shift + dt.timedelta(days=1)
    for invoice in _unpaid(first, last):
        due_at = _utc(invoice.due_date + shift, time)
        if start <= due_at <= end:
            yield invoice, due_at


def find_due(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """J−n before the due date; not sent once the invoice is overdue (from the next day)."""
    for invoice, due_at in _find(rule, start, end, -1):
        expires = _utc(invoice.due_date + dt.timedelta(days=1), dt.time(0, 0))
        yield Occurrence(OBJECT_TYPE, invoice.id, "due", due_at, invoice.session_id, expires)


def find_overdue(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """J+n after the due date, still unpaid; to the payer, not when reminded that day or since (see the module)."""
    for invoice, due_at in _find(rule, start, end, +1):
        reminded = paris_date(invoice.last_reminder_at)
        if rule.audience == "payer" and reminded is not None and reminded >= due_at.astimezone(PARIS).date():
            continue
        yield Occurrence(OBJECT_TYPE, invoice.id, "overdue", due_at, invoice.session_id)


def count_reminder(invoice: Invoice, recipient: Recipient, message) -> None:
    """A reminder to the payer counts as the manual one does (payments.send_reminder)."""
    if recipient.ref != PAYER:
        return
    lock_row(Invoice, invoice.id)
    db.session.refresh(invoice)
    invoice.reminder_count += 1
    invoice.last_reminder_at = utcnow()
    db.session.flush()
    log.info("Relance n° %s de la facture %s envoyée à %s (%s)", invoice.reminder_count, invoice.number,
             recipient.email, "automatique")


registry.register_trigger(Trigger(
    code="invoice_due", label="Échéance de facture dans n jours", context="invoice", offset="before",
    audiences=AUDIENCES, find=find_due, dated=True,
    help="Une facture émise, pas encore réglée, dont l'échéance tombe dans n jours (0 : le jour même)."))
registry.register_trigger(Trigger(
    code="invoice_overdue", label="Facture échue depuis n jours", context="invoice", offset="after",
    audiences=AUDIENCES, find=find_overdue, dated=True, after_fired=count_reminder,
    help="Une facture émise, échue depuis n jours, dont il reste quelque chose à payer. Au payeur, c'est une "
         "relance : elle est comptée sur la facture, et ne part pas si la facture a déjà été relancée ce jour-là "
         "(à la main ou par une autre règle)."))

# --------------------------------------------------------------------------- the attachments


def _stored(invoice: Invoice):
    """The invoice's Factur-X PDF, else its Word file, with its extension; (None, "") when it has none."""
    if invoice.pdf_file is not None:
        return invoice.pdf_file, "pdf"
    if invoice.docx_file is not None:
        return invoice.docx_file, "docx"
    return None, ""


def describe_invoice(invoice: Invoice, recipient: Recipient) -> list[tuple[str, str]]:
    stored, extension = _stored(invoice)
    return [("Facture", f"{invoice.number}.{extension}")] if stored is not None else []


def build_invoice(invoice: Invoice, recipient: Recipient) -> list[tuple[str, str, bytes]]:
    """The stored file, checked against the SHA-256 it was stored with: missing or altered, the message does not
    leave (ConflictError, logged by the engine), as the manual reminder refuses it."""
    stored, extension = _stored(invoice)
    if stored is None:
        return []
    try:
        data = read_checked(stored)
    except OSError:
        raise ConflictError(f"Le fichier de la facture {invoice.number} est introuvable dans le stockage : "
                            "le message n'est pas envoyé.") from None
    except ConflictError:
        raise ConflictError(f"Le fichier de la facture {invoice.number} ne correspond plus à son empreinte "
                            "SHA-256 : il a été altéré, le message n'est pas envoyé.") from None
    return [(f"{invoice.number}.{extension}", stored.content_type, data)]


def _left(invoice: Invoice):
    return payments.balance_of(invoice).balance


def describe_qr(invoice: Invoice, recipient: Recipient) -> list[tuple[str, str]]:
    left = _left(invoice)
    transfer, _ = transfer_or_none(invoice, left) if left > 0 else (None, "")
    return [("QR code de virement", f"virement-{invoice.number}.png")] if transfer is not None else []


def build_qr(invoice: Invoice, recipient: Recipient) -> list[tuple[str, str, bytes]]:
    left = _left(invoice)
    attachment = qr_attachment(invoice, left) if left > 0 else None
    return [attachment] if attachment is not None else []


registry.register_attachment(AttachmentKind(
    code="invoice_pdf", label="La facture (PDF Factur-X, sinon Word)", contexts=("invoice",),
    describe=describe_invoice, build=build_invoice))
registry.register_attachment(AttachmentKind(
    code="transfer_qr", label="QR code de virement (reste dû)", contexts=("invoice",),
    describe=describe_qr, build=build_qr))

# --------------------------------------------------------------------------- the default templates and rules

REMINDER_SUBJECT = ("{% if invoice.reminder_number == 1 %}Relance{% else %}Relance n° {{ invoice.reminder_number }}"
                    "{% endif %} : facture {{ invoice.number }} échue – reste dû {{ invoice.balance }}")
# Today's wording (templates/mail/invoice_reminder.txt, which the manual reminder still uses).
REMINDER_BODY = """Bonjour,

{% if invoice.reminder_number == 1 -%}
Sauf erreur de notre part, la facture {{ invoice.number }} du {{ invoice.date }}, échue le {{ invoice.due_date }}, \
n'a pas encore été réglée.
{%- else -%}
Nous revenons vers vous (relance n° {{ invoice.reminder_number }}) : la facture {{ invoice.number }} du \
{{ invoice.date }}, échue le {{ invoice.due_date }}, n'est toujours pas réglée ({{ invoice.days_late }} jours de \
retard).
{%- endif %}

Facture : {{ invoice.number }}{% if invoice.file_number %} (dossier {{ invoice.file_number }}){% endif %}\
{% if invoice.engagement_number %} (engagement {{ invoice.engagement_number }}){% endif %}
Montant TTC : {{ invoice.total }}
{% if invoice.settled %}Déjà réglé ou annulé par avoir : {{ invoice.settled }}
{% endif %}Reste dû : {{ invoice.balance }}
{% if invoice.has_file %}
La facture est jointe à ce message.
{% endif %}{% if transfer.iban %}
Pour régler par virement : {{ transfer.holder }}, IBAN {{ transfer.iban }}{% if transfer.bic %}, BIC \
{{ transfer.bic }}{% endif %}, référence {{ transfer.reference }}. Le QR code joint, lu par l'application de votre \
banque, préremplit ce virement de {{ transfer.amount }}.
{% endif %}
Merci de procéder au règlement dans les meilleurs délais{% if invoice.payment_terms %}, selon les modalités \
indiquées sur la facture : {{ invoice.payment_terms }}{% else %}.{% endif %}
{% if invoice.public_terms %}
Conformément aux articles L2192-12 et suivants du Code de la commande publique, tout retard de paiement fait courir \
des intérêts moratoires et une indemnité forfaitaire de 40 € pour frais de recouvrement.
{% elif invoice.professional %}
Conformément à l'article L441-10 du Code de commerce, tout retard de paiement entraîne l'application de pénalités de \
retard et d'une indemnité forfaitaire de 40 € pour frais de recouvrement.
{% endif %}
Si vous avez réglé cette facture entre-temps, merci de ne pas tenir compte de ce message.

{{ org.name }}{% if org.phone %} – {{ org.phone }}{% endif %}{% if org.email %} – {{ org.email }}{% endif %}
"""

DUE_SUBJECT = "Facture {{ invoice.number }} : échéance le {{ invoice.due_date }}"
DUE_BODY = """Bonjour,

La facture {{ invoice.number }} du {{ invoice.date }} arrive à échéance le {{ invoice.due_date }}.

Facture : {{ invoice.number }}{% if invoice.file_number %} (dossier {{ invoice.file_number }}){% endif %}
Montant TTC : {{ invoice.total }}
Reste dû : {{ invoice.balance }}
{% if transfer.iban %}
Pour régler par virement : {{ transfer.holder }}, IBAN {{ transfer.iban }}{% if transfer.bic %}, BIC \
{{ transfer.bic }}{% endif %}, référence {{ transfer.reference }}.
{% endif %}
Si vous avez déjà réglé cette facture, merci de ne pas tenir compte de ce message.

{{ org.name }}{% if org.phone %} – {{ org.phone }}{% endif %}{% if org.email %} – {{ org.email }}{% endif %}
"""

registry.register_default_template(DefaultTemplate(
    code="invoice_reminder", name="Relance de facture échue", context="invoice", subject=REMINDER_SUBJECT,
    body=REMINDER_BODY))
registry.register_default_template(DefaultTemplate(
    code="invoice_due_notice", name="Avis d'échéance de facture", context="invoice", subject=DUE_SUBJECT,
    body=DUE_BODY))

# Until issue 25 the worker reminded an overdue invoice 7 days after its due date, then every 15 days, 3 times at
# most, from 09:00 (BILLING_REMINDER_*): the same schedule as three rules. The outbox topic stays
# "invoice_reminder" (payments.REMINDER_TOPIC), the manual reminder's.
REMINDER_DAYS = (7, 22, 37)
for _number, _days in enumerate(REMINDER_DAYS, start=1):
    registry.register_default_rule(DefaultRule(
        code=f"invoice_overdue_{_number}", name=f"Relance n° {_number} d'une facture échue (J+{_days})",
        trigger="invoice_overdue", audience="payer", template="invoice_reminder", offset_days=_days,
        send_time="09:00", attachments=("invoice_pdf", "transfer_qr"), topic=payments.REMINDER_TOPIC))


# --------------------------------------------------------------------------- payment calls (contrat de formation)

CALL_OBJECT = "payment_call"

CALL_VARIABLES = (
    *ORG_VARIABLES,
    Var("trainee.display_name", "Civilité, prénom et nom du stagiaire", "Mme Léa Martin"),
    Var("session.title", "Intitulé de la formation", "Chorus Pro : déposer ses factures"),
    Var("session.dates", "Dates de la session", "du 25/11/2026 au 26/11/2026"),
    Var("call.position", "Rang de l'échéance (les échéances annulées mises à part)", "1"),
    Var("call.count", "Nombre d'échéances de l'échéancier", "3"),
    Var("call.amount", "Montant de l'échéance TTC", "180,00 €"),
    Var("call.due_date", "Date de l'échéance", "12/02/2026"),
    Var("invoice.number", "Numéro de la facture de l'échéance", "F2026-0042"),
    Var("invoice.date", "Date d'émission de la facture", "12/02/2026"),
    Var("invoice.due_date", "À régler au plus tard le", "14/03/2026"),
    Var("invoice.total", "Montant TTC de la facture", "180,00 €"),
    Var("transfer.holder", "Virement : bénéficiaire (vide si pas de virement possible)", "Formaction Sud-Ouest"),
    Var("transfer.iban", "Virement : IBAN", "FR76 3000 6000 0112 3456 7890 189"),
    Var("transfer.bic", "Virement : BIC", "AGRIFRPP"),
    Var("transfer.reference", "Virement : référence", "F2026-0042"),
    Var("calls[].number", "Échéancier : rang de l'échéance", "1"),
    Var("calls[].amount", "Échéancier : montant", "180,00 €"),
    Var("calls[].due_date", "Échéancier : date", "12/02/2026"),
    Var("calls[].requested", "Échéancier : déjà demandée (vrai ou faux)", "True"),
    Var("calls[].invoice", "Échéancier : numéro de sa facture (vide sinon)", "F2026-0042"),
    Var("recipient.name", "Nom du destinataire", "Mme Léa Martin"),
    Var("recipient.email", "E-mail du destinataire", "lea.martin@exemple.fr"),
)


def load_call(object_type: str, object_id: int) -> PaymentCall | None:
    """A call invoiced (its invoice issued), else None."""
    call = db.session.get(PaymentCall, object_id) if object_type == CALL_OBJECT else None
    if call is None or not call.is_sent or call.invoice is None or not call.invoice.is_issued:
        return None
    return call


def call_recipients(call: PaymentCall, audience: str) -> list[Recipient]:
    """The trainee, at the address their invoice names (as the call's e-mail always did)."""
    if audience != "trainee":
        return []
    invoice, trainee = call.invoice, db.session.get(Enrolment, call.enrolment_id).trainee
    email = (invoice.buyer_email or trainee.email or "").strip()
    return [Recipient(email, trainee.display_name, ref=PAYER, enrolment_id=call.enrolment_id)] if email else []


def build_call(call: PaymentCall, recipient: Recipient) -> dict:
    enrolment = db.session.get(Enrolment, call.enrolment_id)
    invoice, session = call.invoice, enrolment.session
    calls = [c for c in schedule.calls_of(enrolment) if not c.is_cancelled]
    transfer, _ = transfer_or_none(invoice)
    return {
        "org": org_variables(),
        "trainee": {"display_name": enrolment.trainee.display_name},
        "session": {"title": session.title, "dates": session.dates_label},
        "call": {"position": calls.index(call) + 1, "count": len(calls), "amount": money_fr(call.amount),
                 "due_date": date_fr(call.due_on)},
        "invoice": {"number": invoice.number or "", "date": date_fr(invoice.issue_date),
                    "due_date": date_fr(invoice.due_date), "total": money_fr(invoice.total_incl_vat)},
        "transfer": {"holder": transfer.name, "iban": transfer.iban_formatted, "bic": transfer.bic or "",
                     "reference": transfer.reference} if transfer is not None else
                    {"holder": "", "iban": "", "bic": "", "reference": ""},
        "calls": [{"number": n, "amount": money_fr(c.amount), "due_date": date_fr(c.due_on), "requested": c.is_sent,
                   "invoice": c.invoice.number if c.is_sent and c.invoice is not None else ""}
                  for n, c in enumerate(calls, start=1)],
        "recipient": {"name": recipient.name, "email": recipient.email},
    }


def sample_call(session_id: int, enrolment_id: int | None) -> tuple[PaymentCall, Recipient] | None:
    """The session's first invoiced call (the trainee's own when given and they have one), to the trainee."""
    calls = list(db.session.scalars(
        select(PaymentCall).join(Enrolment, Enrolment.id == PaymentCall.enrolment_id)
        .where(Enrolment.session_id == session_id, PaymentCall.status == "sent", PaymentCall.invoice_id.is_not(None))
        .order_by(PaymentCall.enrolment_id != (enrolment_id or 0), PaymentCall.id)))
    for call in calls:
        if load_call(CALL_OBJECT, call.id) is not None:
            found = call_recipients(call, "trainee")
            return call, found[0] if found else Recipient("", "")
    return None


registry.register_context(Context(
    code="payment_call", label="Échéance d'un contrat de formation (facturée)", variables=CALL_VARIABLES,
    load=load_call, recipients=call_recipients, build=build_call, sample=sample_call))


def _mailed_before(call: PaymentCall) -> bool:
    """The call's e-mail left before it was a rule (the job's own e-mail names the invoice in its subject)."""
    return db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.topic == schedule.TOPIC, OutboxMessage.enrolment_id == call.enrolment_id,
        OutboxMessage.subject.contains(f"facture {call.invoice.number} ")).limit(1)) is not None


def find_invoiced_calls(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """The calls invoiced (their job on the morning of their date, or « Envoyer maintenant »), due at the
    schedule's send time on their invoice's date (08:00 Paris), hence at the next pass; the e-mail of a call
    already mailed the old way is not sent again."""
    calls = list(db.session.scalars(
        select(PaymentCall).join(Invoice, Invoice.id == PaymentCall.invoice_id)
        .where(PaymentCall.status == "sent", Invoice.is_issued,
               Invoice.issue_date >= start.astimezone(PARIS).date() - dt.timedelta(days=1),
               Invoice.issue_date <= end.astimezone(PARIS).date() + dt.timedelta(days=1))
        .order_by(PaymentCall.id)))
    for call in calls:
        due_at = _utc(call.invoice.issue_date, schedule.SEND_TIME)
        if start <= due_at <= end and not _mailed_before(call):
            yield Occurrence(CALL_OBJECT, call.id, "invoiced", due_at, call.invoice.session_id)


registry.register_trigger(Trigger(
    code="payment_call_invoiced", label="Échéance d'un contrat de formation facturée", context="payment_call",
    offset="none", audiences=("trainee",), find=find_invoiced_calls,
    help="Une échéance de l'échéancier d'un contrat de formation, facturée le matin de sa date (ou par « Envoyer "
         "maintenant ») : le message part au passage suivant, avec la facture et son QR code de virement. Tant que "
         "les règles du contrat la refusent, l'échéance reste prévue et n'est pas facturée."))


def describe_call_invoice(call: PaymentCall, recipient: Recipient) -> list[tuple[str, str]]:
    return describe_invoice(call.invoice, recipient)


def build_call_invoice(call: PaymentCall, recipient: Recipient) -> list[tuple[str, str, bytes]]:
    return build_invoice(call.invoice, recipient)


def describe_call_qr(call: PaymentCall, recipient: Recipient) -> list[tuple[str, str]]:
    transfer, _ = transfer_or_none(call.invoice)
    return [("QR code de virement", f"virement-{call.invoice.number}.png")] if transfer is not None else []


def build_call_qr(call: PaymentCall, recipient: Recipient) -> list[tuple[str, str, bytes]]:
    attachment = qr_attachment(call.invoice)
    return [attachment] if attachment is not None else []


registry.register_attachment(AttachmentKind(
    code="call_invoice", label="La facture de l'échéance (PDF Factur-X, sinon Word)", contexts=("payment_call",),
    describe=describe_call_invoice, build=build_call_invoice))
registry.register_attachment(AttachmentKind(
    code="call_transfer_qr", label="QR code de virement de l'échéance", contexts=("payment_call",),
    describe=describe_call_qr, build=build_call_qr))

# The wording of the e-mail the payment_call job sent before the rule (its template, mail/payment_call.txt, is gone).
CALL_SUBJECT = ("Échéance {{ call.position }}/{{ call.count }} de votre formation « {{ session.title }} » : "
                "facture {{ invoice.number }} de {{ invoice.total }}")
CALL_BODY = """Bonjour {{ trainee.display_name }},

Selon l'échéancier de votre contrat de formation pour « {{ session.title }} » ({{ session.dates }}), voici \
l'échéance {{ call.position }}/{{ call.count }} : {{ invoice.total }}, à régler au plus tard le {{ invoice.due_date }}.

Facture : {{ invoice.number }} du {{ invoice.date }}, jointe à ce message.
{% if transfer.iban %}
Pour régler par virement : {{ transfer.holder }}, IBAN {{ transfer.iban }}{% if transfer.bic %}, BIC \
{{ transfer.bic }}{% endif %}, référence {{ transfer.reference }}. Le QR code joint, lu par l'application de votre \
banque, préremplit ce virement.
{% endif %}
Votre échéancier :
{% for c in calls %}- échéance {{ c.number }} : {{ c.amount }} le {{ c.due_date }}{% if c.requested %} (demandée\
{% if c.invoice %}, facture {{ c.invoice }}{% endif %}){% endif %}
{% endfor %}
{{ org.signature }}"""

registry.register_default_template(DefaultTemplate(
    code="payment_call", name="Échéance d'un contrat de formation", context="payment_call", subject=CALL_SUBJECT,
    body=CALL_BODY))
registry.register_default_rule(DefaultRule(
    code="payment_call", name="Échéance d'un contrat de formation : la facture au stagiaire",
    trigger="payment_call_invoiced", audience="trainee", template="payment_call", send_time="08:00",
    attachments=("call_invoice", "call_transfer_qr"), topic=schedule.TOPIC))
