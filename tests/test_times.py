from datetime import UTC, datetime, timedelta, timezone

import pytest

from stackknack_cli.times import parse_time


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:00.000Z",
        "2026-05-01T12:00:00+02:00",
        "2026-05-01T10:00:00",
    ],
)
def test_platform_times_read_as_the_same_utc_moment(text: str) -> None:
    moment = parse_time(text)

    assert moment == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert moment is not None
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [None, "", "yesterday", 1_760_000_000])
def test_what_is_not_a_time_reads_as_none(value: object) -> None:
    assert parse_time(value) is None


def test_offset_is_kept_as_the_instant_not_the_wall_clock() -> None:
    east = datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time(east.isoformat()) == east
