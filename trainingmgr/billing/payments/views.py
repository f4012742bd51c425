"""Staff pages of the payments (blueprint "billing_payments"):

/billing/overdue                                  overdue invoices, days late, reminder buttons
/billing/<id>/payments                            POST: record a payment (from the invoice page's panel)
/billing/<id>/payments/<payment_id>/cancel        POST: cancel a payment recorded by mistake (with a reason)
/billing/<id>/remind                              POST: send a reminder of an overdue invoice now
/billing/journal                                  the accounting export for a period (?du=…&au=…)
/billing/journal.csv                              the same as a CSV journal
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, render_template_string, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.errors import DomainError, ValidationError
from ...core.formatting import date_fr, money_fr
from ...core.timeutil import paris_date, paris_today
from ...core.links import safe_next_url
from ...core.responses import fail
from ...core.view_actions import run_action, run_form
from ...extensions import db
from ...messaging import exports
from ...messaging.delivery import sent_to
from .. import exports as billing_exports  # noqa: F401 - registers the exporters
from ..models import BalanceStatus, InvoiceKind
from . import services as service
from .forms import PaymentCancelForm, PaymentForm, ReminderForm

bp = Blueprint("billing_payments", __name__, url_prefix="/billing")

# When a payment is refused, the panel is shown again with its errors on a page of its own (the invoice page
# belongs to billing/invoices/views.py): the invoice's header, then the panel.
_PANEL_PAGE = """{% extends "base.html" %}
{% block title %}Paiements – {{ payment_invoice.number }}{% endblock %}
{% block content %}
<h1 class="h3">{{ payment_invoice.kind_label }} {{ payment_invoice.number }}</h1>
<p>{{ payment_invoice.buyer_name }} · émise le {{ payment_invoice.issue_date|date_fr }}
  · total TTC {{ payment_invoice.total_incl_vat|money_fr }}
  {% if invoice_url %}· <a href="{{ invoice_url }}">retour à la facture</a>{% endif %}</p>
{% include "billing/_payments.html" %}
{% endblock %}"""


def invoice_url(invoice) -> str | None:
    """The invoice's own page (billing.show), when that blueprint is there."""
    if "billing.show" in current_app.view_functions:
        return url_for("billing.show", invoice_id=invoice.id)
    return None


def _back(invoice) -> str:
    return (safe_next_url(request.form.get("next")) or invoice_url(invoice)
            or url_for("billing_payments.overdue"))


def panel_context(invoice, form=None, cancel_errors: dict | None = None) -> dict:
    """The template context of the payments panel on an invoice's page (templates/billing/_payments.html).

    Every key starts with ``payment_`` so that it can be merged into the invoice page's own context."""
    today = paris_today()
    detail = service.balance_of(invoice)
    payable = invoice.kind == InvoiceKind.INVOICE.value and invoice.is_issued
    if form is None and payable:
        form = PaymentForm(formdata=None)
        form.paid_on.data = today
        if detail.balance > 0:
            form.amount.data = detail.balance
    overdue = (payable and detail.balance > 0 and invoice.due_date is not None and invoice.due_date < today)
    payments = sorted(invoice.payments, key=lambda p: (p.paid_on, p.id)) if payable else []
    return {
        "payment_invoice": invoice,
        "payment_payable": payable,
        "payment_summary": detail,
        "payment_rows": payments,
        "payment_cancellable": {p.id for p in payments if service.can_cancel(p)},
        "payment_cancel_errors": cancel_errors or {},
        "payment_credit_notes": service.issued_credit_notes(invoice),
        "payment_form": form,
        "payment_can_record": payable and detail.balance > 0,
        "payment_settled": detail.status in (BalanceStatus.PAID.value, BalanceStatus.CREDITED.value),
        "payment_overdue_days": (today - invoice.due_date).days if overdue else 0,
        "payment_can_remind": overdue and paris_date(invoice.last_reminder_at) != today,
        "payment_recipient": service.reminder_recipient(invoice) if overdue else "",
    }


def _panel_page(invoice, status: int, **panel_args):
    """The panel again, with the refused input and its French messages, answered with ``status``."""
    return render_template_string(_PANEL_PAGE, invoice_url=invoice_url(invoice),
                                  **panel_context(invoice, **panel_args)), status


@bp.route("/overdue")
@staff_required
def overdue():
    today = paris_today()
    rows = service.overdue_invoices(today)
    return render_template("billing/overdue.html", rows=rows, today=today, invoice_url=invoice_url,
                           total=sum((r.balance.balance for r in rows), service.ZERO))


@bp.route("/<int:invoice_id>/payments", methods=["POST"])
@staff_required
def record(invoice_id: int):
    invoice = service.get_invoice(invoice_id)
    service.check_payable(invoice)  # a draft or a credit note: a French 409 page
    form = PaymentForm()
    ok, payment = run_form(form, lambda: service.record_payment(invoice, form.data_for_service(), current_user))
    if ok:
        balance = service.balance_of(invoice)
        flash(f"Paiement de {money_fr(payment.amount)} enregistré sur la facture {invoice.number} ; "
              f"reste dû : {money_fr(max(service.ZERO, balance.balance))}.", "success")
        return redirect(_back(invoice))
    return _panel_page(invoice, getattr(form, "error_status", 422), form=form)


@bp.route("/<int:invoice_id>/payments/<int:payment_id>/cancel", methods=["POST"])
@staff_required
def cancel(invoice_id: int, payment_id: int):
    invoice = service.get_invoice(invoice_id)
    payment = service.get_payment(invoice, payment_id)
    form = PaymentCancelForm()
    if not form.validate():
        fail(400, "; ".join(e for errors in form.errors.values() for e in errors))
    try:
        service.cancel_payment(payment, form.reason.data, current_user)  # already cancelled: a French 409 page
    except ValidationError as exc:  # no reason: the panel again, the message beside that payment
        db.session.rollback()
        return _panel_page(invoice, 422, cancel_errors={payment.id: exc.message})
    db.session.commit()
    balance = service.balance_of(invoice)
    flash(f"Paiement de {money_fr(payment.amount)} du {date_fr(payment.paid_on)} annulé ; reste dû : "
          f"{money_fr(max(service.ZERO, balance.balance))}.", "success")
    return redirect(_back(invoice))


@bp.route("/<int:invoice_id>/remind", methods=["POST"])
@staff_required
def remind(invoice_id: int):
    invoice = service.get_invoice(invoice_id)
    form = ReminderForm()
    if not form.validate():
        fail(400, "; ".join(e for errors in form.errors.values() for e in errors))
    return run_action(lambda: service.send_reminder(invoice, current_user),  # a refusal is a French 409 page
                      lambda message: f"Relance n° {invoice.reminder_count} de la facture {invoice.number} "
                                      f"{sent_to(message.recipient, 'f')}.",
                      lambda: _back(invoice), refused="raise")


def _period():
    try:
        return service.parse_period(request.args.get("du"), request.args.get("au"))
    except DomainError as exc:
        fail(400, exc.message)


@bp.route("/journal")
@staff_required
def journal():
    start, end = _period()
    entries = service.journal(start, end)
    return render_template("billing/journal.html", entries=entries, start=start, end=end, today=paris_today())


@bp.route("/journal.csv", methods=["POST"])
@staff_required
def journal_csv():
    """The period's CSV, made by a task (billing/exports.py); the period is the action URL's query."""
    start, end = _period()
    return exports.export_response("sales_journal", {"du": start.isoformat(), "au": end.isoformat()}, current_user,
                                   url_for("billing_payments.journal", du=start.isoformat(), au=end.isoformat()))
