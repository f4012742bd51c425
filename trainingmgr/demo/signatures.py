"""A convention signed electronically, for the demo: the one of Bureau d'études Occitanie Structures for the
upcoming DUME session, sent today with ten days to sign, signed by the company's signatory (a drawn signature),
then by the organisation's (her name typed in), through the real workflow: signing.services.send_for_signature,
one-time codes from signing.access.issue_code, signing.services.sign (PAdES signatures by the organisation's
certificate, timestamped when TSA_URL is set).

Loaded once (skipped when a signature request exists). It needs a PDF converter and the signing certificate: a
trial certificate in the organisation's name is created in SIGNING_DIR when there is none and no PKCS#12 is
configured (as `flask signing init` does; the demo is a trial). Without a PDF converter, or with an unusable
certificate, the demo leaves the signature out and says why, on a load that created something else only, so that
loading again stays silent."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..companies.models import Company
from ..companies.services import save_contact
from ..core.errors import ConflictError, ValidationError
from ..core.timeutil import paris_today
from ..documents import services as document_services
from ..documents.conversion import pdf
from ..enrolments.models import Enrolment
from ..extensions import db
from ..organisation.services import get_organisation
from ..sessions.models import TrainingSession
from ..signing import access
from ..signing import services as signing
from ..signing.models import SignatureRequest
from .attendance import _drawing

SIRET = "52151247500018"  # Bureau d'études Occitanie Structures, Sarah Benali's employer
SIGNATORY = {"role": "signatory", "name": "Marc Vidal", "job_title": "Directeur",
             "email": "direction@occitanie-structures.example"}
DAYS_TO_SIGN = 10  # before the session, three weeks ahead
LEFT_OUT = "Signature électronique de démonstration non chargée : "
CLIENTS = {"company": {"ip": "192.0.2.40", "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
                                                         "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
                                                         "Mobile/15E148 Safari/604.1"},
           "organisation": {"ip": "192.0.2.20", "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                                                              "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"}}


def load_signed_convention(advisor: User, session: TrainingSession | None, *, quiet: bool = False) -> list[str]:
    """Once: the company's convention for ``session`` sent for signature and signed by both parties. ``quiet``:
    say nothing when it cannot be done (nothing else was loaded)."""
    if session is None or db.session.scalar(select(SignatureRequest.id).limit(1)) is not None:
        return []
    company = db.session.scalar(select(Company).where(Company.siret == SIRET))
    if company is None or db.session.scalar(select(Enrolment.id).where(
            Enrolment.session_id == session.id, Enrolment.company_id == company.id).limit(1)) is None:
        return []
    done = _trial_certificate()
    problem = _cannot_sign()
    if problem:
        return done + ([] if quiet else [LEFT_OUT + problem])
    try:
        with db.session.begin_nested():
            request = _sign(advisor, session, company)
    except (ValidationError, ConflictError) as exc:  # e.g. an organisation set up before the demo, without e-mail
        return [] if quiet else [LEFT_OUT + exc.message]
    company_side, organisation_side = request.signatories
    return done + [f"Convention {request.document.number} (« {company.name} », session {session.label}) signée "
            f"électroniquement par {company_side.name} (signature dessinée) puis {organisation_side.name} (nom "
            f"saisi) : {len(request.revisions)} révisions PDF, signatures PAdES."]


def _trial_certificate() -> list[str]:
    """A self-signed certificate in the organisation's name when none is installed (what was done, in French)."""
    from ..signing import pades  # pyHanko loads when the demo signs, not at start-up

    config = current_app.config
    directory = Path(config["SIGNING_DIR"])
    if config["SIGNING_P12_FILE"] or (directory / pades.CERT_FILE).exists() or (directory / pades.KEY_FILE).exists():
        return []
    if not pdf.available():
        return []
    made = pades.init_certificate(directory, get_organisation().name)
    return [f"Certificat de signature d'essai créé dans {directory} ({made.subject}) : sauvegardez-le à part."]


def _cannot_sign() -> str | None:
    """Why the demo cannot sign here (French), or None: no PDF converter, or no usable signing certificate."""
    from ..signing import pades  # pyHanko loads when the demo signs, not at start-up

    if not pdf.available():
        return ("conversion PDF désactivée (PDF_CONVERTER=none)." if pdf.unavailable_reason() == pdf.MSG_DISABLED
                else "LibreOffice n'est pas installé (make office) : pas de PDF à signer.")
    config = current_app.config
    try:
        pades.load_signer(directory=config["SIGNING_DIR"], p12_file=config["SIGNING_P12_FILE"],
                          p12_passphrase=config["SIGNING_P12_PASSPHRASE"])
    except pades.SigningError as exc:
        return f"{exc.message.rstrip('.')} (flask --app app signing init)."
    return None


def _sign(advisor: User, session: TrainingSession, company: Company):
    """The convention generated with its PDF, sent to the company's signatory and the organisation's, signed."""
    contact = next((c for c in company.contacts if c.role == "signatory" and c.email), None)
    if contact is None:
        contact = save_contact(company, None, SIGNATORY)
        db.session.flush()
    convention = document_services.generate("convention", session, advisor, company=company)
    request = signing.send_for_signature(convention, [f"company:{contact.id}", "organisation"],
                                         paris_today() + dt.timedelta(days=DAYS_TO_SIGN), advisor)
    for seed, signatory in enumerate(list(request.signatories), start=31):  # the company first: the organisation waits
        drawn = signatory.role == "company"
        code = access.issue_code(signatory)
        db.session.flush()  # sign() reads the signatory again from the database, as the page's next request does
        signing.sign(signatory, signing.SignatureInput(
            code=code, drawing=_drawing(seed) if drawn else "",
            typed_name="" if drawn else signatory.name, consent=True, **CLIENTS[signatory.role]))
    return request
