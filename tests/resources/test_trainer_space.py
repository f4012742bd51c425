"""The trainer space (portals/trainer/space.py, space_views.py): a trainer without an account opens it from a personal link
(tampered 403; expired, renewed, revoked or archived 410), sees and acts on their own sessions only (every other id
walked: 403, nothing recorded), marks a late arrival and countersigns a sheet (recorded in the chain with no author
account, sealed), reads their trainees' positioning and the advisor's decision, records the acquis and reads the
results of their surveys; the countersign reminder links there; the advisor sends, renews and revokes the link."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from trainingmgr.attendance import board, seals
from trainingmgr.attendance import services as attendance
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.core import personal_links
from trainingmgr.core.tokens import make_token
from trainingmgr.evaluations.acquis import services as acquis
from trainingmgr.evaluations.models import AcquisAssessment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.resources import links
from trainingmgr.portals.trainer import space
from trainingmgr.resources.services import save_trainer
from trainingmgr.sessions.models import Slot, TrainingSession
from trainingmgr.sessions.services import change_status

# The attendance fixtures: make_class and klass (Pierre's DUME class on MONDAY), clock, and the logged-in clients.
from tests.attendance.support import drawing, link, sign_by_link, slots
from tests.enrolments.support import person
from tests.evaluations.support import ALL_KINDS_SPEC, Q
from tests.fixtures.attendance import Clock, paris
from tests.helpers import MONDAY, page


@pytest.fixture
def space_clock(app, monkeypatch):
    """Monday 09:00 in Paris (both classes' mornings open), for the attendance code and the space's agenda."""
    clock = Clock(monkeypatch)
    monkeypatch.setattr("trainingmgr.portals.trainer.space.utcnow", clock)
    return clock


@pytest.fixture
def eric(world):
    """An independent trainer: no account."""
    trainer = save_trainer(None, {"first_name": "Éric", "last_name": "Externe", "email": "eric@externe.example",
                                  "competences": "Formateur indépendant, marchés publics depuis 2010"})
    db.session.commit()
    return trainer


@pytest.fixture
def erics_class(world, make_session, eric):
    """Éric's confirmed DUME session on MONDAY (remote: no room shared with Pierre's class), three trainees."""
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.trainees.services import save_trainee

    session = make_session(course=world.dume, trainer=eric, location=world.remote, delivery_mode="distanciel")
    change_status(session, "open", world.users["advisor"])
    enrolments = [enrol(session, save_trainee(None, person(500 + i)), actor=world.users["advisor"], notify=False)
                  for i in range(3)]
    change_status(session, "confirmed", world.users["advisor"])
    db.session.commit()
    return session, enrolments


def home(trainer) -> str:
    path = f"/formateur/{links.token(trainer)}"
    db.session.commit()  # a first link makes the trainer's nonce
    return path


def records(session=None) -> int:
    query = select(func.count(AttendanceRecord.id))
    if session is not None:
        query = query.where(AttendanceRecord.session_id == session.id)
    return db.session.scalar(query)


def last_mail(recipient: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                              .order_by(OutboxMessage.id.desc())).first()


def path_in(mail: OutboxMessage) -> str:
    return re.search(r"http://localhost(/formateur/\S+)", mail.body_text).group(1)


# --------------------------------------------------------------------------- the link


def test_the_link_opens_the_space_without_a_password(client, eric, erics_class, space_clock):
    session, _ = erics_class
    morning, afternoon = slots(session)[:2]
    response = client.get(home(eric))
    text = page(response)
    assert response.status_code == 200 and "Bonjour Éric Externe" in text
    assert f'data-slot="{morning.id}"' in text.split('data-card="to-come"')[0]  # started, to countersign
    assert f'data-slot="{afternoon.id}"' in text.split('data-card="to-come"')[1]  # to come
    assert f'data-session="{session.id}"' in text


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
                                    lambda t: "nimportequoi", lambda t: t.split(".")[0]])
def test_a_tampered_link_is_refused(client, eric, erics_class, space_clock, mangle):
    session, (first, *_) = erics_class
    morning = slots(session)[0]
    token = links.token(eric)
    db.session.commit()
    for suffix in ("", f"/creneaux/{morning.id}", f"/sessions/{session.id}/positionnement", "/resultats"):
        assert client.get(f"/formateur/{mangle(token)}{suffix}").status_code == 403, suffix
    response = client.post(f"/formateur/{mangle(token)}/creneaux/{morning.id}/signature",
                           data={"typed_name": eric.full_name})
    assert response.status_code == 403 and "Ce lien" in page(response)
    assert records() == 0


def test_a_link_for_another_purpose_or_trainer_is_refused(client, world, eric, erics_class):
    session, (first, *_) = erics_class
    assert client.get(f"/formateur/{make_token('company-space', {'i': eric.id, 'n': 'x'})}").status_code == 403
    assert client.get(f"/formateur/{make_token(links.PURPOSE, {'i': 999999, 'n': 'x'})}").status_code == 403
    from trainingmgr.enrolments.links import trainee_token

    assert client.get(f"/formateur/{trainee_token(first)}").status_code == 403
    # Pierre's nonce does not open Éric's space
    links.token(world.pierre)
    db.session.commit()
    forged = make_token(links.PURPOSE, {"i": eric.id, "n": world.pierre.link_nonce})
    assert client.get(f"/formateur/{forged}").status_code in (403, 410)


def test_renewed_revoked_expired_or_archived_links_are_gone(client, app, eric, monkeypatch):
    old = home(eric)
    personal_links.renew(eric)
    db.session.commit()
    response = client.get(old)
    assert response.status_code == 410 and "remplacé ou révoqué" in page(response)
    new = home(eric)
    assert client.get(new).status_code == 200
    personal_links.revoke(eric)
    db.session.commit()
    assert client.get(new).status_code == 410
    newest = home(eric)
    monkeypatch.setitem(app.config, "TRAINER_LINK_MAX_AGE_DAYS", -1)
    assert client.get(newest).status_code == 410
    monkeypatch.setitem(app.config, "TRAINER_LINK_MAX_AGE_DAYS", 365)
    eric.active = False
    db.session.commit()
    response = client.get(newest)
    assert response.status_code == 410 and "fermé" in page(response)


# --------------------------------------------------------------------------- isolation


def test_a_trainer_link_gives_only_that_trainers_sessions(client, world, eric, erics_class, klass, space_clock):
    """Walk every id of every kind (and a few past the last) with Éric's link: his own open, anything else 403."""
    erics, (e1, *_) = erics_class
    pierres, (p1, *_) = klass
    sign_by_link(client, e1, slots(erics)[0], signature=drawing())  # a virtual half-day: the e-mailed code first
    client.post(link(p1, slots(pierres)[0]), data={"signature": drawing()})
    base = home(eric)
    mine = {"session": {erics.id}, "slot": {s.id for s in erics.slots},
            "record": set(db.session.scalars(select(AttendanceRecord.id)
                                              .where(AttendanceRecord.session_id == erics.id)))}
    every = {"session": list(db.session.scalars(select(TrainingSession.id))),
             "slot": list(db.session.scalars(select(Slot.id))),
             "record": list(db.session.scalars(select(AttendanceRecord.id)))}
    pages = {"session": ["/sessions/{}/positionnement", "/sessions/{}/acquis"], "slot": ["/creneaux/{}"],
             "record": ["/signatures/{}.png"]}
    seen = []
    for kind, ids in every.items():
        for some_id in [*ids, max(ids) + 1, max(ids) + 50]:
            for template in pages[kind]:
                response = client.get(base + template.format(some_id))
                expected = 200 if some_id in mine[kind] else 403
                assert response.status_code == expected, (kind, some_id, template, response.status_code)
                seen.append(expected)
    assert seen.count(200) == 2 + len(erics.slots) + 1 and seen.count(403) >= 12  # his session, slots, record
    before = records()
    pierres_slot, erics_slot = slots(pierres)[0], slots(erics)[0]
    refused = [
        client.post(f"{base}/creneaux/{pierres_slot.id}/signature", data={"typed_name": eric.full_name}),
        client.post(f"{base}/creneaux/{pierres_slot.id}/releves/{p1.id}", data={"presence": "absent"}),
        client.post(f"{base}/creneaux/{erics_slot.id}/releves/{p1.id}", data={"presence": "absent"}),
        client.post(f"{base}/creneaux/{erics_slot.id}/releves/999999", data={"presence": "absent"}),
        client.post(f"{base}/sessions/{pierres.id}/acquis", data={}),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert records() == before
    # The home page names none of Pierre's half-days nor sessions.
    text = page(client.get(base))
    assert not any(f'data-slot="{s.id}"' in text for s in pierres.slots)
    assert f'data-session="{pierres.id}"' not in text


# --------------------------------------------------------------------------- the sheet


def test_an_external_trainer_marks_a_late_arrival_and_countersigns(client, eric, erics_class, space_clock):
    session, (first, second, third) = erics_class
    morning = slots(session)[0]
    base = home(eric)
    assert sign_by_link(client, first, morning, signature=drawing()).status_code == 302  # virtual: code first
    sheet = f"{base}/creneaux/{morning.id}"
    response = client.post(f"{sheet}/releves/{second.id}", data={"presence": "present", "arrived_at": "09:20"})
    assert response.status_code == 302 and response.headers["Location"].endswith(sheet)
    assert client.post(f"{sheet}/releves/{third.id}", data={"presence": "absent"}).status_code == 302
    refused = client.post(f"{sheet}/releves/{third.id}", data={"presence": "present", "arrived_at": "07:00"})
    assert refused.status_code == 422 and "L'heure d'arrivée doit être comprise entre" in page(refused)

    space_clock.at("12:35")
    wrong = client.post(f"{sheet}/signature", data={"typed_name": "Quelqu'un d'autre"})
    assert wrong.status_code == 422 and "Éric Externe" in page(wrong)
    response = client.post(f"{sheet}/signature", data={"signature": drawing()})
    assert response.status_code == 302

    (countersignature,) = db.session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.kind == "countersignature", AttendanceRecord.slot_id == morning.id))
    assert (countersignature.trainer_id, countersignature.author_id, countersignature.method,
            countersignature.mode, countersignature.signer_name) == (eric.id, None, "trainer", "drawn", "Éric Externe")
    marks = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.kind == "presence")).all()
    assert {(m.enrolment_id, m.author_id, m.trainer_id) for m in marks} == {(second.id, None, eric.id),
                                                                           (third.id, None, eric.id)}
    # In the session's chain, intact and sealed at the countersignature.
    check = verify_chain(session.id)
    assert check.ok and check.length == 4
    (seal,) = seals.seals_of(session.id)
    assert (seal.scope, seal.length) == ("slot", 4) and seal.head_hash == countersignature.hash

    text = page(client.get(sheet))
    assert 'data-field="locked"' in text and "Signée par Éric Externe" in text
    assert "arrivé(e) à 09:20" in text and 'data-status="absent"' in text
    image = client.get(f"{base}/signatures/{countersignature.id}.png")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    # The sheet is closed: no second signature, no more marks.
    assert client.post(f"{sheet}/signature", data={"typed_name": "Éric Externe"}).status_code == 409
    assert client.post(f"{sheet}/releves/{first.id}", data={"presence": "absent"}).status_code == 409
    assert records(session) == 4
    assert attendance.session_grid(session).cell(second.id, morning.id).arrived_at.strftime("%H:%M") == "09:20"


