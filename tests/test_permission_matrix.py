"""The permission matrix: every route of ``app.url_map`` requested as each kind of visitor, against the table of
expected outcomes (tests/fixtures/permissions.py, with the ``matrix`` world). A route missing from the table fails
the test, so that no route is ever added unguarded.

Visitors: anonymous; a trainee holding their personal links (no account: they are anonymous everywhere else);
the trainer of the sample session (Pierre, who teaches the demo sessions); another trainer (Paula, who does not);
an advisor; an admin. API routes: no token, a trainer's token, an advisor's token, an admin's token.
"""
from __future__ import annotations

from tests.fixtures.permissions import (
    ADMIN,
    API_PUBLIC,
    API_STAFF,
    LOGIN,
    OWN,
    PUBLIC,
    QR,
    RULES,
    SELF,
    SIGN_LINK,
    STAFF,
    TEACHER,
    TOKEN,
    TRAINER_LINK,
    rule_url,
)

# The roles the views declare (``roles_required``) for each category: the table and the code agree.
DECLARED = {PUBLIC: None, TOKEN: None, QR: None, SIGN_LINK: None, API_PUBLIC: None, LOGIN: {"advisor", "trainer"},
            SELF: {"advisor", "trainer"}, TRAINER_LINK: None,
            OWN: {"advisor", "trainer"}, TEACHER: {"advisor", "trainer"}, STAFF: {"advisor"}, ADMIN: {"admin"}, API_STAFF: {"advisor"}}

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def _category(rule, method: str) -> str | None:
    entry = RULES.get(rule.rule)
    if isinstance(entry, dict):
        return entry.get(method)
    return entry


def _methods(rule) -> list[str]:
    return [m for m in METHODS if m in rule.methods]


# --------------------------------------------------------------------------- the table is complete and true


def test_every_route_has_a_permission_rule(app):
    missing = [f"{m} {rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
               for m in _methods(rule) if _category(rule, m) is None]
    assert not missing, "nouvelle route sans règle de permission : " + ", ".join(sorted(missing))
    served = {rule.rule for rule in app.url_map.iter_rules()}
    stale = sorted(set(RULES) - served)
    assert not stale, f"règle de permission d'une route disparue : {', '.join(stale)}"


def test_views_declare_the_roles_of_their_category(app):
    wrong = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "required_roles", None)
        declared = {getattr(r, "value", r) for r in declared} if declared is not None else None
        for method in _methods(rule):
            expected = DECLARED[_category(rule, method)]
            # one view serving a public GET and a guarded POST (the API's /sessions) checks inside
            if isinstance(RULES[rule.rule], dict) and declared is None:
                continue
            if declared != expected:
                wrong.append(f"{method} {rule.rule}: déclaré {declared}, attendu {expected}")
    assert not wrong, "\n".join(wrong)


def _request(client, method: str, url: str, headers: dict | None = None):
    if url.startswith("/api/"):
        body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
        return client.open(url, method=method, headers=headers or {}, **body)
    if method == "POST":
        return client.post(url, data={})
    return client.open(url, method=method)


def _to_login(response) -> bool:
    return response.status_code == 302 and urlsplit_path(response.headers.get("Location", "")) == "/login"


