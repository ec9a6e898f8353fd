"""A TCP relay: ``python -m tests.hosts.relay LISTEN_HOST:PORT TARGET_HOST:PORT``.

The workers send Salesforce credentials over plain HTTP only to loopback (HTTPS
everywhere else), and the mock org speaks plain HTTP. So each worker host runs this relay
on its own loopback, forwarding to the mock org's host across the switch: the workers'
traffic to "Salesforce" still crosses the host's cable and suffers its faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*target), 5)
        except (OSError, TimeoutError):
            writer.close()
            return
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))

    server = await asyncio.start_server(handle, *listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(_address(sys.argv[1]), _address(sys.argv[2])))
