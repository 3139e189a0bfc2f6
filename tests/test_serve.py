"""`kpitui serve`: the same board in a browser, on loopback only, with a warning; no board outlives its session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import AS_OF

BOARD_EXIT = 5.0  # seconds a board may take to leave once its session or server is gone (it aims for 2)


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


def _descendants(pid: int) -> list[int]:
    """The processes below `pid` (the shell textual-serve starts, and the board under it), from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


async def _exited(pids: list[int], within: float) -> bool:
    """Whether every process exits within `within` seconds (each watched through a pidfd, no polling)."""
    loop = asyncio.get_running_loop()
    waits = []
    for pid in pids:
        try:
            handle = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # gone already
        done = loop.create_future()
        loop.add_reader(handle, lambda done=done: done.done() or done.set_result(None))
        waits.append((handle, done))
    try:
        await asyncio.wait_for(asyncio.gather(*(done for _, done in waits)), within)
        return True
    except TimeoutError:
        return False
    finally:
        for handle, _ in waits:
            loop.remove_reader(handle)
            os.close(handle)


@contextlib.asynccontextmanager
async def _server(tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """`kpitui serve --demo` on a free port, once it says it is serving; stopped after."""
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kpitui", "serve", "--demo", "--as-of", AS_OF.isoformat(), "--data-dir", str(tmp_path),
        "--port", str(port), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        warning = await asyncio.wait_for(server.stderr.readline(), 30)
        assert b"NO authentication" in warning and f"127.0.0.1:{port}".encode() in warning
        while b"Serving" not in await asyncio.wait_for(server.stdout.readline(), 30):
            pass
        yield server, port
    finally:
        if server.returncode is None:
            server.terminate()
        await server.wait()


async def _board_drawn(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read the session until the board's tabs are on its screen."""
    screen = ""
    async with asyncio.timeout(60):
        while "Revenue" not in screen or "Support" not in screen:
            message = await ws.receive()
            assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
            data = message.data
            screen += data if isinstance(data, str) else data.decode("utf-8", "replace")


async def test_serve_shows_the_board_in_a_browser_on_loopback(tmp_path):
    async with _server(tmp_path) as (_, port), aiohttp.ClientSession() as session:
        page = await _connect(f"http://127.0.0.1:{port}/", session)
        assert page.status == 200 and "kpitui" in await page.text()
        async with session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=120&height=40") as ws:
            await _board_drawn(ws)
        other = socket.gethostbyname(socket.gethostname())
        if other != "127.0.0.1":
            with pytest.raises(ConnectionRefusedError):  # nothing listens on this machine's other address
                socket.create_connection((other, port), timeout=2).close()


@pytest.mark.parametrize("lost", ["browser closes mid-session", "server killed"])
async def test_no_board_outlives_its_session(tmp_path, lost):
    """The browser goes away while the board is drawing, or the server dies under it (SIGKILL: it can tell nobody):
    the board process leaves within seconds either way, not spinning on at 100 % CPU."""
    async with _server(tmp_path) as (server, port), aiohttp.ClientSession() as session:
        await _connect(f"http://127.0.0.1:{port}/", session)
        ws = await session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=120&height=40")
        await _board_drawn(ws)
        board = _descendants(server.pid)
        assert board, "the server started no board"
        if lost == "server killed":
            server.send_signal(signal.SIGKILL)
            await server.wait()
        await ws.close()
        try:
            assert await _exited(board, BOARD_EXIT), f"board processes {board} still running after {BOARD_EXIT} s"
        finally:
            for pid in board:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
