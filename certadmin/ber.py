"""A bounded walk over BER (and so DER) data: find and count elements, never decode contents.

Pure Python, no Django. certadmin/keystores.py reads the layout of an uploaded PKCS#12 with it
(and the parameters of a JCEKS key), so that reading costs at most a known number of headers.

Why not a library: pyasn1 decodes every element of a SEQUENCE OF before a caller can count
them (some 15 us an element: a 1 MiB PFX of 52,000 empty SafeContents took 4 s), asn1crypto
parses every child header of a SEQUENCE OF on first access, and ``cryptography`` decodes PKCS#12
in Rust only behind the password and returns no counts. None of them takes a limit. This walker
reads identifier and length octets only, stops at a caller's limit, and charges every header it
reads to a budget, so what it costs is bounded whatever the file claims: about 1 us a header.
Its callers read the few values they need (OIDs, INTEGERs, a BMPString) straight from the
contents octets; everything else, keys and certificates included, goes to `cryptography`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

_CONSTRUCTED = 0x20
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
BMP_STRING = 0x1E
_OCTET_STRING_CONSTRUCTED = OCTET_STRING | _CONSTRUCTED


class BerError(ValueError):
    """The data is not well-formed BER (truncated, lengths past the end, ...)."""


class BerLimitError(ValueError):
    """A limit was reached: `what` names it ("elements", "depth" or the caller's name)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"more than {limit} {what}")
        self.what, self.limit = what, limit


class Element(NamedTuple):  # a tuple: made per header read, it must be cheap to build
    """One element of `buf` from `offset`: identifier octet `tag`, contents buf[start:end],
    the next element at `after`."""

    buf: bytes
    offset: int
    tag: int
    start: int
    end: int
    after: int
    depth: int

    @property
    def constructed(self) -> bool:
        return bool(self.tag & _CONSTRUCTED)

    @property
    def content(self) -> bytes:
        return self.buf[self.start : self.end]

    @property
    def encoded(self) -> bytes:
        """The whole element, header included."""
        return self.buf[self.offset : self.after]


class Walker:
    """Reads element headers, at most `max_elements` in all and `max_depth` levels deep."""

    def __init__(self, *, max_elements: int, max_depth: int) -> None:
        self.left = max_elements
        self.max_elements = max_elements
        self.max_depth = max_depth

    def element(self, buf: bytes, pos: int = 0, end: int | None = None, depth: int = 0) -> Element:
        """The element at buf[pos:]; an indefinite length is resolved by walking its children."""
        end = len(buf) if end is None else end
        if self.left <= 0:
            raise BerLimitError("elements", self.max_elements)
        self.left -= 1
        if depth > self.max_depth:
            raise BerLimitError("depth", self.max_depth)
        if pos + 2 > end:
            raise BerError("truncated")
        offset, tag, first = pos, buf[pos], buf[pos + 1]
        if tag & 0x1F == 0x1F:
            raise BerError("high tag number")  # PKCS#12 and its parts use none
        pos += 2
        if first == 0x80:  # indefinite length: children up to an end-of-contents (00 00)
            if not tag & _CONSTRUCTED:
                raise BerError("indefinite length on a primitive element")
            start = pos
            while True:
                if pos + 2 > end:
                    raise BerError("no end-of-contents")
                if buf[pos] == 0 and buf[pos + 1] == 0:
                    return Element(buf, offset, tag, start, pos, pos + 2, depth)
                pos = self.element(buf, pos, end, depth + 1).after
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count > 4 or pos + count > end:  # 4 octets already say 4 GiB
                raise BerError("length too long")
            length = int.from_bytes(buf[pos : pos + count], "big")
            pos += count
        if length > end - pos:
            raise BerError("length past the end")
        return Element(buf, offset, tag, pos, pos + length, pos + length, depth)

    def iter_children(self, parent: Element) -> Iterator[Element]:
        """The children of a constructed element, one header read at a time."""
        if not parent.constructed:
            raise BerError("expected a constructed element")
        pos = parent.start
        while pos < parent.end:
            child = self.element(parent.buf, pos, parent.end, parent.depth + 1)
            yield child
            pos = child.after

    def children(self, parent: Element, *, limit: int, what: str) -> list[Element]:
        """The children of a constructed element; BerLimitError(what) past `limit` of them."""
        found: list[Element] = []
        for child in self.iter_children(parent):
            if len(found) == limit:
                raise BerLimitError(what, limit)
            found.append(child)
        return found

    def only_child(self, parent: Element) -> Element:
        """The one child of an EXPLICIT tag ([0] of a ContentInfo or a SafeBag)."""
        if not parent.constructed or parent.start >= parent.end:
            raise BerError("expected a child")
        child = self.element(parent.buf, parent.start, parent.end, parent.depth + 1)
        if child.after != parent.end:
            raise BerError("expected exactly one child")
        return child

    def octets(self, element: Element) -> bytes:
        """The value of an OCTET STRING, primitive or (BER, as Windows writes) in segments."""
        if element.tag == OCTET_STRING:
            return element.content
        if element.tag != _OCTET_STRING_CONSTRUCTED:
            raise BerError("expected an OCTET STRING")
        return b"".join(self.octets(segment) for segment in self.iter_children(element))

    def tree(self, element: Element, *, limit: int, what: str) -> int:
        """Count `element` and every element inside its constructed descendants (primitive
        contents, e.g. an encrypted blob or a certificate in an OCTET STRING, are not entered)."""
        count, pending = 1, [element] if element.constructed else []
        while pending:
            for child in self.iter_children(pending.pop()):
                count += 1
                if count > limit:
                    raise BerLimitError(what, limit)
                if child.constructed:
                    pending.append(child)
        return count
