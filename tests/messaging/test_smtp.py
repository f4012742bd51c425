"""The outbox over a real SMTP server (aiosmtpd in the test process): what arrives, and what happens when
the server is down, asks to try later, or refuses for good."""
from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from sqlalchemy import select

from trainingmgr.core.formatting import date_long_fr, time_fr
from trainingmgr.core.timeutil import PARIS, utcnow
from trainingmgr.extensions import db
from trainingmgr.messaging import services
from trainingmgr.messaging.models import OutboxMessage

from tests.helpers import page

ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\nBEGIN:VEVENT\r\nUID:1@test\r\n"
       b"DTSTAMP:20310101T000000Z\r\nDTSTART:20310303T080000Z\r\nSUMMARY:Test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def fresh(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_a_queued_message_arrives_with_text_html_and_ics(app, queue, run_in, smtp_server):
    message = queue("Stagiaire@Test.example ", "Convocation – Chorus Pro", "Bonjour Éloïse,\n\nÀ lundi.",
                    "<p>Bonjour Éloïse,</p><p>À lundi.</p>", topic="convocation",
                    attachments=[("convocation-session-1.ics", "text/calendar", ICS)])

    assert run_in(services.send_due_messages) == (1, 0)

    sent = fresh(message.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, "")
    assert sent.sent_at is not None and sent.message_id
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "formation@formaction.example"
    assert envelope.rcpt_tos == ["Stagiaire@Test.example"]
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Convocation – Chorus Pro"
    assert mail["To"] == "Stagiaire@Test.example"
    assert mail["From"] == "Formaction Sud-Ouest <formation@formaction.example>"
    assert mail["Message-ID"] == sent.message_id
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_body(("plain",)).get_content().strip() == "Bonjour Éloïse,\n\nÀ lundi."
    assert "<p>Bonjour Éloïse,</p>" in mail.get_body(("html",)).get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "convocation-session-1.ics"
    assert attachment.get_payload(decode=True) == ICS

    assert run_in(services.send_due_messages) == (0, 0)  # sent once, never again
    assert len(smtp_server.envelopes) == 1


def test_the_convocation_reaches_the_trainee_with_the_session_calendar(app, world, make_session, run_in,
                                                                        smtp_server):
    from trainingmgr.enrolments.services import enrol_from_data
    from trainingmgr.sessions.services import change_status

    session = make_session(course=world.dume)  # no prerequisite: the enrolment is confirmed at once
    change_status(session, "open", world.users["advisor"])
    enrolment = enrol_from_data(session, {"trainee": {"first_name": "Éloïse", "last_name": "Martin",
                                                      "email": "eloise.martin@test.example"}},
                                world.users["advisor"])
    db.session.commit()
    assert enrolment.status == "confirmed"
    change_status(session, "confirmed", world.users["advisor"])  # an open session convokes nobody yet
    db.session.commit()
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    # The default automation « convocation » leaves at J−7 09:00 Paris (a session years ahead).
    due = dt.datetime.combine(slots[0].date - dt.timedelta(days=7), dt.time(9), tzinfo=PARIS)

    result = run_in(services.tick, now=due + dt.timedelta(minutes=1))

    assert result["errors"] == []
    db.session.expire_all()
    mails = [m for m in smtp_server.messages if m["Subject"].startswith("Convocation")]
    assert len(mails) == 1, [m["Subject"] for m in smtp_server.messages]
    [convocation] = mails
    assert convocation["To"] == "eloise.martin@test.example"
    assert session.title in convocation["Subject"]
    text = convocation.get_body(("plain",)).get_content()
    assert text.startswith("Bonjour Éloïse")
    assert "Vous êtes convoqué(e)" in text
    for slot in slots:  # "- Lundi 3 mars 2031 : 08:30–12:30 et 13:30–17:30"
        assert date_long_fr(slot.date).capitalize() in text
        assert f"{time_fr(slot.start_time)}–{time_fr(slot.end_time)}" in text
    assert convocation.get_body(("html",)) is not None
    [ics] = [part for part in convocation.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert ics.get_filename() == f"session-{session.id}.ics"
    events = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    assert len(events) == len(slots)
    assert sorted(e.decoded("dtstart") for e in events) == [s.starts_at for s in slots]
    assert sorted(e.decoded("dtend") for e in events) == sorted(s.ends_at for s in slots)
    # The convocation's text lists the days too, and the outbox keeps it as evidence for the audit.
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "convocation"))
    assert row.status == "sent" and row.enrolment_id == enrolment.id
    # the convocation, the programme and the règlement intérieur (DOCX: no PDF converter in the tests), the .ics
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert [a.content_type for a in row.attachments] == [docx, docx, docx, "text/calendar"]


