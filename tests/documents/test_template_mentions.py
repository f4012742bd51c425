"""Mandatory mentions of an uploaded template, checked by rendering: each mandatory value of the sample context
becomes a sentinel, which must be visible in the rendered document (body, tables, headers, footers)."""
from __future__ import annotations

import io

import pytest
from docx import Document
from sqlalchemy import select

from trainingmgr.documents import services
from trainingmgr.documents.catalogue import DOC_TYPES, MENTIONS, mandatory_of, variables_of
from trainingmgr.documents.models import DocumentTemplate
from trainingmgr.extensions import db

from tests.documents.support import shown
from tests.helpers import page


def convention(*extra: str, leaving_out: tuple[str, ...] = (), header: str = "", hidden: str = "",
               cell: str = "") -> bytes:
    """A convention template showing every mandatory mention but ``leaving_out``, plus ``extra`` paragraphs, a
    ``header`` line, a run formatted as ``hidden`` and a table ``cell``."""
    document = Document()
    for text in [shown(name) for name in mandatory_of("convention") if name not in leaving_out] + list(extra):
        document.add_paragraph(text)
    if header:
        document.sections[0].header.paragraphs[0].text = header
    if hidden:
        document.add_paragraph().add_run(hidden).font.hidden = True
    if cell:
        document.add_table(rows=1, cols=2).cell(0, 1).text = cell
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


LABELS = {
    "org.nda": "Numéro de déclaration d'activité",
    "org.nda_mention": "Mention légale de la déclaration d'activité",
    "org.payment_terms": "Conditions de règlement",
    "course.objectives": "Objectifs opérationnels",  # the catalogue's "(liste de textes)" left out
    "course.programme[].title": "Titre d'une partie du programme",
}


def absent(name: str) -> str:
    """The refusal line of a missing mention."""
    return f"Mention obligatoire absente : {LABELS[name]} (« {name} »)"


def upload(client, data: bytes):
    return client.post("/admin/templates/convention", data={"file": (io.BytesIO(data), "modele.docx")},
                       content_type="multipart/form-data")


def test_a_template_showing_every_mention_is_accepted():
    assert services.validate_template("convention", convention()) == []


def test_a_mention_inside_a_comment_is_missing():
    template = convention("{# {{ org.nda_mention }} #}", leaving_out=("org.nda_mention",))
    assert services.validate_template("convention", template) == [absent("org.nda_mention")]


def test_a_mention_in_a_branch_never_taken_is_missing():
    template = convention("{% if false %}{{ org.nda_mention }}{% endif %}", leaving_out=("org.nda_mention",))
    assert services.validate_template("convention", template) == [absent("org.nda_mention")]


def test_a_mention_in_hidden_text_is_missing():
    template = convention(leaving_out=("org.nda_mention",), hidden="{{ org.nda_mention }}")
    assert services.validate_template("convention", template) == [absent("org.nda_mention")]


def test_subscript_and_attribute_both_count():
    template = convention("{{ org['nda_mention'] }}", "{{ org['nda'] }}",
                          leaving_out=("org.nda_mention", "org.nda"))
    assert services.validate_template("convention", template) == []


def test_a_mention_in_a_header_a_table_or_through_a_filter_counts():
    template = convention(leaving_out=("org.nda_mention", "org.nda", "org.payment_terms"),
                          header="{{ org.nda_mention }}", cell="N° {{ org.nda }}")
    assert services.validate_template("convention", template) == [absent("org.payment_terms")]
    template = convention("{{ org.payment_terms|upper }}", header="{{ org.nda_mention }}",
                          leaving_out=("org.nda_mention", "org.payment_terms"))
    assert services.validate_template("convention", template) == []


def test_a_list_counts_when_a_loop_shows_its_items():
    looped = convention("{% for o in course.objectives %}• {{ o }}{% endfor %}",
                        "{% for part in course.programme %}{{ part['title'] }}{% endfor %}",
                        leaving_out=("course.objectives", "course.programme[].title"))
    assert services.validate_template("convention", looped) == []
    only_when = convention("{% for part in course.programme %}{{ part.when }}{% endfor %}",
                           leaving_out=("course.programme[].title",))
    assert services.validate_template("convention", only_when) == [absent("course.programme[].title")]


def test_every_missing_mention_is_listed_in_french():
    template = convention("{# {{ org.nda_mention }} #}", "{% if false %}{{ course.objectives }}{% endif %}",
                          leaving_out=("org.nda_mention", "course.objectives", "org.payment_terms"))
    assert services.validate_template("convention", template) == [
        absent("org.nda_mention"), absent("org.payment_terms"), absent("course.objectives")]


def test_the_other_checks_are_kept():
    problems = services.validate_template("convention", convention("{{ org.ndaa }}", leaving_out=("org.nda",)))
    assert problems == ["Variable inconnue : « org.ndaa » (voir le catalogue des variables).", absent("org.nda")]
    assert "Erreur de syntaxe" in services.validate_template("convention", convention("{% for x in %}"))[0]


def test_the_upload_is_refused_with_every_missing_mention(admin_web, demo):
    template = convention("{# {{ org.nda_mention }} #}", leaving_out=("org.nda_mention", "org.payment_terms"))
    response = upload(admin_web, template)
    assert response.status_code == 422
    body = page(response)
    assert absent("org.nda_mention") in body and absent("org.payment_terms") in body
    assert db.session.scalars(select(DocumentTemplate)).all() == []
    assert upload(admin_web, convention()).status_code == 302


@pytest.mark.parametrize("code", list(DOC_TYPES))
def test_each_default_template_shows_every_mandatory_mention(code):
    with open(services._default_path(code), "rb") as handle:
        assert services.validate_template(code, handle.read()) == [], code


def test_the_regulated_documents_require_their_mentions():
    assert {"org.name", "org.siret", "org.nda_mention", "course.title", "course.objectives", "course.programme[].title",
            "session.dates", "session.hours", "session.place", "price.total_incl_vat", "org.payment_terms",
            "org.cancellation_terms"} <= set(mandatory_of("convention"))
    assert {"course.title", "session.hours", "course.programme[].title", "course.objectives",
            "session.trainees_count", "course.prerequisites", "course.delivery_mode", "course.teaching_methods",
            "course.assessment_methods", "contract.sanction", "session.trainer_details[].competences",
            "price.total_incl_vat", "contract.max_advance_percent", "contract.advance",
            "contract.withdrawal_days"} <= set(mandatory_of("contract"))
    assert {"org.name", "org.signatory_name", "trainee.full_name", "trainee.company", "course.title", "nature",
            "attendance.first_date", "attendance.last_date", "attendance.hours", "retention"} \
        <= set(mandatory_of("certificate"))
    assert "course.objectives" not in mandatory_of("programme")  # a shared variable, mandatory per type


@pytest.mark.parametrize("code", list(MENTIONS))
def test_the_mentions_are_catalogue_variables(code):
    assert set(MENTIONS[code]) <= {v.name for v in variables_of(code)}
