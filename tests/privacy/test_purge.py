"""``flask --app app gdpr purge [--dry-run]`` on the demo data, with the purge's clock frozen five years and three
days after the delivered session: its trainees are past retention, those of the upcoming sessions are not."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord, SigningCode
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent
from trainingmgr.evaluations.results.indicators import course_indicators
from trainingmgr.evaluations.models import AcquisAssessment, Answer, Question, Response, SurveyInvitation
from trainingmgr.evaluations.results.services import session_results
from trainingmgr.evaluations.results.spreadsheets import export_rows
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxAttachment, OutboxMessage
from trainingmgr.privacy import services
from trainingmgr.privacy.retention import ERASED_TEXT
from trainingmgr.quality.models import QualityRequest
from trainingmgr.trainees.models import Trainee, TraineeMerge

from tests.fixtures.privacy import DEMO_ADVISOR, PAST_NAMES, after_months, noon
from tests.helpers import page

SNAPSHOT_MODELS = (Trainee, TraineeMerge, Enrolment, EnrolmentEvent, AttendanceRecord, SigningCode, Answer, Response,
                   SurveyInvitation, AcquisAssessment, OutboxMessage, OutboxAttachment, QualityRequest)


def snapshot() -> dict:
    """Every row of the tables the purge may touch, read afresh."""
    db.session.expire_all()
    return {model.__tablename__: sorted(repr(tuple(row)) for row in db.session.execute(select(model.__table__)))
            for model in SNAPSHOT_MODELS}


def purge_cli(app, *args):
    result = app.test_cli_runner().invoke(args=["gdpr", "purge", *args])
    assert result.exit_code == 0, result.output
    return result.output


def trainees_of(session) -> list[Trainee]:
    return list(db.session.scalars(select(Trainee).join(Enrolment, Enrolment.trainee_id == Trainee.id)
                                   .where(Enrolment.session_id == session.id).order_by(Trainee.id)))


def aggregates(demo_with_paperwork) -> dict:
    """What is counted from the data: survey results, the public indicators, BPF-like counts and hours."""
    db.session.expire_all()
    return {
        "results": [export_rows(session_results(s)) for s in [demo_with_paperwork.past, *demo_with_paperwork.upcoming]],
        "indicators": course_indicators(demo_with_paperwork.past.course),
        "bpf": sorted(db.session.execute(
            select(Trainee.bpf_status, Enrolment.status, func.count(), func.sum(Enrolment.hours_attended))
            .join(Enrolment, Enrolment.trainee_id == Trainee.id).group_by(Trainee.bpf_status, Enrolment.status)).all()),
        "funding": sorted(db.session.execute(select(Enrolment.id, Enrolment.price_excl_vat, Enrolment.company_id,
                                                    Trainee.company_id).join(Trainee)).all()),
    }


def test_dry_run_lists_what_is_past_retention_and_changes_nothing(app, demo_with_paperwork, frozen):
    before = snapshot()
    output = purge_cli(app, "--dry-run")
    assert "simulation (--dry-run) : rien n'est modifié" in output
    trainees_part = output.split("Demandes de pré-inscription")[0]
    for name in PAST_NAMES:
        assert name in trainees_part
    for trainee in trainees_of(demo_with_paperwork.upcoming[0]) + trainees_of(demo_with_paperwork.upcoming[1]):
        assert trainee.full_name not in output and trainee.email not in output
    attendance_line = next(line for line in output.splitlines() if line.startswith("Émargement"))
    assert attendance_line.endswith(": 1")
    assert f"session n° {demo_with_paperwork.past.id} " in output and ": 9 enregistrements" in output
    assert "Identité et coordonnées des stagiaires (5 ans après la fin de leur dernière session" in output
    assert snapshot() == before


def test_the_period_ends_the_day_after_its_last_day(app, demo_with_paperwork, frozen):
    fifth_anniversary = after_months(demo_with_paperwork.past_end, 60)
    reports = {k.rule.kind: k for k in services.find_expired(fifth_anniversary)}
    assert reports["trainee"].items == [] and reports["attendance"].items == []
    reports = {k.rule.kind: k for k in services.find_expired(fifth_anniversary + dt.timedelta(days=1))}
    assert sorted(i.target.full_name for i in reports["trainee"].items) == sorted(PAST_NAMES)
    assert [i.id for i in reports["attendance"].items] == [demo_with_paperwork.past.id]


def test_the_purge_anonymises_the_old_trainees_keeps_the_recent_ones_and_the_register_verifies(app, demo_with_paperwork, frozen,
                                                                                            monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_INDICATORS_MIN_RESPONSES", 1)
    old = trainees_of(demo_with_paperwork.past)
    recent = {t.id: (t.full_name, t.email, t.phone) for s in demo_with_paperwork.upcoming for t in trainees_of(s)}
    companies = {t.id: (t.company_id, t.bpf_status) for t in old}
    drawn = {r.id: hashlib.sha256(r.image).hexdigest() for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == demo_with_paperwork.past.id)) if r.image}
    assert drawn and verify_chain(demo_with_paperwork.past.id).ok
    before = aggregates(demo_with_paperwork)
    assert before["indicators"] is not None and before["indicators"].responses == 2

    output = purge_cli(app)
    assert "éléments anonymisés ou effacés" in output
    db.session.expire_all()
    for trainee in old:
        trainee = db.session.get(Trainee, trainee.id)
        assert (trainee.first_name, trainee.last_name, trainee.civility) == ("Anonyme", "", "")
        assert trainee.email == f"anonyme-{trainee.id}@invalid"
        assert (trainee.phone, trainee.job_title, trainee.accessibility_needs, trainee.consent_at) == ("", "", "", None)
        assert trainee.anonymised_at == frozen.now
        assert (trainee.company_id, trainee.bpf_status) == companies[trainee.id]
    for trainee_id, identity in recent.items():
        trainee = db.session.get(Trainee, trainee_id)
        assert (trainee.full_name, trainee.email, trainee.phone) == identity and trainee.anonymised_at is None

    # The register: no picture, IP, browser or name left, the digests kept, the chain intact.
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == demo_with_paperwork.past.id)))
    assert len(records) == 9
    for record in records:
        assert (record.image, record.ip, record.user_agent, record.signer_name, record.typed_name) == \
            (None, "", "", "", "")
        assert record.erased_at == frozen.now
        if record.id in drawn:
            assert record.erased["image"] == drawn[record.id]
    assert verify_chain(demo_with_paperwork.past.id).ok
    result = app.test_cli_runner().invoke(args=["attendance", "verify"])
    assert result.exit_code == 0 and f"Session {demo_with_paperwork.past.id} : intègre (9 enregistrements)" in result.output

    # What they wrote is gone, what is counted is not.
    texts = db.session.scalars(select(Answer.value).join(Response).join(Question).where(
        Response.session_id == demo_with_paperwork.past.id, Question.kind == "text")).all()
    assert texts and set(texts) == {ERASED_TEXT}
    assert aggregates(demo_with_paperwork) == before
    events = db.session.scalars(select(EnrolmentEvent).join(Enrolment).where(
        Enrolment.session_id == demo_with_paperwork.past.id)).all()
    assert events and all(e.message == "" for e in events)
    assert all(not i.recipient_email for i in db.session.scalars(
        select(SurveyInvitation).where(SurveyInvitation.session_id == demo_with_paperwork.past.id)))

    # The sheet and the register pages say the signature was erased.
    from trainingmgr.documents.rendering.context import attendance_sheet

    sheet = attendance_sheet(demo_with_paperwork.past, "TEST", "ABCDEFGHJKMN", "http://localhost/verify/ABCDEFGHJKMN")["sheet"]
    signatures = [row["signature"] for slot in sheet["slots"] for row in slot["rows"] if row["signature"]]
    assert signatures and set(signatures) == {"signature effacée (RGPD)"}
    assert {slot["trainer_signature"] for slot in sheet["slots"]} == {"signature effacée (RGPD)"}
    assert sheet["chain"].startswith("intègre")
    advisor = app.test_client()
    assert advisor.post("/login", data={"email": DEMO_ADVISOR[0], "password": DEMO_ADVISOR[1]}).status_code == 302
    morning = min(demo_with_paperwork.past.slots, key=lambda s: (s.date, s.start_time))
    body = page(advisor.get(f"/attendance/slots/{morning.id}"))
    assert "signature effacée (RGPD)" in body and "Roux" not in body and "Garcia" not in body
    body = page(advisor.get(f"/attendance/sessions/{demo_with_paperwork.past.id}/verify"))
    assert "intègre" in body and "données personnelles effacées" in body and "192.0.2." not in body
    assert advisor.get(f"/attendance/records/{next(iter(drawn))}.png").status_code == 404

    # A second run finds nothing and changes nothing.
    before_second = snapshot()
    assert "Total : 0 élément " in purge_cli(app)
    assert "Total : 0 élément " in purge_cli(app, "--dry-run")
    assert snapshot() == before_second


def test_a_trainee_with_a_recent_session_is_kept_but_the_old_register_is_erased(app, demo_with_paperwork, frozen):
    from trainingmgr.enrolments.services import enrol

    camille = next(t for t in trainees_of(demo_with_paperwork.past) if t.full_name == "Camille Roux")
    dume = next(s for s in demo_with_paperwork.upcoming if s.course_id == demo_with_paperwork.past.course_id)
    enrol(dume, camille, actor=None, notify=False)
    db.session.commit()
    purge_cli(app)
    db.session.expire_all()
    camille = db.session.get(Trainee, camille.id)
    assert camille.full_name == "Camille Roux" and camille.anonymised_at is None
    hers = list(db.session.scalars(select(AttendanceRecord).join(Enrolment).where(Enrolment.trainee_id == camille.id)))
    assert hers and all(r.erased_at is not None and r.image is None and r.ip == "" for r in hers)
    assert verify_chain(demo_with_paperwork.past.id).ok


def test_requests_quality_register_and_mails_have_their_own_periods(app, demo_with_paperwork, frozen):
    from trainingmgr.enrolments.services import request_enrolment

    chorus = next(s for s in demo_with_paperwork.upcoming if s.course_id != demo_with_paperwork.past.course_id)
    prospect, _ = request_enrolment(chorus, {"first_name": "Paul", "last_name": "Prospect", "consent": True,
                                             "email": "paul.prospect@exemple.fr", "message": "Je suis intéressé."})
    today = frozen.now.date()
    cut = after_months(today, -60)  # five years before the purge

    def quality(reference, closed):
        request = QualityRequest(reference=reference, kind="complaint", requester_name="Rita Réclamante",
                                 requester_email="rita@exemple.fr", requester_phone="0600000000",
                                 organisation_name="Cabinet R", description="Salle trop froide.", subject="Salle",
                                 received_at=noon(cut - dt.timedelta(days=40)), closed_at=closed, status="closed",
                                 acknowledge_due=cut, answer_due=cut, answer="Chauffage réparé.")
        db.session.add(request)
        return request

    old = quality("REC-OLD", noon(cut - dt.timedelta(days=1)))
    fresh = quality("REC-NEW", noon(cut + dt.timedelta(days=1)))
    still_open = quality("REC-OPEN", None)
    recent_trainee = trainees_of(demo_with_paperwork.upcoming[0])[0]
    sent_long_ago = OutboxMessage(recipient="someone@exemple.fr", subject="Catalogue", body_text="Bonjour Someone",
                                  topic="info", status="sent", sent_at=noon(after_months(today, -13)))
    sent_long_ago.attachments.append(OutboxAttachment(filename="a.pdf", content_type="application/pdf", data=b"%PDF"))
    sent_lately = OutboxMessage(recipient=recent_trainee.email, subject="Rappel", body_text="Bonjour",
                                topic="info", status="sent", sent_at=noon(after_months(today, -11)))
    never_sent = OutboxMessage(recipient="pending@exemple.fr", subject="En attente", body_text="…", topic="info",
                               created_at=noon(after_months(today, -20)))
    db.session.add_all([sent_long_ago, sent_lately, never_sent])
    db.session.commit()

    output = purge_cli(app, "--dry-run")
    prospects = output.split("Demandes de pré-inscription")[1].split("Émargement")[0]
    assert "Paul Prospect" in prospects and ": 1\n" in prospects
    assert "REC-OLD" in output and "REC-NEW" not in output and "REC-OPEN" not in output
    mails = output.split("Courriels envoyés")[1]
    assert f"- n° {sent_long_ago.id} info" in mails and f"- n° {sent_lately.id} " not in mails
    assert f"- n° {never_sent.id} " not in mails

    purge_cli(app)
    db.session.expire_all()
    trainee = db.session.get(Trainee, prospect.trainee_id)
    assert trainee.full_name == "Anonyme" and trainee.anonymised_at is not None
    assert db.session.get(Enrolment, prospect.id).request_message == ""
    assert db.session.get(Enrolment, prospect.id).status == "requested"
    old, fresh, still_open = (db.session.get(QualityRequest, r.id) for r in (old, fresh, still_open))
    assert (old.requester_name, old.requester_email, old.requester_phone, old.organisation_name, old.description) == \
        ("Anonyme", "", "", "", "")
    assert old.anonymised_at is not None and old.answer == "Chauffage réparé." and old.reference == "REC-OLD"
    assert fresh.requester_email == "rita@exemple.fr" and fresh.anonymised_at is None
    assert still_open.requester_email == "rita@exemple.fr"
    sent_long_ago, sent_lately, never_sent = (db.session.get(OutboxMessage, m.id)
                                              for m in (sent_long_ago, sent_lately, never_sent))
    assert (sent_long_ago.recipient, sent_long_ago.body_text, sent_long_ago.attachments) == ("", "", [])
    assert (sent_long_ago.subject, sent_long_ago.status) == ("Catalogue", "sent")
    assert sent_lately.recipient == recent_trainee.email and sent_lately.body_text == "Bonjour"
    assert never_sent.recipient == "pending@exemple.fr"


def test_periods_come_from_the_configuration_and_a_bad_one_is_refused(app, demo_with_paperwork, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", {"trainee": 120, "attendance": 120})
    output = purge_cli(app, "--dry-run")
    assert "(10 ans après la fin de leur dernière session" in output
    for name in PAST_NAMES:
        assert name not in output
    for bad, message in (({"nope": 3}, "nature de données inconnue (nope)"),
                         ({"trainee": 0}, "doit être un nombre entier de mois"),
                         ({"outbox": "12"}, "doit être un nombre entier de mois")):
        monkeypatch.setitem(app.config, "RETENTION_MONTHS", bad)
        before = snapshot()
        result = app.test_cli_runner().invoke(args=["gdpr", "purge"])
        assert result.exit_code == 1 and message in result.output
        assert snapshot() == before


@pytest.mark.parametrize("command", [["gdpr", "policy"]])
def test_the_policy_is_printed(app, command):
    output = app.test_cli_runner().invoke(args=command).output
    assert "Identité et coordonnées des stagiaires : 5 ans après la fin de leur dernière session." in output
    assert "Réponses en texte libre des questionnaires (positionnement, enquêtes, évaluations) : 3 ans" in output
    assert "Documents générés" in output
