"""The client-company space (companies/links.py, portals/company/): the contact's personal link (403 tampered, 410
expired, replaced or revoked), company A never reaching anything of company B (every id of documents, invoices,
sessions and enrolments walked), the half-days as the register records them, the downloads checked against their
SHA-256, the invoices and what remains to pay, what is awaited from the contact, and the advisor's buttons."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import lxml.html
import pytest
from sqlalchemy import select

from trainingmgr.attendance import services as attendance
from trainingmgr.billing.invoices.files import read_file
from trainingmgr.billing.models import Invoice
from trainingmgr.companies import links
from trainingmgr.portals.company import space
from trainingmgr.companies.models import CompanyContact
from trainingmgr.core.formatting import money_fr as _money_fr
from trainingmgr.core.tokens import make_token
from trainingmgr.documents import services as documents
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.enrolments.links import trainee_token
from trainingmgr.enrolments.services import enrol
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.sessions.models import TrainingSession

from tests.fixtures.companies import space_link
from tests.fixtures.signing import link as signing_link, send, sign_by_link
from tests.helpers import MONDAY, page


def money_fr(amount) -> str:
    """As the page shows it once its spaces are collapsed (Babel writes no-break spaces)."""
    return " ".join(_money_fr(amount).split())


def tree(response):
    assert response.status_code == 200, (response.status_code, page(response)[:800])
    return lxml.html.fromstring(response.get_data(as_text=True))


def css(element, selector: str) -> list:
    """The elements under ``element`` matching a small CSS subset: descendants of ``tag[attr=value][attr]``."""
    steps = []
    for part in selector.split():
        tag, conditions = re.fullmatch(r"([a-z0-9]*)((?:\[[^\]]+\])*)", part).groups()
        tests = "".join(f"[@{name}='{value.strip(chr(39))}']" if value else f"[@{name}]"
                        for name, _, value in (c.partition("=") for c in re.findall(r"\[([^\]]+)\]", conditions)))
        steps.append((tag or "*") + tests)
    return element.xpath(".//" + "//".join(steps))


def texts(response, selector: str) -> list[str]:
    return [" ".join(el.text_content().split()) for el in css(tree(response), selector)]


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def outbox_to(recipient: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient,
                                                               OutboxMessage.topic == links.MAIL_TOPIC)
                                   .order_by(OutboxMessage.id)))


def opens(survey_url: str) -> int:
    """The survey invitation a survey link opens (links made at different seconds differ: compare what they name)."""
    from trainingmgr.evaluations.surveys import services as surveys

    assert survey_url.startswith("http://localhost/s/")
    return surveys.invitation_from_token(survey_url.rsplit("/", 1)[1]).id


def emailed_path(recipient: str) -> str:
    """The path of the space's link in the last e-mail to ``recipient``."""
    body = outbox_to(recipient)[-1].body_text
    return urlsplit(re.search(r"https?://\S+/entreprise/\S+", body).group(0)).path


# --------------------------------------------------------------------------- what the contact sees


def test_the_home_page_shows_the_companys_sessions_to_come_and_past_and_nothing_of_another(space_world, client):
    w = space_world
    home = client.get(space_link(w.hugo))
    upcoming = texts(home, "[data-section=upcoming] [data-session]")
    past = texts(home, "[data-section=past] [data-session]")
    assert len(upcoming) == 1 and "Chorus Pro" in upcoming[0] and "1 salarié : Alice Arnaud" in upcoming[0]
    assert len(past) == 1 and "DUME" in past[0] and "2 salariés : Alice Arnaud, Bruno Bernardin" in past[0]
    shown = page(home)
    for other in ("Bernard Colin", "Colomiers", "Sophie Seule", "Béatrice"):
        assert other not in shown, other

    b_home = client.get(space_link(w.bea))
    assert "Bureau d'études Colomiers" in texts(b_home, "[data-field=company]")
    assert "1 salarié : Bernard Colin" in " ".join(texts(b_home, "[data-section=past] [data-session]"))
    assert not any(name in page(b_home) for name in ("Alice", "Bruno", "Cabinet d'architecture Dupont", "Hugo"))


