"""The company's signatory and the session's trainer sign the same convention at the same moment, each in a thread
of its own (its own application context, so its own database connection), released together by a barrier. The
request's row is locked while a signature is added (services.sign): one signs after the other, on the other's
revision, and neither signature is lost. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""
from __future__ import annotations

import threading

from tests.fixtures.signing import drawing, outbox, send
from tests.helpers import signing_dir
from trainingmgr.extensions import db
from trainingmgr.signing import access, pades, services
from trainingmgr.signing.models import Signatory, SignatureRequest


def roots() -> list[bytes]:
    with open(f"{signing_dir()}/signing.crt", "rb") as handle:
        return [handle.read()]


def sign_together(app, signatories: dict[int, str]) -> dict[int, object]:
    """Each signatory id signs with its code in a thread of its own, all released at once; what each got: the
    revision's number, or the exception."""
    barrier = threading.Barrier(len(signatories))
    outcome: dict[int, object] = {}

    def sign(signatory_id: int, code: str, seed: int) -> None:
        with app.app_context():
            try:
                signatory = db.session.get(Signatory, signatory_id)
                given = services.SignatureInput(code=code, drawing=drawing(seed), typed_name="", consent=True,
                                                ip=f"192.0.2.{seed}", user_agent="Mozilla/5.0 (test)")
                barrier.wait(timeout=30)
                outcome[signatory_id] = services.sign(signatory, given).number
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                db.session.rollback()
                outcome[signatory_id] = exc

    threads = [threading.Thread(target=sign, args=(signatory_id, code, seed))
               for seed, (signatory_id, code) in enumerate(signatories.items(), start=1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "une signature n'a pas fini"
    return outcome


# (dume_session, fake_pdf, open_session and sale are fixtures of tests/fixtures/enrolments.py and signing.py)
def test_the_company_and_the_trainer_signing_at_once_both_sign_one_after_the_other(app, sale):  # noqa: F811
    request = send(sale.convention, sale.advisor, keys=("company:{anne}", "trainer:{pierre}", "organisation"),
                   anne=sale.anne.id, pierre=sale.world.pierre.id)
    company, trainer, organisation = request.signatories
    assert [(s.role, s.status) for s in request.signatories] == [
        ("company", "invited"), ("trainer", "invited"), ("organisation", "waiting")]
    codes = {company.id: access.issue_code(company), trainer.id: access.issue_code(trainer)}
    db.session.commit()
    request_id, organisation_id = request.id, organisation.id
    db.session.remove()  # the test's own connection holds nothing while they sign

    outcome = sign_together(app, codes)

    assert sorted(n for n in outcome.values() if isinstance(n, int)) == [1, 2], outcome  # both signed, no retry
    request = db.session.get(SignatureRequest, request_id)
    revisions = request.revisions
    assert [r.number for r in revisions] == [0, 1, 2]
    first, second = (db.session.get(Signatory, r.signatory_id) for r in revisions[1:])
    assert {first.id, second.id} == set(codes) and {outcome[first.id], outcome[second.id]} == {1, 2}
    assert revisions[0].signatory_id is None
    assert first.signed_at <= second.signed_at and revisions[1].created_at <= revisions[2].created_at
    assert (first.status, second.status) == ("signed", "signed")

    # each signature is an incremental update of the revision before it: the earlier bytes are left untouched
    files = [services.revision_pdf(request, n) for n in (0, 1, 2)]
    assert files[1].startswith(files[0]) and len(files[1]) > len(files[0])
    assert files[2].startswith(files[1]) and len(files[2]) > len(files[1])

    # the organisation's signatory is invited now that both have signed, and the request waits for it
    organisation = db.session.get(Signatory, organisation_id)
    assert (request.status, organisation.status) == ("pending", "invited")
    assert len(outbox(organisation.email, "Document à signer")) == 1

    report = pades.verify(files[2], trust_roots=roots())
    assert report.ok, report.problems
    assert [s.field_name for s in report.signatures] == [first.field_name, second.field_name]
    assert [s.signer for s in report.signatures] == [first.name, second.name]
    assert report.signatures[0].covers == "sa révision" and report.signatures[1].covers == "tout le fichier"
    assert report.unsigned_fields == [organisation.field_name]
