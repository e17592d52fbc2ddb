def test_healthz_answers_ok_on_postgresql(client, db):
    from django.db import connection

    assert connection.vendor == "postgresql"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