def test_each_half_day_shows_what_the_register_recorded(space_world, client):
    w = space_world
    url = f"{space_link(w.hugo)}/sessions/{w.past.id}"
    slots = sorted(w.past.slots, key=lambda s: (s.date, s.start_time))

    def shown(response) -> dict[tuple[int, int], tuple[str, str]]:
        return {(int(el.get("data-enrolment")), int(el.get("data-slot"))):
                (css(el, "[data-status]")[0].get("data-status"), " ".join(el.text_content().split()))
                for el in css(tree(response), "[data-slot][data-enrolment]")}

    cells = shown(client.get(url))
    grid = attendance.session_grid(w.past)
    assert set(cells) == {(e.id, s.id) for e in (w.alice, w.bruno) for s in slots}  # not Bernard's, not Sophie's
    for (enrolment_id, slot_id), (status, _) in cells.items():
        assert status == grid.cell(enrolment_id, slot_id).status
    assert [cells[(w.alice.id, s.id)][0] for s in slots] == ["signed", "signed"]
    late, absent = cells[(w.bruno.id, slots[0].id)], cells[(w.bruno.id, slots[1].id)]
    assert late[0] == "signed" and "arrivé(e) à 09:00" in late[1]
    assert absent[0] == "absent" and "(justifiée)" in absent[1]
    assert texts(client.get(url), f"[data-employee='{w.bruno.id}'] [data-field=hours]") == ["3,5 h"]

    # the advisor's correction is what the page shows next: the cells are the register's, not recomputed
    attendance.correct(slots[1], w.bruno, {"presence": "present", "reason": "Présent, feuille oubliée"},
                       w.advisor, now=slots[1].ends_at + dt.timedelta(hours=1))
    db.session.commit()
    after = shown(client.get(f"{space_link(w.hugo)}/inscriptions/{w.bruno.id}"))
    corrected = after.pop((w.bruno.id, slots[1].id))
    assert after == {(w.bruno.id, slots[0].id): late}
    assert corrected[0] == "corrected" == attendance.session_grid(w.past).cell(w.bruno.id, slots[1].id).status
    assert corrected[1].endswith(": Corrigé")


def test_an_upcoming_session_shows_no_sheet_yet(space_world, client):
    w = space_world
    response = client.get(f"{space_link(w.hugo)}/sessions/{w.upcoming.id}")
    assert texts(response, f"[data-employee='{w.later_alice.id}'] [data-field=enrolment-status]") == [
        "En attente de validation des prérequis"]
    assert css(tree(response), "[data-slot]") == []
    assert "sera disponible une fois la session confirmée" in page(
        client.get(f"{space_link(w.hugo)}/inscriptions/{w.later_alice.id}"))


# --------------------------------------------------------------------------- the link


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
                                    lambda t: "nimportequoi", lambda t: t.split(".")[0]])
def test_a_tampered_link_is_refused(space_world, client, mangle):
    w = space_world
    token = token_of(space_link(w.hugo))
    for suffix in ("", "/factures", f"/sessions/{w.past.id}", f"/inscriptions/{w.alice.id}",
                   f"/documents/{w.docs['certificate_alice'].id}.pdf", f"/factures/{w.invoice_a.id}.pdf"):
        response = client.get(f"/entreprise/{mangle(token)}{suffix}")
        assert response.status_code == 403, (suffix, response.status_code)
    assert "Ce lien n'est pas valide" in page(client.get(f"/entreprise/{mangle(token)}"))


def test_a_link_for_another_purpose_or_contact_is_refused(space_world, client):
    w = space_world
    assert client.get(f"/entreprise/{trainee_token(w.alice)}").status_code == 403
    nonce = w.hugo.link_nonce or links.link_token(w.hugo) and w.hugo.link_nonce
    db.session.commit()
    assert client.get(f"/entreprise/{make_token(links.LINK_PURPOSE, {'i': 999999, 'n': nonce})}").status_code == 403
    assert client.get(f"/entreprise/{make_token('trainer-space', {'i': w.hugo.id, 'n': nonce})}").status_code == 403
    # Hugo's nonce on Béatrice's row: her link is refused, it never opens company B's space
    links.link_token(w.bea)
    db.session.commit()
    response = client.get(f"/entreprise/{make_token(links.LINK_PURPOSE, {'i': w.bea.id, 'n': nonce})}")
    assert response.status_code == 410


def test_an_expired_link_answers_410(space_world, client, app, monkeypatch):
    link = space_link(space_world.hugo)
    monkeypatch.setitem(app.config, "COMPANY_LINK_MAX_AGE_DAYS", -1)
    response = client.get(link)
    assert response.status_code == 410 and "expiré" in page(response)


