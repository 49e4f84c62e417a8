"""Helpers shared by the course-API tests of modules 05, 14 and 15."""

from __future__ import annotations

from tests.sse import parse_sse

__all__ = ["parse_sse", "publish", "web_chat", "text"]


def publish(client, auth, app_id: str) -> str:
    """Publish ``app_id`` → its web app token (§1.19)."""
    assert client.post(f"/apps/{app_id}/publish", headers=auth).status_code == 200
    data = client.get(f"/apps/{app_id}/published-config", headers=auth).get_json()["data"]
    assert data["web_app"]["status"] == "published"
    return data["web_app"]["token"]


def web_chat(client, headers, token: str, query: str, conversation_id: str = "") -> list[tuple[str, dict]]:
    """A whole §15.2 stream → its events."""
    response = client.post(f"/web-apps/{token}/chat", json={"conversation_id": conversation_id, "query": query},
                           headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return parse_sse(response.get_data(as_text=True))


def text(events: list[tuple[str, dict]]) -> str:
    return "".join(d["answer"] for e, d in events if e == "agent_message")
