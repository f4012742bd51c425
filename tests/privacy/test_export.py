"""The export of everything held about one trainee (right of access): a readable page and a JSON file, for staff
only, holding that person's data and nobody else's."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from trainingmgr.core.timeutil import utcnow
from trainingmgr.evaluations.models import Answer, Response
from trainingmgr.evaluations.questionnaires.services import answer_positioning, create_questionnaire
from trainingmgr.extensions import db
from trainingmgr.messaging.services import queue_email
from trainingmgr.quality.models import QualityRequest
from trainingmgr.trainees.services import find_or_create_trainee, merge_trainees

from tests.evaluations.support import ALL_KINDS_SPEC, Q, enrol, open_session
from tests.helpers import page


@pytest.fixture
def people(world, make_session):
    """Alice (positioning answered, a mail, a complaint, a merged duplicate) and Bruno in the same session."""
    questionnaire = create_questionnaire({**ALL_KINDS_SPEC, "course": world.chorus})
    db.session.commit()
    q = Q(questionnaire)
    session = open_session(make_session, world)
    alice = enrol(session, world, "Alice", "Martin", phone="0611223344", job_title="Comptable")
    bruno = enrol(session, world, "Bruno", "Durand", phone="0699887766")
    answer_positioning(alice, q.complete(**{q.key(q.expectations): "Maîtriser les factures de travaux."}),
                       submit=True)
    answer_positioning(bruno, q.complete(**{q.key(q.expectations): "Bruno veut tout savoir."}), submit=True)
    # A draft of an anonymous survey stays out of the export: its answers are not hers to be named with.
    anonymous = create_questionnaire({"kind": "hot", "title": "Avis anonyme", "anonymous": True,
                                      "questions": [{"kind": "text", "text": "Un mot ?"}]})
    db.session.flush()
    draft = Response(questionnaire_id=anonymous.id, enrolment_id=alice.id, session_id=session.id)
    draft.answers.append(Answer(question_id=anonymous.questions[0].id, value="secret anonyme"))
    db.session.add(draft)
    queue_email(alice.trainee.email, "Votre inscription", "Bonjour Alice, à bientôt.", topic="info", enrolment=alice)
    queue_email(bruno.trainee.email, "Votre inscription", "Bonjour Bruno, à bientôt.", topic="info", enrolment=bruno)
    day = dt.date(2031, 1, 2)
    db.session.add(QualityRequest(reference="REC-2031-0001", kind="complaint", requester_name="Alice Martin",
                                  requester_email="ALICE.martin@exemple.fr", subject="Accueil",
                                  description="Personne à l'accueil.", acknowledge_due=day, answer_due=day))
    db.session.add(QualityRequest(reference="REC-2031-0002", kind="complaint", requester_name="Zoé Autre",
                                  requester_email="zoe@exemple.fr", subject="Parking", description="Complet.",
                                  acknowledge_due=day, answer_due=day))
    duplicate = find_or_create_trainee({"first_name": "Alice", "last_name": "Martyn", "email": "alice.m@exemple.fr"})
    db.session.flush()
    merge_trainees(alice.trainee, duplicate, world.users["advisor"])
    db.session.commit()
    return alice, bruno


def test_the_json_holds_her_data_and_nobody_elses(advisor, people):
    alice, bruno = people
    response = advisor.get(f"/trainees/{alice.trainee_id}/data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="donnees-stagiaire-{alice.trainee_id}-')
    raw = response.get_data(as_text=True)
    data = json.loads(raw)
    assert data["trainee"]["email"] == "alice.martin@exemple.fr" and data["trainee"]["phone"] == "0611223344"
    assert [e["session"]["id"] for e in data["enrolments"]] == [alice.session_id]
    assert data["enrolments"][0]["status"] and data["enrolments"][0]["history"]
    (positioning,) = data["responses"]
    assert {"question": "Vos attentes ?", "answer": "Maîtriser les factures de travaux."} in positioning["answers"]
    mine = [m for m in data["messages"] if m["subject"] == "Votre inscription"]
    assert [m["body"] for m in mine] == ["Bonjour Alice, à bientôt."]
    assert {m["recipient"] for m in data["messages"]} == {"alice.martin@exemple.fr"}
    assert [r["reference"] for r in data["quality_requests"]] == ["REC-2031-0001"]
    assert data["merges"][0]["removed_data"]["email"] == "alice.m@exemple.fr"
    for other in ("Bruno", "Durand", bruno.trainee.email, "0699887766", "Zoé", "zoe@exemple.fr",
                  "secret anonyme", "Avis anonyme"):
        assert other not in raw


def test_the_page_reads_the_same_and_the_record_links_to_it(advisor, people):
    alice, _ = people
    body = page(advisor.get(f"/trainees/{alice.trainee_id}/data"))
    assert "Données personnelles conservées : Mme Alice Martin" in body or "Données personnelles conservées : Alice Martin" in body
    for expected in ("alice.martin@exemple.fr", "0611223344", "Maîtriser les factures de travaux.", "REC-2031-0001",
                     "Bonjour Alice, à bientôt.", "Télécharger au format JSON", "alice.m@exemple.fr"):
        assert expected in body
    assert "Bruno" not in body and "secret anonyme" not in body
    record = page(advisor.get(f"/trainees/{alice.trainee_id}"))
    assert f"/trainees/{alice.trainee_id}/data" in record and "durées de conservation" in record


def test_the_export_names_her_funder_and_its_reference(advisor, people):
    from trainingmgr.enrolments.services import save_funding_line

    alice, _ = people
    price = str(alice.price_incl_vat)
    save_funding_line(alice, None, {"kind": "france_travail", "amount": price, "opco_file_number": "AIF-31-7",
                                    "opco_status": "requested", "agreed_hours": "7"})
    db.session.commit()
    data = json.loads(advisor.get(f"/trainees/{alice.trainee_id}/data.json").get_data(as_text=True))
    (funding,) = data["enrolments"][0]["funding"]
    assert (funding["kind"], funding["funder"], funding["funder_reference"], funding["funder_decision"],
            funding["agreed_hours"]) == ("France Travail (AIF)", "France Travail", "AIF-31-7", "Demandée", "7.00")
    body = page(advisor.get(f"/trainees/{alice.trainee_id}/data"))
    assert "France Travail AIF-31-7 Demandée" in body


def test_an_anonymised_trainee_exports_blanks(advisor, people):
    from trainingmgr.privacy.services import anonymise_trainee

    alice, _ = people
    anonymise_trainee(alice.trainee, utcnow())
    db.session.commit()
    data = json.loads(advisor.get(f"/trainees/{alice.trainee_id}/data.json").get_data(as_text=True))
    raw = json.dumps(data, ensure_ascii=False)
    assert data["trainee"]["first_name"] == "Anonyme" and data["trainee"]["anonymised_at"]
    for gone in ("Martin", "0611223344", "Comptable", "Maîtriser les factures", "Bonjour Alice", "alice.m@exemple.fr"):
        assert gone not in raw
    assert "Fiche anonymisée le" in page(advisor.get(f"/trainees/{alice.trainee_id}/data"))


def test_staff_only(client, trainer, advisor, admin, people):
    alice, _ = people
    urls = [f"/trainees/{alice.trainee_id}/data", f"/trainees/{alice.trainee_id}/data.json", "/privacy/retention"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert trainer.get(url).status_code == 403
        assert advisor.get(url).status_code == 200
        assert admin.get(url).status_code == 200
    missing = advisor.get("/trainees/999999/data.json")
    assert missing.status_code == 404 and "Stagiaire introuvable." in page(missing)
    assert advisor.get("/trainees/999999/data").status_code == 404


def test_the_policy_page_lists_every_kind_with_its_period(app, advisor, monkeypatch):
    body = page(advisor.get("/privacy/retention"))
    for expected in ("Identité et coordonnées des stagiaires", "5 ans après la fin de leur dernière session",
                     "1 an après la dernière activité", "3 ans après la réponse", "Documents générés",
                     "Formateurs et comptes du personnel", "RETENTION_MONTHS"):
        assert expected in body
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", {"outbox": 18})
    assert "18 mois après l'envoi" in page(advisor.get("/privacy/retention"))
