"""Geometry of the server-rendered SVG Gantt: one row per line, bars in minutes from the
plan's origin, changeovers, down windows, late jobs marked. Templates only draw it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

WIDTH = 1000  # viewBox units across the horizon
LABEL = 60  # left margin for the line codes
ROW = 34
AXIS = 22


@dataclass
class Bar:
    x: float
    width: float
    y: float
    job: str
    title: str
    late: bool = False
    fixed: bool = False
    family: int = 0


@dataclass
class Gantt:
    height: int
    width: int
    rows: list[dict] = field(default_factory=list)  # {code, y}
    bars: list[Bar] = field(default_factory=list)
    changeovers: list[dict] = field(default_factory=list)  # {x, width, y, title}
    windows: list[dict] = field(default_factory=list)  # {x, width, y, title}
    ticks: list[dict] = field(default_factory=list)  # {x, label}


def horizon_of(*schedules: dict) -> int:
    """Minutes the drawing spans: the latest end of any schedule shown side by side."""
    ends = [j["end_min"] for s in schedules for j in s.get("jobs") or []]
    return max([60, *ends])


def gantt_build(
    schedule: dict, *, lines: list[str], snapshot: dict, origin: datetime, horizon: int
) -> Gantt:
    """One schedule ({jobs, changeovers}) of ``lines`` as bars on a shared time scale."""
    scale = (WIDTH - LABEL) / horizon
    gantt = Gantt(height=AXIS + ROW * len(lines) + 4, width=WIDTH)
    y_of = {code: AXIS + ROW * k for k, code in enumerate(lines)}
    gantt.rows = [{"code": code, "y": y_of[code], "text_y": y_of[code] + ROW / 2 + 4}
                  for code in lines]  # fmt: skip
    jobs = snapshot.get("jobs") or {}
    families = sorted({j.get("family", "") for j in jobs.values()})

    def x(minute: float) -> float:
        return round(LABEL + max(0, minute) * scale, 1)

    for row in schedule.get("jobs") or []:
        if row["line"] not in y_of:
            continue
        info = jobs.get(row["job"], {})
        start, end = x(row["start_min"]), x(row["end_min"])
        late = row.get("late_minutes", 0) > 0
        order = f" · {info['order']}" if info.get("order") else ""
        title = (
            f"{row['job']}{order} · "
            f"{timezone.localtime(origin + timedelta(minutes=row['start_min'])):%a %H:%M} to "
            f"{timezone.localtime(origin + timedelta(minutes=row['end_min'])):%H:%M}"
            + (f" · {row['late_minutes']} min late" if late else "")
            + (" · kept in place" if row.get("fixed") else "")
        )
        gantt.bars.append(
            Bar(x=start, width=max(end - start, 1.5), y=y_of[row["line"]] + 5, job=row["job"],
                title=title, late=late, fixed=bool(row.get("fixed")),
                family=families.index(info.get("family", "")) % 6 if info else 0)
        )  # fmt: skip
    for change in schedule.get("changeovers") or []:
        if change["line"] not in y_of:
            continue
        start, end = x(change["start_min"]), x(change["end_min"])
        gantt.changeovers.append(
            {"x": start, "width": max(end - start, 1), "y": y_of[change["line"]] + 5,
             "title": f"changeover {change['end_min'] - change['start_min']} min before "
                      f"{change['to_job']}"}
        )  # fmt: skip
    for code, windows in (snapshot.get("windows") or {}).items():
        if code not in y_of:
            continue
        for w in windows:
            start, end = x(w["start"]), x(min(w["end"], horizon))
            gantt.windows.append(
                {"x": start, "width": max(end - start, 1), "y": y_of[code] + 1,
                 "title": f"{w['reason']}: {w['end'] - w['start']} min"}
            )  # fmt: skip
    step = next(s for s in (60, 120, 240, 480, 720, 1440, 2880) if horizon / s <= 12)
    for minute in range(0, horizon + 1, step):
        when = timezone.localtime(origin + timedelta(minutes=minute))
        gantt.ticks.append({"x": x(minute), "label": f"{when:%a %H:%M}" if minute else "now"})
    return gantt
