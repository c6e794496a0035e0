"""Bytes to text: a BOM, the declared charset, UTF-8 (even with a few bad bytes), else a careful guess.

Binary files renamed to a text extension are refused here, before any parser sees them.
"""

from __future__ import annotations

import codecs
import logging

import charset_normalizer

from rag.errors import LoadError

log = logging.getLogger(__name__)

_SNIFF_BYTES = 8192
# Signatures of common binary formats, for files renamed to a text extension.
BINARY_MAGIC = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF-", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF", b"RIFF", b"OggS"
)
_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Without a BOM, charset-normalizer happily reads short Latin-1 text as UTF-16: only trust UTF-16/32 with a BOM.
_NO_GUESS = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]


def decode(source: str, data: bytes, declared: str | None = None) -> str:
    """Text from bytes: BOM, then the declared charset, then UTF-8, then charset-normalizer's best guess."""
    if data.startswith(BINARY_MAGIC):
        raise LoadError(source, "file looks binary, not text")
    text = _decode_with_bom(data)
    if text is None:
        text = _decode_declared(data, declared)
    if text is None:
        if b"\x00" in data[:_SNIFF_BYTES]:
            raise LoadError(source, "file looks binary, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _damaged_utf8(source, data) or _guess_encoding(source, data)
    text = text.removeprefix("\ufeff")  # a declared UTF-8 charset leaves the BOM in
    if "\x00" in text:  # anywhere: a NUL past the first block would otherwise reach the store
        raise LoadError(source, "file looks binary, not text")
    if not text.strip():
        raise LoadError(source, "file is empty")
    return text


def _decode_with_bom(data: bytes) -> str | None:
    for bom, codec in _UTF16_32_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    return None


def _decode_declared(data: bytes, declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        return data.decode(declared)
    except (LookupError, UnicodeDecodeError):
        return None


def _damaged_utf8(source: str, data: bytes) -> str | None:
    """UTF-8 with a few bad bytes (a cut or garbled copy): the text, each bad byte shown as U+FFFD.

    Only when there are well-formed multi-byte characters, at least as many as bad bytes: legacy 8-bit text
    (Latin-1, Windows-1252) almost never forms valid UTF-8 sequences, so it still goes to the encoding guess,
    while a UTF-8 article with a stray byte is not read as Latin-2 mojibake from its first accent on.
    """
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    well_formed = sum(1 for char in text if char > "\x7f") - bad
    if not well_formed or bad > well_formed:
        return None
    log.warning("%s: %d bytes are not valid UTF-8; each is shown as U+FFFD", source, bad)
    return text


def _guess_encoding(source: str, data: bytes) -> str:
    """charset-normalizer's best guess, preferring Windows-1252 among equally good ones.

    Short Western text ("café") decodes cleanly in dozens of code pages and the first of them is often an
    exotic one (cp1006, Urdu); Windows-1252 is by far the most common legacy encoding of news text.
    """
    matches = charset_normalizer.from_bytes(data, cp_exclusion=_NO_GUESS)
    best = matches.best()
    if best is None:
        raise LoadError(source, "cannot detect the text encoding; save the file as UTF-8")
    for match in matches:
        if (match.chaos, match.coherence) == (best.chaos, best.coherence) and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252")
    return str(best)
