"""The contrat de sous-traitance / lettre de mission: its mandatory mentions (an uploaded template lacking one is
refused, naming it), the default template showing them, and a replacement template used for the next contract."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from trainingmgr.documents import services
from trainingmgr.documents.catalogue import DOC_TYPES, mandatory_of
from trainingmgr.documents.models import DocumentTemplate
from trainingmgr.extensions import db

from tests.documents.support import docx_text, make_template, shown
from tests.helpers import MONDAY, page

# What the contract must state: both parties with their SIRET and NDA, the session and its programme, the trainer's
# dates and hours, the place, the rate and the total, the payment terms, and the subcontractor's obligations.
REGULATED = {"org.name", "org.siret", "org.nda", "subcontractor.name", "subcontractor.siret", "subcontractor.nda",
             "subcontractor.trainer", "course.title", "course.programme[].title", "session.reference",
             "mission.dates", "mission.hours", "session.place", "mission.rate", "mission.total",
             "mission.payment_terms", "clauses.attendance", "clauses.quality", "clauses.confidentiality",
             "clauses.responsibility", "contract.title"}


def contract_template(leaving_out: tuple[str, ...] = ()) -> bytes:
    return make_template(*(shown(name) for name in mandatory_of("trainer_contract") if name not in leaving_out))


@pytest.fixture
def subcontracted(world, make_session):
    """Paula, an organisation working as subcontractor, teaching the DUME session of 10 March 2031."""
    paula = world.paula
    paula.status, paula.company_name, paula.company_siret = "organisation", "Formations Garonne SARL", "73282932000074"
    paula.nda, paula.rate, paula.email = "76310987631", Decimal("55.00"), "paula@garonne.example"
    session = make_session(course=world.dume, start=MONDAY + dt.timedelta(weeks=1), trainer=paula)
    db.session.commit()
    return session, paula


def test_the_contract_requires_its_regulated_mentions():
    assert DOC_TYPES["trainer_contract"].scope == "trainer"
    assert REGULATED <= set(mandatory_of("trainer_contract"))


def test_a_template_showing_every_mention_is_accepted_and_one_lacking_some_is_refused_naming_them():
    assert services.validate_template("trainer_contract", contract_template()) == []
    problems = services.validate_template("trainer_contract", contract_template(
        leaving_out=("clauses.confidentiality", "subcontractor.nda", "mission.total")))
    assert problems == [
        "Mention obligatoire absente : Numéro de déclaration d'activité du sous-traitant (« subcontractor.nda »)",
        "Mention obligatoire absente : Montant total HT de la mission (« mission.total »)",
        "Mention obligatoire absente : Obligation du sous-traitant : confidentialité et données personnelles (RGPD) "
        "(« clauses.confidentiality »)"]


def test_the_default_template_renders_every_mention_for_a_real_contract(subcontracted):
    session, paula = subcontracted
    contract = services.generate("trainer_contract", session, _advisor(), trainer=paula)
    body = docx_text(services.read_file(contract, "docx")).replace("\u202f", " ").replace("\xa0", " ")
    for name in mandatory_of("trainer_contract"):
        value = _resolve(contract.context, name)
        assert value not in ("", None, [], {}), name
        for text in value if isinstance(value, list) else [value]:
            assert text.replace("\u202f", " ").replace("\xa0", " ") in body, (name, text)
    assert "Contrat de sous-traitance" in body and "Formations Garonne SARL" in body


def test_an_uploaded_template_is_used_for_the_next_contract(subcontracted, admin):
    session, paula = subcontracted
    refused = admin.post("/admin/templates/trainer_contract", data={
        "file": (io.BytesIO(contract_template(leaving_out=("clauses.responsibility",))), "sous-traitance.docx")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "« clauses.responsibility »" in page(refused)
    assert db.session.scalars(select(DocumentTemplate)).all() == []
    template = make_template("MODÈLE MAISON", *(shown(n) for n in mandatory_of("trainer_contract")))
    accepted = admin.post("/admin/templates/trainer_contract", data={"file": (io.BytesIO(template), "maison.docx")},
                          content_type="multipart/form-data")
    assert accepted.status_code == 302
    contract = services.generate("trainer_contract", session, _advisor(), trainer=paula)
    assert contract.template_label == "modèle n° 1"
    assert "MODÈLE MAISON" in docx_text(services.read_file(contract, "docx"))
    # The preview renders it with the real subcontractor of a session.
    preview = admin.get("/admin/templates/trainer_contract/preview")
    assert preview.status_code == 200 and "Formations Garonne SARL" in docx_text(preview.data)


def _advisor():
    from trainingmgr.accounts.models import User

    return db.session.scalar(select(User).where(User.email == "conseil@test.example"))


def _resolve(context: dict, name: str):
    head, _, rest = name.partition("[].")
    value = context
    for key in head.split("."):
        value = value[key]
    return [_resolve(item, rest) for item in value] if rest else value
