"""Objects built once around a key and kept in this process's memory: the TLS clients of named
credentials, the xmlsec key managers of the SAML Assertion Consumer Service and Identity
Provider. Building them is the expensive part of their use (a TLS context loads its trust
store; every xmlsec key manager loads the system's CA bundle, ~20 ms, more than the RSA
decryption it then serves), so each is built on first use and reused.

A held object may hold an unsealed private key. It lives in this process's memory only, like
any key in use (SPEC section 8: never stored, logged, rendered or returned); the cache is
bounded, least recently used first out, and a key's cache key changes when the key or what
it serves changes (callers put a fingerprint or modification time in it), so a replaced key
is never served again. It is not dropped at once either: it stays until enough newer entries
push it out (or the process restarts), like any object a worker thread still references.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Held(Generic[V]):
    """A bounded least-recently-used cache of objects built by `build()`. `per_thread` gives
    each thread its own entries (for objects that must not be used by two threads at once);
    `close` is called on an entry that falls out."""

    def __init__(
        self,
        size: int,
        *,
        per_thread: bool = False,
        close: Callable[[V], None] | None = None,
    ) -> None:
        self.size = size
        self._close = close
        self._lock = threading.Lock()
        self._shared: OrderedDict[Hashable, V] | None = None if per_thread else OrderedDict()
        self._local = threading.local()
        self._generation = 0  # clear() starts every thread's entries afresh

    def _entries(self) -> OrderedDict[Hashable, V]:
        if self._shared is not None:
            return self._shared
        mine: tuple[int, OrderedDict[Hashable, V]] | None = getattr(self._local, "mine", None)
        if mine is None or mine[0] != self._generation:
            mine = self._local.mine = (self._generation, OrderedDict())
        return mine[1]

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The entry for `key`, built by `build()` (outside the lock) on first use."""
        entries = self._entries()
        with self._lock:
            found = entries.get(key)
            if found is not None:
                entries.move_to_end(key)
                return found
        built = build()
        with self._lock:
            found = entries.setdefault(key, built)
            entries.move_to_end(key)
            dropped = [entries.popitem(last=False)[1] for _ in range(len(entries) - self.size)]
        if found is not built:  # another thread built the same entry first
            dropped.append(built)
        for entry in dropped:
            if self._close is not None:
                self._close(entry)
        return found

    def __len__(self) -> int:
        return len(self._entries())

    def clear(self) -> None:
        """Forget every entry, in every thread (per-thread entries are dropped, not closed)."""
        with self._lock:
            self._generation += 1
            dropped = list(self._shared.values()) if self._shared is not None else []
            if self._shared is not None:
                self._shared.clear()
        for entry in dropped:
            if self._close is not None:
                self._close(entry)
