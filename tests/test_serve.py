"""`kpitui serve`: the same board in a browser, on loopback only, with a warning."""

from __future__ import annotations

import asyncio
import socket
import sys

import aiohttp
import pytest

from tests.conftest import AS_OF


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _connect(url: str, session: aiohttp.ClientSession) -> aiohttp.ClientResponse:
    """GET the page, retrying while the server binds (it says "Serving" just before)."""
    for _ in range(50):
        try:
            return await session.get(url)
        except aiohttp.ClientConnectorError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


async def test_serve_shows_the_board_in_a_browser_on_loopback(tmp_path):
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kpitui",
        "serve",
        "--demo",
        "--as-of",
        AS_OF.isoformat(),
        "--data-dir",
        str(tmp_path),
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        warning = await asyncio.wait_for(server.stderr.readline(), 30)
        assert b"NO authentication" in warning and f"127.0.0.1:{port}".encode() in warning
        while b"Serving" not in await asyncio.wait_for(server.stdout.readline(), 30):
            pass
        async with aiohttp.ClientSession() as session:
            page = await _connect(f"http://127.0.0.1:{port}/", session)
            assert page.status == 200 and "kpitui" in await page.text()
            screen = ""
            async with session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=120&height=40") as ws:
                async with asyncio.timeout(60):
                    while "Revenue" not in screen or "Support" not in screen:
                        message = await ws.receive()
                        assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
                        data = message.data
                        screen += data if isinstance(data, str) else data.decode("utf-8", "replace")
        other = socket.gethostbyname(socket.gethostname())
        if other != "127.0.0.1":
            with pytest.raises(ConnectionRefusedError):  # nothing listens on this machine's other address
                socket.create_connection((other, port), timeout=2).close()
    finally:
        server.terminate()
        await server.wait()
