"""Staff pages of the quality registers: the watch log (its filters, CSV export and the improvement action an entry
leads to), the needs analyses, the disability page (partners, accessibility contact, every adaptation) and the
adaptations of one enrolment with their steps."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.permissions import is_staff, staff_required
from ...core.paging import page_arg
from ...core.responses import fail
from ...core.timeutil import paris_today
from ...core.view_actions import form_page, run_action, run_form
from ...organisation.services import get_organisation
from . import services as service
from .forms import AdaptationRequestForm, AdaptationStepForm, NeedsAnalysisForm, PartnerForm, WatchEntryForm
from .models import ADAPTATION_STATUSES, WATCH_DOMAINS

bp = Blueprint("quality_registers", __name__, url_prefix="/quality/registers")

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")


@bp.app_template_global("enrolment_adaptations")
def _enrolment_adaptations(enrolment) -> list | None:
    """For the enrolment page's adaptations card: the enrolment's adaptations, None for a visitor not staff."""
    return service.enrolment_adaptations(enrolment.id) if is_staff(current_user) else None


def _date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if not DATE_FORMAT.fullmatch(raw):
            raise ValueError
        day = dt.date.fromisoformat(raw)
        if not 2000 <= day.year <= 2100:
            raise ValueError
        return day
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        fail(400, f"Date invalide : « {shown} » (format attendu AAAA-MM-JJ, entre 2000 et 2100).")


def _watch_filters() -> dict:
    domain = request.args.get("domain", "").strip()
    if domain and domain not in WATCH_DOMAINS:
        fail(400, "Domaine de veille inconnu : choisissez légale, métiers, pédagogique ou technologique.")
    since, until = _date_arg("depuis"), _date_arg("jusqu")
    if since and until and since > until:
        fail(400, "La date de début est postérieure à la date de fin.")
    return {"domain": domain or None, "since": since, "until": until}


def _filter_args(filters: dict) -> dict:
    return {k: v for k, v in (("domain", filters["domain"]),
                              ("depuis", filters["since"] and filters["since"].isoformat()),
                              ("jusqu", filters["until"] and filters["until"].isoformat())) if v}


# --------------------------------------------------------------------------- the watch log


@bp.route("/watch")
@staff_required
def watch():
    filters = _watch_filters()
    listing = service.watch_page(page_arg(), **filters)
    return render_template("quality/registers/watch.html", listing=listing, entries=listing.rows, filters=filters,
                           filter_args=_filter_args(filters), domains=WATCH_DOMAINS)


@bp.route("/watch/export.csv")
@staff_required
def watch_export():
    entries = service.list_watch_entries(**_watch_filters())
    filename = service.watch_filename()
    return Response(service.watch_csv(entries), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _watch_form(entry=None) -> WatchEntryForm:
    if request.method == "POST":
        form = WatchEntryForm()
    elif entry is not None:
        form = WatchEntryForm(obj=entry)
        form.action_id.data = str(entry.action_id) if entry.action_id else ""
    else:
        form = WatchEntryForm(data={"day": paris_today()})
    form.set_action_choices(service.linkable_actions(entry.action if entry is not None else None))
    return form


@bp.route("/watch/new", methods=["GET", "POST"])
@staff_required
def watch_new():
    form = _watch_form()
    ok, entry = run_form(form, lambda: service.save_watch_entry(None, form.data_for_service(), current_user))
    if ok:
        flash(f"Entrée n° {entry.id} ajoutée au journal de veille.", "success")
        return redirect(url_for("quality_registers.watch"))
    return form_page("quality/registers/watch_form.html", form, entry=None)


@bp.route("/watch/<int:entry_id>/edit", methods=["GET", "POST"])
@staff_required
def watch_edit(entry_id: int):
    entry = service.get_watch_entry(entry_id)
    form = _watch_form(entry)
    ok, saved = run_form(form, lambda: service.save_watch_entry(entry, form.data_for_service(), current_user))
    if ok:
        flash(f"Entrée n° {saved.id} du journal de veille enregistrée.", "success")
        return redirect(url_for("quality_registers.watch"))
    return form_page("quality/registers/watch_form.html", form, entry=entry)


@bp.route("/watch/<int:entry_id>/action", methods=["POST"])
@staff_required
def watch_action(entry_id: int):
    """« Créer l'action d'amélioration »: created from the entry, then opened for editing."""
    entry = service.get_watch_entry(entry_id)
    return run_action(lambda: service.create_action_from_watch(entry, current_user),
                      lambda action: f"Action d'amélioration n° {action.id} créée depuis la veille : "
                                     "précisez la mesure, le responsable et l'échéance.",
                      lambda action: (url_for("improvement_actions.edit", action_id=action.id) if action
                                      else url_for("quality_registers.watch_edit", entry_id=entry_id)))


# --------------------------------------------------------------------------- needs analyses


@bp.route("/needs")
@staff_required
def needs():
    since, until = _date_arg("depuis"), _date_arg("jusqu")
    if since and until and since > until:
        fail(400, "La date de début est postérieure à la date de fin.")
    listing = service.needs_page(page_arg(), since, until)
    return render_template("quality/registers/needs.html", listing=listing, analyses=listing.rows,
                           since=since, until=until,
                           filter_args={k: v.isoformat() for k, v in (("depuis", since), ("jusqu", until)) if v})


def _needs_form(analysis=None) -> NeedsAnalysisForm:
    if request.method == "POST":
        form = NeedsAnalysisForm()
    elif analysis is not None:
        form = NeedsAnalysisForm(obj=analysis)
        form.company_id.data = str(analysis.company_id or "")
        form.session_id.data = str(analysis.session_id or "")
    else:
        form = NeedsAnalysisForm(data={"day": paris_today()})
    form.set_choices(service.company_choices(), service.session_choices(analysis.session if analysis else None))
    return form


@bp.route("/needs/new", methods=["GET", "POST"])
@staff_required
def needs_new():
    form = _needs_form()
    ok, analysis = run_form(form, lambda: service.save_needs_analysis(None, form.data_for_service(), current_user))
    if ok:
        flash(f"Analyse des besoins n° {analysis.id} enregistrée.", "success")
        return redirect(url_for("quality_registers.needs"))
    return form_page("quality/registers/needs_form.html", form, analysis=None)


@bp.route("/needs/<int:analysis_id>/edit", methods=["GET", "POST"])
@staff_required
def needs_edit(analysis_id: int):
    analysis = service.get_needs_analysis(analysis_id)
    form = _needs_form(analysis)
    ok, saved = run_form(form, lambda: service.save_needs_analysis(analysis, form.data_for_service(), current_user))
    if ok:
        flash(f"Analyse des besoins n° {saved.id} enregistrée.", "success")
        return redirect(url_for("quality_registers.needs"))
    return form_page("quality/registers/needs_form.html", form, analysis=analysis)


# --------------------------------------------------------------------------- disability: partners and adaptations


@bp.route("/disability")
@staff_required
def disability():
    status = request.args.get("status", "").strip()
    if status and status not in ADAPTATION_STATUSES:
        fail(400, "Statut d'adaptation inconnu.")
    listing = service.adaptation_page(page_arg(), status or None)
    return render_template("quality/registers/disability.html", partners=service.list_partners(),
                           org=get_organisation(), listing=listing, adaptations=listing.rows, status=status,
                           statuses=ADAPTATION_STATUSES, filter_args={"status": status} if status else {})


@bp.route("/disability/partners/new", methods=["GET", "POST"])
@staff_required
def partner_new():
    form = PartnerForm()
    ok, partner = run_form(form, lambda: service.save_partner(None, form.data_for_service(), current_user))
    if ok:
        flash(f"Partenaire « {partner.name} » ajouté au réseau handicap.", "success")
        return redirect(url_for("quality_registers.disability"))
    return form_page("quality/registers/partner_form.html", form, partner=None)


@bp.route("/disability/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@staff_required
def partner_edit(partner_id: int):
    partner = service.get_partner(partner_id)
    form = PartnerForm(obj=partner) if request.method == "GET" else PartnerForm()
    ok, saved = run_form(form, lambda: service.save_partner(partner, form.data_for_service(), current_user))
    if ok:
        flash(f"Partenaire « {saved.name} » enregistré.", "success")
        return redirect(url_for("quality_registers.disability"))
    return form_page("quality/registers/partner_form.html", form, partner=partner)


@bp.route("/disability/partners/<int:partner_id>/active", methods=["POST"])
@staff_required
def partner_active(partner_id: int):
    partner = service.get_partner(partner_id)
    return run_action(lambda: service.set_partner_active(partner, request.form.get("active"), current_user),
                      lambda p: f"Partenaire « {p.name} » {'réactivé' if p.active else 'désactivé'}.",
                      url_for("quality_registers.disability"))


@bp.route("/enrolments/<int:enrolment_id>/adaptations/new", methods=["GET", "POST"])
@staff_required
def adaptation_new(enrolment_id: int):
    enrolment = service.get_enrolment(enrolment_id)
    form = AdaptationRequestForm() if request.method == "POST" else AdaptationRequestForm(
        data={"requested_on": paris_today()})
    form.set_partner_choices(service.list_partners(active_only=True))
    ok, adaptation = run_form(form, lambda: service.request_adaptation(enrolment, form.data_for_service(),
                                                                       current_user))
    if ok:
        flash("Besoin d'adaptation enregistré : décidez de la suite à lui donner.", "success")
        return redirect(url_for("quality_registers.adaptation", adaptation_id=adaptation.id))
    return form_page("quality/registers/adaptation_new.html", form, enrolment=enrolment)


def _step_forms(adaptation, submitted: AdaptationStepForm | None = None) -> dict[str, AdaptationStepForm]:
    """A form for each step the adaptation may take now, labelled for its step (the one submitted kept as sent)."""
    forms = {}
    partners = service.list_partners(active_only=True)
    if adaptation.partner is not None and adaptation.partner not in partners:
        partners.append(adaptation.partner)
    for name in service.allowed_steps(adaptation):
        step = service.TRANSITIONS[name]
        form = submitted if submitted is not None and submitted.step.data == name else AdaptationStepForm(
            data={"step": name, "day": paris_today(),
                  "partner_id": str(adaptation.partner_id or "")}, formdata=None)
        form.text.label.text, form.day.label.text = step.text_label, step.date_label
        form.submit.label.text = step.label
        if step.partner:
            form.set_partner_choices(partners)
        else:
            del form.partner_id
        forms[name] = form
    return forms


@bp.route("/adaptations/<int:adaptation_id>")
@staff_required
def adaptation(adaptation_id: int):
    found = service.get_adaptation(adaptation_id)
    return render_template("quality/registers/adaptation.html", adaptation=found, forms=_step_forms(found),
                           steps=service.TRANSITIONS)


@bp.route("/adaptations/<int:adaptation_id>/step", methods=["POST"])
@staff_required
def adaptation_step(adaptation_id: int):
    found = service.get_adaptation(adaptation_id)
    form = AdaptationStepForm()
    form.set_partner_choices([])
    ok, step = run_form(form, lambda: service.advance_adaptation(found, form.step.data, form.data_for_service(),
                                                                  current_user))
    if ok:
        flash(f"Adaptation : {ADAPTATION_STATUSES[step.target].lower()}.", "success")
        return redirect(url_for("quality_registers.adaptation", adaptation_id=found.id))
    status = getattr(form, "error_status", 422)
    return render_template("quality/registers/adaptation.html", adaptation=found, forms=_step_forms(found, form),
                           steps=service.TRANSITIONS, form=form), status
