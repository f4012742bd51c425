"""Improvement actions (Qualiopi 32): creation from a survey alert or a complaint, the rules (owner, due date,
status transitions, effect required when done), overdue detection with a frozen day, the register's exports,
the dashboard warning and the permissions."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.core.timeutil import PARIS
from trainingmgr.evaluations.models import Questionnaire, SurveyAlert
from trainingmgr.extensions import db
from trainingmgr.quality.actions import services as service
from trainingmgr.quality.models import ImprovementAction, QualityRequest

from tests.helpers import exported, page

TODAY = dt.date(2031, 2, 3)  # a month before the sessions of the fixtures (MONDAY is 2031-03-03)


class Today:
    """Freeze the day (and the clock, at noon in Paris) seen by the improvement actions and the dashboard."""

    def __init__(self, monkeypatch, day: dt.date = TODAY):
        self.day = day
        for module in ("trainingmgr.quality.actions.services", "trainingmgr.quality.actions.views",
                       "trainingmgr.quality.dashboard"):
            monkeypatch.setattr(f"{module}.paris_today", lambda: self.day, raising=False)
        monkeypatch.setattr("trainingmgr.quality.actions.services.utcnow", self.now)

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(12, 0), tzinfo=PARIS).astimezone(dt.timezone.utc)

    def set(self, day: dt.date) -> dt.date:
        self.day = day
        return day


@pytest.fixture
def today(app, monkeypatch):
    return Today(monkeypatch)


@pytest.fixture
def session(make_session):
    return make_session()


@pytest.fixture
def alert(session):
    questionnaire = Questionnaire(kind="hot", title="Satisfaction à chaud")
    db.session.add(questionnaire)
    db.session.flush()
    made = SurveyAlert(session_id=session.id, questionnaire_id=questionnaire.id,
                       reason="Satisfaction à chaud : « Rythme de la formation » : 1/5")
    db.session.add(made)
    db.session.commit()
    return made


@pytest.fixture
def complaint(session):
    made = QualityRequest(reference="REC-2031-0001", kind="complaint", subject="Support illisible",
                          description="Le support projeté était illisible du fond de la salle.",
                          session_id=session.id, acknowledge_due=TODAY + dt.timedelta(days=2),
                          answer_due=TODAY + dt.timedelta(days=15))
    db.session.add(made)
    db.session.commit()
    return made


def form(owner, due: dt.date | None = None, **over) -> dict:
    data = {"source": "audit", "title": "Revoir le support de cours", "analysis": "Police trop petite.",
            "description": "Refaire les diapositives en 24 points.", "owner_id": str(owner.id),
            "due_date": (due or TODAY + dt.timedelta(days=10)).isoformat()}
    data.update(over)
    return data


def make_action(users, due: dt.date | None = None, **over) -> ImprovementAction:
    data = {"source": "audit", "title": "Afficher le règlement intérieur", "analysis": "", "description": "",
            "owner_id": users["advisor"].id, "due_date": due or TODAY + dt.timedelta(days=10)}
    data.update(over)
    action = service.create_action(users["advisor"], **data)
    db.session.commit()
    return action


def count_actions() -> int:
    return db.session.scalar(select(func.count()).select_from(ImprovementAction))


# --------------------------------------------------------------------------- creation


def test_an_action_created_from_a_survey_alert_handles_the_alert_and_links_its_session(
        today, advisor, users, alert, session):
    alerts_page = page(advisor.get("/evaluations/alerts/"))
    assert f"/quality/actions/new?survey_alert_id={alert.id}" in alerts_page
    assert "Créer une action d'amélioration" in alerts_page

    response = advisor.get(f"/quality/actions/new?survey_alert_id={alert.id}")
    text = page(response)
    assert response.status_code == 200
    assert "« Rythme de la formation » : 1/5" in text  # the alert's reason, pre-filled as the analysis
    assert "Enquête de satisfaction" in text and session.title in text
    assert (TODAY + dt.timedelta(days=30)).isoformat() in text  # QUALITY_ACTION_DUE_DAYS

    # The source posted is ignored: an action made from an alert comes from a survey.
    response = advisor.post(f"/quality/actions/new?survey_alert_id={alert.id}",
                            data=form(users["advisor"], source="watch", session_id="999"))
    assert response.status_code == 302, page(response)
    action = db.session.scalars(select(ImprovementAction)).one()
    assert response.headers["Location"].endswith(f"/quality/actions/{action.id}")
    assert (action.source, action.survey_alert_id, action.session_id) == ("survey", alert.id, session.id)
    assert action.status == "planned" and action.created_by_id == users["advisor"].id
    db.session.expire_all()
    handled = db.session.get(SurveyAlert, alert.id)
    assert handled.status == "handled" and handled.handled_by_id == users["advisor"].id
    assert handled.note == f"Action d'amélioration n° {action.id} : Revoir le support de cours"

    shown = page(advisor.get(f"/quality/actions/{action.id}"))
    assert "Enquête de satisfaction" in shown and session.title in shown and "Prévue" in shown
    # The alert now shows as handled, with a link to the action, and still offers another action.
    handled_page = page(advisor.get("/evaluations/alerts/?status=handled"))
    assert f"/quality/actions/{action.id}" in handled_page and "Traitée le" in handled_page
    assert "Créer une action d'amélioration" in handled_page

    # A second action from the same (now handled) alert is allowed and leaves the alert's note as it was.
    second = make_action(users, survey_alert_id=alert.id, title="Former le formateur au rythme")
    assert second.source == "survey" and second.session_id == session.id
    assert db.session.get(SurveyAlert, alert.id).note == handled.note


def test_an_alert_classified_without_follow_up_leads_to_no_action(today, advisor, users, alert):
    alert.status = "dismissed"
    db.session.commit()
    response = advisor.get(f"/quality/actions/new?survey_alert_id={alert.id}")
    assert response.status_code == 409 and "classée sans suite" in page(response)
    assert "Créer une action d'amélioration" not in page(advisor.get("/evaluations/alerts/?status=dismissed"))
    response = advisor.post(f"/quality/actions/new?survey_alert_id={alert.id}", data=form(users["advisor"]))
    assert response.status_code == 409 and count_actions() == 0


def test_an_action_created_from_a_complaint_takes_its_source_and_session(today, advisor, users, complaint, session):
    response = advisor.get(f"/quality/actions/new?request_id={complaint.id}")
    text = page(response)
    assert response.status_code == 200
    assert "REC-2031-0001" in text and "Suite à la réclamation REC-2031-0001 : Support illisible" in text
    response = advisor.post(f"/quality/actions/new?request_id={complaint.id}",
                            data=form(users["advisor"], source="other"))
    assert response.status_code == 302, page(response)
    action = db.session.scalars(select(ImprovementAction)).one()
    assert (action.source, action.request_id, action.session_id) == ("complaint", complaint.id, session.id)
    register = page(advisor.get("/quality/actions/"))
    assert "REC-2031-0001" in register and "Réclamation" in register and session.title in register
    assert page(advisor.get("/quality/actions/?source=complaint")).count('data-action="') == 1
    assert page(advisor.get("/quality/actions/?source=audit")).count('data-action="') == 0


def test_an_action_can_be_linked_to_a_session_alone(today, advisor, users, session):
    response = advisor.post(f"/quality/actions/new?session_id={session.id}", data=form(users["advisor"]))
    assert response.status_code == 302, page(response)
    action = db.session.scalars(select(ImprovementAction)).one()
    assert (action.source, action.session_id, action.request_id, action.survey_alert_id) == (
        "audit", session.id, None, None)


@pytest.mark.parametrize("query", ["request_id=999", "survey_alert_id=999", "session_id=999", "request_id=abc",
                                   "survey_alert_id=99999999999999999999", "session_id=-1"])
def test_unknown_origins_answer_404(today, advisor, users, session, query):
    response = advisor.get(f"/quality/actions/new?{query}")
    assert response.status_code == 404 and "introuvable" in page(response)
    response = advisor.post(f"/quality/actions/new?{query}", data=form(users["advisor"]))
    assert response.status_code == 404 and count_actions() == 0


def test_a_request_and_an_alert_at_once_are_refused(today, advisor, users, alert, complaint):
    response = advisor.get(f"/quality/actions/new?request_id={complaint.id}&survey_alert_id={alert.id}")
    assert response.status_code == 422 and "pas des deux" in page(response)


@pytest.mark.parametrize("over, field, message", [
    ({"title": "   "}, "title", "L'intitulé est obligatoire."),
    ({"title": "x" * 201}, "title", "ne doit pas dépasser 200 caractères"),
    ({"due_date": (TODAY - dt.timedelta(days=1)).isoformat()}, "due_date",
     "L'échéance ne peut pas être passée (nous sommes le 03/02/2031)."),
    ({"due_date": ""}, "due_date", "L'échéance est obligatoire."),
    ({"due_date": "31/02/2031"}, "due_date", "N'est pas une date valide."),
    ({"owner_id": "9999"}, "owner_id", "Responsable inconnu : choisissez-le dans la liste."),
    ({"owner_id": "abc"}, "owner_id", "Responsable inconnu : choisissez-le dans la liste."),
    ({"owner_id": ""}, "owner_id", "Le responsable de l'action est obligatoire."),
    ({"source": ""}, "source", "Choisissez l'origine de l'action."),
    ({"source": "complaint"}, "source", "se crée depuis la réclamation enregistrée"),
    ({"source": "nonsense"}, "source", "Choisissez l'origine de l'action."),
])
def test_bad_inputs_are_refused_with_a_french_message_and_nothing_saved(
        today, advisor, users, alert, over, field, message):
    response = advisor.post("/quality/actions/new", data=form(users["advisor"], **over))
    text = page(response)
    assert response.status_code == 422
    assert message in text
    assert "is-invalid" in text and f'id="{field}"' in text
    assert count_actions() == 0


def test_the_owner_is_an_active_advisor_or_admin(today, advisor, users, alert):
    response = advisor.post(f"/quality/actions/new?survey_alert_id={alert.id}", data=form(users["trainer"]))
    assert response.status_code == 422
    assert "Le responsable doit être un conseiller ou un administrateur actif." in page(response)
    users["admin"].active = False
    db.session.commit()
    response = advisor.post(f"/quality/actions/new?survey_alert_id={alert.id}", data=form(users["admin"]))
    assert response.status_code == 422 and "administrateur actif" in page(response)
    assert count_actions() == 0
    db.session.expire_all()
    assert db.session.get(SurveyAlert, alert.id).status == "open"  # a refused action leaves the alert open
    # The owner list offers the active advisors and admins only.
    text = page(advisor.get("/quality/actions/new"))
    assert "Camille Conseil" in text and "Pierre Formateur" not in text and "Ada Admin" not in text


def test_several_errors_show_at_once(today, advisor, users):
    response = advisor.post("/quality/actions/new", data=form(users["advisor"], title="", owner_id="9999",
                                                              due_date="2000-01-01"))
    text = page(response)
    assert response.status_code == 422
    assert "L'intitulé est obligatoire." in text and "Responsable inconnu" in text and "ne peut pas être passée" in text


def test_the_form_needs_its_csrf_token(today, advisor, users):
    response = advisor.post("/quality/actions/new", data=form(users["advisor"]), csrf=False)
    assert response.status_code in (400, 422) and count_actions() == 0


# --------------------------------------------------------------------------- status


def test_status_moves_forward_and_done_needs_the_effect_observed(today, advisor, users):
    action = make_action(users)
    edit = f"/quality/actions/{action.id}/edit"
    data = form(users["advisor"], title=action.title, effect="")
    data.pop("source")
    assert advisor.get(edit).status_code == 200

    assert advisor.post(edit, data={**data, "status": "in_progress"}).status_code == 302
    db.session.expire_all()
    assert action.status == "in_progress" and action.done_at is None

    response = advisor.post(edit, data={**data, "status": "done", "effect": "  "})
    assert response.status_code == 422
    assert "Indiquez l'effet observé pour marquer l'action réalisée" in page(response)
    db.session.expire_all()
    assert action.status == "in_progress" and action.done_at is None

    today.set(TODAY + dt.timedelta(days=4))
    response = advisor.post(edit, data={**data, "status": "done",
                                        "effect": "Plus aucune remarque sur la lisibilité à la session suivante."})
    assert response.status_code == 302
    db.session.expire_all()
    assert action.status == "done" and action.done_at == today.now()
    shown = page(advisor.get(f"/quality/actions/{action.id}"))
    assert "Réalisée le" in shown and "07/02/2031" in shown and "Plus aucune remarque" in shown

    # Final: no way back, but the effect can still be completed.
    response = advisor.post(edit, data={**data, "status": "in_progress", "effect": "x"})
    assert response.status_code == 409 and "ne peut pas passer à « en cours »" in page(response)
    response = advisor.post(edit, data={**data, "status": "done", "effect": "Confirmé à la session d'avril."})
    assert response.status_code == 302
    db.session.expire_all()
    assert action.effect == "Confirmé à la session d'avril." and action.done_at == today.now()


def test_abandoning_needs_a_reason_and_is_final(today, users):
    action = make_action(users)
    data = {"title": action.title, "owner_id": users["advisor"].id, "due_date": action.due_date}
    with pytest.raises(ValidationError) as refused:
        service.update_action(action, users["advisor"], {**data, "status": "abandoned"})
    assert refused.value.fields == {"effect": ["Indiquez pourquoi l'action est abandonnée."]}
    db.session.rollback()
    service.update_action(action, users["advisor"], {**data, "status": "abandoned", "effect": "Formation retirée."})
    db.session.commit()
    assert action.status == "abandoned" and action.done_at is None
    for status in ("planned", "in_progress", "done"):
        with pytest.raises(ConflictError):
            service.update_action(action, users["advisor"], {**data, "status": status, "effect": "x"})
    with pytest.raises(ValidationError):
        service.update_action(action, users["advisor"], {**data, "status": "nonsense"})


def test_a_past_due_date_may_be_kept_but_not_newly_set(today, users):
    action = make_action(users, due=TODAY + dt.timedelta(days=1))
    today.set(TODAY + dt.timedelta(days=5))
    data = {"title": "Nouveau titre", "owner_id": users["advisor"].id, "due_date": action.due_date,
            "status": "in_progress"}
    service.update_action(action, users["advisor"], data)  # unchanged, though now past
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        service.update_action(action, users["advisor"], {**data, "due_date": TODAY + dt.timedelta(days=2)})
    assert "ne peut pas être passée" in refused.value.fields["due_date"][0]
    db.session.rollback()
    # The present owner, no longer active, may stay; a new owner must be active staff.
    users["advisor"].active = False
    db.session.commit()
    service.update_action(action, users["admin"], data)
    with pytest.raises(ValidationError):
        service.update_action(action, users["admin"], {**data, "owner_id": users["trainer"].id})


def test_a_refused_edit_keeps_what_was_typed_and_saves_nothing(today, advisor, users):
    action = make_action(users)
    response = advisor.post(f"/quality/actions/{action.id}/edit",
                            data={"title": "", "analysis": "Analyse tapée", "owner_id": str(users["advisor"].id),
                                  "due_date": action.due_date.isoformat(), "status": "planned"})
    text = page(response)
    assert response.status_code == 422 and "L'intitulé est obligatoire." in text and "Analyse tapée" in text
    db.session.expire_all()
    assert action.title == "Afficher le règlement intérieur" and action.analysis == ""


def test_unknown_actions_answer_404(advisor, users):
    assert advisor.get("/quality/actions/999").status_code == 404
    assert advisor.get("/quality/actions/999/edit").status_code == 404
    assert advisor.post("/quality/actions/999/edit", data={"title": "x"}).status_code == 404


# --------------------------------------------------------------------------- overdue


def test_overdue_actions_with_a_frozen_day(today, advisor, users):
    first = make_action(users, due=TODAY + dt.timedelta(days=3), title="Échéance J+3")
    second = make_action(users, due=TODAY + dt.timedelta(days=1), title="Échéance J+1")
    due_today = make_action(users, due=TODAY + dt.timedelta(days=5), title="Échéance J+5")
    done = make_action(users, due=TODAY + dt.timedelta(days=1), title="Action close")
    abandoned = make_action(users, due=TODAY + dt.timedelta(days=1), title="Action arrêtée")
    for action, status in ((done, "done"), (abandoned, "abandoned")):
        service.update_action(action, users["advisor"], {"title": action.title, "owner_id": users["advisor"].id,
                                                         "due_date": action.due_date, "status": status,
                                                         "effect": "Fait."})
    service.update_action(first, users["advisor"], {"title": first.title, "owner_id": users["advisor"].id,
                                                    "due_date": first.due_date, "status": "in_progress"})
    db.session.commit()
    assert service.overdue_actions(TODAY) == []

    today.set(TODAY + dt.timedelta(days=5))
    assert service.overdue_actions(today.day) == [second, first]  # the oldest due first; due today is not late
    assert not service.is_overdue(due_today, today.day) and service.is_overdue(first, today.day)
    register = page(advisor.get("/quality/actions/"))
    assert "2 actions en retard." in register and register.count('data-field="overdue"') == 2
    late = page(advisor.get("/quality/actions/?overdue=1"))
    assert late.count('data-action="') == 2 and "Échéance J+5" not in late and "Action close" not in late
    assert "Action arrêtée" not in late

    today.set(TODAY + dt.timedelta(days=6))
    assert service.overdue_actions(today.day) == [second, first, due_today]


def test_the_dashboard_lists_the_overdue_actions(today, advisor, trainer, users, session):
    action = make_action(users, due=TODAY + dt.timedelta(days=1), title="Mettre à jour le livret d'accueil")
    assert 'data-field="overdue-actions"' not in page(advisor.get("/"))
    today.set(TODAY + dt.timedelta(days=2))
    text = page(advisor.get("/"))
    assert 'data-field="overdue-actions"' in text
    assert "1 action d'amélioration en retard" in text
    assert f"/quality/actions/{action.id}" in text and "Mettre à jour le livret d'accueil" in text
    assert "échéance 04/02/2031, Camille Conseil" in text
    assert "Mettre à jour le livret d'accueil" not in page(trainer.get("/"))


def test_the_dashboard_query_count_does_not_grow_with_overdue_actions(today, advisor, users, count_queries):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            assert advisor.get("/").status_code == 200
        return counter.count

    make_action(users, due=TODAY + dt.timedelta(days=1))
    today.set(TODAY + dt.timedelta(days=2))
    one = queries()
    today.set(TODAY)
    make_action(users, due=TODAY + dt.timedelta(days=1), owner_id=users["admin"].id)
    make_action(users, due=TODAY + dt.timedelta(days=1))
    today.set(TODAY + dt.timedelta(days=2))
    assert len(service.overdue_actions(today.day)) == 3
    assert queries() == one


# --------------------------------------------------------------------------- exports


def test_the_register_exports_as_csv_for_french_excel(today, advisor, users, complaint, session):
    action = make_action(users, request_id=complaint.id, title="=HYPERLINK(\"http://x\")",
                         analysis="Police trop petite ; contraste faible", description="Refaire le support",
                         due=dt.date(2031, 2, 25))
    other = make_action(users, title="Veille réglementaire", source="watch", owner_id=users["admin"].id)
    service.update_action(other, users["advisor"], {"title": other.title, "owner_id": users["admin"].id,
                                                    "due_date": other.due_date, "status": "done",
                                                    "effect": "Veille à jour"})
    db.session.commit()
    response = exported(advisor, "/quality/actions/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "filename=actions-amelioration-2031-02-03.csv" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["N°", "Créée le", "Origine", "Réclamation liée", "Session", "Intitulé", "Analyse (cause)",
                       "Mesure décidée", "Responsable", "Échéance", "Statut", "Réalisée le", "Effet observé"]
    assert len(rows) == 3
    first = dict(zip(rows[0], rows[1]))
    assert first["N°"] == str(action.id) and first["Créée le"] == "03/02/2031"
    assert first["Origine"] == "Réclamation" and first["Réclamation liée"] == "REC-2031-0001"
    assert first["Session"] == f"{session.title} ({session.dates_label})" and "03/03/2031" in first["Session"]
    assert first["Intitulé"] == "'=HYPERLINK(\"http://x\")"  # never a formula
    assert first["Analyse (cause)"] == "Police trop petite ; contraste faible"
    assert first["Responsable"] == "Camille Conseil" and first["Échéance"] == "25/02/2031"
    assert first["Statut"] == "Prévue" and first["Réalisée le"] == "" and first["Effet observé"] == ""
    second = dict(zip(rows[0], rows[2]))
    assert second["Origine"] == "Veille" and second["Statut"] == "Réalisée" and second["Réalisée le"] == "03/02/2031"
    assert second["Responsable"] == "Ada Admin" and second["Effet observé"] == "Veille à jour"

    # The export follows the register's filters.
    rows = list(csv.reader(io.StringIO(exported(advisor, "/quality/actions/export.csv?status=done").get_data()
                                       .decode("utf-8-sig")), delimiter=";"))
    assert [r[5] for r in rows[1:]] == ["Veille réglementaire"]


def test_the_register_exports_as_xlsx(today, advisor, users, complaint):
    from openpyxl import load_workbook

    action = make_action(users, request_id=complaint.id, title="Revoir le support", due=dt.date(2031, 2, 25))
    response = exported(advisor, "/quality/actions/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.get_data()))
    ws = book["Actions d'amélioration"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:6] == ("N°", "Créée le", "Origine", "Réclamation liée", "Session", "Intitulé")
    assert rows[1][0] == action.id and rows[1][2] == "Réclamation" and rows[1][3] == "REC-2031-0001"
    assert rows[1][1].date() == TODAY and rows[1][9].date() == dt.date(2031, 2, 25)
    assert ws.cell(row=2, column=10).number_format == "DD/MM/YYYY"
    assert rows[1][10] == "Prévue" and rows[1][11] is None


def test_an_empty_register_still_exports_its_headers(advisor, users):
    body = exported(advisor, "/quality/actions/export.csv").get_data().decode("utf-8-sig")
    assert body.splitlines() == [";".join(service.EXPORT_HEADERS)]
    assert exported(advisor, "/quality/actions/export.xlsx").status_code == 200
    assert advisor.post("/quality/actions/export.pdf").status_code == 404


@pytest.mark.parametrize("query", ["status=nonsense", "source=nonsense"])
def test_unknown_filters_answer_400(advisor, users, query):
    for response in (advisor.get(f"/quality/actions/?{query}"), advisor.post(f"/quality/actions/export.csv?{query}")):
        assert response.status_code == 400 and "inconnu" in page(response)


# --------------------------------------------------------------------------- permissions


def test_permissions(today, client, trainer, admin, advisor, users):
    action = make_action(users)
    urls = ["/quality/actions/", "/quality/actions/new", f"/quality/actions/{action.id}",
            f"/quality/actions/{action.id}/edit"]
    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], url
        assert trainer.get(url).status_code == 403, url
        assert advisor.get(url).status_code == 200, url
        assert admin.get(url).status_code == 200, url
    for url in ("/quality/actions/export.csv", "/quality/actions/export.xlsx"):  # a task, then its page
        anonymous = client.post(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], url
        assert trainer.post(url).status_code == 403, url
        assert advisor.post(url).status_code == 303, url
        assert admin.post(url).status_code == 303, url
    for url in ("/quality/actions/new", f"/quality/actions/{action.id}/edit"):
        assert trainer.post(url, data=form(users["trainer"], status="done", effect="x")).status_code == 403
        assert client.post(url, data=form(users["advisor"])).status_code == 302
    assert count_actions() == 1
    db.session.expire_all()
    assert action.status == "planned"


def test_the_services_refuse_a_trainer(today, users):
    with pytest.raises(PermissionDenied):
        service.create_action(users["trainer"], "audit", "Titre", "", "", users["advisor"].id, TODAY)
    action = make_action(users)
    with pytest.raises(PermissionDenied):
        service.update_action(action, users["trainer"], {"title": "x"})


def test_actions_by_alert_lists_each_alerts_actions(today, users, alert):
    first = make_action(users, survey_alert_id=alert.id)
    second = make_action(users, survey_alert_id=alert.id, title="Deuxième")
    make_action(users)
    assert service.actions_by_alert([alert.id, 999]) == {alert.id: [first, second]}
    assert service.actions_by_alert([]) == {}
