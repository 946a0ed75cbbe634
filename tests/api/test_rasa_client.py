"""api.rasa_client with several Rasa servers: each conversation always talks to the same one, and the API is ready
only when every one answers."""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.rasa_client import RasaClient


def _rasa_server(number: int) -> ThreadingHTTPServer:
    """A stand-in Rasa REST channel on a free loopback port that says which server it is."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200, {"version": "stand-in"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._reply(200, [{"recipient_id": body["sender"], "text": f"server {number}"}])

        def _reply(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def two_servers():
    servers = [_rasa_server(0), _rasa_server(1)]
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def test_each_conversation_always_goes_to_the_same_server_and_both_get_some(two_servers):
    urls = ",".join(f"http://127.0.0.1:{server.server_address[1]}" for server in two_servers)

    async def talk() -> dict[str, set[str]]:
        client = RasaClient(urls, timeout=5)
        answered: dict[str, set[str]] = {}
        for turn in range(3):
            for n in range(20):
                replies = await client.send(f"conversation-{n}", f"turn {turn}", {"lang": "en"})
                answered.setdefault(f"conversation-{n}", set()).add(replies[0]["text"])
                assert replies[0]["text"] == f"server {client.server_for(f'conversation-{n}')}"
        await client.close()
        return answered

    answered = asyncio.run(talk())
    assert all(len(servers) == 1 for servers in answered.values())  # every turn of a conversation: one server
    assert set().union(*answered.values()) == {"server 0", "server 1"}


def test_ready_only_while_every_server_answers(two_servers):
    urls = ",".join(f"http://127.0.0.1:{server.server_address[1]}" for server in two_servers)

    async def ready() -> bool:
        client = RasaClient(urls, timeout=5)
        try:
            return await client.ready()
        finally:
            await client.close()

    assert asyncio.run(ready())
    two_servers[1].shutdown()
    two_servers[1].server_close()
    assert not asyncio.run(ready())
