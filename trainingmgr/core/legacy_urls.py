"""The URLs before the back office was all in English and the public pages all in French: they were printed in
e-mails and documents and bookmarked, so each still answers, with a 308 redirect (which keeps a POST a POST) to the
page's URL of today, query string kept.

The old rules live in a map of their own, consulted only when the application's map found no route (404 or 405):
they are not routes of the application (no view, no permission to declare), and a path that a route still serves
is never redirected.
"""
from __future__ import annotations

from flask import Flask, redirect, request, url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

# old rule → the endpoint that serves it today (its URL arguments keep their names)
LEGACY_RULES: dict[str, str] = {
    # back office: billing
    "/facturation/": "billing.index",
    "/facturation/<int:invoice_id>": "billing.show",
    "/facturation/<int:invoice_id>/modifier": "billing.edit",
    "/facturation/<int:invoice_id>/lignes/nouvelle": "billing.add_line",
    "/facturation/<int:invoice_id>/lignes/<int:line_id>": "billing.edit_line",
    "/facturation/<int:invoice_id>/lignes/<int:line_id>/supprimer": "billing.delete_line",
    "/facturation/<int:invoice_id>/supprimer": "billing.delete",
    "/facturation/<int:invoice_id>/emettre": "billing.issue",
    "/facturation/<int:invoice_id>/avoir": "billing.credit",
    "/facturation/<int:invoice_id>/apercu.docx": "billing.preview",
    "/facturation/<int:invoice_id>/<any(docx, pdf, xml):kind>": "billing.download",
    "/facturation/<int:invoice_id>/paiements": "billing_payments.record",
    "/facturation/<int:invoice_id>/paiements/<int:payment_id>/annuler": "billing_payments.cancel",
    "/facturation/<int:invoice_id>/relance": "billing_payments.remind",
    "/facturation/impayes": "billing_payments.overdue",
    "/facturation/journal": "billing_payments.journal",
    "/facturation/journal.csv": "billing_payments.journal_csv",
    "/sessions/<int:session_id>/facturation": "billing.session",
    "/sessions/<int:session_id>/facturation/proposer": "billing.propose",
    "/sessions/<int:session_id>/facturation/nouvelle": "billing.new_draft",
    # back office: quality
    "/qualite/qualiopi": "qualiopi.board",
    "/qualite/actions/": "improvement_actions.index",
    "/qualite/actions/new": "improvement_actions.new",
    "/qualite/actions/export.<any(csv, xlsx):fmt>": "improvement_actions.export",
    "/qualite/actions/<int:action_id>": "improvement_actions.show",
    "/qualite/actions/<int:action_id>/edit": "improvement_actions.edit",
    "/qualite/demandes/": "quality_requests.index",
    "/qualite/demandes/new": "quality_requests.new",
    "/qualite/demandes/export.csv": "quality_requests.export",
    "/qualite/demandes/<int:request_id>": "quality_requests.show",
    "/qualite/demandes/<int:request_id>/transition": "quality_requests.transition",
    "/qualite/demandes/<int:request_id>/note": "quality_requests.note",
    # public pages
    "/signature/<token>/sign": "esign.sign",
    "/signature/<token>/refuse": "esign.refuse",
    "/emargement/qr/<int:slot_id>/identify": "signing.qr_identify",
    "/emargement/qr/<int:slot_id>/not-me": "signing.qr_not_me",
    "/verify": "verify.check",
    "/verify/<code>": "verify.check",
    "/verify/<code>/scellement.json": "verify.seal_proof",
}


def register_legacy_urls(app: Flask) -> None:
    """Answer the old URLs with a 308 to today's. Registered before any other hook, so that none (NUL check, CSRF,
    rate limit) reads the request's body before it is sent on."""
    legacy = Map([Rule(rule, endpoint=endpoint) for rule, endpoint in LEGACY_RULES.items()],
                 converters=app.url_map.converters, strict_slashes=False)

    def redirect_legacy_url():
        if not isinstance(request.routing_exception, (NotFound, MethodNotAllowed)):
            return None
        try:
            endpoint, arguments = legacy.bind_to_environ(request.environ).match()
        except NotFound:
            return None
        query = request.query_string.decode("latin-1")
        return redirect(url_for(endpoint, **arguments) + (f"?{query}" if query else ""), code=308)

    app.before_request(redirect_legacy_url)
