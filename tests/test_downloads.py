"""Every file the application hands out goes through core.responses.attachment: a safe name, and no cache for
personal or financial files."""
from trainingmgr.core.responses import attachment


def test_attachment_names_files_safely_and_keeps_them_out_of_caches(app):
    response = attachment(b"x", 'facture "F2026-0001"\r\n.pdf', "application/pdf")
    assert response.headers["Content-Disposition"] == 'attachment; filename="facture__F2026-0001___.pdf"'
    assert response.headers["Cache-Control"] == "private, no-store"
    public = attachment("BEGIN:VCALENDAR", "session-1.ics", "text/calendar", private=False)
    assert "Cache-Control" not in public.headers and public.mimetype == "text/calendar"


def test_staff_files_and_pages_are_private_no_store_and_only_public_ones_cacheable(client, users):
    from tests.fixtures.organisation import PNG
    from tests.helpers import login
    from trainingmgr.extensions import db
    from trainingmgr.files.services import store_bytes

    stored = store_bytes(PNG, "cv-pierre.png", "logo")
    db.session.commit()
    login(client, "conseil@test.example")
    for path in (f"/files/{stored.id}", "/", "/sessions/", "/account", "/api/v1/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path
    assert client.get(f"/files/{stored.id}").data == PNG
    for path in ("/catalogue/", "/static/app.css"):
        response = client.get(path)
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
