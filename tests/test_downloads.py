"""Every file the application hands out goes through core.web.attachment: a safe name, and no cache for
personal or financial files."""
from trainingmgr.core.web import attachment


def test_attachment_names_files_safely_and_keeps_them_out_of_caches(app):
    response = attachment(b"x", 'facture "F2026-0001"\r\n.pdf', "application/pdf")
    assert response.headers["Content-Disposition"] == 'attachment; filename="facture__F2026-0001___.pdf"'
    assert response.headers["Cache-Control"] == "private, no-store"
    public = attachment("BEGIN:VCALENDAR", "session-1.ics", "text/calendar", private=False)
    assert "Cache-Control" not in public.headers and public.mimetype == "text/calendar"
