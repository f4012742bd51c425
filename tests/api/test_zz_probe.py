import json, datetime as dt
from trainingmgr.extensions import db
from trainingmgr.accounts.services import create_api_token, revoke_api_token
from tests.helpers import MONDAY
import pytest

def show(r):
    print(r.status_code, json.dumps(r.get_json(), ensure_ascii=False, indent=None)[:400])

BIG = 10**20
MED = 2**40
@pytest.mark.parametrize("n", [BIG, MED])
def test_probe(client, world, make_session, n, backend):
    tok, raw = create_api_token("conseil@test.example"); db.session.commit()
    H = {"Authorization": f"Bearer {raw}"}
    s = make_session()
    print(backend, n)
    for body in [{"course_id": n}, {"course_slug": "chorus-pro", "location_id": n}, {"course_slug": "chorus-pro", "trainer_ids": [n]},
                 {"course_slug": "chorus-pro", "format": "intra", "client_company_id": n}]:
        try: show(client.post("/api/v1/sessions", json=body, headers=H))
        except Exception as e: print("EXC", type(e), e)
        db.session.rollback()
    for call in [lambda: client.get(f"/api/v1/sessions/{n}"), lambda: client.get(f"/api/v1/sessions/{n}", headers=H),
                 lambda: client.patch(f"/api/v1/sessions/{n}", json={}, headers=H),
                 lambda: client.patch(f"/api/v1/sessions/{s.id}", json={"location_id": n}, headers=H),
                 lambda: client.post(f"/api/v1/sessions/{n}/slots", json={"date": "2031-03-05", "start_time": "09:00", "end_time": "12:00"}, headers=H),
                 lambda: client.post(f"/api/v1/sessions/{s.id}/slots", json={"date": "2031-03-05", "start_time": "09:00", "end_time": "12:00", "trainer_id": n}, headers=H),
                 lambda: client.delete(f"/api/v1/slots/{n}", headers=H)]:
        try: show(call())
        except Exception as e: print("EXC", type(e), str(e)[:200])
        db.session.rollback()
