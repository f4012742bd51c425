"""Uploading templates: validation line by line, the sandbox, versions and restore, preview, the tag catalogue."""
from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import select

from trainingmgr.documents import services
from trainingmgr.documents.catalogue import DOC_TYPES, mandatory_of
from trainingmgr.documents.models import DocumentTemplate
from trainingmgr.documents.rendering.sandbox import TemplateProblem
from trainingmgr.extensions import db

from tests.documents.support import docx_text, make_template, shown
from tests.helpers import page


def convention_template(*extra: str) -> bytes:
    """A minimal convention template showing every mandatory mention, plus ``extra`` paragraphs."""
    return make_template("Convention", *map(shown, mandatory_of("convention")), *extra)


def upload(client, doc_type: str, data: bytes, filename: str = "modele.docx", comment: str = ""):
    return client.post(f"/admin/templates/{doc_type}", data={"file": (io.BytesIO(data), filename), "comment": comment},
                       content_type="multipart/form-data")


def test_a_valid_template_becomes_the_active_version(admin_web, delivered):
    d = delivered
    response = upload(admin_web, "convention", convention_template("Mon en-tête maison"), comment="Charte 2027")
    assert response.status_code == 302, page(response)
    row = db.session.scalars(select(DocumentTemplate)).one()
    assert (row.version, row.active, row.comment) == (1, True, "Charte 2027")
    company = d.enrolments["Julie"].company
    document = services.generate("convention", d.chorus, d.advisor, company=company, pdf=False)
    assert document.template_label == "modèle n° 1" and document.template_id == row.id
    body = docx_text(services.read_file(document, "docx"))
    assert "Mon en-tête maison" in body and company.name in body and "{{" not in body


@pytest.mark.parametrize("paragraph, message", [
    ("{{ org.ndaa }}", "Variable inconnue : « org.ndaa »"),
    ("{{ trainee_name }}", "Variable inconnue : « trainee_name »"),
    ("{% for x in %}", "Erreur de syntaxe"),
    ("{% if org.name %} sans fin", "balise « {% endif %} » manquante"),
])
def test_bad_templates_are_refused_with_the_reason(admin_web, demo, paragraph, message):
    response = upload(admin_web, "convention", convention_template(paragraph))
    assert response.status_code == 422
    assert message in page(response)
    assert db.session.scalars(select(DocumentTemplate)).all() == []


def test_a_missing_mandatory_variable_is_reported(admin_web, demo):
    data = make_template("Convention entre {{ org.name }} et {{ client.name }} pour {{ course.title }}")
    response = upload(admin_web, "convention", data)
    assert response.status_code == 422
    body = page(response)
    assert "Mention obligatoire absente : Numéro de déclaration d'activité (« org.nda »)" in body
    assert "Mention obligatoire absente : Mention de TVA ou d'exonération (« price.vat_mention »)" in body
    assert body.count("Mention obligatoire absente") == len(mandatory_of("convention")) - 3


@pytest.mark.parametrize("attack", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ org.__class__.__init__.__globals__ }}",
    "{{ course.objectives.__class__.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ org.logo.tpl.replace_zipname('customXml/item1.xml', '/etc/hostname') }}",
    "{{ org.logo.tpl.save('/tmp/pwned.docx') }}",
])
def test_the_sandbox_keeps_templates_away_from_python(admin_web, demo, attack):
    response = upload(admin_web, "convention", convention_template(attack))
    assert response.status_code == 422
    assert db.session.scalars(select(DocumentTemplate)).all() == []
    # Rendered directly, it produces nothing of Python's internals (or is refused).
    try:
        rendered = services.render(convention_template(attack), {"org": {"name": "x"}})
    except TemplateProblem:
        return
    body = docx_text(rendered.docx)
    assert "class" not in body and "object" not in body and "uid=" not in body
    assert not os.path.exists("/tmp/pwned.docx")


def test_not_a_word_file_is_refused(admin_web, demo):
    response = upload(admin_web, "convention", b"%PDF-1.4 not a docx", filename="modele.pdf")
    assert response.status_code == 422 and ".docx" in page(response)
    response = upload(admin_web, "convention", b"PK\x03\x04 broken zip", filename="modele.docx")
    assert response.status_code == 422 and "lisible" in page(response)


def test_versions_are_kept_and_can_be_restored(admin_web, demo):
    assert upload(admin_web, "programme", make_template("V1 {{ course.title }} {{ session.reference }} {{ session.dates }} "
                                                       "{{ session.place }} {{ session.hours }} {{ org.name }}")).status_code == 302
    assert upload(admin_web, "programme", make_template("V2 {{ course.title }} {{ session.reference }} {{ session.dates }} "
                                                       "{{ session.place }} {{ session.hours }} {{ org.name }}")).status_code == 302
    versions = services.template_versions("programme")
    assert [(v.version, v.active) for v in versions] == [(2, True), (1, False)]
    assert services.active_template("programme")[2] == "modèle n° 2"
    assert admin_web.post("/admin/templates/programme/restore/1").status_code == 302
    assert services.active_template("programme")[2] == "modèle n° 1"
    assert "V1" in docx_text(admin_web.get("/admin/templates/programme/preview").data)
    assert "V2" in docx_text(admin_web.get("/admin/templates/programme/preview?version=2").data)
    assert admin_web.post("/admin/templates/programme/restore/0").status_code == 302
    assert services.active_template("programme")[2] == "modèle par défaut"
    assert admin_web.post("/admin/templates/programme/restore/9").status_code == 404
    assert len(services.template_versions("programme")) == 2  # nothing was deleted


def test_each_default_template_previews_against_the_sample_data(admin_web, demo):
    for code in DOC_TYPES:
        response = admin_web.get(f"/admin/templates/{code}/preview")
        assert response.status_code == 200, code
        body = docx_text(response.data)
        assert "{{" not in body and "{%" not in body, code
        assert services.validate_template(code, open(services._default_path(code), "rb").read()) == [], code


def test_the_tag_catalogue_lists_every_variable(advisor_web, demo):
    body = page(advisor_web.get("/admin/templates/certificate/variables"))
    assert "verification.code" in body and "attendance.hours" in body and "obligatoire" in body
    assert advisor_web.get("/admin/templates/nope/variables").status_code == 404


def test_only_admins_manage_templates(advisor_web, demo):
    assert advisor_web.get("/admin/templates").status_code == 403
    assert upload(advisor_web, "convention", convention_template()).status_code == 403


def test_the_preview_uses_the_demo_data(admin_web, demo):
    body = docx_text(admin_web.get("/admin/templates/certificate/preview").data)
    assert "Camille Roux" in body or "Hugo Lefèvre" in body or "Inès Garcia" in body  # last week's DUME session
    assert "APERÇU" in body
    from trainingmgr.companies.models import Company

    body = docx_text(admin_web.get("/admin/templates/convention/preview").data)
    assert any(company.name in body for company in db.session.scalars(select(Company)))
