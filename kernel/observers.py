"""One registry shape for "tell whoever cares": plant events, exception changes.

Observers register in their ``AppConfig.ready()`` and are called in the changing
transaction, in registration order; they write their rows there, enqueue with on_commit,
and must tolerate seeing the same thing twice (a retried event after a rollback).
"""

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, name: str):
        self.name = name
        self._observers: list[Callable[[T], None]] = []

    def register(self, fn: Callable[[T], None]) -> Callable[[T], None]:
        """Add ``fn`` (usable as a decorator; registering twice is a no-op)."""
        if fn not in self._observers:
            self._observers.append(fn)
        return fn

    def unregister(self, fn: Callable[[T], None]) -> None:
        if fn in self._observers:
            self._observers.remove(fn)

    def notify(self, item: T) -> None:
        for observer in list(self._observers):
            observer(item)

    def __repr__(self) -> str:
        return f"<Registry {self.name}: {len(self._observers)} observers>"
