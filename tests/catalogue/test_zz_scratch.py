from tests.helpers import login
def test_scratch(client, world, make_session):
    login(client, "conseil@test.example")
    r = client.post("/courses/new", data={"title": "", "duration_hours": "abc", "max_trainees": "3", "min_trainees": "5",
        "price_per_trainee": "-5", "daily_pattern": "09:00-15:00", "slug": "Bad Slug"})
    print(r.status_code)
    open("/tmp/form_err.html","w").write(r.get_data(as_text=True))
    s = make_session()
    from trainingmgr.sessions.services import change_status
    from trainingmgr.extensions import db
    change_status(s, "open"); db.session.commit()
    r = client.get("/catalogue/chorus-pro")
    open("/tmp/chorus.html","w").write(r.get_data(as_text=True))
    r = client.get(f"/catalogue/chorus-pro/sessions/{s.id}.ics")
    print(r.status_code, r.headers)
    open("/tmp/s.ics","wb").write(r.data)
    r = client.get(f"/courses/{world.chorus.id}/edit")
    open("/tmp/edit.html","w").write(r.get_data(as_text=True))