def test_a_revoked_or_replaced_link_answers_410_and_a_deleted_contact_403(space_world, client):
    w = space_world
    first = space_link(w.hugo)
    links.renew_link(w.hugo, w.advisor)
    db.session.commit()
    second = space_link(w.hugo)
    assert client.get(first).status_code == 410 and client.get(second).status_code == 200
    links.revoke_link(w.hugo, w.advisor)
    db.session.commit()
    response = client.get(second)
    assert response.status_code == 410 and "révoqué" in page(response)
    assert client.get(f"{second}/documents/{w.docs['certificate_alice'].id}.pdf").status_code == 410

    bea = space_link(w.bea)
    db.session.delete(db.session.get(CompanyContact, w.bea.id))
    db.session.commit()
    assert client.get(bea).status_code == 403


# --------------------------------------------------------------------------- A never sees anything of B


@pytest.fixture
def more_sessions(space_world, make_session):
    """A session only Bernard (company B) attends, and an intra session ordered by B with a trainee enrolled
    without a company; a draft session nobody sees."""
    from trainingmgr.sessions.services import change_status
    from trainingmgr.trainees.services import save_trainee

    from tests.enrolments.support import person

    w = space_world
    only_b = make_session(course=w.world.dume, start=MONDAY + dt.timedelta(weeks=3))
    change_status(only_b, "open", w.advisor)
    enrol(only_b, w.bernard.trainee, actor=w.advisor, notify=False)
    intra = make_session(course=w.world.chorus, start=MONDAY + dt.timedelta(weeks=4), format="intra",
                         client_company_id=w.b.id, intra_price=Decimal("2400.00"))
    change_status(intra, "open", w.advisor)
    outsider = enrol(intra, save_trainee(None, person(9, first_name="Olivier", last_name="Externe")),
                     actor=w.advisor, notify=False)
    draft = make_session(course=w.world.dume, start=MONDAY + dt.timedelta(weeks=5))
    db.session.commit()
    assert outsider.company_id is None
    return only_b, intra, draft, outsider


def visible(w, more) -> dict[str, dict]:
    """What each company's space serves (200), by kind of object, and what it holds but does not serve (404): the
    expectations, written from the fixture, not from the service."""
    only_b, intra, _, outsider = more
    d = w.docs
    a_docs = {d[k].id for k in ("quote", "convention_a", "convocation_alice", "attestation_alice",
                                 "certificate_alice", "convocation_bruno", "attestation_bruno", "certificate_bruno")}
    b_docs = {d[k].id for k in ("quote_b", "convention_b", "convocation_bernard", "attestation_bernard",
                                 "certificate_bernard")}
    b_enrolments = {w.bernard.id, w.later_bernard.id, outsider.id} | set(db.session.scalars(
        select(Enrolment.id).where(Enrolment.session_id == only_b.id)))
    return {
        "a": {"documents": a_docs, "replaced": {d["quote_v1"].id}, "sessions": {w.past.id, w.upcoming.id},
              "enrolments": {w.alice.id, w.bruno.id, w.later_alice.id}, "invoices": {w.invoice_a.id},
              "drafts": {w.draft_a.id}},
        "b": {"documents": b_docs, "replaced": set(), "sessions": {w.past.id, w.upcoming.id, only_b.id, intra.id},
              "enrolments": b_enrolments, "invoices": {w.invoice_b.id, w.credit_b.id}, "drafts": set()},
    }


