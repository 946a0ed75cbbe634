from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.api.conftest import free_port


def test_flooding_a_conversation_gets_429_with_a_message(data_dir):
    settings = Settings(
        data_dir=data_dir,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        messages_per_minute_per_conversation=3,
        conversations_per_hour_per_address=2,
    )
    with TestClient(create_app(settings)) as client:
        created = client.post("/api/v1/conversations", json={}).json()
        auth = {"Authorization": f"Bearer {created['token']}"}
        url = f"/api/v1/conversations/{created['id']}/messages"
        codes = [client.post(url, json={"text": f"hello {i}"}, headers=auth).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.post(url, json={"text": "again"}, headers=auth)
        assert "at most 3 per 60 seconds" in refused.json()["detail"] and refused.headers["Retry-After"] == "60"
        transcript = client.get(f"/api/v1/conversations/{created['id']}", headers=auth).json()["transcript"]
        assert [m["text"] for m in transcript if m["sender"] == "customer"] == ["hello 0", "hello 1", "hello 2"]
        assert client.post("/api/v1/conversations", json={}).status_code == 201
        assert client.post("/api/v1/conversations", json={}).status_code == 429