def test_the_sheet_cannot_be_countersigned_before_the_half_day(client, eric, erics_class, space_clock):
    session, _ = erics_class
    afternoon = slots(session)[1]
    sheet = f"{home(eric)}/creneaux/{afternoon.id}"
    text = page(client.get(sheet))
    assert "une fois la demi-journée commencée" in text and 'id="sign-form"' not in text
    response = client.post(f"{sheet}/signature", data={"typed_name": "Éric Externe"})
    assert response.status_code == 409 and "n'a pas encore commencé" in page(response)
    assert records() == 0


def test_countersign_as_refuses_a_trainer_who_does_not_teach_the_session(eric, klass, space_clock):
    from trainingmgr.core.errors import PermissionDenied

    session, (first, *_) = klass
    with pytest.raises(PermissionDenied):
        attendance.countersign_as(slots(session)[0], eric, typed_name="Éric Externe")
    with pytest.raises(PermissionDenied):
        attendance.mark_presence_as(slots(session)[0], first, {"presence": "absent"}, eric)
    assert records() == 0


# --------------------------------------------------------------------------- the reminder


def test_the_reminder_links_an_external_trainer_to_the_space_and_a_staff_trainer_to_the_login(
        client, world, eric, erics_class, klass, space_clock):
    erics, _ = erics_class
    pierres, _ = klass
    erics_morning, pierres_morning = slots(erics)[0], slots(pierres)[0]
    assert board.remind_trainer(erics_morning, world.users["advisor"]) == 1
    assert board.remind_trainer(pierres_morning, world.users["advisor"]) == 1
    db.session.commit()
    to_eric, to_pierre = last_mail("eric@externe.example"), last_mail("formateur@test.example")
    assert "espace formateur" in to_eric.body_text
    path = path_in(to_eric)
    # Éric's link (its payload; the timestamp and signature change with the second it is made) to the half-day.
    assert path.startswith(f"/formateur/{links.token(eric).split('.')[0]}.")
    assert path.endswith(f"/creneaux/{erics_morning.id}")
    assert f"http://localhost/attendance/slots/{pierres_morning.id}" in to_pierre.body_text
    assert "/formateur/" not in to_pierre.body_text
    text = page(client.get(path))
    assert 'id="sign-form"' in text and "Signer et clore la feuille" in text


