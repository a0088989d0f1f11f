"""Duration strings of the language: "45s", "30m", "4h", "2d" or ISO-8601 such as "PT30M"."""

import re
from datetime import timedelta

_SHORT = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_ISO = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=365)


def parse_duration(text: str) -> timedelta:
    """Parse a duration string; raise ValueError with a readable message when it is not one."""
    short = _SHORT.match(text)
    if short:
        seconds = int(short.group(1)) * _UNIT_SECONDS[short.group(2).lower()]
    else:
        iso = _ISO.match(text.strip())
        if not iso or not any(iso.groupdict().values()) or text.strip().upper().endswith("T"):
            raise ValueError(
                f"invalid duration {text!r}: use a number and a unit such as '45s', '30m', '4h', "
                "'2d', or ISO-8601 such as 'PT30M'"
            )
        parts = {k: int(v or 0) for k, v in iso.groupdict().items()}
        seconds = (
            parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]
        )
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"invalid duration {text!r}: it must be at most 365 days")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact short form of a duration, e.g. 1800 s -> "30m"."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
