"""Text-formatting parsers for the fake Telegram Bot API server (HTML, MarkdownV2, Markdown).

They mirror what the Bot API (TDLib's ``parse_html`` / ``parse_markdown_v2``) does closely enough to
catch escaping bugs in the bot: they return the plain text plus a list of MessageEntity dicts with
offsets/lengths in UTF-16 code units, or raise :class:`ParseError` with Telegram's wording (the caller
prefixes ``Bad Request: can't parse entities: ``).

Deliberate choices (see also the module docstring of ``tests.fake_telegram``):

* HTML: any ``<`` starts a tag, as in Telegram (``a < b`` fails with ``Unsupported start tag ""``).
  A bare ``>`` is kept literally, as in Telegram.
* HTML: the real server keeps an ``&`` that does not start ``&lt; &gt; &amp; &quot; &#NN; &#xNN;``
  literally, even though the documentation says it must be escaped. The fake is *stricter* by
  default (``strict_entities=True``) so un-escaped user content is caught in tests; pass
  ``strict_entities=False`` for Telegram's lenient behaviour.
* Unknown attributes are ignored; ``<a>`` without ``href`` produces no entity.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ParseError", "parse_html", "parse_markdown", "parse_markdown_v2", "strip_text", "u16len"]


class ParseError(ValueError):
    """Raised with the text that follows ``Bad Request: can't parse entities: ``."""