# --------------------------------------------------------------------------- positioning, acquis, results


def _answer_positioning(enrolment, questionnaire, expectations: str, needs: str = "") -> None:
    from trainingmgr.evaluations.questionnaires.services import answer_positioning

    q = Q(questionnaire)
    answer_positioning(enrolment, q.complete(**{q.key(q.expectations): expectations, q.key(q.access): needs}),
                       submit=True)


def test_positioning_answers_and_decision_are_shown_to_their_trainer_only(client, world, eric, erics_class, klass):
    from trainingmgr.evaluations.questionnaires.services import create_questionnaire

    erics, (e1, e2, _) = erics_class
    pierres, (p1, *_) = klass
    questionnaire = create_questionnaire({**ALL_KINDS_SPEC, "course": world.dume})
    _answer_positioning(e1, questionnaire, "Maîtriser les variantes du DUME", "Prévoir un écran agrandi")
    _answer_positioning(p1, questionnaire, "Attente d'un stagiaire de Pierre")
    e1.positioning_decision, e1.positioning_comment = "admitted_with_adaptation", "Pauses toutes les heures."
    db.session.commit()

    base = home(eric)
    response = client.get(f"{base}/sessions/{erics.id}/positionnement")
    text = page(response)
    assert response.status_code == 200
    assert "Maîtriser les variantes du DUME" in text and "Prévoir un écran agrandi" in text
    assert "Admis avec adaptation" in text and "Pauses toutes les heures." in text
    assert e2.trainee.full_name in text and "Pas encore de réponse" in text
    assert "Attente d'un stagiaire de Pierre" not in text and p1.trainee.full_name not in text
    assert client.get(f"{base}/sessions/{pierres.id}/positionnement").status_code == 403
    # Pierre (through his own link) sees his trainee's, not Éric's
    pierres_text = page(client.get(f"{home(world.pierre)}/sessions/{pierres.id}/positionnement"))
    assert "Attente d'un stagiaire de Pierre" in pierres_text and "Maîtriser les variantes" not in pierres_text


