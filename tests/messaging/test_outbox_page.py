"""The outbox page /admin/outbox: who sees it, what it lists, the detail, attachments, re-queueing."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.core.timeutil import utcnow
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

from tests.helpers import page

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def messages(app, queue):
    """Three messages of each fate, created a minute apart (newest last)."""
    base = utcnow() - dt.timedelta(hours=1)
    pending = queue("alice@test.example", "En attente", "Texte A", topic="convocation",
                    attachments=[("convocation.ics", "text/calendar", ICS)])
    sent = queue("bob@test.example", "Parti", "Texte B", topic="enrolment_status")
    failed = queue("Carole_100%@Test.example", "Refusé", "Texte C\nligne 2", "<p>Texte C</p>")
    for minutes, message in enumerate((pending, sent, failed)):
        message.created_at = base + dt.timedelta(minutes=minutes)
    sent.status, sent.attempts, sent.sent_at = "sent", 1, utcnow()
    failed.status, failed.attempts, failed.last_error = "failed", 9, "SMTPDataError : SMTP 554 Rejeté"
    pending.attempts, pending.last_error = 2, "Serveur SMTP 127.0.0.1:25 injoignable"
    db.session.commit()
    return {"pending": pending, "sent": sent, "failed": failed}


URLS = ["/admin/outbox/", "/admin/outbox/jobs", "/admin/outbox/{id}", "/admin/outbox/{id}/attachments/{att}"]


def _urls(messages):
    m = messages["pending"]
    return [u.format(id=m.id, att=m.attachments[0].id) for u in URLS]


def test_anonymous_visitors_are_sent_to_the_login_page(client, messages):
    for url in _urls(messages) + [f"/admin/outbox/{messages['failed'].id}/retry"]:
        response = client.post(url) if url.endswith("/retry") else client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_trainers_are_refused_staff_are_welcome(app, messages, staff_client):
    trainer = staff_client("formateur@test.example")
    for url in _urls(messages):
        assert trainer.get(url).status_code == 403, url
    response = trainer.post(f"/admin/outbox/{messages['failed'].id}/retry")
    assert response.status_code == 403
    assert db.session.get(OutboxMessage, messages["failed"].id).status == "failed"
    assert "Envois" not in page(trainer.get("/sessions/"))
    for email in ("conseil@test.example", "admin@test.example"):
        staff = staff_client(email)
        for url in _urls(messages):
            assert staff.get(url).status_code == 200, (email, url)
        assert 'href="/admin/outbox/"' in staff.get("/sessions/").get_data(as_text=True)


def test_the_list_is_newest_first_with_filters(app, messages, staff_client):
    client = staff_client()
    listing = page(client.get("/admin/outbox/"))
    assert listing.index(">Refusé</a>") < listing.index(">Parti</a>") < listing.index(">En attente</a>")
    for text in ("alice@test.example", "Convocation", "Inscription", "En attente", "Envoyé", "Échec définitif",
                 "SMTP 554 Rejeté", "injoignable", "Renvoyer maintenant", "Envoyer maintenant"):
        assert text in listing, text

    failed_only = page(client.get("/admin/outbox/?status=failed"))
    assert "Refusé" in failed_only and "Parti" not in failed_only and "En attente</a>" not in failed_only
    found = page(client.get("/admin/outbox/?q=CAROLE_100%25"))  # case-insensitive; % and _ are literal
    assert "Refusé" in found and "Parti" not in found
    assert "Aucun message pour ce filtre" in page(client.get("/admin/outbox/?q=100%25%25"))
    assert "Aucun message pour ce filtre" in page(client.get("/admin/outbox/?q=a_i"))  # not "ali"
    sent_to_bob = page(client.get("/admin/outbox/?status=sent&q=bob"))
    assert "Parti" in sent_to_bob and "Refusé" not in sent_to_bob


@pytest.mark.parametrize("query, message", [
    ("status=envoye", "Statut d'envoi inconnu"),
    ("page=zero", "Numéro de page invalide"),
    ("page=0", "Numéro de page invalide"),
    ("q=" + "x" * 300, "trop longue"),
])
def test_bad_filters_get_a_french_400(app, messages, staff_client, query, message):
    response = staff_client().get(f"/admin/outbox/?{query}")
    assert response.status_code == 400
    assert message in page(response)


def test_pages_of_fifty(app, queue, staff_client):
    for n in range(55):
        queue(f"p{n}@test.example", f"Message {n}")
    client = staff_client()
    first = page(client.get("/admin/outbox/"))
    assert "Page 1 sur 2 (55 messages)" in first and "p54@test.example" in first and "p4@test.example" not in first
    second = page(client.get("/admin/outbox/?page=2"))
    assert "p4@test.example" in second and "p54@test.example" not in second
    assert "Aucun message" in page(client.get("/admin/outbox/?page=9"))


def test_the_detail_shows_the_text_and_serves_the_attachments(app, messages, staff_client):
    client = staff_client()
    m = messages["pending"]
    detail = page(client.get(f"/admin/outbox/{m.id}"))
    for text in ("En attente", "alice@test.example", "Texte A", "convocation.ics", "text/calendar", "Convocation",
                 "Prochain essai", "injoignable", "Envoyer maintenant"):
        assert text in detail, text
    response = client.get(f"/admin/outbox/{m.id}/attachments/{m.attachments[0].id}")
    assert response.status_code == 200
    assert response.data == ICS
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "convocation.ics" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    other = messages["sent"].id
    response = client.get(f"/admin/outbox/{other}/attachments/{m.attachments[0].id}")
    assert response.status_code == 404 and "Pièce jointe introuvable" in page(response)
    response = client.get("/admin/outbox/987654")
    assert response.status_code == 404 and "Message introuvable" in page(response)

    failed = page(client.get(f"/admin/outbox/{messages['failed'].id}"))
    assert "Texte C\nligne 2" in failed and "Renvoyer maintenant" in failed and "SMTP 554" in failed
    assert "srcdoc=" in failed and "sandbox" in failed  # the HTML part, shown without running anything
    sent = page(client.get(f"/admin/outbox/{messages['sent'].id}"))
    assert "Envoyé le" in sent and "Renvoyer maintenant" not in sent and "Aucune." in sent


def test_requeueing_needs_the_csrf_token_and_is_refused_for_a_sent_message(app, messages, staff_client):
    client = staff_client("admin@test.example")
    failed = messages["failed"]
    response = client.post(f"/admin/outbox/{failed.id}/retry", csrf=False)
    assert response.status_code == 400 and "jeton de sécurité" in page(response)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, failed.id).status == "failed"

    response = client.post(f"/admin/outbox/{failed.id}/retry", data={"next": "/admin/outbox/?status=failed"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/outbox/?status=failed")
    assert "remis dans la file" in page(client.get("/admin/outbox/"))
    db.session.expire_all()
    requeued = db.session.get(OutboxMessage, failed.id)
    assert (requeued.status, requeued.attempts) == ("pending", 0)

    response = client.post(f"/admin/outbox/{failed.id}/retry", data={"next": "https://evil.example/"})
    assert response.headers["Location"].endswith(f"/admin/outbox/{failed.id}")  # no open redirect

    pending = messages["pending"]  # a waiting message leaves now, keeping its attempt count
    client.post(f"/admin/outbox/{pending.id}/retry")
    db.session.expire_all()
    moved = db.session.get(OutboxMessage, pending.id)
    assert moved.attempts == 2 and moved.next_attempt_at <= utcnow()

    response = client.post(f"/admin/outbox/{messages['sent'].id}/retry")
    assert response.status_code == 409
    assert "Ce message a déjà été envoyé le" in page(response)
    assert client.post("/admin/outbox/987654/retry").status_code == 404
    assert client.get(f"/admin/outbox/{failed.id}/retry").status_code == 405