def test_a_contact_of_one_company_never_reaches_anything_of_another(space_world, more_sessions, client):
    w = space_world
    expected = visible(w, more_sessions)
    every = {"documents": db.session.scalars(select(GeneratedDocument.id)).all(),
             "invoices": db.session.scalars(select(Invoice.id)).all(),
             "sessions": db.session.scalars(select(TrainingSession.id)).all(),
             "enrolments": db.session.scalars(select(Enrolment.id)).all()}
    assert len(every["documents"]) == 19 and len(every["invoices"]) == 5 and len(every["sessions"]) == 5
    routes = {"documents": ["/documents/{}.docx", "/documents/{}.pdf"], "invoices": ["/factures/{}.docx"],
              "sessions": ["/sessions/{}"], "enrolments": ["/inscriptions/{}"]}
    wrong = []
    for who, contact in (("a", w.hugo), ("b", w.bea)):
        link = space_link(contact)
        mine = expected[who]
        for kind, ids in every.items():
            for ident in ids:
                if ident in mine[kind]:
                    want = 200
                elif ident in mine.get("replaced", set()) and kind == "documents" or (
                        ident in mine["drafts"] and kind == "invoices"):
                    want = 404
                else:
                    want = 403
                for route in routes[kind]:
                    response = client.get(link + route.format(ident))
                    if response.status_code != want:
                        wrong.append(f"{who} {route.format(ident)}: {response.status_code}, attendu {want}")
            for route in routes[kind]:  # an id no row has
                if client.get(link + route.format(99999)).status_code != 404:
                    wrong.append(f"{who} {route.format(99999)}: attendu 404")
        for ident in every["documents"]:  # the signed copy: another's 403, one's own unsigned 404
            response = client.get(f"{link}/documents/{ident}/signe.pdf")
            want = 404 if ident in mine["documents"] | mine["replaced"] else 403
            if response.status_code != want:
                wrong.append(f"{who} signé {ident}: {response.status_code}, attendu {want}")
    assert not wrong, "\n".join(wrong)


def test_the_intra_client_sees_every_trainee_of_its_session(space_world, more_sessions, client):
    _, intra, _, outsider = more_sessions
    response = client.get(f"{space_link(space_world.bea)}/sessions/{intra.id}")
    assert texts(response, f"[data-employee='{outsider.id}'] h4") == ["Olivier Externe"]
    assert client.get(f"{space_link(space_world.hugo)}/sessions/{intra.id}").status_code == 403


# --------------------------------------------------------------------------- downloads


def test_downloads_are_the_archived_files_checked_against_their_sha256(space_world, client):
    w = space_world
    link = space_link(w.hugo)
    certificate = w.docs["certificate_alice"]
    for kind, mimetype in (("pdf", "application/pdf"), ("docx", space.DOCX_TYPE)):
        response = client.get(f"{link}/documents/{certificate.id}.{kind}")
        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.data == documents.read_file(certificate, kind)
        assert f'filename="{certificate.number}.{kind}"' in response.headers["Content-Disposition"]
        assert "no-store" in response.headers["Cache-Control"]

    stored = path_for(certificate.pdf_file)
    original = stored.read_bytes()
    try:
        stored.write_bytes(original.replace(b"%PDF", b"%PDX", 1))
        response = client.get(f"{link}/documents/{certificate.id}.pdf")
        assert response.status_code == 409 and "altéré" in page(response)
        assert b"%PDX" not in response.data
    finally:
        stored.write_bytes(original)


def test_the_invoices_their_factur_x_and_what_remains_to_pay(space_world, client):
    w = space_world
    a_total, b_total = w.invoice_a.total_incl_vat, w.invoice_b.total_incl_vat
    a_page = client.get(f"{space_link(w.hugo)}/factures")
    assert [el.get("data-invoice") for el in css(tree(a_page), "[data-invoice]")] == [str(w.invoice_a.id)]
    assert texts(a_page, "[data-field=invoice-remaining]") == [money_fr(a_total - Decimal("200.00"))]
    assert texts(a_page, "[data-field=remaining]") == [money_fr(a_total - Decimal("200.00"))]
    assert "Partiellement réglée" in page(a_page)
    home = client.get(space_link(w.hugo))
    assert texts(home, "[data-field=remaining]") == [money_fr(a_total - Decimal("200.00"))]

    b_page = client.get(f"{space_link(w.bea)}/factures")
    assert {(el.get("data-invoice"), el.get("data-kind")) for el in css(tree(b_page), "[data-invoice]")} == {
        (str(w.invoice_b.id), "invoice"), (str(w.credit_b.id), "credit_note")}
    assert texts(b_page, "[data-field=invoice-remaining]") == [money_fr(b_total - Decimal("100.00"))]
    assert f"Sur la facture n° {w.invoice_b.number} : Geste commercial" in page(b_page)

    link = space_link(w.hugo)
    for kind, mimetype in (("pdf", "application/pdf"), ("xml", "application/xml"), ("docx", space.DOCX_TYPE)):
        response = client.get(f"{link}/factures/{w.invoice_a.id}.{kind}")
        assert response.status_code == 200 and response.mimetype == mimetype, (kind, response.status_code)
        assert response.data == read_file(w.invoice_a, kind)[0]
    import facturx

    _, xml = facturx.get_xml_from_pdf(client.get(f"{link}/factures/{w.invoice_a.id}.pdf").data, check_xsd=False)
    assert w.invoice_a.number.encode() in xml

    # paid in full: nothing remains
    from trainingmgr.billing.payments import services as payments
    from trainingmgr.core.timeutil import paris_today

    payments.record_payment(w.invoice_a, {"paid_on": paris_today(), "amount": str(a_total - Decimal("200.00")),
                                          "method": "transfer"}, w.advisor, today=paris_today())
    db.session.commit()
    a_page = client.get(f"{space_link(w.hugo)}/factures")
    assert texts(a_page, "[data-field=remaining]") == [money_fr(Decimal("0.00"))] and "Réglée" in page(a_page)