def test_the_acquis_are_recorded_from_the_space(client, world, eric, erics_class, klass):
    erics, (e1, e2, _) = erics_class
    pierres, _ = klass
    base = home(eric)
    url = f"{base}/sessions/{erics.id}/acquis"
    assert 'data-field="not-open"' in page(client.get(url))
    assert client.post(url, data={}).status_code == 409  # not started yet
    first = min(erics.slots, key=lambda s: (s.date, s.start_time))
    change_status(erics, "in_progress", world.users["advisor"], now=paris(first.date, "09:00"))
    db.session.commit()
    goals = acquis.objectives(erics)
    response = client.post(url, data={f"level-{e1.id}-{goals[0].id}": "acquired",
                                      f"level-{e2.id}-{goals[0].id}": "partial",
                                      f"comment-{e2.id}-{goals[0].id}": "À revoir : les lots."})
    assert response.status_code == 302
    rows = db.session.scalars(select(AcquisAssessment).order_by(AcquisAssessment.enrolment_id)).all()
    assert [(r.enrolment_id, r.level, r.recorded_by_id) for r in rows] == [(e1.id, "acquired", None),
                                                                          (e2.id, "partial", None)]
    text = page(client.get(url))
    assert acquis.BY_TRAINER_LINK in text and "À revoir : les lots." in text
    bad = client.post(url, data={f"level-{e1.id}-{goals[0].id}": "génial"})
    assert bad.status_code == 422 and "Niveau inconnu" in page(bad)
    assert client.post(url, data={f"level-{klass[1][0].id}-{goals[0].id}": "acquired"}).status_code == 403
    assert client.get(f"{base}/sessions/{pierres.id}/acquis").status_code == 403
    assert db.session.scalar(select(func.count(AcquisAssessment.id))) == 2


