"""The trainee's personal page and positioning questionnaire, reached through the signed link only: status and
practical details, answering through the HTML form (French errors, 422, answers kept), save and resume, submit
then read-only, one link opens one enrolment, tampered 403, expired 410, rate-limited POSTs."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from trainingmgr.core.formatting import date_fr
from trainingmgr.core.timeutil import utcnow
from trainingmgr.core.tokens import make_token
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.enrolments.links import enrolment_from_token, trainee_token
from trainingmgr.evaluations.models import Answer, Response
from trainingmgr.extensions import db

from tests.evaluations.support import enrol, open_session
from tests.helpers import page


def url(enrolment, suffix: str = "") -> str:
    return f"/t/{trainee_token(enrolment)}{suffix}"


def form_url(enrolment) -> str:
    return url(enrolment, "/positionnement")


def checked(text: str, name: str, value) -> bool:
    return re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"[^>]*\bchecked\b', text) is not None


def errors_beside(text: str, name: str) -> list[str]:
    return [m.strip() for m in re.findall(rf'data-error-for="{name}">([^<]+)<', text)]


def answers_of(enrolment) -> dict[int, object]:
    db.session.expire_all()
    response = db.session.scalar(select(Response).where(Response.enrolment_id == enrolment.id))
    if response is None:
        return {}
    return {a.question_id: a.value for a in db.session.scalars(select(Answer).where(Answer.response_id == response.id))}


def response_of(enrolment) -> Response | None:
    db.session.expire_all()
    return db.session.scalar(select(Response).where(Response.enrolment_id == enrolment.id))


# --------------------------------------------------------------------------- the personal page


def test_the_personal_page_shows_the_enrolment(client, world, chorus_enrolment, q):
    world.room.access_notes = "Entrée par la cour, code 1234."
    chorus_enrolment.convocation_sent_at = dt.datetime(2031, 2, 24, 8, 0, tzinfo=dt.timezone.utc)
    db.session.commit()
    response = client.get(url(chorus_enrolment))
    assert response.status_code == 200
    text = page(response)
    assert "Bonjour Alice Martin" in text and "Chorus Pro" in text
    assert "En attente de validation des prérequis" in text
    assert "Lundi 3 mars 2031 : 09:00–12:30 et 13:30–17:00" in text
    assert "Salle Capitole, 1 rue A, 31000 Toulouse" in text and "Entrée par la cour, code 1234." in text
    assert "Convocation envoyée le 24/02/2031 09:00." in text
    assert "Questionnaire de positionnement" in text and "Répondre au questionnaire" in text
    # the link is signed with a timestamp (to the second): it must open this enrolment, whatever its second
    link = re.search(r'href="/t/([^/"]+)/positionnement"', text)
    assert link and enrolment_from_token(link.group(1)).id == chorus_enrolment.id


def test_the_card_follows_the_answers(client, chorus_enrolment, q):
    client.post(form_url(chorus_enrolment), data={q.key(q.scale): "2", "action": "save"})
    assert "Continuer le questionnaire" in page(client.get(url(chorus_enrolment)))
    client.post(form_url(chorus_enrolment), data={**q.complete(), "action": "submit"})
    text = page(client.get(url(chorus_enrolment)))
    assert f"Répondu le {date_fr(utcnow())}" in text and "Voir mes réponses" in text
    assert "score" not in text.lower() and "/ 4" not in text


def test_no_card_and_no_form_without_questionnaire(client, world, make_session):
    enrolment = enrol(open_session(make_session, world, course=world.dume), world)
    text = page(client.get(url(enrolment)))
    assert "Inscription :" in text and "Confirmée" in text and "Questionnaire de positionnement" not in text
    response = client.get(form_url(enrolment))
    assert response.status_code == 404
    assert "Cette formation n'a pas de questionnaire de positionnement." in page(response)


# --------------------------------------------------------------------------- answering


def test_the_form_lists_the_questions_with_two_buttons(client, chorus_enrolment, q):
    response = client.get(form_url(chorus_enrolment))
    assert response.status_code == 200
    text = page(response)
    assert 'name="csrf_token"' in text and 'name="viewport"' in text
    for question in q.questionnaire.questions:
        assert question.text in text
    for value in range(1, 6):
        assert f'name="{q.key(q.scale)}" id="{q.key(q.scale)}-{value}" value="{value}"' in text
    for choice in q.multiple.choices:
        assert re.search(rf'type="checkbox" name="{q.key(q.multiple)}"[^>]*value="{choice.id}"', text)
    assert "Enregistrer et continuer plus tard" in text and "Envoyer mes réponses" in text
    assert "(facultatif)" in text
    assert response_of(chorus_enrolment) is None  # reading the form creates nothing


def test_save_and_resume_later(client, chorus_enrolment, q):
    answers = {q.key(q.scale): "4", q.key(q.multiple): [str(q.choice(q.multiple, 1))],
               q.key(q.expectations): "Déposer mes factures de travaux.", "action": "save"}
    link = form_url(chorus_enrolment)  # one link: a token made a second later differs in its timestamp
    response = client.post(link, data=answers)
    assert response.status_code == 302 and response.headers["Location"].endswith(link)
    assert response_of(chorus_enrolment).status == "draft"
    assert answers_of(chorus_enrolment) == {q.scale.id: 4, q.multiple.id: [q.choice(q.multiple, 1)],
                                     q.expectations.id: "Déposer mes factures de travaux."}

    text = page(client.get(form_url(chorus_enrolment)))  # later, with the same link
    assert "Vos réponses sont enregistrées" in text
    assert checked(text, q.key(q.scale), 4) and not checked(text, q.key(q.scale), 3)
    assert checked(text, q.key(q.multiple), q.choice(q.multiple, 1))
    assert not checked(text, q.key(q.multiple), q.choice(q.multiple, 0))
    assert "Déposer mes factures de travaux.</textarea>" in text

    client.post(form_url(chorus_enrolment), data={**q.complete(), "action": "submit"})
    assert response_of(chorus_enrolment).submitted


def test_missing_answers_on_submit_are_422_with_french_errors_and_the_answers_kept(client, chorus_enrolment, q):
    sent = {q.key(q.scale): "5", q.key(q.expectations): "", q.key(q.access): "Rampe d'accès, s'il vous plaît.",
            "action": "submit"}
    response = client.post(form_url(chorus_enrolment), data=sent)
    assert response.status_code == 422
    text = page(response)
    assert "Le formulaire contient des erreurs : elles sont indiquées sous les champs concernés." in text
    for question in (q.prereq, q.single, q.multiple, q.expectations):
        assert errors_beside(text, q.key(question)) == ["Cette question est obligatoire."]
    assert errors_beside(text, q.key(q.scale)) == [] and errors_beside(text, q.key(q.access)) == []
    assert checked(text, q.key(q.scale), 5)
    assert "Rampe d'accès, s'il vous plaît.</textarea>" in text
    assert response_of(chorus_enrolment) is None  # nothing saved


def test_invalid_answers_are_422_beside_their_question(client, chorus_enrolment, q):
    sent = q.complete(**{q.key(q.scale): "9", q.key(q.single): str(q.choice(q.multiple, 0)),
                         q.key(q.expectations): "x" * 5001, "action": "save"})
    response = client.post(form_url(chorus_enrolment), data=sent)
    assert response.status_code == 422
    text = page(response)
    assert errors_beside(text, q.key(q.scale)) == ["Choisissez une note de 1 à 5."]
    assert errors_beside(text, q.key(q.single)) == [
        "Choix inconnu pour cette question : choisissez parmi les réponses proposées."]
    assert errors_beside(text, q.key(q.expectations)) == ["Votre réponse ne doit pas dépasser 5000 caractères."]
    assert checked(text, q.key(q.multiple), q.choice(q.multiple, 0))  # the valid answers stay on the page
    assert response_of(chorus_enrolment) is None


def test_after_submit_thanks_and_read_only_answers_without_score(client, chorus_enrolment, q):
    data = q.complete(**{q.key(q.single): str(q.choice(q.single, 1)), q.key(q.access): "Écran agrandi."})
    response = client.post(form_url(chorus_enrolment), data={**data, "action": "submit"})
    assert response.status_code == 302
    text = page(client.get(form_url(chorus_enrolment)))
    assert "Merci ! Vos réponses ont été envoyées" in text and "Merci Alice !" in text
    assert "<form method=\"post\" action=\"/t/" not in text and "Envoyer mes réponses" not in text
    assert "Savoir déposer une facture de travaux." in text and "90 jours" in text and "Écran agrandi." in text
    assert "Score" not in text and "✗" not in text and "✓" not in text and "Bonne réponse" not in text
    db.session.expire_all()
    chorus_enrolment = db.session.get(Enrolment, chorus_enrolment.id)
    assert chorus_enrolment.prerequisite_confirmed_at is not None and "Écran agrandi." in chorus_enrolment.trainee.accessibility_needs

    again = client.post(form_url(chorus_enrolment), data={**q.complete(), "action": "submit"})
    assert again.status_code == 409
    assert "Vos réponses ont déjà été envoyées : elles ne peuvent plus être modifiées." in page(again)
    assert answers_of(chorus_enrolment)[q.single.id] == q.choice(q.single, 1)


def test_a_cancelled_enrolment_no_longer_answers(client, world, chorus_enrolment, q):
    from trainingmgr.enrolments.services import cancel

    cancel(chorus_enrolment, world.users["advisor"], "Empêchement")
    db.session.commit()
    assert "Le questionnaire n'est plus à remplir" in page(client.get(url(chorus_enrolment)))
    assert "n'est plus à remplir" in page(client.get(form_url(chorus_enrolment)))
    response = client.post(form_url(chorus_enrolment), data={**q.complete(), "action": "submit"})
    assert response.status_code == 409 and "annulée" in page(response)
    assert response_of(chorus_enrolment) is None


def test_a_post_without_csrf_token_is_refused(client, chorus_enrolment, q):
    response = client.post(form_url(chorus_enrolment), data={**q.complete(), "action": "submit"}, csrf=False)
    assert response.status_code == 400
    assert response_of(chorus_enrolment) is None


# --------------------------------------------------------------------------- the link


def test_a_link_opens_its_own_enrolment_only(client, world, chorus_session, q):
    alice = enrol(chorus_session, world, "Alice", "Martin")
    bruno = enrol(chorus_session, world, "Bruno", "Petit")
    client.post(form_url(bruno), data={q.key(q.expectations): "Le secret de Bruno.", "action": "save"})

    text = page(client.get(form_url(alice)))
    assert "Le secret de Bruno." not in text
    assert "Bruno" not in page(client.get(url(alice)))

    # Alice's link only ever writes Alice's answers, whatever the form holds.
    client.post(form_url(alice), data={**q.complete(), "action": "submit"})
    assert response_of(alice).submitted
    assert response_of(bruno).status == "draft"
    assert answers_of(bruno) == {q.expectations.id: "Le secret de Bruno."}


def test_a_link_naming_another_trainee_is_refused(client, world, chorus_session, q):
    alice = enrol(chorus_session, world, "Alice", "Martin")
    bruno = enrol(chorus_session, world, "Bruno", "Petit")
    mixed = make_token("trainee", {"e": bruno.id, "t": alice.trainee_id})
    for path in (f"/t/{mixed}", f"/t/{mixed}/positionnement"):
        response = client.get(path)
        assert response.status_code == 403 and "Ce lien n'est pas valide." in page(response)
    response = client.post(f"/t/{mixed}/positionnement", data={**q.complete(), "action": "submit"})
    assert response.status_code == 403
    assert response_of(bruno) is None


@pytest.mark.parametrize("how", ["changed", "cut", "other purpose"])
def test_a_tampered_link_is_403(client, chorus_enrolment, q, how):
    token = trainee_token(chorus_enrolment)
    bad = {"changed": token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "cut": token[:20],
           "other purpose": make_token("company", {"e": chorus_enrolment.id, "t": chorus_enrolment.trainee_id})}[how]
    for response in (client.get(f"/t/{bad}"), client.get(f"/t/{bad}/positionnement"),
                     client.post(f"/t/{bad}/positionnement", data={**q.complete(), "action": "submit"})):
        assert response.status_code == 403
        assert "Ce lien n'est pas valide" in page(response)
    assert response_of(chorus_enrolment) is None


def test_an_expired_link_is_410(app, client, chorus_enrolment, q, monkeypatch):
    days = app.config["TRAINEE_LINK_MAX_AGE_DAYS"]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
    old = trainee_token(chorus_enrolment)
    monkeypatch.undo()
    for response in (client.get(f"/t/{old}"), client.get(f"/t/{old}/positionnement"),
                     client.post(f"/t/{old}/positionnement", data={**q.complete(), "action": "submit"})):
        assert response.status_code == 410
        assert "Ce lien a expiré. Demandez-en un nouveau à votre conseiller formation." in page(response)
    assert response_of(chorus_enrolment) is None
    assert client.get(url(chorus_enrolment)).status_code == 200  # a fresh link works


def test_the_link_lifetime_comes_from_the_configuration(make_app, chorus_enrolment):
    token = trainee_token(chorus_enrolment)
    short = make_app(TRAINEE_LINK_MAX_AGE_DAYS=-1)  # every link is already too old
    with short.app_context():
        response = short.test_client().get(f"/t/{token}/positionnement")
    assert response.status_code == 410


def test_posts_are_rate_limited(make_app, chorus_enrolment, q):
    limited = make_app(TRAINEE_FORM_RATE_LIMIT="3 per minute")
    with limited.app_context():
        client = limited.test_client()
        path = f"/t/{trainee_token(chorus_enrolment)}/positionnement"
        statuses = [client.post(path, data={q.key(q.scale): "2", "action": "save"}).status_code for _ in range(4)]
        assert statuses == [302, 302, 302, 429]
        assert "Trop de requêtes" in page(client.post(path, data={"action": "save"}))
        assert client.get(path).status_code == 200  # reading is not limited


def test_tripping_the_trainee_form_limit_logs_no_token(make_app, chorus_enrolment, q, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    limited = make_app(TRAINEE_FORM_RATE_LIMIT="1 per minute")
    with limited.app_context():
        client = limited.test_client()
        token = trainee_token(chorus_enrolment)
        statuses = [client.post(f"/t/{token}/positionnement", data={"action": "save"}).status_code for _ in range(2)]
        assert statuses[-1] == 429
    assert "exceeded" in caplog.text
    assert token not in caplog.text and token[:16] not in caplog.text
