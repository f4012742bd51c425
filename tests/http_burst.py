"""Many HTTP requests at once against real servers (races across threads, processes and servers)."""
from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass


@dataclass
class Call:
    address: tuple[str, int]
    method: str
    path: str
    body: bytes | None
    headers: dict


def at_once(calls: list[Call]) -> list[tuple[int | None, str, object]]:
    """Send every call at once, one thread and one connection each, released by one barrier once connected.
    Returns (status, Location header, decoded body) in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def send(index: int, call: Call) -> None:
        connection = http.client.HTTPConnection(*call.address, timeout=120)
        try:
            connection.connect()
            barrier.wait(timeout=60)
            connection.request(call.method, call.path, body=call.body, headers=call.headers)
            response = connection.getresponse()
            raw = response.read().decode("utf-8", "replace")
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = raw[:300]
            answers[index] = (response.status, response.getheader("Location", ""), decoded)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertion
            answers[index] = (None, "", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return answers