def test_server_down_keeps_the_message_then_sends_it_once_back(app, queue, run_in, smtp_server):
    first = queue("un@test.example", "Premier")
    second = queue("deux@test.example", "Second")
    smtp_server.stop()
    now = utcnow()

    assert run_in(services.send_due_messages, now=now) == (0, 1)

    failed = fresh(first.id)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert "injoignable" in failed.last_error and "Connection refused" in failed.last_error
    assert failed.next_attempt_at == now + dt.timedelta(seconds=services.RETRY_DELAYS[0])
    untouched = fresh(second.id)  # the batch stopped at the unreachable server: no attempt burnt
    assert (untouched.status, untouched.attempts, untouched.last_error) == ("pending", 0, "")

    smtp_server.start()
    assert run_in(services.send_due_messages, now=now) == (1, 0)  # the second, due; the first waits
    assert run_in(services.send_due_messages, now=failed.next_attempt_at) == (1, 0)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Premier", "Second"]
    again = fresh(first.id)
    assert (again.status, again.attempts, again.last_error) == ("sent", 2, "")


def test_a_temporary_refusal_is_retried_with_back_off_and_the_same_message_id(app, queue, run_in, smtp_server):
    message = queue()
    smtp_server.handler.data_reply = "451 4.3.0 Try again later"
    now = utcnow()

    assert run_in(services.send_due_messages, now=now) == (0, 1)
    waiting = fresh(message.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "451" in waiting.last_error and "Try again later" in waiting.last_error
    assert waiting.next_attempt_at == now + dt.timedelta(seconds=60)
    message_id = waiting.message_id
    assert message_id

    smtp_server.handler.data_reply = None
    assert run_in(services.send_due_messages, now=now + dt.timedelta(seconds=30)) == (0, 0)  # not yet due
    assert run_in(services.send_due_messages, now=now + dt.timedelta(seconds=61)) == (1, 0)
    sent = fresh(message.id)
    assert (sent.status, sent.attempts, sent.message_id) == ("sent", 2, message_id)
    assert [m["Message-ID"] for m in smtp_server.messages] == [message_id]


def test_after_the_last_retry_the_message_is_failed_kept_shown_and_can_be_requeued(
        app, queue, run_in, smtp_server, staff_client):
    message = queue("bloque@test.example", "Toujours refusé")
    smtp_server.handler.data_reply = "421 4.7.0 Service not available"
    now = utcnow()
    delays = []
    for attempt in range(1, services.MAX_ATTEMPTS + 1):
        assert run_in(services.send_due_messages, now=now) == (0, 1)
        row = fresh(message.id)
        assert row.attempts == attempt
        if attempt < services.MAX_ATTEMPTS:
            assert row.status == "pending"
            delays.append((row.next_attempt_at - now).total_seconds())
            now = row.next_attempt_at
    assert delays == list(services.RETRY_DELAYS)
    failed = fresh(message.id)
    assert failed.status == "failed" and "421" in failed.last_error
    assert run_in(services.send_due_messages, now=now + dt.timedelta(days=30)) == (0, 0)  # no more tries

    client = staff_client()
    listing = page(client.get("/admin/outbox/?status=failed"))
    assert "bloque@test.example" in listing and "Échec définitif" in listing and "421" in listing
    assert "1 e-mail en échec définitif" in listing

    response = client.post(f"/admin/outbox/{message.id}/retry")
    assert response.status_code == 302
    requeued = fresh(message.id)
    assert (requeued.status, requeued.attempts) == ("pending", 0)
    assert requeued.next_attempt_at <= utcnow()

    smtp_server.handler.data_reply = None
    assert run_in(services.send_due_messages) == (1, 0)
    assert fresh(message.id).status == "sent"
    response = client.post(f"/admin/outbox/{message.id}/retry")
    assert response.status_code == 409
    assert "déjà été envoyé" in page(response)
    assert len(smtp_server.envelopes) == 1


def test_a_refused_recipient_fails_at_once_and_the_batch_goes_on(app, queue, run_in, smtp_server):
    bad = queue("inconnu@test.example", "Pour personne")
    good = queue("connu@test.example", "Pour quelqu'un")
    smtp_server.handler.refused_recipients = {"inconnu@test.example"}

    assert run_in(services.send_due_messages) == (1, 1)

    refused = fresh(bad.id)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert "Destinataire refusé" in refused.last_error and "550" in refused.last_error
    assert fresh(good.id).status == "sent"
    assert [m["To"] for m in smtp_server.messages] == ["connu@test.example"]


def test_a_crash_after_the_server_accepted_leaves_the_message_pending_not_lost(app, queue, run_in, smtp_server,
                                                                              monkeypatch):
    """The decision on crash safety: at least once. The attempt is committed before the SMTP dialogue, so a
    worker killed between the server's 250 and our commit leaves the message pending, retried after the
    back-off delay with the same Message-ID (never at once, never lost)."""
    message = queue()
    now = utcnow()
    real_commit = services._commit_outcome

    def crash_on_sent(model, row_id, **values):
        if values.get("status") == "sent":
            raise KeyboardInterrupt  # the worker is killed right after the server accepted the message
        return real_commit(model, row_id, **values)

    monkeypatch.setattr(services, "_commit_outcome", crash_on_sent)
    with pytest.raises(KeyboardInterrupt):
        run_in(services.send_due_messages, now=now)
    monkeypatch.setattr(services, "_commit_outcome", real_commit)

    interrupted = fresh(message.id)
    assert (interrupted.status, interrupted.attempts) == ("pending", 1)
    assert interrupted.last_error == services.INTERRUPTED_NOTE.format(n=1)
    assert interrupted.next_attempt_at == now + dt.timedelta(seconds=60)
    assert len(smtp_server.envelopes) == 1

    assert run_in(services.send_due_messages, now=now) == (0, 0)  # no immediate resend
    assert run_in(services.send_due_messages, now=interrupted.next_attempt_at) == (1, 0)
    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"] == fresh(message.id).message_id


def test_a_message_taken_by_another_worker_is_not_sent_twice(app, queue, run_in, smtp_server):
    message = queue()
    stale = db.session.get(OutboxMessage, message.id)  # this "worker" read it while pending…
    assert stale.attempts == 0
    assert run_in(services.send_due_messages) == (1, 0)  # …another one sent it meanwhile
    assert services._claim_message(stale, utcnow()) is False
    assert len(smtp_server.envelopes) == 1


def test_no_header_can_be_injected_through_a_subject_or_an_address(app, queue, run_in, smtp_server):
    message = queue("victime@test.example\r\nBcc: espion@test.example", "Objet\r\nBcc: espion@test.example",
                    topic="x" * 80, attachments=[("../../etc/passwd", "text/calendar\r\nX-Evil: 1", "é")])
    assert message.subject == "Objet Bcc: espion@test.example"
    assert len(message.topic) == 40
    assert message.attachments[0].filename == ".._.._etc_passwd"
    assert message.attachments[0].content_type == "application/octet-stream"
    assert message.attachments[0].data == "é".encode()

    run_in(services.send_due_messages)

    [envelope] = smtp_server.envelopes  # the server refuses the odd address, or takes it as one address
    assert "espion@test.example" not in envelope.rcpt_tos
    [mail] = smtp_server.messages
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert mail["Subject"] == "Objet Bcc: espion@test.example"


def test_an_address_the_server_cannot_carry_fails_at_once(app, queue, run_in, smtp_server):
    smtp_server.stop()
    smtp_server.smtputf8 = False
    smtp_server.start()
    message = queue("éloïse@exemple.fr")  # needs SMTPUTF8, which this server does not offer
    other = queue("eloise@exemple.fr")
    assert run_in(services.send_due_messages) == (1, 1)
    refused = fresh(message.id)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert "SMTPUTF8" in refused.last_error
    assert fresh(other.id).status == "sent"


def test_an_international_address_goes_out_when_the_server_offers_smtputf8(app, queue, run_in, smtp_server):
    message = queue("éloïse@exemple.fr", "Àccents partout")
    assert run_in(services.send_due_messages) == (1, 0)
    assert fresh(message.id).status == "sent"
    assert smtp_server.envelopes[0].rcpt_tos == ["éloïse@exemple.fr"]
