"""The API's event list reads a page in a fixed number of queries, whatever its size
(it was about seven per event: clienteles, plan items, partners, territory, organizer,
children count)."""

from __future__ import annotations

import pytest
from tortoise import connections

from tests.registrations.helpers import published_event


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        client = type(connections.get("default"))
        for name in ("execute_query", "execute_query_dict"):
            original = getattr(client, name)

            async def counted(conn, *args, _original=original, **kwargs):
                self.count += 1
                return await _original(conn, *args, **kwargs)

            monkeypatch.setattr(client, name, counted)


async def _events(n: int, start: int) -> None:
    edition = await published_event(title=f"Édition {start}", clienteles=["youth"])
    for i in range(start, start + n):
        await published_event(
            title=f"Activité {i}",
            clienteles=["youth", "schools"],
            parent_id=edition.id if i % 2 else None,
        )


async def _queries(client, monkeypatch, per_page: int) -> tuple[int, int]:
    counter = QueryCounter()
    with monkeypatch.context() as patch:
        counter.install(patch)
        response = await client.get("/api/v1/events", params={"per_page": per_page})
    assert response.status_code == 200
    return counter.count, len(response.json()["items"])


async def test_event_list_queries_do_not_grow_with_the_page(client, monkeypatch):
    await _events(4, 0)
    small, shown_small = await _queries(client, monkeypatch, 3)
    await _events(20, 100)
    large, shown_large = await _queries(client, monkeypatch, 24)
    assert (shown_small, shown_large) == (3, 24)
    assert large == small, (small, large)
    body = (await client.get("/api/v1/events", params={"per_page": 50})).json()
    by_title = {item["title"]: item for item in body["items"]}
    assert by_title["Édition 100"]["children_count"] == 10
    assert by_title["Activité 101"]["clienteles"] == ["youth", "schools"]
    assert by_title["Activité 101"]["territory"] == "2462"
