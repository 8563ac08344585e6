import uuid
from fieldvisit.actions.routes import decide_change

def test_dup(world):
    a = world.client(world.agent_a)
    addr = world.addresses[3]
    body = {"id": str(uuid.uuid4()), "reason": "r", "add_stops": [{"case": str(addr.case_id), "address": str(addr.pk)}]*2}
    r = a.post(f"/api/v1/routes/{world.route.pk}/change-requests/", body, format="json")
    print(r.status_code, r.json())
    if r.status_code == 201:
        decide_change(body["id"], world.supervisor, approve=True)
        print("decided ok", list(world.route.stops.values_list("sequence", "status", "notice_number")))

def test_skip_dup(world):
    a = world.client(world.agent_a)
    s = list(world.route.stops.order_by("sequence"))
    body = {"id": str(uuid.uuid4()), "reason": "r", "skip_stops": [str(s[0].pk)]*2}
    r = a.post(f"/api/v1/routes/{world.route.pk}/change-requests/", body, format="json")
    print(r.status_code, r.json())
    decide_change(body["id"], world.supervisor, approve=True)
    print("decided ok", list(world.route.stops.values_list("sequence", "status", "notice_number")))

def test_two_changes(world):
    a = world.client(world.agent_a)
    s = list(world.route.stops.order_by("sequence"))
    body = {"id": str(uuid.uuid4()), "reason": "r", "skip_stops": [str(s[0].pk)]}
    body2 = {"id": str(uuid.uuid4()), "reason": "r", "order": [str(s[2].pk), str(s[1].pk), str(s[0].pk)]}
    for b in (body, body2):
        r = a.post(f"/api/v1/routes/{world.route.pk}/change-requests/", b, format="json")
        print(r.status_code, r.json())
    decide_change(body["id"], world.supervisor, approve=True)
    decide_change(body2["id"], world.supervisor, approve=True)
    print("decided ok", list(world.route.stops.values_list("sequence", "status", "notice_number")))