def urlsplit_path(location: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(location).path


def _fine(response) -> bool:
    """Let through: any answer but a refusal of the visitor (401/403), a login redirect or a crash."""
    return response.status_code < 500 and response.status_code not in (401, 403) and not _to_login(response)


def test_permission_matrix(app, matrix):
    w = matrix
    failures: list[str] = []
    seen: list[str] = []

    def check(who: str, method: str, url: str, response, ok: bool, expected: str):
        seen.append(f"{who:14} {method:6} {url} → {response.status_code}")
        if not ok:
            failures.append(f"{who} {method} {url}: {response.status_code} "
                            f"({response.headers.get('Location', '')}), attendu {expected}")

    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    plan = [(rule, method, _category(rule, method)) for rule in rules for method in _methods(rule)]
    # first the visitors who must be refused, the trainers, then the advisor, then the admin: the staff's
    # POSTs (deleting a line, cancelling) run last so that they do not remove what the others request
    for rule, method, category in plan:
        url = rule_url(app, w, rule)
        if category == QR:
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                response = _request(client, method, url)
                check(who, method, url, response, 400 <= response.status_code < 500 and not _to_login(response),
                      "un refus 4xx sans QR code valide")
        elif category in (PUBLIC, TOKEN):
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                if category == TOKEN and who == "anonyme":
                    forged = rule_url(app, w, rule, token="lien-contrefait")
                    response = _request(client, method, forged)
                    check(who, method, forged, response, 400 <= response.status_code < 500
                          and not _to_login(response), "un refus 4xx du lien contrefait")
                    continue
                response = _request(client, method, url)
                ok = _fine(response) or (rule.endpoint == "accounts.logout" and _to_login(response))
                check(who, method, url, response, ok, "un accès sans connexion")
        elif category in (SIGN_LINK, TRAINER_LINK):
            visitors = (("anonyme", w.anonymous), ("stagiaire", w.trainee), ("formateur", w.trainer),
                        ("autre formateur", w.other_trainer), ("conseiller", w.advisor), ("admin", w.admin))
            for n, (who, client) in enumerate(visitors):  # one forged link each: POSTs are rate-limited per link
                forged = rule_url(app, w, rule, token=f"lien-contrefait-{n}")
                response = _request(client, method, forged)
                check(who, method, forged, response, response.status_code == 403, "403 (lien contrefait)")
            response = _request(w.anonymous, method, url)
            holder = "signataire" if category == SIGN_LINK else "formateur (lien)"
            check(holder, method, url, response, _fine(response), "l'accès par son lien personnel")
        elif category == SELF:
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                response = _request(client, method, url)
                check(who, method, url, response, _to_login(response), "une redirection vers /login")
        elif category in (LOGIN, OWN, TEACHER, STAFF, ADMIN):
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                response = _request(client, method, url)
                check(who, method, url, response, _to_login(response), "une redirection vers /login")
            own = _request(w.trainer, method, url)
            other = _request(w.other_trainer, method, url)
            if category == LOGIN:
                check("formateur", method, url, own, own.status_code == 200, "200")
                check("autre formateur", method, url, other, other.status_code == 200, "200")
            elif category in (OWN, TEACHER):
                check("formateur", method, url, own, _fine(own), "l'accès à sa session")
                check("autre formateur", method, url, other, other.status_code in (403, 404), "403")
            else:
                check("formateur", method, url, own, own.status_code == 403, "403")
                check("autre formateur", method, url, other, other.status_code == 403, "403")
        elif category == API_STAFF:
            response = _request(w.anonymous, method, url)
            check("sans jeton", method, url, response, response.status_code == 401, "401")
            response = _request(w.anonymous, method, url, {"Authorization": "Bearer faux-jeton"})
            check("jeton inconnu", method, url, response, response.status_code == 401, "401")
            headers = {"Authorization": f"Bearer {w.api_tokens['trainer']}"}
            response = _request(w.anonymous, method, url, headers)
            check("jeton formateur", method, url, response, response.status_code == 403, "403")
        elif category == API_PUBLIC:
            response = _request(w.anonymous, method, url)
            check("sans jeton", method, url, response, _fine(response), "l'accès sans jeton")
    for who, client in (("conseiller", w.advisor), ("admin", w.admin)):
        for rule, method, category in plan:
            url = rule_url(app, w, rule)
            if category in (LOGIN, OWN, STAFF):
                response = _request(client, method, url)
                check(who, method, url, response, _fine(response), "l'accès")
            elif category == TEACHER:
                response = _request(client, method, url)
                check(who, method, url, response, response.status_code == 403, "403 (le formateur seul)")
            elif category == ADMIN:
                response = _request(client, method, url)
                if who == "admin":
                    check(who, method, url, response, _fine(response), "l'accès")
                else:
                    check(who, method, url, response, response.status_code == 403, "403")
            elif category == API_STAFF:
                headers = {"Authorization": f"Bearer {w.api_tokens[who == 'admin' and 'admin' or 'advisor']}"}
                response = _request(w.anonymous, method, url, headers)
                check(f"jeton {who}", method, url, response, _fine(response), "l'accès")
    print("\n".join(seen))  # the whole matrix, shown with -s or on failure
    assert not failures, "\n".join(failures)