# --------------------------------------------------------------------------- what is awaited


def test_a_document_awaiting_the_contacts_signature_shows_and_links_to_their_page(space_world, client, app):
    from trainingmgr.signing import access
    from trainingmgr.signing import mails as signing_mails
    from trainingmgr.signing import services as signing

    w = space_world
    convention = w.docs["convention_a"]
    request = send(convention, w.advisor, anne=w.anne.id)
    anne = request.signatories[0]
    home = client.get(space_link(w.anne))
    (item,) = css(tree(home), "[data-awaited=signature]")
    assert f"Signer : Convention de formation professionnelle n° {convention.number}" in item.text_content()
    url = css(item, "a")[0].get("href")
    assert url.startswith(signing_mails.signing_url(anne).split("/signature/")[0] + "/signature/")
    assert access.read_link(url.rsplit("/", 1)[1]).id == anne.id  # the link of her own signatory row
    assert app.test_client().get(urlsplit(url).path).status_code == 200
    for other in (w.hugo, w.bea):  # not their signature
        assert css(tree(client.get(space_link(other))), "[data-awaited]") == []

    # signed by everyone: nothing awaited any more, and the signed PDF is in the space
    signer = app.test_client()
    assert sign_by_link(signer, anne).status_code == 200
    db.session.expire_all()
    organisation = db.session.get(type(anne), request.signatories[1].id)
    assert sign_by_link(app.test_client(), organisation, typed=organisation.name).status_code == 200
    db.session.expire_all()
    assert css(tree(client.get(space_link(w.anne))), "[data-awaited]") == []
    session_page = client.get(f"{space_link(w.hugo)}/sessions/{w.past.id}")
    (signed,) = css(tree(session_page), f"[data-document='{convention.id}'] [data-action=download-signed]")
    response = client.get(signed.get("href"))
    assert response.status_code == 200 and response.data == signing.latest_pdf(db.session.get(type(request),
                                                                                              request.id))
    assert client.get(signing_link(anne)).status_code == 410  # the signing link is spent


def test_the_client_survey_awaits_the_company_until_answered(space_world, client):
    from trainingmgr.demo.surveys import load_default_surveys
    from trainingmgr.evaluations.surveys import services as surveys
    from trainingmgr.evaluations.models import SurveyInvitation

    w = space_world
    load_default_surveys()
    surveys.send_survey({"session_id": w.past.id, "kind": "client"})
    db.session.commit()
    invitations = {i.company_id: i for i in db.session.scalars(select(SurveyInvitation))}
    assert set(invitations) == {w.a.id, w.b.id}
    for contact, company in ((w.anne, w.a), (w.hugo, w.a), (w.bea, w.b)):
        (item,) = css(tree(client.get(space_link(contact))), "[data-awaited=survey]")
        assert opens(css(item, "a")[0].get("href")) == invitations[company.id].id
    invitations[w.a.id].responded_at = dt.datetime.now(dt.timezone.utc)
    db.session.commit()
    assert css(tree(client.get(space_link(w.hugo))), "[data-awaited]") == []
    assert len(css(tree(client.get(space_link(w.bea))), "[data-awaited=survey]")) == 1


