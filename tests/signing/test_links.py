"""The signatory's personal link and one-time code: tampered, foreign, expired, replaced and spent links answer
403 or 410 with a French page and record nothing; wrong codes are counted, spend the code, then lock."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.core.timeutil import utcnow
from trainingmgr.core.tokens import make_token
from trainingmgr.extensions import db
from trainingmgr.signing import access
from trainingmgr.signing.models import Signatory

from tests.fixtures.signing import _csrf, link, outbox, request_code, send, sign_by_link
from tests.helpers import page


@pytest.fixture
def sent(sale):
    """The convention sent to Anne Dupont, then the organisation."""
    return send(sale.convention, sale.advisor, anne=sale.anne.id)


def state(signatory) -> tuple:
    db.session.expire_all()
    row = db.session.get(Signatory, signatory.id)
    return row.status, row.code_attempts, row.codes_sent, row.locked_at is not None, len(row.request.revisions)


def test_the_page_shows_the_document_and_serves_its_pages(sent, client):
    anne = sent.signatories[0]
    response = client.get(link(anne))
    text = page(response)
    assert response.status_code == 200 and "Convention de formation" in text and "Anne Dupont" in text
    assert 'data-page-image="3"' in text  # two pages of the document, then the evidence page
    image = client.get(link(anne) + "/page-1.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert client.get(link(anne) + "/page-4.png").status_code == 404
    assert client.get(link(anne) + "/page-0.png").status_code == 404
    pdf = client.get(link(anne) + "/document.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
                                    lambda t: "nimportequoi", lambda t: t.split(".")[0]])
def test_a_tampered_link_is_refused_and_records_nothing(sent, client, mangle):
    anne = sent.signatories[0]
    token = link(anne).rsplit("/", 1)[1]
    for suffix, method in (("", "get"), ("/page-1.png", "get"), ("/code", "post"), ("/signer", "post")):
        response = getattr(client, method)(f"/signature/{mangle(token)}{suffix}")
        assert response.status_code == 403, (suffix, response.status_code)
    assert "Ce lien" in page(client.get(f"/signature/{mangle(token)}"))
    assert state(anne) == ("invited", 0, 0, False, 1)


def test_a_link_made_for_another_purpose_or_signatory_is_refused(sent, client):
    anne = sent.signatories[0]
    attendance = make_token("attendance-sign", {"e": 1, "s": 1})
    assert client.get(f"/signature/{attendance}").status_code == 403
    unknown = make_token(access.LINK_PURPOSE, {"s": 999999, "n": anne.link_nonce})
    assert client.get(f"/signature/{unknown}").status_code == 403
    foreign = make_token(access.LINK_PURPOSE, {"s": anne.id, "n": "0" * 32})  # an old nonce
    assert client.get(f"/signature/{foreign}").status_code == 410


def test_an_old_link_has_expired(sent, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNATURE_LINK_MAX_AGE_DAYS", -1)
    response = client.get(link(sent.signatories[0]))
    assert response.status_code == 410 and "expiré" in page(response)


def test_a_used_link_is_spent_and_the_waiting_signatory_cannot_sign_yet(sent, client, app):
    anne, org = sent.signatories
    waiting = app.test_client().get(link(org))
    assert waiting.status_code == 409 and "une fois que les autres signataires" in page(waiting)
    assert sign_by_link(client, anne).status_code == 200
    replay = app.test_client().get(link(anne))
    assert replay.status_code == 410 and "Vous avez signé ce document le" in page(replay)
    again = app.test_client().post(link(anne) + "/signer", data={"code": "123456"})
    assert again.status_code == 410
    assert state(anne)[4] == 2  # one signature, one revision more


def test_the_code_is_e_mailed_stored_as_a_hash_and_used_once(sent, client):
    anne = sent.signatories[0]
    code = request_code(client, anne)
    message = outbox("anne@dupont.example", "Votre code de signature")[-1]
    assert code.isdigit() and len(code) == 6 and code in message.body_text and "10 minutes" in message.body_text
    db.session.expire_all()
    assert code not in anne.code_hash and len(anne.code_hash) == 64
    assert sign_by_link(client, anne, code=code).status_code == 200


def test_wrong_codes_are_counted_then_spend_the_code(sent, client):
    anne = sent.signatories[0]
    code = request_code(client, anne)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for left in (4, 3, 2, 1):
        response = sign_by_link(client, anne, code=wrong)
        assert response.status_code == 422 and f"Il vous reste {left} essai{'s' if left > 1 else ''}." in page(response)
    response = sign_by_link(client, anne, code=wrong)
    assert response.status_code == 422 and "trop d'essais : demandez un nouveau code" in page(response)
    response = sign_by_link(client, anne, code=code)  # the right code, too late
    assert response.status_code == 422 and "Demandez d'abord votre code" in page(response)
    assert state(anne) == ("invited", 5, 1, False, 1)
    assert sign_by_link(client, anne).status_code == 200  # a new code works


def test_a_malformed_code_does_not_spend_a_try(sent, client):
    anne = sent.signatories[0]
    request_code(client, anne)
    response = sign_by_link(client, anne, code="12a4")
    assert response.status_code == 422 and "6 chiffres" in page(response)
    assert state(anne)[1] == 0


def test_an_expired_code_is_refused(sent, client, monkeypatch):
    anne = sent.signatories[0]
    code = request_code(client, anne)
    later = utcnow() + dt.timedelta(minutes=11)
    monkeypatch.setattr("trainingmgr.signing.access.utcnow", lambda: later)
    monkeypatch.setattr("trainingmgr.signing.services.utcnow", lambda: later)
    response = sign_by_link(client, anne, code=code)
    assert response.status_code == 422 and "Ce code a expiré" in page(response)


def test_after_too_many_codes_the_signatory_is_locked_until_a_new_link(sent, app):
    anne = sent.signatories[0]
    for _ in range(app.config["SIGNATURE_CODES_MAX"]):
        code = access.issue_code(db.session.get(Signatory, anne.id))
        db.session.commit()
    anne = db.session.get(Signatory, anne.id)
    client = app.test_client()
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(4):
        sign_by_link(client, anne, code=wrong)
    response = sign_by_link(client, anne, code=wrong)
    assert response.status_code == 403 and "la signature est bloquée" in page(response)
    assert state(anne)[3] is True
    blocked = client.get(link(anne))
    assert blocked.status_code == 403 and "Demandez un nouveau lien" in page(blocked)
    access.reset(db.session.get(Signatory, anne.id))
    db.session.commit()
    assert sign_by_link(app.test_client(), db.session.get(Signatory, anne.id)).status_code == 200


def test_a_sixth_code_request_locks(sent, client, app):
    anne = sent.signatories[0]
    for _ in range(app.config["SIGNATURE_CODES_MAX"]):
        access.issue_code(db.session.get(Signatory, anne.id))
        db.session.commit()
    url = link(anne)
    response = client.post(url + "/code", data={"csrf_token": _csrf(client, url)})
    assert response.status_code == 403 and "Trop de codes demandés" in page(response)
    assert state(anne)[3] is True


def test_posts_without_csrf_are_refused(sent, client):
    anne = sent.signatories[0]
    response = client.post(link(anne) + "/code", data={}, csrf=False)
    assert response.status_code == 400
    assert state(anne)[2] == 0
