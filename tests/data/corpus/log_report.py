"""Summarise a web server access log: requests per status, slowest paths, busiest hours."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import mean

LINE = re.compile(
    r'(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\w+) (?P<path>\S+) [^"]*" '
    r"(?P<status>\d{3}) (?P<size>\d+|-) (?P<ms>\d+)"
)


@dataclass(frozen=True)
class Request:
    ip: str
    time: datetime
    method: str
    path: str
    status: int
    size: int
    ms: int


def parse_line(line: str) -> Request | None:
    """Parse one log line; None for lines that do not match."""
    match = LINE.match(line)
    if match is None:
        return None
    return Request(
        ip=match["ip"],
        time=datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z"),
        method=match["method"],
        path=match["path"],
        status=int(match["status"]),
        size=0 if match["size"] == "-" else int(match["size"]),
        ms=int(match["ms"]),
    )


def read_log(lines: list[str]) -> list[Request]:
    """Parse every line, skipping the ones that do not match."""
    requests = []
    for line in lines:
        request = parse_line(line)
        if request is not None:
            requests.append(request)
    return requests


def status_counts(requests: list[Request]) -> Counter[int]:
    """How many requests ended with each status code."""
    return Counter(request.status for request in requests)


def slowest_paths(requests: list[Request], top: int = 5) -> list[tuple[str, float]]:
    """The paths with the highest mean response time, slowest first."""
    times: dict[str, list[int]] = defaultdict(list)
    for request in requests:
        times[request.path].append(request.ms)
    averages = [(path, mean(values)) for path, values in times.items()]
    averages.sort(key=lambda item: item[1], reverse=True)
    return averages[:top]


def busiest_hours(requests: list[Request]) -> list[tuple[int, int]]:
    """Requests per hour of the day, busiest first."""
    hours = Counter(request.time.hour for request in requests)
    return hours.most_common()


def error_rate(requests: list[Request]) -> float:
    """The share of requests that ended with a 5xx status."""
    if not requests:
        return 0.0
    errors = sum(1 for request in requests if request.status >= 500)
    return errors / len(requests)


def report(lines: list[str]) -> str:
    requests = read_log(lines)
    parts = [f"{len(requests)} requests, error rate {error_rate(requests):.1%}"]
    for status, count in sorted(status_counts(requests).items()):
        parts.append(f"  {status}: {count}")
    parts.append("slowest paths:")
    for path, ms in slowest_paths(requests):
        parts.append(f"  {path}: {ms:.0f} ms")
    return "\n".join(parts)
