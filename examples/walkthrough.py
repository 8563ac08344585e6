"""A visit through the API in 40 lines, as two phones would make it, against the quick start.

    python3 dev.py up                                  # in one terminal
    python3 examples/walkthrough.py [http://127.0.0.1:8000] [var/demo-world.json]

Standard library only. Signs in agents A and B, both depart, both arrive at the first stop
(the visit opens), A sends a periodic check-in, and prints the visit as the API shows it.
"""

import datetime as dt
import json
import pathlib
import sys
import urllib.request
import uuid

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
WORLD = json.loads(
    pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "var/demo-world.json").read_text()
)


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, method=method, data=data)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request) as answer:  # noqa: S310 (http only; HTTPError says why)
        return json.load(answer)


def sign_in(key):
    login = WORLD["users"][key]
    body = {**login, "device_id": f"walkthrough-{key}", "device_name": key, "platform": "web"}
    return call("POST", "/api/v1/auth/token/", body)["token"]


def check_in(token, kind, stop=None):
    at = WORLD["stops"][0]
    body = {"id": str(uuid.uuid4()), "route": WORLD["route"]["id"], "kind": kind,
            "lat": at["lat"], "lon": at["lon"], "accuracy_m": 8,
            "captured_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
    if stop:
        body["stop"] = stop
    answer = call("POST", "/api/v1/checkins/", body, token)
    print(f"{kind:>8}: visit {answer['visit']}, next report due {answer['next_due_at']}")


a, b = sign_in("agent_a"), sign_in("agent_b")
stop = WORLD["stops"][0]["id"]
for token in (a, b):
    check_in(token, "depart")
for token in (a, b):
    check_in(token, "arrive", stop)
check_in(a, "periodic")
visit = call("GET", f"/api/v1/visits/{WORLD['stops'][0]['visit_id']}/", token=a)
print(json.dumps({k: visit[k] for k in ("status", "opened_at", "compliance")}, indent=2))
