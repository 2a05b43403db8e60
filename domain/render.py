"""The one renderer: every message the bot sends is built here from plain text.

Outside strings are escaped exactly once, here, and only the renderer writes tags. Every message is
checked against Telegram's limits: ≤ 4096 characters of visible text (UTF-16 units, after entities
are parsed) and callback data ≤ 64 bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domain.figures import blindspot, leaning_bar, percent, rank_change, thread_age
from domain.schedule import EXAMPLES
from domain.story import Story

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
BUTTON_TEXT = 60
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Button:
    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    """A message ready to send: HTML text and rows of inline buttons."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())


# --- escaping and measuring -------------------------------------------------------------------


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def italic(text: str) -> str:
    return f"<i>{esc(text)}</i>"


def link(text: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{esc(text)}</a>'


def visible_length(markup: str) -> int:
    """Length as Telegram counts it: tags removed, entities decoded, in UTF-16 code units."""
    plain = html.unescape(_TAG.sub("", markup))
    return len(plain.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, never inside a surrogate pair's worth of meaning."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def button(text: str, data: str) -> Button:
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return Button(shorten(text, BUTTON_TEXT) or "…", data=data)


# --- callback data: short integer keys, so any thread id fits in 64 bytes --------------------


def card_data(key: int) -> str:
    return f"c:{key}"


def question_data(key: int, index: int) -> str:
    return f"q:{key}:{index}"


def brief_data(key: int) -> str:
    return f"b:{key}"


def sources_data(key: int) -> str:
    return f"s:{key}"


TRENDING_DATA = "t"


# --- story card -------------------------------------------------------------------------------


def _figures_line(story: Story) -> str:
    parts: list[str] = []
    if story.rank is not None:
        change = rank_change(story.rank, story.previous_rank)
        parts.append(f"#{story.rank}" + (f" {change}" if change else ""))
    if story.virality is not None:
        parts.append(f"🔥 {story.virality:g} virality")
    if story.article_count is not None:
        parts.append(f"📰 {story.article_count} article{'s' if story.article_count != 1 else ''}")
    age = thread_age(story.first_seen)
    if age:
        parts.append(f"🕒 {age} old")
    return esc(" · ".join(parts))


def _coverage_lines(story: Story) -> list[str]:
    lines: list[str] = []
    if story.leaning:
        bar = leaning_bar(story.leaning)
        shares = " · ".join(
            f"{label} {percent(float(story.leaning[key]))}"
            for key, label in (("left", "Left"), ("center", "Center"), ("right", "Right"))
            if key in story.leaning
        )
        lines.append(f"{bold('Coverage')} {bar}\n{esc(shares)}")
        side = blindspot(story.leaning)
        if side:
            lines.append(
                esc(
                    f"⚠️ Blindspot: only {percent(float(story.leaning[side]))} of the coverage comes from "
                    f"{side}-leaning outlets."
                )
            )
    if story.regions:
        regions = " · ".join(f"{name} {percent(float(share))}" for name, share in story.regions.items())
        lines.append(f"{bold('Regions')} {esc(regions)}")
    return lines


def _card_html(story: Story, summary: str, perspectives: dict[str, str], header: str = "") -> str:
    blocks = [f"{header}\n{bold(story.title)}" if header else bold(story.title)]
    figures = _figures_line(story)
    if figures:
        blocks[0] += "\n" + figures
    blocks.append(esc(summary))
    views = [
        f"{bold(label)}: {esc(perspectives[key])}"
        for key, label in (("left", "Left"), ("center", "Center"), ("right", "Right"))
        if key in perspectives
    ]
    if views:
        blocks.append("\n\n".join(views))
    coverage = _coverage_lines(story)
    if coverage:
        blocks.append("\n".join(coverage))
    if story.ai_generated:
        blocks.append(italic("Generated by AI from the coverage."))
    return "\n\n".join(blocks)


def card_buttons(story: Story) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = [
        (button(f"❓ {q}", question_data(story.key, i)),) for i, (q, _a) in enumerate(story.qa)
    ]
    extra: list[Button] = []
    if story.brief:
        extra.append(button("📖 Full brief", brief_data(story.key)))
    if story.articles:
        extra.append(button("🔗 Sources", sources_data(story.key)))
    if extra:
        rows.append(tuple(extra))
    return tuple(rows)


def story_card(story: Story, header: str = "") -> Reply:
    """The card: figures, summary, framing, coverage split. Long fields shrink until it fits.

    `header` (markup, e.g. the breaking-news line) goes above the title and counts toward the limit."""
    summary = story.summary
    perspectives = dict(story.perspectives)
    text = _card_html(story, summary, perspectives, header)
    while visible_length(text) > MAX_TEXT:
        # Shrink whichever text is longest; the full texts stay in the brief and the stored data.
        fields = {"summary": summary, **perspectives}
        longest = max(fields, key=lambda k: len(fields[k]))
        new = shorten(fields[longest], int(len(fields[longest]) * 0.8))
        if longest == "summary":
            summary = new
        else:
            perspectives[longest] = new
        text = _card_html(story, summary, perspectives, header)
    return Reply(text, card_buttons(story))


# --- brief, sources, answers ------------------------------------------------------------------


def split_paragraphs(header: str, paragraphs: Sequence[str], limit: int = MAX_TEXT) -> list[str]:
    """Pack escaped paragraphs into messages ≤ limit, splitting only between paragraphs.

    A single paragraph longer than a message (not possible with feed limits, but text is text) is
    split on sentence, then word boundaries.
    """
    pieces: list[str] = []
    for paragraph in paragraphs:
        pieces.extend(_split_long(paragraph, limit - visible_length(header) - 16))
    pages: list[str] = []
    current = header
    for piece in pieces:
        candidate = f"{current}\n\n{esc(piece)}" if current else esc(piece)
        if visible_length(candidate) <= limit:
            current = candidate
            continue
        pages.append(current)
        current = esc(piece)
    if current:
        pages.append(current)
    return pages


def _split_long(text: str, limit: int) -> list[str]:
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return [text]
    out: list[str] = []
    rest = text
    while len(rest.encode("utf-16-le")) // 2 > limit:
        window = rest[: limit // 2]  # emoji count twice in UTF-16: stay well inside
        cut = max(window.rfind(". "), window.rfind("\n"))
        if cut < len(window) // 3:
            cut = window.rfind(" ")
        if cut < len(window) // 3:
            cut = len(window) - 1
        out.append(rest[: cut + 1].strip())
        rest = rest[cut + 1 :].lstrip()
    if rest:
        out.append(rest)
    return out


def brief_pages(story: Story) -> list[Reply]:
    header = f"📖 {bold(story.title)}"
    pages = split_paragraphs(header, list(story.brief) or [story.summary])
    if story.ai_generated:
        pages[-1] += "\n\n" + italic("Generated by AI from the coverage.")
        if visible_length(pages[-1]) > MAX_TEXT:
            pages[-1] = pages[-1].rsplit("\n\n", 1)[0]
    replies = [Reply(page) for page in pages]
    back = ((button("⬅️ Back to the card", card_data(story.key)),),)
    replies[-1] = Reply(replies[-1].html, _question_rows(story) + back)
    return replies


def _question_rows(story: Story) -> tuple[tuple[Button, ...], ...]:
    return tuple((button(f"❓ {q}", question_data(story.key, i)),) for i, (q, _a) in enumerate(story.qa))


def sources(story: Story) -> Reply:
    header = f"🔗 {bold('Sources')} — {esc(story.title)}"
    lines: list[str] = []
    for article in story.articles:
        meta = " — ".join(
            x for x in (article.get("source") or "", (article.get("published_at") or "")[:10]) if x
        )
        line = f"• {link(shorten(str(article.get('title', '')), 300), str(article.get('url', '')))}"
        if meta:
            line += f" {esc('(' + meta + ')')}"
        lines.append(line)
    text = header
    shown = 0
    for line in lines:
        more = len(lines) - shown - 1
        tail = f"\n\n…and {more} more." if more else ""
        if visible_length(f"{text}\n{line}{tail}") > MAX_TEXT - 40:
            break
        text += "\n" + line
        shown += 1
    if shown < len(lines):
        text += f"\n\n…and {len(lines) - shown} more."
    if not lines:
        text += "\n\nNo articles are listed for this story."
    return Reply(text, ((button("⬅️ Back to the card", card_data(story.key)),),))


def _paged(
    head: str, paragraphs: Sequence[str], tail: str, buttons: tuple[tuple[Button, ...], ...]
) -> list[Reply]:
    """Escaped head, plain paragraphs, escaped tail: as many messages as the text needs, buttons last."""
    pages = split_paragraphs(head, paragraphs)
    if visible_length(f"{pages[-1]}\n\n{tail}") <= MAX_TEXT:
        pages[-1] = f"{pages[-1]}\n\n{tail}"
    else:
        pages.append(tail)
    replies = [Reply(page) for page in pages]
    replies[-1] = Reply(replies[-1].html, buttons)
    return replies


def answer(story: Story, index: int) -> list[Reply]:
    """A stored question tapped: its stored answer, as written."""
    question, text = story.qa[index]
    others = tuple(
        (button(f"❓ {q}", question_data(story.key, i)),) for i, (q, _a) in enumerate(story.qa) if i != index
    )
    tail = italic(f"From the stored Q&A of “{shorten(story.title, 120)}”. Ask me anything else about it.")
    return _paged(f"❓ {bold(question)}", text.split("\n\n"), tail, (*others[:5], _back(story)))


def matched_answer(story: Story, index: int, asked: str) -> list[Reply]:
    """A follow-up in the user's own words: the stored answer, and which stored question it answers."""
    question, text = story.qa[index]
    head = f"{esc('Your question matches the stored question:')}\n❓ {bold(question)}"
    tail = italic(f"From the brief on “{shorten(story.title, 120)}”.")
    return _paged(head, text.split("\n\n"), tail, (_back(story),))


def _back(story: Story) -> tuple[Button, ...]:
    return (button("⬅️ Back to the card", card_data(story.key)),)


def not_in_brief(story: Story, asked: str, nearest: int | None = None, order: Sequence[int] = ()) -> Reply:
    """The honest refusal: the stored questions as buttons, in `order` (likeliest first) when given."""
    body = (
        f"🤷 The brief on {bold(shorten(story.title, 120))} does not answer “{esc(shorten(asked, 300))}”.\n\n"
    )
    rows = _question_rows(story)
    ranked = [i for i in dict.fromkeys(order) if 0 <= i < len(rows)]
    if nearest is not None and 0 <= nearest < len(story.qa):
        body += f"{esc('Did you mean:')} {bold(story.qa[nearest][0])}\n\n"
        ranked = [nearest, *(i for i in ranked if i != nearest)]
    # Likeliest first; any question the order left out keeps its place after them.
    ranked += [i for i in range(len(rows)) if i not in ranked]
    rows = tuple(rows[i] for i in ranked)
    if story.qa:
        body += esc("These are the questions it does answer:")
    else:
        body += esc("It has no stored questions. Try /story with other words, or /trending.")
    return Reply(body, (*rows, (button("⬅️ Back to the card", card_data(story.key)),)))


# --- lists ------------------------------------------------------------------------------------


def _story_button(story: Story, prefix: str = "") -> Button:
    return button(f"{prefix}{story.title}", card_data(story.key))


def trending(stories: Sequence[Story]) -> Reply:
    if not stories:
        return Reply(esc("No stories are trending yet. The feed has not been imported."))
    lines = [f"📈 {bold('Trending now')}", ""]
    for story in stories:
        change = rank_change(story.rank, story.previous_rank)
        figures = " · ".join(
            x for x in (change, f"🔥 {story.virality:g}" if story.virality is not None else "") if x
        )
        lines.append(
            f"{story.rank}. {bold(shorten(story.title, 120))}" + (f" — {esc(figures)}" if figures else "")
        )
    rows = tuple((_story_button(s, f"{s.rank}. "),) for s in stories)
    return Reply("\n".join(lines), rows)


def choices(query: str, stories: Sequence[Story]) -> Reply:
    text = f"🔎 Several stories match “{esc(shorten(query, 200))}”. Which one?"
    return Reply(text, tuple((_story_button(s),) for s in stories))


def nothing_found(query: str, top: Sequence[Story]) -> Reply:
    text = f"🔎 Nothing found for “{esc(shorten(query, 200))}”."
    if top:
        text += "\n\n" + esc("Trending now:")
    return Reply(text, tuple((_story_button(s),) for s in top))


def story_prompt(top: Iterable[Story]) -> Reply:
    text = f"{esc('Which story? Send')} <code>/story Istanbul</code> {esc('or any words from a headline.')}"
    return Reply(text, tuple((_story_button(s),) for s in top))


def plain(text: str) -> Reply:
    return Reply(esc(text))


# --- broadcasts and delivery (admins) ---------------------------------------------------------

if TYPE_CHECKING:
    from domain.delivery import Progress


def broadcast_confirm_data(campaign_id: int) -> str:
    return f"bc:ok:{campaign_id}"


def broadcast_cancel_data(campaign_id: int) -> str:
    return f"bc:no:{campaign_id}"


def broadcast_stop_data(campaign_id: int) -> str:
    return f"bc:stop:{campaign_id}"


def broadcast_question(campaign_id: int, recipients: int) -> Reply:
    """Under the preview: who will get it, and the two buttons. Nothing is queued before Confirm."""
    text = (
        f"📣 {bold('Broadcast preview')}\n\n"
        + esc(f"The message above goes to {recipients:,} chat{'s' if recipients != 1 else ''} ")
        + esc("(everyone who started the bot and has not blocked it), exactly as shown.")
    )
    return Reply(
        text,
        (
            (
                button("✅ Confirm", broadcast_confirm_data(campaign_id)),
                button("✖️ Cancel", broadcast_cancel_data(campaign_id)),
            ),
        ),
    )


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def broadcast_progress(campaign_id: int, progress: Progress, *, rate: float | None, final: bool) -> Reply:
    """The admin's one progress message. Same numbers, same text: callers edit only on a change."""
    head = f"📣 {bold(f'Broadcast #{campaign_id}')} — " + esc("finished" if final else "sending…")
    lines = [
        head,
        "",
        esc(f"✅ Sent: {progress.sent:,} of {progress.total:,}"),
        esc(f"⚠️ Failed: {progress.failed:,}"),
        esc(f"🚫 Blocked: {progress.blocked:,}"),
    ]
    if progress.cancelled:
        lines.append(esc(f"✖️ Cancelled: {progress.cancelled:,}"))
    if not final:
        lines.append(esc(f"⏳ Remaining: {progress.pending:,}"))
        if rate is not None and rate > 0:
            lines.append(esc(f"🚀 Rate: {rate:.0f}/s · ETA {_duration(progress.pending / rate)}"))
        return Reply("\n".join(lines), ((button("⏹ Stop sending", broadcast_stop_data(campaign_id)),),))
    return Reply("\n".join(lines))


def broadcast_report(campaign_id: int, progress: Progress, *, cancelled: bool = False) -> Reply:
    verb = "stopped" if cancelled else "finished"
    text = f"📣 {bold(f'Broadcast #{campaign_id} {verb}')}\n\n" + esc(
        f"Sent {progress.sent:,} · failed {progress.failed:,} · blocked {progress.blocked:,}"
        f" · cancelled {progress.cancelled:,} · total {progress.total:,}"
    )
    return Reply(text)


def delivery_stats(
    *,
    chats_active: int,
    chats_blocked: int,
    outbox_pending: int,
    sent_last_hour: int,
    sent_last_day: int,
    campaigns: Sequence[tuple[int, str, str, int, dict[str, int]]],
) -> Reply:
    lines = [
        f"📊 {bold('Storybot stats')}",
        "",
        bold("Chats"),
        esc(f"Active: {chats_active:,} · blocked: {chats_blocked:,}"),
        "",
        bold("Delivery"),
        esc(f"Outbox: {outbox_pending:,} waiting"),
        esc(f"Sent: {sent_last_hour:,} in the last hour · {sent_last_day:,} in the last day"),
    ]
    if campaigns:
        lines += ["", bold("Recent campaigns")]
        for cid, kind, status, total, counts in campaigns:
            lines.append(
                esc(
                    f"#{cid} {kind} — {status}: {counts.get('sent', 0):,}/{total:,} sent, "
                    f"{counts.get('failed', 0):,} failed, {counts.get('blocked', 0):,} blocked"
                    + (f", {counts['cancelled']:,} cancelled" if counts.get("cancelled") else "")
                    + (f", {counts['pending']:,} left" if counts.get("pending") else "")
                )
            )
    return Reply("\n".join(lines))


# --- subscriptions: digests, breaking cards, /subscribe and /settings ------------------------

if TYPE_CHECKING:
    from domain.digest import TopThread

DIGEST_SUMMARY = 140  # one line of summary per thread


def digest(day_label: str, threads: Sequence[TopThread]) -> Reply:
    """One message: rank, change in rank, title and a one-line summary per thread, and a button per
    thread that opens its card here (the same c:<key> data as everywhere else)."""
    summary_len = DIGEST_SUMMARY
    while True:
        lines = [f"🗞 {bold('Your daily digest')} — {esc(day_label)}"]
        for t in threads:
            change = rank_change(t.rank, t.previous_rank)
            head = f"{t.rank}." + (f" {change}" if change else "")
            lines.append(
                f"\n{esc(head)} {bold(shorten(t.title, 120))}\n{esc(shorten(t.summary, summary_len))}"
            )
        lines.append("\n" + esc("Tap a story for its card. /settings changes the digest."))
        text = "\n".join(lines)
        if visible_length(text) <= MAX_TEXT or summary_len <= 40:
            break
        summary_len -= 20
    rows = tuple((button(f"{t.rank}. {t.title}", card_data(t.key)),) for t in threads)
    return Reply(text, rows)


def quiet_day(day_label: str) -> Reply:
    return Reply(
        f"🗞 {bold('Your daily digest')} — {esc(day_label)}\n\n"
        + esc(
            "☕ A quiet day: nothing new in your topics since the last digest. /trending shows the top stories."
        )
    )


def breaking_header(rank: int | None) -> str:
    where = f" — now #{rank} in the news" if rank is not None else ""
    return f"🚨 {bold('Breaking')}{esc(where)}"


def breaking_card(story: Story) -> Reply:
    return story_card(story, header=breaking_header(story.rank))


# Callback data: "sub:…" builds a subscription step by step, "st:…" is the /settings menu.
SUBSCRIBE_BUTTONS = r"^(sub|st):"


def sub_time_data(minute: int) -> str:
    return f"sub:t:{minute}"


def sub_zone_data(index: int) -> str:
    return f"sub:z:{index}"


def settings_data(action: str, arg: str | int | None = None) -> str:
    data = f"st:{action}" if arg is None else f"st:{action}:{arg}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


PRESET_TIMES = (360, 420, 450, 480, 540, 720, 1080, 1260)
PRESET_QUIET = ((1320, 420), (1380, 480), (1260, 360), (0, 480))


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


_hhmm = format_hhmm


def ask_time(*, settings: bool = False) -> Reply:
    text = esc("🕒 When should your daily digest arrive? Tap a time, or type one (07:30, 7am, 19:00).")
    make = (lambda m: settings_data("tm", m)) if settings else sub_time_data
    times = [button(_hhmm(m), make(m)) for m in PRESET_TIMES]
    rows = [tuple(times[i : i + 4]) for i in range(0, len(times), 4)]
    if settings:
        rows.append((button("⬅️ Back", settings_data("menu")),))
    return Reply(text, tuple(rows))


def ask_zone(zones: Sequence[tuple[str, str]], *, settings: bool = False) -> Reply:
    text = esc(
        "🌍 Which time zone are you in? Tap one, or type your city (Berlin), a zone name "
        "(Europe/Berlin) or an offset (UTC+3)."
    )
    make = (lambda i: settings_data("tz", i)) if settings else sub_zone_data
    buttons_ = [button(label, make(i)) for i, (label, _name) in enumerate(zones)]
    rows = [tuple(buttons_[i : i + 3]) for i in range(0, len(buttons_), 3)]
    if settings:
        rows.append((button("⬅️ Back", settings_data("menu")),))
    return Reply(text, tuple(rows))


def subscribed(minute: int, zone: str, next_label: str) -> Reply:
    return Reply(
        f"✅ {bold('Subscribed!')} "
        + esc(f"Your daily digest arrives at {_hhmm(minute)} ({zone}); the next one {next_label}.")
        + "\n\n"
        + esc("/settings changes the time, zone, number of stories, quiet hours, topics and breaking news."),
        ((button("⚙️ Settings", settings_data("menu")),),),
    )


def subscribe_error(problem: str) -> Reply:
    examples = ", ".join(f"<code>{esc(e)}</code>" for e in EXAMPLES)
    return Reply(f"⚠️ {esc(problem)}\n\n" + esc("For example: ") + examples)


@dataclass(frozen=True)
class SettingsView:
    """What /settings shows; built from the stored subscription."""

    subscribed: bool
    paused: bool
    minute: int | None
    zone: str | None
    size: int
    quiet: tuple[int, int] | None
    follow: tuple[str, ...]
    mute: tuple[str, ...]
    breaking: bool
    quiet_note: bool
    next_label: str | None


def _topics(tags: Sequence[str]) -> str:
    return ", ".join(tags) if tags else "none"


def settings_menu(view: SettingsView, *, note: str = "") -> Reply:
    if not view.subscribed:
        status = "off — /subscribe to start the daily digest"
    elif view.paused:
        status = "⏸ paused (your settings are kept)"
    else:
        status = "✅ on" + (f", next {view.next_label}" if view.next_label else "")
    quiet = f"{_hhmm(view.quiet[0])}–{_hhmm(view.quiet[1])}" if view.quiet else "none"
    lines = [
        f"⚙️ {bold('Digest settings')}",
        "",
        esc(f"Digest: {status}"),
        esc(f"Time: {_hhmm(view.minute) if view.minute is not None else 'not set'}"),
        esc(f"Time zone: {view.zone or 'not set'}"),
        esc(f"Stories per digest: {view.size}"),
        esc(f"Quiet hours (no breaking cards): {quiet}"),
        esc(f"Following: {_topics(view.follow)}"),
        esc(f"Muted: {_topics(view.mute)}"),
        esc(f"Breaking cards: {'on' if view.breaking else 'off'}"),
        esc(f"On a quiet day: {'a short note' if view.quiet_note else 'no message'}"),
    ]
    if note:
        lines += ["", f"✔️ {esc(note)}"]
    rows: list[tuple[Button, ...]] = [
        (button("🕒 Time", settings_data("time")), button("🌍 Time zone", settings_data("zone"))),
        (
            button("➖ Fewer stories", settings_data("size", "-")),
            button("➕ More stories", settings_data("size", "+")),
        ),
        (button("🌙 Quiet hours", settings_data("quiet")), button("🏷 Topics", settings_data("topics"))),
        (
            button(f"🚨 Breaking: {'on → off' if view.breaking else 'off → on'}", settings_data("brk")),
            button(
                f"☕ Quiet-day note: {'on → off' if view.quiet_note else 'off → on'}", settings_data("note")
            ),
        ),
    ]
    if view.subscribed:
        rows.append(
            (
                button("▶️ Resume" if view.paused else "⏸ Pause", settings_data("pause")),
                button("✖️ Unsubscribe", settings_data("unsub")),
            )
        )
    return Reply("\n".join(lines), tuple(rows))


def quiet_menu(current: tuple[int, int] | None) -> Reply:
    now = f"{_hhmm(current[0])}–{_hhmm(current[1])}" if current else "none"
    text = esc(
        f"🌙 Quiet hours: {now}. Breaking cards that arrive during them wait until they end "
        "(the digest comes at its time). Tap a range, or type one like 22:30-07:00."
    )
    rows = [(button(f"{_hhmm(s)}–{_hhmm(e)}", settings_data("q", f"{s}-{e}")),) for s, e in PRESET_QUIET]
    rows.append((button("No quiet hours", settings_data("q", "off")),))
    rows.append((button("⬅️ Back", settings_data("menu")),))
    return Reply(text, tuple(rows))


def topics_menu(follow: Sequence[str], mute: Sequence[str], suggestions: Sequence[str]) -> Reply:
    text = "\n".join(
        [
            f"🏷 {bold('Topics')}",
            "",
            esc(f"Following: {_topics(follow)} — these come first in your digest."),
            esc(f"Muted: {_topics(mute)} — never in your digest or breaking cards."),
            "",
            esc(
                "Tap a topic to follow it (👍), mute it (🔇) or clear it, or type topics after the buttons below."
            ),
        ]
    )
    rows: list[tuple[Button, ...]] = []
    for tag in suggestions:
        if len(settings_data("f", tag).encode()) > MAX_CALLBACK_BYTES:
            continue  # too long for a button; it can still be typed
        mark = "👍 " if tag in follow else "🔇 " if tag in mute else ""
        rows.append(
            (
                button(f"{mark}{tag}", settings_data("noop")),
                button("👍", settings_data("f", tag)),
                button("🔇", settings_data("m", tag)),
            )
        )
    rows.append(
        (
            button("⌨️ Type topics to follow", settings_data("typef")),
            button("⌨️ Type topics to mute", settings_data("typem")),
        )
    )
    rows.append(
        (button("🧹 Clear all topics", settings_data("clear")), button("⬅️ Back", settings_data("menu")))
    )
    return Reply(text, tuple(rows))


def unsubscribe_question() -> Reply:
    return Reply(
        esc("Stop the daily digest and breaking cards? Your settings are kept if you come back."),
        (
            (
                button("✖️ Yes, unsubscribe", settings_data("unsub", "yes")),
                button("Keep it", settings_data("menu")),
            ),
        ),
    )


def unsubscribed() -> Reply:
    return Reply(esc("👋 Unsubscribed: no more digests or breaking cards. /subscribe brings them back."))


def prompt(text: str) -> Reply:
    """A question whose answer is typed (in groups: as a reply to this message)."""
    return Reply(f"⌨️ {esc(text)}")
