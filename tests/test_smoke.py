

def test_catalogue_lists_published_courses(client, world):
    page = client.get("/catalogue/").get_data(as_text=True)
    assert "Chorus Pro" in page
    assert "Marchés publics : DUME et Chorus Pro" in page


def test_backend(backend):
    assert backend in ("sqlite", "postgresql")


def test_login_and_dashboard(advisor_client, make_session):
    session = make_session()
    page = advisor_client.get("/")
    assert page.status_code == 200
    assert f'data-session="{session.id}"' in page.get_data(as_text=True)