def _deliver_with_a_hot_answer(session, enrolments, world, comment: str) -> None:
    """Everyone signs both half-days, the session ends, the hot survey leaves and the first trainee answers it."""
    from trainingmgr.evaluations.models import SurveyInvitation
    from trainingmgr.evaluations.surveys.services import answer, send_survey

    change_status(session, "in_progress", world.users["advisor"], now=paris(MONDAY, "08:30"))
    for slot in slots(session):
        for enrolment in enrolments:
            attendance.sign(slot, enrolment, method="link", typed_name=enrolment.trainee.full_name,
                            now=slot.starts_at)
    change_status(session, "completed", world.users["advisor"], now=paris(MONDAY, "17:45"))
    db.session.commit()
    send_survey({"session_id": session.id, "kind": "hot"})
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolments[0].id,
                                                                  SurveyInvitation.kind == "hot"))
    data = {}
    for question in invitation.questionnaire.questions:
        key = f"q{question.id}"
        data[key] = {"scale": "4", "yes_no": "yes", "text": comment}.get(
            question.kind, str(question.choices[-1].id) if question.choices else "")
        if question.kind == "multiple":
            data[key] = [str(question.choices[0].id)]
    answer(invitation, data, submit=True)
    db.session.commit()


def test_survey_results_are_those_of_the_trainers_sessions_only(client, world, eric, erics_class, klass,
                                                                surveys):  # noqa: F811
    erics, erics_trainees = erics_class
    pierres, pierres_trainees = klass
    _deliver_with_a_hot_answer(erics, erics_trainees, world, "Éric explique très bien.")
    _deliver_with_a_hot_answer(pierres, pierres_trainees, world, "Pierre est passionnant.")
    results = space.survey_results(eric)
    assert [s.session.id for s in results.session_summaries] == [erics.id]
    text = page(client.get(f"{home(eric)}/resultats"))
    assert "Éric explique très bien." in text and "Pierre est passionnant." not in text
    assert f'data-session="{erics.id}"' in text and f'data-session="{pierres.id}"' not in text
    assert "/evaluations/sessions/" not in text  # no link to the staff's pages


# --------------------------------------------------------------------------- the advisor


def test_the_advisor_sends_renews_and_revokes_the_link(client, world, advisor, trainer, eric):
    page_text = page(advisor.get(f"/trainers/{eric.id}"))
    assert "Envoyer le lien de l'espace formateur" in page_text and "Aucun lien actif" in page_text
    assert "Renouveler" not in page_text
    assert trainer.post(f"/trainers/{eric.id}/space-link/send").status_code == 403
    assert advisor.post(f"/trainers/{eric.id}/space-link/send", csrf=False).status_code == 400

    response = advisor.post(f"/trainers/{eric.id}/space-link/send")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/trainers/{eric.id}#espace-formateur")
    sent = last_mail("eric@externe.example")
    assert sent.subject.startswith("Votre espace formateur") and sent.topic == "trainer_space_link"
    first = path_in(sent)
    assert client.get(first).status_code == 200
    page_text = page(advisor.get(f"/trainers/{eric.id}"))
    assert "Un lien est actif" in page_text and "Renouveler" in page_text and "Révoquer" in page_text

    advisor.post(f"/trainers/{eric.id}/space-link/renew")
    second = path_in(last_mail("eric@externe.example"))
    assert second != first
    assert client.get(first).status_code == 410 and client.get(second).status_code == 200

    advisor.post(f"/trainers/{eric.id}/space-link/revoke")
    assert client.get(second).status_code == 410
    assert "Aucun lien actif" in page(advisor.get(f"/trainers/{eric.id}"))


def test_a_link_needs_an_email_address(advisor, world):
    silent = save_trainer(None, {"first_name": "Sans", "last_name": "Adresse"})
    db.session.commit()
    assert "Indiquez son adresse e-mail" in page(advisor.get(f"/trainers/{silent.id}"))
    response = advisor.post(f"/trainers/{silent.id}/space-link/send")
    assert response.status_code == 409 and "adresse e-mail" in page(response)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0