def test_the_needs_analysis_awaits_the_companies_of_the_coming_session(space_world, client):
    from trainingmgr.demo.surveys import load_default_surveys
    from trainingmgr.evaluations.needs import services as needs
    from trainingmgr.evaluations.models import SurveyInvitation

    w = space_world
    load_default_surveys()
    needs.send_needs_analysis(w.upcoming, w.advisor)
    db.session.commit()
    invitations = {i.company_id: i for i in db.session.scalars(select(SurveyInvitation).where(
        SurveyInvitation.kind == "needs"))}
    assert set(invitations) == {w.a.id, w.b.id}
    for contact, company in ((w.hugo, w.a), (w.bea, w.b)):
        (item,) = css(tree(client.get(space_link(contact))), "[data-awaited=needs]")
        assert opens(css(item, "a")[0].get("href")) == invitations[company.id].id
        assert "Chorus Pro" in item.text_content()
    invitations[w.a.id].responded_at = dt.datetime.now(dt.timezone.utc)
    db.session.commit()
    assert css(tree(client.get(space_link(w.hugo))), "[data-awaited]") == []


def test_other_packages_add_what_they_await(space_world, client, monkeypatch):
    """The needs analysis (and any later kind) registers its own source; the page lists it, nearest deadline first."""
    w = space_world
    monkeypatch.setattr(space, "AWAITED_SOURCES", list(space.AWAITED_SOURCES))
    due = dt.date(2031, 2, 20)
    space.awaited_source(lambda contact: [space.Awaited("needs", "Répondre à l'analyse des besoins",
                                                        contact.company.name, "https://example.test/besoins",
                                                        "Répondre", due)])
    (item,) = css(tree(client.get(space_link(w.hugo))), "[data-awaited=needs]")
    assert "Cabinet d'architecture Dupont" in item.text_content() and "20/02/2031" in item.text_content()


# --------------------------------------------------------------------------- the advisor's side


def test_the_advisor_sends_renews_and_revokes_a_contacts_link(space_world, advisor, app):
    w = space_world
    company_page = f"/companies/{w.a.id}"
    base = f"/companies/{w.a.id}/contacts/{w.hugo.id}/space"
    assert css(tree(advisor.get(company_page)), f"[data-contact='{w.hugo.id}'] [data-space-link=none]")

    response = advisor.post(f"{base}/send")
    assert response.status_code == 302
    (mail,) = outbox_to("hugo@dupont.example")
    assert mail.subject.startswith("Votre espace entreprise")
    first = emailed_path("hugo@dupont.example")
    visitor = app.test_client()
    assert visitor.get(first).status_code == 200
    shown = advisor.get(company_page)
    assert "Lien de l'espace entreprise écrit dans la console pour hugo@dupont.example (aucun e-mail n'est parti)." in page(shown)
    assert css(tree(shown), f"[data-contact='{w.hugo.id}'] [data-space-link=active]")

    assert advisor.post(f"{base}/renew").status_code == 302
    second = emailed_path("hugo@dupont.example")
    assert outbox_to("hugo@dupont.example")[-1].subject.startswith("Nouveau lien")
    assert visitor.get(first).status_code == 410 and visitor.get(second).status_code == 200

    assert advisor.post(f"{base}/revoke").status_code == 302
    assert visitor.get(second).status_code == 410
    again = advisor.post(f"{base}/revoke")
    assert again.status_code == 409 and "n'a pas de lien actif" in page(again)
    assert css(tree(advisor.get(company_page)), f"[data-contact='{w.hugo.id}'] [data-space-link=none]")


def test_the_advisors_buttons_refuse_what_they_must(space_world, advisor, trainer):
    w = space_world
    from trainingmgr.companies.services import save_contact

    mute = save_contact(w.a, None, {"role": "other", "name": "Sans Adresse"})
    db.session.commit()
    sent = len(db.session.scalars(select(OutboxMessage.id)).all())
    response = advisor.post(f"/companies/{w.a.id}/contacts/{mute.id}/space/send")
    assert response.status_code == 409 and "n'a pas d'adresse e-mail" in page(response)
    assert advisor.post(f"/companies/{w.a.id}/contacts/{w.bea.id}/space/send").status_code == 404  # B's contact
    assert advisor.post(f"/companies/{w.a.id}/contacts/{w.hugo.id}/space/send", csrf=False).status_code == 400
    assert advisor.post(f"/companies/{w.a.id}/contacts/{w.hugo.id}/space/other").status_code == 404
    assert trainer.post(f"/companies/{w.a.id}/contacts/{w.hugo.id}/space/send").status_code == 403
    assert len(db.session.scalars(select(OutboxMessage.id)).all()) == sent
    db.session.expire_all()
    assert db.session.get(CompanyContact, w.hugo.id).link_nonce == ""
