"""Response headers as tests want to read them: by any capitalisation, repeats kept.

A response's header section is an ordered list of ``(name, value)`` pairs in which a
name may repeat (``Set-Cookie``, ``Vary``). :class:`Headers` is a read-only mapping over
that list: lookups ignore case, ``headers[name]`` joins repeated fields with ``", "``
the way RFC 9110 §5.3 allows a recipient to combine them, and :meth:`Headers.get_all`
returns each field value separately (the only correct way to read ``Set-Cookie``, whose
values may themselves contain commas).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

__all__ = ["Headers"]


class Headers(Mapping[str, str]):
    """A case-insensitive, read-only view of a list of header pairs."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs: list[tuple[str, str]] = list(pairs)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field ``name``, in the order received (empty if absent)."""
        wanted = name.lower()
        return [value for key, value in self._pairs if key.lower() == wanted]

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        wanted = name.lower()
        return any(key.lower() == wanted for key, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        # Each field name once, spelled as it was first received.
        seen: set[str] = set()
        for key, _ in self._pairs:
            folded = key.lower()
            if folded not in seen:
                seen.add(folded)
                yield key

    def __len__(self) -> int:
        return len({key.lower() for key, _ in self._pairs})

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"
