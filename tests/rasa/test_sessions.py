"""bot.rasa_ext.sessions: calls to an endpoint reuse one connection, and survive the other side restarting; stock
Rasa opens one per call."""

import asyncio
import socket

import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext.sessions import KEPT_ON_ENDPOINT, kept_session


class Server:
    """A webhook on loopback that answers with the number it was sent and notes each call's client port."""

    def __init__(self, port: int) -> None:
        self.port, self.peers = port, []

    async def _answer(self, request: web.Request) -> web.Response:
        self.peers.append(request.transport.get_extra_info("peername")[1])
        return web.json_response({"n": (await request.json())["n"]})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhook", self._answer)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def calls(endpoint: EndpointConfig, numbers: range) -> list:
    return [await endpoint.request(json={"n": n}) for n in numbers]


@pytest.mark.parametrize("kept", [True, False], ids=["kept session", "stock Rasa"])
def test_calls_to_an_endpoint_reuse_one_connection_and_survive_the_other_side_restarting(kept):
    if kept:
        EndpointConfig.session = kept_session  # put back after the test (conftest)

    async def conversation() -> list[int]:
        server = Server(free_port())
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook", token="t")
        await server.start()
        assert await calls(endpoint, range(3)) == [{"n": 0}, {"n": 1}, {"n": 2}]
        first = len(set(server.peers))
        await server.stop()  # the other side restarts: its connections close
        await server.start()
        assert await calls(endpoint, range(3, 5)) == [{"n": 3}, {"n": 4}]
        await server.stop()
        if kept:
            await endpoint.__dict__[KEPT_ON_ENDPOINT].close()
        return [first, len(set(server.peers))]

    assert asyncio.run(conversation()) == ([1, 2] if kept else [3, 5])


def test_each_endpoint_and_each_copy_has_a_session_of_its_own():
    async def sessions() -> None:
        one, other = EndpointConfig("http://127.0.0.1:1/a"), EndpointConfig("http://127.0.0.1:1/b")
        async with kept_session(one) as a, kept_session(one) as again, kept_session(other) as b:
            assert a is again and a is not b and not a.closed
        copy = one.copy()
        async with kept_session(copy) as c:
            assert c is not a
        await a.close()
        async with kept_session(one) as new:  # a closed session is replaced
            assert new is not a and not new.closed
        for endpoint in (one, other, copy):
            await endpoint.__dict__[KEPT_ON_ENDPOINT].close()

    asyncio.run(sessions())
