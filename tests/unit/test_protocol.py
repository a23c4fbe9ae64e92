"""The hardened JSON-RPC layer: notification futures are forgotten, answers always come."""

import asyncio
import logging

from fake_engine import FakeEngine

from codels.lsp.server import create_server


async def test_notification_futures_are_forgotten_and_checked_once(caplog):
    server = create_server(engine=FakeEngine())
    protocol = server.protocol
    seen: list[int] = []

    async def coroutine_handler(value: int) -> None:
        seen.append(value)

    def generator_handler(value: int):
        seen.append(value)
        yield from ()

    with caplog.at_level(logging.WARNING):
        for n, handler in enumerate([coroutine_handler, generator_handler] * 50):
            protocol._execute_handler(
                msg_id=f"notification-{n}",
                handler=handler,
                callback=protocol._check_handler_result,
                args=(n,),
            )
        await asyncio.sleep(0.1)
    assert sorted(seen) == list(range(100))
    assert not [key for key in protocol._request_futures if str(key).startswith("notification")]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