def u16len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units (what Telegram counts)."""
    return len(s) if s.isascii() else len(s.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim leading/trailing whitespace like Telegram does, shifting and clipping the entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = u16len(text) - u16len(text.lstrip())
    total = u16len(stripped)
    fixed: list[dict[str, Any]] = []
    for ent in entities:
        start = max(0, ent["offset"] - lead)
        end = min(total, ent["offset"] + ent["length"] - lead)
        if end > start:
            fixed.append({**ent, "offset": start, "length": end - start})
    return stripped, fixed


# --------------------------------------------------------------------------------------------- HTML

_HTML_SPECIAL = re.compile(r"[<&]")
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR = re.compile(r"""\s+([A-Za-z_][\w:.-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_TAG_CLOSE = re.compile(r"\s*>")
_END_TAG = re.compile(r"</\s*([A-Za-z][A-Za-z0-9-]*)?\s*>")
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_SUPPORTED_TAGS = {*_SIMPLE_TAGS, "a", "span", "code", "pre", "blockquote", "tg-emoji"}


def _decode_numeric(ref: str) -> str | None:
    code = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _unescape_attr(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref[0] == "#":
            return _decode_numeric(ref) or m.group(0)
        return _NAMED.get(ref, m.group(0))

    return _HTML_ENTITY.sub(repl, value) if "&" in value else value


def parse_html(src: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (plain text, entities)."""
    if "<" not in src and "&" not in src:
        return src, []
    out: list[str] = []
    pos16 = 0  # UTF-16 length of everything in ``out``
    # open tags: (tag name, entity type or None, start offset, extra entity fields)
    stack: list[tuple[str, str | None, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(src)
    while i < n:
        m = _HTML_SPECIAL.search(src, i)
        j = m.start() if m else n
        if j > i:
            chunk = src[i:j]
            out.append(chunk)
            pos16 += u16len(chunk)
        if m is None:
            break
        if src[j] == "&":
            em = _HTML_ENTITY.match(src, j)
            decoded: str | None = None
            if em is not None:
                ref = em.group(1)
                decoded = _decode_numeric(ref) if ref[0] == "#" else _NAMED.get(ref)
            if decoded is None:
                if strict_entities:
                    if em is not None:
                        raise ParseError(
                            f'Unsupported HTML entity "{em.group(0)}" at byte offset {_byte_offset(src, j)}'
                        )
                    raise ParseError(
                        f'Character "&" must be escaped as "&amp;" at byte offset {_byte_offset(src, j)}'
                    )
                out.append("&")
                pos16 += 1
                i = j + 1
                continue
            assert em is not None
            out.append(decoded)
            pos16 += u16len(decoded)
            i = em.end()
            continue

        # src[j] == "<": always a tag in Telegram
        if j + 1 < n and src[j + 1] == "/":
            em = _END_TAG.match(src, j)
            if em is None:
                raise ParseError(f"Unclosed end tag at byte offset {_byte_offset(src, j)}")
            name = (em.group(1) or "").lower()
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {_byte_offset(src, j)}")
            open_name, etype, start, extra = stack.pop()
            if name != open_name:
                raise ParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(src, j)}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            if open_name == "code" and stack and stack[-1][0] == "pre" and extra.get("language"):
                # <pre><code class="language-x">: the language goes to the pre entity
                stack[-1][3].setdefault("language", extra["language"])
                etype = None
            if etype is not None and pos16 > start:
                ent = {"type": etype, "offset": start, "length": pos16 - start}
                if open_name != "code":
                    ent.update(extra)
                entities.append(ent)
            i = em.end()
            continue

        tm = _TAG_NAME.match(src, j + 1)
        name = tm.group(0).lower() if tm else ""
        if name not in _SUPPORTED_TAGS:
            raise ParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, j)}')
        assert tm is not None
        k = tm.end()
        attrs: dict[str, str] = {}
        while True:
            am = _ATTR.match(src, k)
            if am is None:
                break
            value = am.group(2) if am.group(2) is not None else am.group(3)
            if value is None:
                value = am.group(4) or ""
            attrs[am.group(1).lower()] = _unescape_attr(value)
            k = am.end()
        cm = _TAG_CLOSE.match(src, k)
        if cm is None:
            if k < n and src[k] not in "> \t\r\n" and src[k] != "/":
                raise ParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {_byte_offset(src, j)}"
                )
            raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(src, j)}")
        i = cm.end()
        etype: str | None
        extra: dict[str, Any] = {}
        if name in _SIMPLE_TAGS:
            etype = _SIMPLE_TAGS[name]
        elif name == "span":
            if attrs.get("class") != "tg-spoiler":
                raise ParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, j)}'
                )
            etype = "spoiler"
        elif name == "a":
            href = attrs.get("href", "").strip()
            etype = "text_link" if href else None
            if href:
                extra["url"] = href
        elif name == "code":
            etype = "code"
            cls = attrs.get("class", "")
            if cls.startswith("language-") and len(cls) > 9:
                extra["language"] = cls[9:]
        elif name == "pre":
            etype = "pre"
        elif name == "blockquote":
            etype = "expandable_blockquote" if "expandable" in attrs else "blockquote"
        else:  # tg-emoji
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id:
                raise ParseError(
                    f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(src, j)}'
                )
            etype = "custom_emoji"
            extra["custom_emoji_id"] = emoji_id
        stack.append((name, etype, pos16, extra))

    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), _sort_entities(entities)


# ----------------------------------------------------------------------------------------- Markdown

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 (reserved characters must be escaped with a backslash)."""
    out: list[str] = []
    pos16 = 0
    entities: list[dict[str, Any]] = []
    # (entity type, start offset16, byte offset of the opening token)
    stack: list[tuple[str, int, int]] = []
    quote_start: int | None = None
    n = len(src)
    i = 0

    def emit(s: str) -> None:
        nonlocal pos16
        out.append(s)
        pos16 += u16len(s)

    def unterminated(kind: str, at: int) -> ParseError:
        return ParseError(f"Can't find end of {_ENTITY_NAMES.get(kind, kind)} entity at byte offset {at}")

    while i < n:
        c = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        if at_line_start and quote_start is not None and c != ">":
            # the blockquote ends with the previous line (the newline is not part of it)
            end = pos16 - 1 if out and out[-1].endswith("\n") else pos16
            if end > quote_start:
                entities.append({"type": "blockquote", "offset": quote_start, "length": end - quote_start})
            quote_start = None
        if c == ">" and at_line_start:
            if quote_start is None:
                quote_start = pos16
            i += 1
            continue
        if c == "\\" and i + 1 < n and ord(src[i + 1]) < 127:
            emit(src[i + 1])
            i += 2
            continue
        if c == "`":
            is_pre = src.startswith("```", i)
            opener = 3 if is_pre else 1
            k = i + opener
            body: list[str] = []
            while k < n:
                if src[k] == "\\" and k + 1 < n and src[k + 1] in "`\\":
                    body.append(src[k + 1])
                    k += 2
                    continue
                if src.startswith("```" if is_pre else "`", k):
                    break
                body.append(src[k])
                k += 1
            else:
                raise unterminated("pre" if is_pre else "code", _byte_offset(src, i))
            text = "".join(body)
            ent: dict[str, Any] = {"type": "pre" if is_pre else "code"}
            if is_pre:
                first, sep, rest = text.partition("\n")
                if sep and first and " " not in first:
                    ent["language"] = first
                    text = rest
                elif sep and not first:
                    text = rest
            start = pos16
            emit(text)
            if pos16 > start:
                ent.update(offset=start, length=pos16 - start)
                entities.append(ent)
            i = k + opener
            continue
        if c == "[" or (c == "!" and src.startswith("![", i)):
            stack.append(("custom_emoji" if c == "!" else "text_link", pos16, _byte_offset(src, i)))
            i += 2 if c == "!" else 1
            continue
        if c == "]" and stack and stack[-1][0] in ("text_link", "custom_emoji"):
            kind, start, at = stack.pop()
            if not src.startswith("(", i + 1):
                raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(src, i)}")
            k = i + 2
            url_chars: list[str] = []
            while k < n and src[k] != ")":
                if src[k] == "\\" and k + 1 < n:
                    url_chars.append(src[k + 1])
                    k += 2
                    continue
                url_chars.append(src[k])
                k += 1
            if k >= n:
                raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(src, i)}")
            url = "".join(url_chars)
            if pos16 > start:
                if kind == "custom_emoji":
                    emoji_id = url.partition("id=")[2]
                    entities.append(
                        {"type": kind, "offset": start, "length": pos16 - start, "custom_emoji_id": emoji_id}
                    )
                else:
                    entities.append({"type": kind, "offset": start, "length": pos16 - start, "url": url})
            i = k + 1
            continue
        token = src[i : i + 2] if src.startswith(("__", "||"), i) else c
        if token in _MD_TYPES:
            kind = _MD_TYPES[token]
            open_kinds = [s[0] for s in stack]
            if kind in open_kinds:
                if stack[-1][0] != kind:
                    top = stack[-1]
                    raise unterminated(top[0], top[2])
                _, start, _ = stack.pop()
                if pos16 > start:
                    entities.append({"type": kind, "offset": start, "length": pos16 - start})
            else:
                stack.append((kind, pos16, _byte_offset(src, i)))
            i += len(token)
            continue
        if c in _MDV2_RESERVED:
            raise ParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        emit(c)
        i += 1

    if stack:
        kind, _, at = stack[-1]
        raise unterminated(kind, at)
    if quote_start is not None and pos16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": pos16 - quote_start})
    return "".join(out), _sort_entities(entities)


_MD_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url); no nesting."""
    out: list[str] = []
    pos16 = 0
    entities: list[dict[str, Any]] = []
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "*_`[":
            out.append(src[i + 1])
            pos16 += 1
            i += 2
            continue
        if c in "*_`[":
            at = _byte_offset(src, i)
            if c == "[":
                close = src.find("](", i + 1)
                end = src.find(")", close + 2) if close >= 0 else -1
                if close < 0 or end < 0:
                    raise ParseError(f"Can't find end of the entity starting at byte offset {at}")
                text, url = src[i + 1 : close], src[close + 2 : end]
                entities.append({"type": "text_link", "offset": pos16, "length": u16len(text), "url": url})
                i = end + 1
            else:
                marker = "```" if src.startswith("```", i) else c
                end = src.find(marker, i + len(marker))
                if end < 0:
                    raise ParseError(f"Can't find end of the entity starting at byte offset {at}")
                text = src[i + len(marker) : end]
                ent: dict[str, Any] = {"type": _MD_LEGACY.get(c, "pre" if marker == "```" else "code")}
                if marker == "```":
                    first, sep, rest = text.partition("\n")
                    if sep and first and " " not in first:
                        ent["language"] = first
                        text = rest
                ent.update(offset=pos16, length=u16len(text))
                entities.append(ent)
                i = end + len(marker)
            out.append(text)
            pos16 += u16len(text)
            continue
        out.append(c)
        pos16 += u16len(c)
        i += 1
    return "".join(out), _sort_entities([e for e in entities if e["length"] > 0])
