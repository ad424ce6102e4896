"""Fault 4: while PostgreSQL is down, `linli web` answers 503 with Retry-After: problem
documents on the API (before: text/html 500s), a plain "try again shortly" page on the
admin and resident pages; once it is back, requests are served again."""

from __future__ import annotations

from tests.faults.conftest import request, wait_until


def test_an_outage_answers_503_and_service_comes_back(processes, running_postgres):
    deployment = processes
    web = deployment.web()
    key = {"Authorization": f"Bearer {deployment.tokens['faults']}"}
    assert request(web.port, "GET", "/api/v1/community/estates", headers=key).status == 200
    # when: PostgreSQL goes down
    running_postgres.stop("fast")
    try:
        api = request(web.port, "GET", "/api/v1/community/estates", headers=key)
        post = request(
            web.port,
            "POST",
            "/api/v1/community/residents",
            headers={**key, "Content-Type": "application/json", "Idempotency-Key": "outage-1"},
            body=b'{"display_name": "outage"}',
        )
        token = deployment.tokens["faults"]
        wrong = token[:-1] + ("a" if token[-1] != "a" else "b")  # checked against the database
        wrong_key = request(
            web.port,
            "GET",
            "/api/v1/community/estates",
            headers={"Authorization": f"Bearer {wrong}"},
        )
        # a returning visitor: their session is looked up in the database
        session = {
            "Cookie": "sessionid=returning0visitor0session0key000",
            "Accept-Language": "en",
        }
        admin = request(web.port, "GET", "/admin/", headers=session)
        pages = request(web.port, "GET", "/r/", headers=session)
    finally:
        running_postgres.start()
    # then: problem documents on the API, whichever layer met the outage first
    for answer in (api, post, wrong_key):
        assert answer.status == 503
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["code"] == "database_unavailable"
    for page in (admin, pages):
        assert page.status == 503
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Retry-After"] == "5"
        assert b"Try again shortly" in page.body
    # and: served again once it is back (the POST had done nothing: it runs now)
    recovered = wait_until(
        "the API to answer again",
        lambda: request(web.port, "GET", "/api/v1/community/estates", headers=key).status == 200,
        timeout=30,
        watch=[web],
    )
    assert recovered < 10
    retried = request(
        web.port,
        "POST",
        "/api/v1/community/residents",
        headers={**key, "Content-Type": "application/json", "Idempotency-Key": "outage-1"},
        body=b'{"display_name": "outage"}',
    )
    assert retried.status == 201
    assert retried.headers.get("Idempotent-Replayed") is None  # it ran now, once
    assert web.stop() == 0
