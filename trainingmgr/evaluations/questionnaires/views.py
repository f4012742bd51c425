"""The advisor's questionnaire editor: the active questionnaires, and a new version of one."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ...accounts.permissions import staff_required
from ...core.view_actions import form_page, run_form
from ..models import QUESTIONNAIRE_KINDS
from . import editor
from .forms import QuestionnaireEditForm

editor_bp = Blueprint("questionnaires", __name__, url_prefix="/evaluations/questionnaires")


@editor_bp.route("/")
@staff_required
def questionnaires():
    return render_template("evaluations/questionnaires.html", questionnaires=editor.list_questionnaires(),
                           kinds=QUESTIONNAIRE_KINDS)


BLANK_ROWS = 3


@editor_bp.route("/<int:questionnaire_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(questionnaire_id: int):
    questionnaire = editor.get_questionnaire(questionnaire_id)
    if request.method == "GET":
        rows = [{"kind": q.kind, "text": q.text, "help": q.help, "required": q.required, "role": q.role,
                 "choices": editor.choices_text(q)} for q in questionnaire.questions]
        rows += [{"kind": "scale", "text": "", "help": "", "required": True, "role": "", "choices": ""}] * BLANK_ROWS
        form = QuestionnaireEditForm(data={"title": questionnaire.title, "intro": questionnaire.intro,
                                           "anonymous": questionnaire.anonymous, "questions": rows})
    else:
        form = QuestionnaireEditForm()
    ok, created = run_form(form, lambda: editor.save_new_version(questionnaire, form.edit_data()))
    if ok:
        flash(f"Version {created.version} enregistrée : elle sert aux prochains envois ; les réponses déjà données "
              "restent attachées à la version précédente.", "success")
        return redirect(url_for("questionnaires.edit", questionnaire_id=created.id))
    return form_page("evaluations/questionnaire_edit.html", form, questionnaire=questionnaire,
                     kinds=QUESTIONNAIRE_KINDS)
