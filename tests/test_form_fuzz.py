"""Every HTML form, fuzzed (issue 10, "Bad input"): empty, oversized (10 kB), wrong-type, HTML/script and unicode
input. The forms are not listed here: they are discovered by fetching every page of ``app.url_map`` as the visitor
its permission category allows (the table and the demo world of ``tests/test_permission_matrix.py``) and reading
its ``<form method="post">`` elements, so a form added later is fuzzed without anyone writing a test for it; and an
HTML POST route that no page shows a form for fails the test unless it is in ``NO_FORM`` with its reason.

For every submission: never a 5xx; the raw HTML payload never comes back as markup (in the answer nor in the page a
redirect leads to); a refusal shows a French message, beside the field when the form is shown again, and no
English WTForms message anywhere; a refusal leaves the database as it was (no new, changed or removed row); an
accepted unicode value comes back identical.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.html
from sqlalchemy import select

from tests.test_permission_matrix import (  # noqa: F401 - matrix is a fixture
    ADMIN, LOGIN, OWN, PUBLIC, QR, RULES, STAFF, TEACHER, TOKEN, _url, matrix)
from trainingmgr.extensions import db, limiter

# --------------------------------------------------------------------------- payloads

OVERSIZED = "x" * 10240
SCRIPT = '<script>alert("x")</script><b onmouseover=alert(1)>'
UNICODE = "Zoé Ñandú – ß 中文 🎓 \u202e"
# What must never be in an answer: the payload's markup, unescaped.
MARKUP = ('<script>alert("x")', "<script>alert(&#34;x&#34;)", "<b onmouseover", "<script>alert(")
KINDS = ("empty", "oversized", "wrong-type", "html", "unicode")

# English messages (WTForms' defaults, browsers', werkzeug's) that must never reach a French user.
ENGLISH = ("This field is required", "Not a valid", "Field must be", "Invalid", "Please ", "must be at least",
           "is required", "Email address", "Number must be", "Selected value", "not a valid", "Field cannot",
           "The CSRF", "Bad Request", "Internal Server Error", "Method Not Allowed", "Unprocessable")

# Typed inputs: valid filler when the page gives no value (so that the other fields decide), and a wrong value.
TYPED_VALID = {"number": "1", "date": "2031-03-03", "time": "09:00", "email": "fuzz@example.com",
               "url": "https://example.com/", "tel": "05 61 00 00 00", "datetime-local": "2031-03-03T09:00",
               "month": "2031-03", "decimal": "1"}
TYPED_WRONG = {"number": "abc", "date": "12/34/5678", "time": "25:99", "email": "pas-une-adresse",
               "url": "pas une adresse", "tel": "☎" * 30, "datetime-local": "demain", "month": "13/2031",
               "decimal": "abc", "hidden": "abc"}
FREE_TEXT = ("text", "textarea", "search", "password")

# Every HTML POST route that no page of the sample world shows a form for, and why. Not fuzzed here: each is a
# gap to close by giving samples() the state that shows its form (a follow-up of issue 10).
NO_FORM = {
    # the QR code flow: its pages need the room's current one-minute code, which the permission matrix does not have
    "/emargement/qr/<int:slot_id>/code": "the code form is reached only through a scanned, current QR code",
    "/emargement/qr/<int:slot_id>/identify": "shown only after a valid QR code",
    "/emargement/qr/<int:slot_id>/signer": "shown only after a valid QR code",
    "/emargement/qr/<int:slot_id>/not-me": "no input: forgets who was identified on this phone",
    # signing and its follow-up are shown while a slot is open for signing: the demo's slots are past (signed and
    # countersigned) or weeks ahead
    "/emargement/<token>": "the trainee's signing form: only while the slot is open for signing",
    "/attendance/slots/<int:slot_id>/kiosk/<int:enrolment_id>": "signing on the trainer's device: only while the "
                                                                "slot is open for signing",
    "/attendance/slots/<int:slot_id>/countersign": "the countersignature: not shown on the demo's countersigned slots",
    "/attendance/slots/<int:slot_id>/marks/<int:enrolment_id>": "absent/late marks: only while the slot is open",
    "/attendance/slots/<int:slot_id>/remind": "a button beside a missing signature (the demo has none)",
    "/attendance/slots/<int:slot_id>/remind-trainer": "a button beside a slot not yet countersigned",
    "/attendance/slots/<int:slot_id>/justifications/<int:enrolment_id>": "shown for an absence to justify (the "
                                                                         "demo's sample slot has none)",
    # buttons without input, in states the demo does not have
    "/admin/outbox/jobs/<int:job_id>/retry": "a button beside a failed job (the demo has none)",
    "/admin/templates/<doc_type>/restore/<int:version>": "a button beside an earlier uploaded .docx template (the "
                                                        "demo uses the defaults)",
    "/facturation/<int:invoice_id>/relance": "a button not shown on any sample invoice (one of each status)",
    "/sessions/<int:session_id>/facturation/proposer": "a button not shown on the sample sessions' billing pages",
    "/s/<token>": "the survey form: the matrix's sample invitation shows none (probably answered by the demo)",
}

# Tables that a refused request may legitimately write: none so far.
VOLATILE_TABLES: set[str] = set()


# --------------------------------------------------------------------------- discovery


@dataclass
class Field:
    name: str
    type: str  # text, textarea, select, select-multiple, checkbox, radio, hidden, file, number, date, decimal…
    value: str | list[str] = ""
    options: list[str] = field(default_factory=list)
    checked: bool = False


@dataclass
class FormSpec:
    rule: str
    action: str
    page: str
    who: str
    fields: list[Field]

    @property
    def key(self) -> tuple:
        return self.rule, tuple(sorted({f.name for f in self.fields}))

    def fuzzable(self) -> list[Field]:
        return [f for f in self.fields if f.name != "csrf_token" and f.type not in ("submit", "file", "honeypot")]


def _visitors(w, category: str) -> list[tuple[str, object]]:
    return {STAFF: [("conseiller", w.advisor)], ADMIN: [("admin", w.admin)],
            OWN: [("conseiller", w.advisor), ("formateur", w.trainer)],
            LOGIN: [("conseiller", w.advisor), ("formateur", w.trainer)],
            TEACHER: [("formateur", w.trainer)],
            PUBLIC: [("anonyme", w.anonymous), ("stagiaire", w.trainee)],
            TOKEN: [("stagiaire", w.trainee)]}.get(category, [])


def _fields(form) -> list[Field]:
    found: list[Field] = []
    radios: dict[str, Field] = {}
    for el in form.iter("input", "select", "textarea", "button"):
        name = el.get("name")
        if not name or el.get("disabled") is not None:
            continue
        if el.tag == "textarea":
            found.append(Field(name, "textarea", el.text or ""))
        elif el.tag == "select":
            options = [o.get("value", o.text_content()) for o in el.iter("option")]
            selected = [o.get("value", o.text_content()) for o in el.iter("option") if o.get("selected") is not None]
            if el.get("multiple") is not None:
                found.append(Field(name, "select-multiple", selected, options))
            else:
                found.append(Field(name, "select", selected[0] if selected else (options[0] if options else ""),
                                   options))
        elif el.tag == "button":
            if (el.get("type") or "submit") == "submit" and not any(f.type == "submit" for f in found):
                found.append(Field(name, "submit", el.get("value", "")))
        else:
            kind = (el.get("type") or "text").lower()
            if kind in ("submit", "image"):
                if not any(f.type == "submit" for f in found):
                    found.append(Field(name, "submit", el.get("value", "")))
                continue
            if kind in ("button", "reset"):
                continue
            if kind == "text" and el.get("inputmode") in ("decimal", "numeric"):
                kind = "decimal"
            if any(a.get("aria-hidden") == "true" or "d-none" in _classes(a) for a in el.iterancestors()):
                kind = "honeypot"  # hidden from people, left empty by them: a robot trap
            if kind == "radio":
                entry = radios.get(name)
                if entry is None:
                    entry = radios[name] = Field(name, "radio", "")
                    found.append(entry)
                entry.options.append(el.get("value", "on"))
                if el.get("checked") is not None:
                    entry.value = el.get("value", "on")
                continue
            found.append(Field(name, kind, el.get("value", "") if kind != "checkbox" else el.get("value", "y"),
                               checked=el.get("checked") is not None))
    return found


def samples(w) -> list[object]:
    """The matrix's sample values, then others that show the forms of other states: every enrolment of the
    upcoming open session (the prerequisite decision, the positioning questionnaire, the public pre-registration,
    the trainee's links), the online pre-registrations, an invoice of each status (a draft's lines and buttons,
    an issued one's payments), a quality request of each status (its transitions). Each is a copy of the matrix
    world with some values replaced, for ``_url``."""
    from trainingmgr.attendance.access import signing_token
    from trainingmgr.billing.models import Invoice, InvoiceLine, Payment
    from trainingmgr.catalogue.models import Course
    from trainingmgr.enrolments.models import Enrolment
    from trainingmgr.enrolments.services import trainee_token
    from trainingmgr.quality.models import QualityRequest
    from trainingmgr.sessions.models import Slot, TrainingSession

    def variant(values: dict, tokens: dict | None = None):
        alt = copy.copy(w)
        alt.values = {**w.values, **values}
        alt.by_endpoint = {endpoint: {k: v for k, v in args.items() if k not in values}
                           for endpoint, args in w.by_endpoint.items()}
        alt.tokens = {**w.tokens, **(tokens or {})}
        alt.changed = set(values) | {f"token:{e}" for e in tokens or {}}
        return alt

    found = [variant({})]
    upcoming = db.session.scalar(select(TrainingSession).where(TrainingSession.status == "open")
                                 .order_by(TrainingSession.id).limit(1))
    if upcoming is not None:
        slot = db.session.scalar(select(Slot).where(Slot.session_id == upcoming.id).order_by(Slot.id).limit(1))
        enrolments = db.session.scalars(select(Enrolment).where(Enrolment.session_id == upcoming.id)
                                        .order_by(Enrolment.id)).all()
        for enrolment in enrolments:
            link = trainee_token(enrolment)
            found.append(variant(
                {"session_id": upcoming.id, "slot_id": slot.id, "course_id": upcoming.course_id,
                 "slug": db.session.get(Course, upcoming.course_id).slug, "enrolment_id": enrolment.id,
                 "trainee_id": enrolment.trainee_id},
                {"trainee.home": link, "trainee.positioning": link, "complaint_public.form": link,
                 "signing.by_link": signing_token(enrolment, slot)}))
    for enrolment_id in db.session.scalars(select(Enrolment.id).where(Enrolment.status == "requested")):
        found.append(variant({"enrolment_id": enrolment_id}))  # an online pre-registration to accept
    invoices = {}  # one invoice of each status: a draft's lines and buttons, an issued one's payments…
    for invoice in db.session.scalars(select(Invoice).order_by(Invoice.id.desc())):
        invoices.setdefault(invoice.status, invoice)
    for invoice in invoices.values():
        line = db.session.scalar(select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id).limit(1))
        payment = db.session.scalar(select(Payment.id).where(Payment.invoice_id == invoice.id).limit(1))
        found.append(variant({"invoice_id": invoice.id, **({"line_id": line} if line else {}),
                              **({"payment_id": payment} if payment else {})}))
    requests = {}
    for request in db.session.scalars(select(QualityRequest).order_by(QualityRequest.id)):
        requests.setdefault(request.status, request.id)
    for request_id in requests.values():
        found.append(variant({"request_id": request_id}))
    db.session.remove()
    return found


def discover(app, worlds, forms: dict[tuple, FormSpec] | None = None) -> tuple[dict[tuple, FormSpec], list[str]]:
    """The forms of every page, deduplicated by (action's rule, field names); and the pages fetched."""
    adapter = app.url_map.bind("localhost")
    forms = {} if forms is None else forms
    pages: list[str] = []
    fetched: set[str] = set()
    for w in worlds:
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            category = RULES.get(rule.rule)
            if "GET" not in rule.methods or not isinstance(category, str) or rule.rule.startswith("/api/"):
                continue
            if rule.endpoint in ("static", "bootstrap.static") or category == QR:
                continue
            if w.changed and not (w.changed & (set(rule.arguments) | {f"token:{rule.endpoint}"})):
                continue
            url = _url(app, w, rule)
            for who, client in _visitors(w, category):
                if f"{who} {url}" in fetched:
                    continue
                fetched.add(f"{who} {url}")
                _LAST.clear()
                response = client.get(url)
                html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
                _close(response)
                if response.status_code != 200 or not html:
                    continue
                pages.append(f"{who} {url}")
                for form in lxml.html.fromstring(html).iter("form"):
                    if (form.get("method") or "get").lower() != "post":
                        continue
                    action = urlsplit(form.get("action") or url)
                    path = action.path or urlsplit(url).path
                    try:
                        matched, _ = adapter.match(path, method="POST", return_rule=True)
                    except Exception:  # noqa: BLE001 - an action that no route serves is reported
                        forms.setdefault(("?", path), FormSpec("?", path, url, who, []))
                        continue
                    spec = FormSpec(matched.rule, path + (f"?{action.query}" if action.query else ""), url, who,
                                    _fields(form))
                    forms.setdefault(spec.key, spec)
    return forms, pages


def _close(response) -> None:
    response.close()
    db.session.remove()  # as the end of a real request does: nothing left pending in the shared session


# --------------------------------------------------------------------------- submissions


def _filled(f: Field) -> str | list[str]:
    """The value a browser would send for ``f`` as the page gave it (valid filler for an empty typed field)."""
    if f.type == "select-multiple":
        return f.value or [o for o in f.options if o][:1]
    if f.type == "select":
        return f.value if f.value else next((o for o in f.options if o), "")
    if f.type == "radio":
        return f.value or (f.options[0] if f.options else "")
    if not f.value and f.type in TYPED_VALID:
        return TYPED_VALID[f.type]
    return f.value


def payload(spec: FormSpec, kind: str, keep: set[str] = frozenset()) -> dict[str, list[str]]:
    """The form data of one submission; the fields in ``keep`` get their valid value."""
    data: dict[str, list[str]] = {}

    def put(name: str, value) -> None:
        data.setdefault(name, []).extend(value if isinstance(value, list) else [value])

    for f in spec.fields:
        if f.name == "csrf_token" or f.type == "submit":
            put(f.name, f.value)
            continue
        if f.type == "file":
            continue
        if f.type == "honeypot":
            put(f.name, "")
            continue
        if f.type == "checkbox":  # as the page gave it; ticked when a refusal flagged it (a consent)
            if (f.checked and kind != "empty") or f.name in keep:
                put(f.name, f.value)
            continue
        value = _filled(f)
        if f.name in keep:
            put(f.name, value)
        elif kind == "empty":
            put(f.name, "")
        elif kind == "oversized":
            put(f.name, OVERSIZED if f.type not in ("select", "select-multiple", "radio") else value)
        elif kind == "wrong-type":
            if f.type in ("select", "select-multiple", "radio"):
                put(f.name, "valeur-inconnue")
            else:
                put(f.name, TYPED_WRONG.get(f.type, value))
        elif kind == "html":
            put(f.name, SCRIPT if f.type in FREE_TEXT else value)
        elif kind == "unicode":
            put(f.name, UNICODE if f.type in FREE_TEXT else value)
    return data


def fingerprint() -> dict[str, str]:
    """A digest of every row of every table: a refused request must leave each one as it was. PostgreSQL digests
    each table itself, all in one query; SQLite's rows are read (in process, cheap)."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in VOLATILE_TABLES]
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            parts = [f"SELECT '{t.name}', count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                     f'FROM "{t.name}" r' for t in tables]
            return {name: f"{count}:{digest}" for name, count, digest in conn.exec_driver_sql(" UNION ALL ".join(parts))}
        digests = {}
        for table in tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            digests[table.name] = f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"
        return digests


def _text(tree) -> str:
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    return tree.text_content()


def _classes(el) -> set[str]:
    return set((el.get("class") or "").split())


@dataclass
class Verdict:
    refused: bool
    messages: list[str]
    invalid: set[str]  # names of the fields flagged is-invalid
    problems: list[str]
    flashed_error: bool = False


def inspect(html: str, status: int) -> Verdict:
    """What a page says: refused or not, its error messages (field feedback, alerts, the error page), the fields
    it flags, and what is wrong with it (markup of the payload, English, a flagged field without its message)."""
    problems: list[str] = []
    for mark in MARKUP:
        if mark in html:
            problems.append(f"la charge HTML revient sans échappement ({mark!r})")
            break
    tree = lxml.html.fromstring(html) if html.strip() else None
    if tree is None:
        return Verdict(status >= 400, [], set(), problems)
    feedback = [el for el in tree.iter() if isinstance(el.tag, str) and "invalid-feedback" in _classes(el)]
    alerts = [el for el in tree.iter() if isinstance(el.tag, str) and "alert-danger" in _classes(el)]
    flagged = [el for el in tree.iter() if isinstance(el.tag, str) and "is-invalid" in _classes(el)]
    messages = [" ".join(el.text_content().split()) for el in feedback + alerts]
    if status >= 400:
        messages += [" ".join(el.text_content().split()) for el in tree.xpath("//main//h1|//main//p")][:3]
    invalid = {el.get("name") for el in flagged if el.get("name")}
    for el in flagged:
        holder, found = el.getparent(), False
        for _ in range(3):  # the field's own group: the input's parent, an input-group, a form-check…
            if holder is None:
                break
            if any("invalid-feedback" in _classes(x) for x in holder.iter() if isinstance(x.tag, str)):
                found = True
                break
            holder = holder.getparent()
        if not found:
            problems.append(f"champ {el.get('name')!r} signalé sans message à côté")
    if any("indiquées sous les champs" in m for m in messages) and not feedback:
        problems.append("« erreurs sous les champs » annoncées, mais aucun champ ne montre son message")
    words = _text(tree)
    english = [e for e in ENGLISH if e in words]
    if english:
        problems.append(f"message anglais : {english}")
    refused = status >= 400 or bool(feedback or alerts or flagged)
    if refused and not [m for m in messages if m.strip()]:
        problems.append("refus sans message")
    flashed = any({"alert-danger", "alert-dismissible"} <= _classes(el) for el in alerts)
    return Verdict(refused, messages, invalid, problems, flashed)


_LAST: dict[str, dict] = {}  # the fingerprint after the last POST, when no page was requested since


def submit(client, spec: FormSpec, kind: str, keep: set[str], failures: list[str], log: list[str]) -> Verdict:
    before = _LAST.pop("after", None) or fingerprint()
    limiter.reset()  # the public forms' rate limits would answer 429 before the form is read
    response = client.post(spec.action, data=payload(spec, kind, keep))
    status, location = response.status_code, response.headers.get("Location", "")
    html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    _close(response)
    after = _LAST["after"] = fingerprint()
    where = f"{spec.who} {kind}{'*' if keep else ''} POST {spec.action} (formulaire de {spec.page})"
    log.append(f"{where} → {status}")
    if status >= 500:
        failures.append(f"{where}: {status}")
        return Verdict(True, [], set(), [])
    verdict = inspect(html, status)
    if status in (301, 302, 303) and location:
        _LAST.clear()
        target = client.get(location)
        shown = target.get_data(as_text=True) if target.mimetype == "text/html" else ""
        _close(target)
        if target.status_code >= 500:
            failures.append(f"{where}: la page suivante {location} répond {target.status_code}")
        followed = inspect(shown, target.status_code)
        verdict.problems += followed.problems
        if followed.flashed_error:  # a refusal told by a flash on the next page
            verdict.refused = True
            verdict.messages += followed.messages
        html = shown
    for problem in verdict.problems:
        failures.append(f"{where}: {problem}")
    if verdict.refused:
        changed = sorted(name for name in before if before[name] != after.get(name))
        if changed:
            failures.append(f"{where}: refusé ({status}) mais la base a changé : {', '.join(changed)}")
    elif kind == "unicode" and "Zoé Ñandú" in html and UNICODE not in html:
        failures.append(f"{where}: la valeur unicode revient altérée")
    return verdict


# --------------------------------------------------------------------------- the tests


# Actions that end what other forms need (a cancelled session cancels its pre-registrations, a deleted line…).
ENDINGS = re.compile(r"/(status|cancel|delete|supprimer|annuler|merge|emettre|avoir)$")


def _last(spec: FormSpec) -> bool:
    """Fuzzed after every other form: the buttons (hidden values only) and the actions that end something."""
    return bool(ENDINGS.search(spec.rule)) or not any(f.type not in ("hidden", "checkbox") for f in spec.fuzzable())


def _fuzz(specs, clients, failures: list[str], log: list[str]) -> int:
    fuzzed = [spec for spec in sorted(specs, key=lambda f: (f.rule, f.action)) if spec.rule != "?" and spec.fuzzable()]
    for spec in fuzzed:
        client = clients[spec.who]
        for kind in KINDS:
            verdict = submit(client, spec, kind, set(), failures, log)
            # refused because of some fields (a SIRET, a postal code, a length limit): send it again with the
            # payload only in the fields the page did not flag, so that the others reach the service, the database
            # (a 10 kB string in a VARCHAR(200)) and the pages that show them
            if kind in ("oversized", "html", "unicode") and verdict.refused and verdict.invalid:
                flagged = verdict.invalid & {f.name for f in spec.fuzzable()}
                if flagged and flagged != {f.name for f in spec.fuzzable()}:
                    submit(client, spec, kind, flagged, failures, log)
    return len(fuzzed)


def test_form_fuzz(app, matrix):  # noqa: F811 - the fixture imported above
    w = matrix
    _LAST.clear()
    clients = {"anonyme": w.anonymous, "stagiaire": w.trainee, "formateur": w.trainer,
               "conseiller": w.advisor, "admin": w.admin}
    failures: list[str] = []
    log: list[str] = []
    forms: dict[tuple, FormSpec] = {}
    pages: list[str] = []
    fuzzed = 0
    buttons: list[FormSpec] = []
    # the forms with something to type first; what a round creates (a draft invoice and its lines, a
    # pre-registration, a ticked item…) shows more forms: look again and fuzz those, until no page shows a new one
    for _ in range(4):
        seen = set(forms)
        forms, fetched = discover(app, samples(w), forms)
        pages += fetched
        new = [spec for key, spec in forms.items() if key not in seen]
        if not new:
            break
        fuzzed += _fuzz([spec for spec in new if not _last(spec)], clients, failures, log)
        buttons += [spec for spec in new if _last(spec)]
    # then the buttons and the ending actions (changing a status, deleting, issuing, merging)
    fuzzed += _fuzz(buttons, clients, failures, log)
    seen = set(forms)  # and what they showed (a generated document's "send" button)
    forms, fetched = discover(app, samples(w), forms)
    pages += fetched
    fuzzed += _fuzz([spec for key, spec in forms.items() if key not in seen], clients, failures, log)

    # every HTML POST route is fuzzed through a page's form, or exempted with a reason
    shown = {spec.rule for spec in forms.values()}
    unknown = sorted(spec.action for spec in forms.values() if spec.rule == "?")
    failures += [f"formulaire vers une adresse qu'aucune route ne sert : {a}" for a in unknown]
    posts = sorted(r.rule for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/"))
    missing = [r for r in posts if r not in shown and r not in NO_FORM]
    failures += [f"route POST sans formulaire sur aucune page (ajoutez-la à NO_FORM avec sa raison) : {r}"
                 for r in missing]
    stale = [r for r in NO_FORM if r in shown or r not in posts]
    failures += [f"exemption inutile dans NO_FORM : {r}" for r in stale]

    print(f"{len(pages)} pages, {len(forms)} formulaires, {fuzzed} fuzzés, {len(log)} envois")
    print("\n".join(log))
    assert not failures, f"{len(failures)} défauts :\n" + "\n".join(failures)


def test_payloads_are_what_the_issue_asks():
    assert len(OVERSIZED) == 10240
    assert "<script>" in SCRIPT and "\u202e" in UNICODE
    assert dt.date.fromisoformat(TYPED_VALID["date"]).weekday() == 0
    assert re.search(r"[^\x00-\x7f]", UNICODE)
