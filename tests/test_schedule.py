"""Digest times as plain functions: parsing, zones, due instants across DST, catch-up, quiet hours."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.schedule import (
    ScheduleError,
    first_due,
    in_quiet_hours,
    local_instant,
    parse_quiet_hours,
    parse_subscribe_args,
    parse_time,
    parse_zone,
    plan,
    release_time,
    zone,
)

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "minute"),
    [("07:30", 450), ("7:30", 450), ("7am", 420), ("7 AM", 420), ("7:30pm", 1170), ("12am", 0),
     ("12pm", 720), ("19h", 1140), ("19", 1140), ("0:05", 5), ("23.59", 1439)],
)  # fmt: skip
def test_times_people_type(text: str, minute: int) -> None:
    assert parse_time(text) == minute


@pytest.mark.parametrize("text", ["25:00", "7:60", "13pm", "noonish", "", "0am", "-1"])
def test_bad_times_say_why(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [("Europe/Berlin", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"), ("Berlin", "Europe/Berlin"),
     ("new york", "America/New_York"), ("New_York", "America/New_York"), ("Tokyo", "Asia/Tokyo"),
     ("Kiev", "Europe/Kyiv"), ("UTC", "UTC"), ("GMT", "UTC"), ("UTC+3", "UTC+03:00"), ("utc-5", "UTC-05:00"),
     ("+05:30", "UTC+05:30"), ("UTC+0", "UTC"), ("São Paulo", "America/Sao_Paulo")],
)  # fmt: skip
def test_zones_as_city_iana_name_or_offset(text: str, name: str) -> None:
    assert parse_zone(text) == name
    assert zone(name) is not None


@pytest.mark.parametrize("text", ["Mars", "UTC+15", "Europe/Atlantis", "+3:75"])
def test_unknown_zones_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(ScheduleError, match=r"UTC|zone|offset"):
        parse_zone(text)


def test_fixed_offsets_resolve() -> None:
    assert local_instant(date(2026, 1, 5), 450, zone("UTC+05:30")) == datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    assert local_instant(date(2026, 1, 5), 60, zone("UTC-03:00")) == datetime(2026, 1, 5, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "minute", "name"),
    [("07:30 Europe/Berlin", 450, "Europe/Berlin"), ("7am", 420, None), ("19:00 UTC+3", 1140, "UTC+03:00"),
     ("7 am New York", 420, "America/New_York"), ("Berlin 7:30", 450, "Europe/Berlin"), ("", None, None),
     ("Tokyo", None, "Asia/Tokyo")],
)  # fmt: skip
def test_subscribe_in_one_go(text: str, minute: int | None, name: str | None) -> None:
    args = parse_subscribe_args(text)
    assert (args.minute, args.zone) == (minute, name)


@pytest.mark.parametrize("text", ["tomorrow please", "07:30 Mars", "25:00 Berlin"])
def test_subscribe_with_bad_input_raises_a_readable_error(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_subscribe_args(text)


def test_first_due_today_if_ahead_else_tomorrow() -> None:
    now = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    assert first_due(now, 450, BERLIN) == datetime(2026, 1, 5, 6, 30, tzinfo=UTC)
    assert first_due(now, 420, BERLIN) == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)  # exactly now: tomorrow
    # Today's digest already went out at 07:00: moving the time to 09:00 waits until tomorrow.
    assert first_due(now, 540, BERLIN, last_digest_on=date(2026, 1, 5)) == datetime(2026, 1, 6, 8, tzinfo=UTC)


def simulate(tz: ZoneInfo, minute: int, start: datetime, days: int, grace: timedelta) -> list[datetime]:
    """A tick every minute for `days`; returns the instants digests went out (the tick's logic)."""
    due = first_due(start, minute, tz)
    last_on: date | None = None
    sent = []
    now = start
    while now < start + timedelta(days=days):
        if due <= now:
            p = plan(now, minute, tz)
            if p.sendable(now, grace, last_on):
                sent.append(now)
                last_on = p.day
            due = p.next_due
            assert due > now
        now += timedelta(minutes=1)
    return sent


@pytest.mark.parametrize(
    ("tz", "change_day"),
    [(BERLIN, date(2026, 3, 29)), (BERLIN, date(2026, 10, 25)), (NEW_YORK, date(2026, 3, 8)),
     (NEW_YORK, date(2026, 11, 1))],
)  # fmt: skip
@pytest.mark.parametrize("minute", [450, 150, 0, 1439])  # 07:30, 02:30 (skipped or doubled hour), midnight
def test_dst_changes_neither_skip_nor_double_a_digest(tz: ZoneInfo, change_day: date, minute: int) -> None:
    start = datetime.combine(change_day - timedelta(days=2), datetime.min.time(), tz).astimezone(UTC)
    sent = simulate(tz, minute, start, days=5, grace=timedelta(hours=3))
    local_days = [s.astimezone(tz).date() for s in sent]
    assert len(local_days) == len(set(local_days)), "never two on one local day"
    assert len(local_days) >= 4 and change_day in local_days
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(local_days)), "no day skipped"
    for moment in sent:
        local = moment.astimezone(tz)
        if local.date() == change_day and minute == 150 and change_day.month in (3,):
            assert (local.hour, local.minute) == (3, 30), (
                "02:30 does not exist that day: right after the jump"
            )
        else:
            assert (local.hour, local.minute) == (minute // 60, minute % 60)


def test_digest_on_the_doubled_hour_is_the_first_one() -> None:
    sent = simulate(BERLIN, 150, datetime(2026, 10, 24, 12, tzinfo=UTC), days=2, grace=timedelta(hours=3))
    assert sent[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET


def test_downtime_catch_up_within_the_grace_once_else_skipped() -> None:
    grace = timedelta(hours=3)
    due = datetime(2026, 1, 5, 6, 30, tzinfo=UTC)  # 07:30 Berlin
    late = plan(due + timedelta(hours=2), 450, BERLIN)
    assert late.due == due and late.sendable(due + timedelta(hours=2), grace, None)
    assert not late.sendable(due + timedelta(hours=2), grace, date(2026, 1, 5)), "already sent today"
    too_late = plan(due + timedelta(hours=4), 450, BERLIN)
    assert not too_late.sendable(due + timedelta(hours=4), grace, None)
    assert too_late.next_due == due + timedelta(days=1)
    # Down for two days: only the latest missed digest counts, and it is a day old: skipped.
    long = plan(due + timedelta(days=2, hours=5), 450, BERLIN)
    assert long.day == date(2026, 1, 7) and not long.sendable(due + timedelta(days=2, hours=5), grace, None)
    assert long.next_due == datetime(2026, 1, 8, 6, 30, tzinfo=UTC)


def test_quiet_hours_wrap_midnight_and_hold_until_they_end() -> None:
    assert in_quiet_hours(23 * 60, 22 * 60, 7 * 60) and in_quiet_hours(60, 22 * 60, 7 * 60)
    assert not in_quiet_hours(7 * 60, 22 * 60, 7 * 60) and not in_quiet_hours(12 * 60, None, None)
    assert in_quiet_hours(13 * 60, 12 * 60, 14 * 60) and not in_quiet_hours(14 * 60, 12 * 60, 14 * 60)
    late_evening = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    assert release_time(late_evening, BERLIN, 22 * 60, 7 * 60) == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    early = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)  # 04:00 in Berlin
    assert release_time(early, BERLIN, 22 * 60, 7 * 60) == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    noon = datetime(2026, 1, 6, 11, 0, tzinfo=UTC)
    assert release_time(noon, BERLIN, 22 * 60, 7 * 60) == noon


def test_quiet_hours_typed() -> None:
    assert parse_quiet_hours("22:00-07:00") == (1320, 420)
    assert parse_quiet_hours("10pm to 7am") == (1320, 420)
    assert parse_quiet_hours("off") is None
    with pytest.raises(ScheduleError):
        parse_quiet_hours("late")
