"""Typed signals: how one package reacts to another's changes without importing it.

The package that owns a change declares a `Signal` with the type of its payload (a frozen
dataclass) and only *sends* it; the packages that must react *connect* a receiver at
start-up (each package's `receivers.connect(settings)`, called by `core.db.load_packages`).
Every signal declared here is listed in `SIGNALS`, so a test can assert after start-up
that each signal marked `required` has at least one receiver: a hook list nobody fills
can no longer go unnoticed.

A receiver may be a plain function or a coroutine function; `send` awaits the latter
and returns the receivers' results in connection order. A keyed signal (`keyed=True`)
dispatches on a key given at connection and at sending (the name of an attachment maker,
say): exactly one receiver per key, and `call` reaches it synchronously.

Receivers run in the sender's transaction, in the sender's task: an exception in a
receiver aborts the sending operation (nothing half-written), as the hooks did before.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

P = TypeVar("P")  # the payload type
R = TypeVar("R")  # what each receiver returns

Receiver = Callable[[P], "R | Awaitable[R]"]

# Every signal declared in the application, by name (filled as modules are imported).
SIGNALS: dict[str, Signal[Any, Any]] = {}


class Signal(Generic[P, R]):
    """A named signal carrying payloads of type `payload`."""

    def __init__(
        self,
        name: str,
        payload: type[P],
        *,
        doc: str,
        required: bool = True,
        keyed: bool = False,
    ) -> None:
        if name in SIGNALS:
            raise ValueError(f"signal {name!r} is declared twice")
        self.name = name
        self.payload = payload
        self.doc = doc
        self.required = required
        self.keyed = keyed
        self._receivers: dict[str, Callable[[P], Any]] = {}
        SIGNALS[name] = self

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._receivers)} receivers)>"

    @staticmethod
    def _identity(receiver: Callable[..., Any]) -> str:
        return f"{receiver.__module__}.{receiver.__qualname__}"

    def connect(
        self, receiver: Callable[[P], R] | Callable[[P], Awaitable[R]], *, key: str | None = None
    ) -> None:
        """Connect `receiver` (idempotent: connecting it again replaces it, keeps its place)."""
        if self.keyed != (key is not None):
            raise TypeError(f"signal {self.name!r}: key {'required' if self.keyed else 'unused'}")
        self._receivers[key if key is not None else self._identity(receiver)] = receiver

    def disconnect(
        self,
        receiver: Callable[[P], R] | Callable[[P], Awaitable[R]] | None = None,
        *,
        key: str | None = None,
    ) -> None:
        name = key if key is not None else self._identity(receiver) if receiver else ""
        self._receivers.pop(name, None)

    @property
    def receivers(self) -> list[str]:
        """The connected receivers (keys for a keyed signal), in connection order."""
        return list(self._receivers)

    def has(self, key: str) -> bool:
        return key in self._receivers

    async def send(self, payload: P) -> list[R]:
        """Call every receiver with `payload`, in order; awaits coroutine receivers."""
        if not isinstance(payload, self.payload):
            raise TypeError(f"signal {self.name!r} carries {self.payload.__name__}")
        results: list[R] = []
        for receiver in list(self._receivers.values()):
            result = receiver(payload)
            if inspect.isawaitable(result):
                result = await result
            results.append(result)
        return results

    def call(self, key: str, payload: P) -> R:
        """A keyed signal's receiver for `key`, called synchronously (LookupError if none)."""
        if not self.keyed:
            raise TypeError(f"signal {self.name!r} is not keyed")
        receiver = self._receivers.get(key)
        if receiver is None:
            raise LookupError(f"signal {self.name!r}: no receiver for {key!r}")
        result: R = receiver(payload)
        return result


def unconnected() -> list[str]:
    """Names of the required signals that have no receiver (empty once the app started)."""
    return sorted(name for name, sig in SIGNALS.items() if sig.required and not sig.receivers)
