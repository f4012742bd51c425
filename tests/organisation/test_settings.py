import io

from sqlalchemy import func, select

from tests.fixtures.organisation import PNG
from tests.helpers import login, page
from trainingmgr.demo.services import ORGANISATION
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile
from trainingmgr.organisation.models import Organisation
from trainingmgr.organisation.services import get_organisation


def _form(**changes):
    data = {k: ("" if v is None else str(v) if not hasattr(v, "isoformat") else v.isoformat())
            for k, v in ORGANISATION.items()}
    data.update(changes)
    return data


def test_admin_sets_up_the_organisation(client, users):
    login(client, "admin@test.example")
    response = client.post("/admin/organisation/", data=_form())
    assert response.status_code == 302, page(response)
    org = get_organisation()
    assert org.siret == "81234567600017"
    assert org.vat_exempt
    assert org.qualiopi_date.isoformat() == "2024-03-15"
    assert "ne vaut pas agrément de l'État" in org.nda_mention
    # Saved once, edited in place afterwards.
    client.post("/admin/organisation/", data=_form(name="Formaction Occitanie", siret="812 345 676 00017"))
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 1
    assert get_organisation().name == "Formaction Occitanie"
    assert get_organisation().siret == "81234567600017"


def test_invalid_siret_and_email_are_refused_and_nothing_changes(client, users):
    login(client, "admin@test.example")
    client.post("/admin/organisation/", data=_form())
    response = client.post("/admin/organisation/", data=_form(siret="81234567600018", name="Autre nom",
                                                             quality_contact_email="pas-une-adresse"))
    assert response.status_code == 422
    text = page(response)
    assert "clé de contrôle incorrecte" in text
    assert "n'est pas valide" in text
    assert get_organisation().name == ORGANISATION["name"]
    response = client.post("/admin/organisation/", data=_form(siret="1234"))
    assert "14 chiffres" in page(response)
    response = client.post("/admin/organisation/", data=_form(vat_status="zero"))
    assert response.status_code == 422


def test_the_vat_number_is_checked_and_kept_compact(client, users):
    login(client, "admin@test.example")
    response = client.post("/admin/organisation/", data=_form(vat_number="FR 18 812345676"))
    assert response.status_code == 422 and "clé de contrôle incorrecte" in page(response)
    response = client.post("/admin/organisation/", data=_form(vat_number="XX123"))
    assert response.status_code == 422 and "TVA intracommunautaire n'est pas valide" in page(response)
    assert client.post("/admin/organisation/", data=_form(vat_number="fr 19 812 345 676")).status_code == 302
    assert get_organisation().vat_number == "FR19812345676"


def test_advisor_and_trainer_cannot_edit_the_organisation(client, users):
    for email in ("conseil@test.example", "formateur@test.example"):
        login(client, email)
        assert client.get("/admin/organisation/").status_code == 403
        assert client.post("/admin/organisation/", data=_form(name="Piraté")).status_code == 403
        client.post("/logout")
    assert db.session.scalar(select(Organisation)) is None


def test_logo_upload_checks_the_content(client, users):
    login(client, "admin@test.example")
    fake = _form()
    fake["logo"] = (io.BytesIO(b"MZ this is not an image"), "logo.png")
    response = client.post("/admin/organisation/", data=fake, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Format de fichier non accepté" in page(response)
    assert db.session.scalar(select(StoredFile)) is None
    good = _form()
    good["logo"] = (io.BytesIO(PNG), "logo.png")
    response = client.post("/admin/organisation/", data=good, content_type="multipart/form-data")
    assert response.status_code == 302
    client.post("/logout")
    logo = client.get("/files/logo")  # public: it heads the catalogue
    assert logo.status_code == 200
    assert logo.data == PNG
    assert logo.mimetype == "image/png"


def test_too_large_upload_is_a_french_413(client, users):
    login(client, "admin@test.example")
    data = _form()
    data["logo"] = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * (9 * 1024 * 1024)), "big.png")
    response = client.post("/admin/organisation/", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "Fichier trop volumineux" in page(response)
