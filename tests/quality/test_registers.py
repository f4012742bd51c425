"""The quality registers (/quality/registers): the watch log and the improvement action an entry leads to, the needs
analyses, the disability partners, each trainee's adaptation and its steps (an illegal step answers 409), the
refusals in French that keep nothing, and the Qualiopi board that counts the registers and drops its « hors
logiciel » notes once they hold entries."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError, PermissionDenied
from trainingmgr.enrolments import services as enrolment_services
from trainingmgr.extensions import db
from trainingmgr.quality.board import services as board
from trainingmgr.quality.models import ImprovementAction
from trainingmgr.quality.registers import services as service
from trainingmgr.quality.registers.models import Adaptation, DisabilityPartner, NeedsAnalysis, WatchEntry
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.enrolments.support import person
from tests.helpers import page

TODAY = dt.date(2031, 6, 2)  # three months after the world's sessions (MONDAY is 3 March 2031)
BASE = "/quality/registers"


@pytest.fixture
def today(app, monkeypatch):
    for module in ("trainingmgr.quality.registers.services", "trainingmgr.quality.registers.views"):
        monkeypatch.setattr(f"{module}.paris_today", lambda: TODAY)
    return TODAY


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def watch_data(**over) -> dict:
    data = {"day": "2031-05-12", "domain": "legal", "source": "Légifrance, décret n° 2031-12",
            "summary": "Nouvelles mentions obligatoires du programme.", "analysis": "Mettre à jour les fiches.",
            "action_id": ""}
    data.update(over)
    return data


def needs_data(**over) -> dict:
    data = {"day": "2031-02-10", "channel": "interview", "company_id": "", "session_id": "",
            "contact": "Mme Dupont, gérante", "needs": "Déposer ses factures sur Chorus Pro sans erreur.",
            "outcome": "Session intra proposée."}
    data.update(over)
    return data


def partner_data(**over) -> dict:
    data = {"name": "Cap emploi Haute-Garonne", "kind": "cap_emploi", "contact_name": "Julie Martin",
            "email": "j.martin@capemploi31.example", "phone": "05 61 00 00 00", "notes": ""}
    data.update(over)
    return data


@pytest.fixture
def enrolment(world, make_session, users):
    session = make_session(course=world.dume)
    change_status(session, "open", users["advisor"])
    trainee = save_trainee(None, person(1))
    db.session.flush()
    made = enrolment_services.enrol(session, trainee, actor=users["advisor"], notify=False)
    db.session.commit()
    return made


# --------------------------------------------------------------------------- the watch log


def test_a_watch_entry_is_recorded_listed_filtered_exported_and_edited(today, world, advisor, users):
    assert "Journal de veille" in page(advisor.get(f"{BASE}/watch/new"))
    response = advisor.post(f"{BASE}/watch/new", data=watch_data())
    assert response.status_code == 302, page(response)
    entry = db.session.scalars(select(WatchEntry)).one()
    assert (entry.day, entry.domain, entry.created_by_id) == (dt.date(2031, 5, 12), "legal", users["advisor"].id)
    listed = page(advisor.get(f"{BASE}/watch"))
    assert "Légifrance, décret n° 2031-12" in listed and "Légale et réglementaire" in listed
    assert "Créer l'action d'amélioration" in listed
    assert 'data-entry="' in page(advisor.get(f"{BASE}/watch?domain=legal&depuis=2031-05-01&jusqu=2031-05-31"))
    assert 'data-entry="' not in page(advisor.get(f"{BASE}/watch?domain=teaching"))
    assert 'data-entry="' not in page(advisor.get(f"{BASE}/watch?jusqu=2031-05-11"))

    response = advisor.get(f"{BASE}/watch/export.csv?domain=legal")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["N°", "Date", "Domaine"] and rows[1][1] == "12/05/2031" and rows[1][3] == "23"

    response = advisor.post(f"{BASE}/watch/{entry.id}/edit", data=watch_data(domain="teaching", summary="Autre"))
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    assert (entry.domain, entry.summary) == ("teaching", "Autre")


@pytest.mark.parametrize("over, message", [
    ({"source": "  "}, "La source est obligatoire."),
    ({"summary": ""}, "Le résumé est obligatoire."),
    ({"domain": "gossip"}, "Choisissez le domaine de la veille."),
    ({"day": ""}, "La date est obligatoire."),
    ({"day": "2031-06-03"}, "La date ne peut pas être postérieure à aujourd'hui (02/06/2031)."),
    ({"day": "12/34/5678"}, "N'est pas une date valide."),
    ({"action_id": "999"}, "Action d'amélioration inconnue : choisissez-la dans la liste."),
    ({"source": "x" * 301}, "Ce champ ne doit pas dépasser 300 caractères."),
])
def test_a_bad_watch_entry_is_refused_in_french_and_nothing_is_kept(today, world, advisor, over, message):
    response = advisor.post(f"{BASE}/watch/new", data=watch_data(**over))
    assert response.status_code == 422
    text = page(response)
    assert message in text and watch_data(**over)["summary"] in text  # what was typed is shown again
    assert count(WatchEntry) == 0


def test_an_entry_leads_to_one_improvement_action_of_the_watch(today, world, advisor, users):
    entry = service.save_watch_entry(None, watch_data(), users["advisor"])
    db.session.commit()
    response = advisor.post(f"{BASE}/watch/{entry.id}/action")
    action = db.session.scalars(select(ImprovementAction)).one()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/quality/actions/{action.id}/edit")
    assert (action.source, action.owner_id, action.status) == ("watch", users["advisor"].id, "planned")
    assert action.title.startswith("Veille (légale et réglementaire) : Nouvelles mentions")
    assert "Légifrance" in action.analysis
    db.session.expire_all()
    assert entry.action_id == action.id
    assert f"n° {action.id}" in page(advisor.get(f"{BASE}/watch"))
    # A second one is refused (flashed), nothing created.
    response = advisor.post(f"{BASE}/watch/{entry.id}/action", follow_redirects=True)
    assert f"a déjà conduit à l'action d'amélioration n° {action.id}" in page(response)
    assert count(ImprovementAction) == 1
    with pytest.raises(ConflictError):
        service.create_action_from_watch(entry, users["advisor"])


def test_an_entry_may_point_to_an_existing_action(today, world, advisor, users):
    from trainingmgr.quality.actions.services import create_action

    action = create_action(users["advisor"], "audit", "Revoir les fiches", "", "", users["advisor"].id,
                           dt.date.today() + dt.timedelta(days=10))
    db.session.commit()
    assert f"n° {action.id} : Revoir les fiches" in page(advisor.get(f"{BASE}/watch/new"))
    response = advisor.post(f"{BASE}/watch/new", data=watch_data(action_id=str(action.id)))
    assert response.status_code == 302
    assert db.session.scalars(select(WatchEntry)).one().action_id == action.id


@pytest.mark.parametrize("query", ["domain=gossip", "depuis=2031-13-01", "depuis=2031-06-01&jusqu=2031-01-01"])
def test_bad_watch_filters_answer_400(today, world, advisor, query):
    response = advisor.get(f"{BASE}/watch?{query}")
    assert response.status_code == 400
    assert "inconnu" in page(response) or "Date invalide" in page(response) or "postérieure" in page(response)


# --------------------------------------------------------------------------- needs analyses


def test_a_needs_analysis_is_recorded_with_its_company_and_session(today, world, make_session, advisor):
    session = make_session()
    response = advisor.post(f"{BASE}/needs/new", data=needs_data(company_id=str(world.company.id),
                                                                  session_id=str(session.id)))
    assert response.status_code == 302, page(response)
    analysis = db.session.scalars(select(NeedsAnalysis)).one()
    assert (analysis.company_id, analysis.session_id, analysis.channel) == (world.company.id, session.id, "interview")
    listed = page(advisor.get(f"{BASE}/needs"))
    assert "Cabinet d'architecture Dupont" in listed and "Déposer ses factures" in listed
    response = advisor.post(f"{BASE}/needs/{analysis.id}/edit", data=needs_data(outcome="Inter proposée."))
    assert response.status_code == 302
    db.session.expire_all()
    assert (analysis.outcome, analysis.company_id) == ("Inter proposée.", None)


@pytest.mark.parametrize("over, message", [
    ({"needs": " "}, "Les besoins identifiés est obligatoire."),
    ({"channel": ""}, "Choisissez comment le besoin a été recueilli."),
    ({"company_id": "999"}, "Entreprise inconnue : choisissez-la dans la liste."),
    ({"session_id": "abc"}, "Session inconnue : choisissez-la dans la liste."),
])
def test_a_bad_needs_analysis_is_refused_in_french(today, world, advisor, over, message):
    response = advisor.post(f"{BASE}/needs/new", data=needs_data(**over))
    assert response.status_code == 422 and message in page(response)
    assert count(NeedsAnalysis) == 0


# --------------------------------------------------------------------------- disability partners


def test_partners_are_created_edited_deactivated_and_reactivated(today, world, advisor):
    response = advisor.post(f"{BASE}/disability/partners/new", data=partner_data())
    assert response.status_code == 302, page(response)
    partner = db.session.scalars(select(DisabilityPartner)).one()
    assert partner.active and partner.email == "j.martin@capemploi31.example"
    text = page(advisor.get(f"{BASE}/disability"))
    assert "Cap emploi Haute-Garonne" in text and "Julie Martin" in text
    assert "Camille Bernard (référente handicap)" in text  # the organisation's referent (demo settings)
    response = advisor.post(f"{BASE}/disability/partners/{partner.id}/edit", data=partner_data(name="Cap emploi 31"))
    assert response.status_code == 302
    assert advisor.post(f"{BASE}/disability/partners/{partner.id}/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert (partner.name, partner.active) == ("Cap emploi 31", False)
    response = advisor.post(f"{BASE}/disability/partners/{partner.id}/active", data={"active": "0"},
                            follow_redirects=True)
    assert "est déjà désactivé" in page(response)
    assert advisor.post(f"{BASE}/disability/partners/{partner.id}/active", data={"active": "1"}).status_code == 302
    db.session.expire_all()
    assert partner.active


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Le nom est obligatoire."),
    ({"kind": "friend"}, "Choisissez le type de partenaire."),
    ({"email": "pas-une-adresse"}, "Cette adresse e-mail n'est pas valide."),
])
def test_a_bad_partner_is_refused_in_french(today, world, advisor, over, message):
    response = advisor.post(f"{BASE}/disability/partners/new", data=partner_data(**over))
    assert response.status_code == 422 and message in page(response)
    assert count(DisabilityPartner) == 0


# --------------------------------------------------------------------------- adaptations


def step(client, adaptation, name: str, text: str = "Fait.", day: str = "2031-02-10", **extra):
    return client.post(f"{BASE}/adaptations/{adaptation.id}/step", data={"step": name, "text": text, "day": day,
                                                                          **extra})


def test_an_adaptation_goes_from_request_to_the_end_of_session_check(today, world, advisor, enrolment, users):
    partner = service.save_partner(None, partner_data(), users["advisor"])
    db.session.commit()
    shown = page(advisor.get(f"/enrolments/{enrolment.id}"))
    assert "Déclarer un besoin d'adaptation" in shown and "Aucune adaptation enregistrée." in shown
    response = advisor.post(f"{BASE}/enrolments/{enrolment.id}/adaptations/new",
                            data={"request": "Malvoyance : supports en gros caractères.", "requested_on": "2031-02-01",
                                  "partner_id": str(partner.id)})
    assert response.status_code == 302, page(response)
    adaptation = db.session.scalars(select(Adaptation)).one()
    assert (adaptation.status, adaptation.partner_id) == ("requested", partner.id)
    assert "Malvoyance" in page(advisor.get(f"/enrolments/{enrolment.id}"))
    text = page(advisor.get(f"{BASE}/adaptations/{adaptation.id}"))
    assert "Décider de l'adaptation" in text and "Ne pas retenir" in text and "Mettre en œuvre" not in text

    assert step(advisor, adaptation, "decide", "Supports imprimés en corps 18.", "2031-02-03").status_code == 302
    assert step(advisor, adaptation, "carry_out", "Supports remis.", "2031-03-03").status_code == 302
    assert step(advisor, adaptation, "check", "Le stagiaire a pu suivre.", "2031-03-04").status_code == 302
    db.session.expire_all()
    assert adaptation.status == "checked"
    assert (adaptation.decided_on, adaptation.carried_out_on, adaptation.checked_on) == (
        dt.date(2031, 2, 3), dt.date(2031, 3, 3), dt.date(2031, 3, 4))
    assert adaptation.end_check == "Le stagiaire a pu suivre."
    listed = page(advisor.get(f"{BASE}/disability?status=checked"))
    assert "Prénom01 Nom01" in listed and "Vérifiée en fin de session" in listed
    assert 'data-adaptation="' not in page(advisor.get(f"{BASE}/disability?status=requested"))


def test_illegal_steps_answer_409_and_change_nothing(today, world, advisor, enrolment, users):
    adaptation = service.request_adaptation(enrolment, {"request": "Fauteuil", "requested_on": "2031-02-01"},
                                            users["advisor"])
    db.session.commit()
    response = step(advisor, adaptation, "check")
    assert response.status_code == 409
    assert "Une adaptation « demandée » ne peut pas passer à « vérifiée en fin de session »." in page(response)
    assert step(advisor, adaptation, "carry_out").status_code == 409
    assert step(advisor, adaptation, "decline", "Non compatible : orientation vers Cap emploi.").status_code == 302
    assert step(advisor, adaptation, "decide").status_code == 409
    response = step(advisor, adaptation, "fly")
    assert response.status_code == 422 and "Étape inconnue" in page(response)
    db.session.expire_all()
    assert (adaptation.status, adaptation.decision) == ("declined", "Non compatible : orientation vers Cap emploi.")


@pytest.mark.parametrize("text, day, message", [
    ("", "2031-02-10", "La décision est obligatoire."),
    ("Oui", "", "La date de la décision est obligatoire."),
    ("Oui", "2031-01-31", "La date de la décision ne peut pas précéder l'étape précédente (01/02/2031)."),
    ("Oui", "2031-06-03", "ne peut pas être postérieure à aujourd'hui (02/06/2031)."),
    ("Oui", "demain", "N'est pas une date valide."),
])
def test_a_step_needs_its_text_and_date(today, world, advisor, enrolment, users, text, day, message):
    adaptation = service.request_adaptation(enrolment, {"request": "Fauteuil", "requested_on": "2031-02-01"},
                                            users["advisor"])
    db.session.commit()
    response = step(advisor, adaptation, "decide", text, day)
    assert response.status_code == 422 and message in page(response)
    db.session.expire_all()
    assert (adaptation.status, adaptation.decision, adaptation.decided_on) == ("requested", "", None)


def test_a_bad_request_or_a_cancelled_enrolment_is_refused(today, world, advisor, enrolment, users):
    response = advisor.post(f"{BASE}/enrolments/{enrolment.id}/adaptations/new",
                            data={"request": "", "requested_on": "2031-02-01", "partner_id": "77"})
    text = page(response)
    assert response.status_code == 422 and "Le besoin exprimé est obligatoire." in text
    assert "Partenaire inconnu ou désactivé" in text
    enrolment.status = "cancelled"
    db.session.commit()
    response = advisor.post(f"{BASE}/enrolments/{enrolment.id}/adaptations/new",
                            data={"request": "Fauteuil", "requested_on": "2031-02-01"})
    assert response.status_code == 409 and "inscription est annulée" in page(response)
    assert count(Adaptation) == 0
    assert advisor.get(f"{BASE}/enrolments/999999/adaptations/new").status_code == 404


# --------------------------------------------------------------------------- the board


def build(since=dt.date(2030, 6, 2), until=TODAY):
    db.session.expire_all()
    return board.build_board(since, until, TODAY)


def outside(indicator) -> list[str]:
    return [n for n in indicator.notes if board.NOTHING_OUTSIDE in n]


def test_the_board_notes_go_once_the_registers_hold_entries(today, world, enrolment, users):
    before = build()
    for number in (4, 23, 24, 25, 26):
        assert outside(before.indicator(number)), number
    assert before.indicator(23).status == "manual"

    advisor = users["advisor"]
    for domain, day in (("legal", "2031-05-12"), ("professional", "2031-04-01"), ("teaching", "2031-01-15"),
                        ("technological", "2029-01-15")):
        service.save_watch_entry(None, watch_data(domain=domain, day=day), advisor)
    service.save_needs_analysis(None, needs_data(), advisor)
    partner = service.save_partner(None, partner_data(), advisor)
    service.request_adaptation(enrolment, {"request": "Fauteuil", "requested_on": "2031-02-01"}, advisor)
    db.session.commit()

    after = build()
    for number in (4, 23, 24, 25, 26):
        assert not outside(after.indicator(number)), (number, after.indicator(number).notes)
    assert after.fact("watch_entries_23").value == 1 and after.fact("watch_entries_25").value == 1  # 2029 is out
    assert after.fact("needs_register").value == 1
    assert after.fact("disability_partners").value == 1
    assert after.fact("adaptations_requested").value == 1
    assert after.fact("adaptations_requested").detail == "demandée : 1"
    assert after.indicator(23).status == "ok"
    # A deactivated network is outside the software again.
    service.set_partner_active(partner, "0", advisor)
    db.session.commit()
    assert outside(build().indicator(26))


def test_an_adaptation_not_checked_once_the_session_ended_is_a_gap(today, world, enrolment, users):
    adaptation = service.request_adaptation(enrolment, {"request": "Fauteuil", "requested_on": "2031-02-01"},
                                            users["advisor"])
    db.session.commit()
    assert build().gap("adaptations_unchecked") is None  # the session has not ended
    enrolment.session.status = "completed"
    db.session.commit()
    gap = build().gap("adaptations_unchecked")
    assert gap.indicator == 26 and gap.count == 1
    assert gap.text == "1 adaptation non vérifiée alors que sa session est terminée"
    assert "Prénom01 Nom01" in gap.items[0].text and gap.items[0].link.values == {"adaptation_id": adaptation.id}
    for name in ("decide", "carry_out", "check"):
        service.advance_adaptation(adaptation, name, {"text": "Fait.", "day": "2031-03-03"}, users["advisor"])
    db.session.commit()
    assert build().gap("adaptations_unchecked") is None


def test_the_board_page_links_to_the_registers(today, world, advisor, monkeypatch):
    monkeypatch.setattr("trainingmgr.quality.board.views.paris_today", lambda: TODAY)
    text = page(advisor.get("/quality/qualiopi"))
    for url in (f"{BASE}/watch?domain=legal", f"{BASE}/needs", f"{BASE}/disability"):
        assert f'href="{url}"' in text, url


def test_the_board_queries_do_not_grow_with_the_registers(today, world, enrolment, users, count_queries):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            board.build_board(dt.date(2030, 6, 2), TODAY, TODAY)
        return counter.count

    advisor = users["advisor"]
    service.save_watch_entry(None, watch_data(), advisor)
    service.request_adaptation(enrolment, {"request": "A", "requested_on": "2031-02-01"}, advisor)
    enrolment.session.status = "completed"
    db.session.commit()
    before = queries()
    for n in range(3):
        service.save_watch_entry(None, watch_data(domain="teaching"), advisor)
        service.save_needs_analysis(None, needs_data(), advisor)
        service.save_partner(None, partner_data(name=f"Partenaire {n}"), advisor)
        service.request_adaptation(enrolment, {"request": f"B{n}", "requested_on": "2031-02-01"}, advisor)
    db.session.commit()
    assert queries() == before


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("url", [f"{BASE}/watch", f"{BASE}/needs/new", f"{BASE}/disability",
                                 f"{BASE}/watch/export.csv"])
def test_trainers_are_refused_and_visitors_sent_to_the_login(world, trainer, client, url):
    assert trainer.get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_services_refuse_a_trainer(world, users, enrolment):
    with pytest.raises(PermissionDenied):
        service.save_watch_entry(None, watch_data(), users["trainer"])


def test_every_page_shows_its_record(today, world, advisor, enrolment, users):
    advisor_user = users["advisor"]
    entry = service.save_watch_entry(None, watch_data(), advisor_user)
    analysis = service.save_needs_analysis(None, needs_data(session_id=str(enrolment.session_id)), advisor_user)
    partner = service.save_partner(None, partner_data(), advisor_user)
    adaptation = service.request_adaptation(enrolment, {"request": "Fauteuil", "requested_on": "2031-02-01"},
                                            advisor_user)
    db.session.commit()
    for url, shown in ((f"{BASE}/watch/{entry.id}/edit", "Légifrance, décret n° 2031-12"),
                       (f"{BASE}/needs/{analysis.id}/edit", "Déposer ses factures"),
                       (f"{BASE}/needs", enrolment.session.title),
                       (f"{BASE}/disability/partners/{partner.id}/edit", "Cap emploi Haute-Garonne"),
                       (f"{BASE}/enrolments/{enrolment.id}/adaptations/new", "Prénom01 Nom01"),
                       (f"{BASE}/adaptations/{adaptation.id}", "Fauteuil"),
                       (f"{BASE}/disability", "Fauteuil")):
        response = advisor.get(url)
        assert response.status_code == 200 and shown in page(response), url
    for url in (f"{BASE}/watch/999/edit", f"{BASE}/needs/999/edit", f"{BASE}/disability/partners/999/edit",
                f"{BASE}/adaptations/999"):
        assert advisor.get(url).status_code == 404, url
    assert advisor.get(f"{BASE}/disability?status=nope").status_code == 400
