"""A Report as JSON, CSV, Markdown or a plain-text table, for `socialtui report`.

JSON is the contract (its keys are documented in README.md, "Reports"); CSV is the same
figures in long form (section, key, metric, value) for a spreadsheet's pivot table; Markdown
and the table are for reading, in the shop's language.

Customer text only appears in the breach list. Every output is safe to print in a terminal:
JSON keeps the text exact but writes every invisible or control character as a \\u escape
(as `poll --json` does), the other formats show text through `one_line`. CSV cells that a
spreadsheet would run as a formula are defused with a leading apostrophe; Markdown cells
escape what would make a link, an HTML tag or emphasis in a mail client.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from triage.clock import format_age
from triage.model import Column
from triage.sanitize import one_line, printable_json
from triage.stats import Durations, Report, SlaFigures, round_duration

FORMATS = ("table", "csv", "json", "md")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"), "en": WEEKDAYS}
# The table and Markdown list this many breaches (JSON and CSV all of the report's).
BREACHES_READ = 20


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _durations(d: Durations) -> dict[str, Any]:
    return {
        "count": d.count,
        "median_s": _seconds(d.median),
        "p90_s": _seconds(d.p90),
        "mean_s": _seconds(d.mean),
    }


def _sla(s: SlaFigures) -> dict[str, Any]:
    return {
        "answered": s.answered,
        "within_warn": s.within_warn,
        "within_breach": s.within_breach,
        "waiting_past_warn": s.waiting_past_warn,
        "waiting_past_breach": s.waiting_past_breach,
        "pending": s.pending,
        "closed_unanswered": s.closed_unanswered,
        "kept_warn": _share(s.kept_warn),
        "kept_breach": _share(s.kept_breach),
        "breaches": s.breaches,
    }


def _zone(report: Report) -> tzinfo:
    return ZoneInfo(report.timezone)


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(tz).isoformat()


def report_dict(report: Report) -> dict[str, Any]:
    tz = _zone(report)
    sla = report.sla
    return {
        "range": {
            "since": _iso(report.since, tz),
            "until": _iso(report.until, tz),
            "generated_at": _iso(report.now, tz),
            "timezone": report.timezone,
            "hours": report.hours,
            "warn_after_s": report.warn_after,
            "breach_after_s": report.breach_after,
            "granularity": report.granularity,
        },
        "totals": {
            "incoming": report.incoming,
            "answered": sla.answered,
            "unanswered": sla.pending + sla.waiting_past_breach,
            "closed_unanswered": sla.closed_unanswered,
            "done": report.done,
        },
        "by_column": report.by_column,
        "by_network": report.by_network,
        "by_kind": report.by_kind,
        "by_tag": report.by_tag,
        "by_team": report.by_team,
        "first_response": _durations(report.first_response),
        "first_response_by_column": {
            column: _durations(d) for column, d in report.first_response_by_column.items()
        },
        "time_to_done": _durations(report.time_to_done),
        "sla": _sla(sla),
        "breaches": [
            {
                "id": b.mention_id,
                "network": b.network,
                "column": b.column.value,
                "created_at": _iso(b.created_at, tz),
                "first_response_at": _iso(b.first_response_at, tz),
                "waited_s": _seconds(b.waited),
                "operator": b.operator,
                "text": b.text,
            }
            for b in report.breaches
        ],
        "operators": [
            {
                "operator": o.operator,
                "first_response": _durations(o.first_response),
                "within_warn": o.sla.within_warn,
                "within_breach": o.sla.within_breach,
                "kept_warn": _share(_ratio(o.sla.within_warn, o.sla.answered)),
                "kept_breach": _share(_ratio(o.sla.within_breach, o.sla.answered)),
                "actions": o.actions,
            }
            for o in report.operators
        ],
        "series": [
            {
                "start": _iso(p.start, tz),
                "incoming": p.incoming,
                "negative": p.negative,
                "answered": p.sla.answered,
                "median_first_response_s": _seconds(p.first_response.median),
                "kept_warn": _share(p.sla.kept_warn),
                "kept_breach": _share(p.sla.kept_breach),
                "breaches": p.sla.breaches,
            }
            for p in report.series
        ],
        "hour_of_week": [list(row) for row in report.hour_of_week],
        "hour_of_day": list(report.hour_of_day),
        "response_histogram": [
            {"upto_s": b.upto, "count": b.count} for b in report.response_histogram
        ],
        "spikes": [
            {
                "start": _iso(s.start, tz),
                "negative": s.count,
                "baseline": s.baseline,
                "threshold": round(s.threshold, 2),
            }
            for s in report.spikes
        ],
        "complaints": {
            "sampled": report.complaints.sampled,
            "total": report.complaints.total,
            "words": [{"word": w, "count": n} for w, n in report.complaints.words],
            "phrases": [{"phrase": p, "count": n} for p, n in report.complaints.phrases],
        },
    }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def report_json(report: Report) -> str:
    """Cyrillic and emoji as they are; every invisible or control character (a bidi override,
    an 8-bit CSI) as a \\u escape, so the JSON reads in a terminal as it parses."""
    return printable_json(json.dumps(report_dict(report), ensure_ascii=False, indent=2))


# -- CSV ----------------------------------------------------------------------------------------


def _flatten(section: str, key: str, values: Mapping[str, Any]) -> Iterable[list[Any]]:
    for metric, value in values.items():
        if isinstance(value, Mapping):
            yield from _flatten(section, key, {f"{metric}_{k}": v for k, v in value.items()})
        else:
            yield [section, key, metric, value]


def _csv_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    yield from _flatten("range", "", data["range"])
    yield from _flatten("totals", "", data["totals"])
    for section in ("by_column", "by_network", "by_kind", "by_tag", "by_team"):
        for key, count in data[section].items():
            yield [section, key, "count", count]
    yield from _flatten("first_response", "", data["first_response"])
    for column, values in data["first_response_by_column"].items():
        yield from _flatten("first_response_by_column", column, values)
    yield from _flatten("time_to_done", "", data["time_to_done"])
    yield from _flatten("sla", "", data["sla"])
    for point in data["series"]:
        yield from _flatten(
            "series", point["start"], {k: v for k, v in point.items() if k != "start"}
        )
    for operator in data["operators"]:
        values = {k: v for k, v in operator.items() if k != "operator"}
        yield from _flatten("operators", operator["operator"], values)
    for day, row in zip(WEEKDAYS, data["hour_of_week"], strict=True):
        for hour, count in enumerate(row):
            yield ["hour_of_week", f"{day} {hour:02d}", "incoming", count]
    for b in data["response_histogram"]:
        yield [
            "response_histogram",
            "" if b["upto_s"] is None else b["upto_s"],
            "count",
            b["count"],
        ]
    for spike in data["spikes"]:
        yield from _flatten(
            "spikes", spike["start"], {k: v for k, v in spike.items() if k != "start"}
        )
    yield from _flatten("complaints", "", {"sampled": data["complaints"]["sampled"]})
    yield from _flatten("complaints", "", {"total": data["complaints"]["total"]})
    for word in data["complaints"]["words"]:
        yield ["complaint_words", word["word"], "count", word["count"]]
    for phrase in data["complaints"]["phrases"]:
        yield ["complaint_phrases", phrase["phrase"], "count", phrase["count"]]
    for breach in data["breaches"]:
        values = {k: v for k, v in breach.items() if k != "id"}
        values["text"] = one_line(values["text"] or "", 200)
        yield from _flatten("breaches", str(breach["id"]), values)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        value = one_line(value)  # tags, names and teams are typed by people too
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value  # a spreadsheet would run it as a formula
    return value


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "metric", "value"])
    for row in _csv_rows(report_dict(report)):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


# -- Markdown and the plain table ---------------------------------------------------------------

_LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "title": "Отчёт смены",
        "range": "Период",
        "clock": "Часы SLA",
        "summary": "Итого",
        "incoming": "Поступило",
        "answered": "Отвечено",
        "unanswered": "Ждут ответа",
        "closed_unanswered": "Закрыто без ответа",
        "done": "Готово",
        "first_response": "Первый ответ",
        "time_to_done": "До «готово»",
        "median": "медиана",
        "p90": "p90",
        "mean": "среднее",
        "count": "число",
        "sla": "SLA",
        "kept_warn": "ответ быстрее {warn}",
        "kept_breach": "ответ быстрее {breach}",
        "breaches": "Нарушения SLA",
        "counts": "Разбивка",
        "column": "колонка",
        "network": "сеть",
        "kind": "тип",
        "tag": "тег",
        "team": "передано",
        "operators": "Операторы",
        "operator": "оператор",
        "actions": "действия",
        "series_day": "По дням",
        "series_hour": "По часам",
        "start": "начало",
        "negative": "негатив",
        "spikes": "Всплески негатива",
        "baseline": "обычно",
        "complaints": "На что жалуются",
        "words": "слова",
        "phrases": "фразы",
        "sampled": "по выборке {sampled} из {total}",
        "when": "когда",
        "waited": "ждал(а)",
        "text": "текст",
        "none": "нет",
        "hour_of_week": "Поступления по часам недели",
    },
    "en": {
        "title": "Shift report",
        "range": "Range",
        "clock": "SLA clock",
        "summary": "Summary",
        "incoming": "Incoming",
        "answered": "Answered",
        "unanswered": "Awaiting an answer",
        "closed_unanswered": "Closed without an answer",
        "done": "Done",
        "first_response": "First response",
        "time_to_done": "Time to done",
        "median": "median",
        "p90": "p90",
        "mean": "mean",
        "count": "count",
        "sla": "SLA",
        "kept_warn": "answered within {warn}",
        "kept_breach": "answered within {breach}",
        "breaches": "SLA breaches",
        "counts": "Breakdown",
        "column": "column",
        "network": "network",
        "kind": "kind",
        "tag": "tag",
        "team": "redirected",
        "operators": "Operators",
        "operator": "operator",
        "actions": "actions",
        "series_day": "Per day",
        "series_hour": "Per hour",
        "start": "start",
        "negative": "negative",
        "spikes": "Complaint spikes",
        "baseline": "usual",
        "complaints": "What customers complain about",
        "words": "words",
        "phrases": "phrases",
        "sampled": "from a sample of {sampled} of {total}",
        "when": "when",
        "waited": "waited",
        "text": "text",
        "none": "none",
        "hour_of_week": "Incoming by hour of the week",
    },
}

Table = tuple[str, Sequence[str], Sequence[Sequence[str]]]  # title, headers, rows


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _sections(report: Report, language: str) -> tuple[list[str], list[Table]]:
    text = _LABELS.get(language, _LABELS["ru"])
    tz = _zone(report)

    def age(seconds: float | None) -> str:
        return "—" if seconds is None else format_age(timedelta(seconds=seconds), language)

    def stamp(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "—" if moment is None else moment.astimezone(tz).strftime(fmt)

    days = DAY_NAMES.get(language, DAY_NAMES["ru"])

    def day(moment: datetime) -> str:
        return f"{stamp(moment, '%Y-%m-%d')} {days[moment.astimezone(tz).weekday()]}"

    sla = report.sla
    warn = round_duration(report.warn_after, language)
    breach = round_duration(report.breach_after, language)
    head = [
        f"{text['range']}: {stamp(report.since)} — {stamp(report.until)} ({report.timezone})",
        f"{text['clock']}: {report.hours}",
    ]
    tables: list[Table] = []
    tables.append(
        (
            text["summary"],
            ("", text["count"]),
            [
                (text["incoming"], str(report.incoming)),
                (text["answered"], str(sla.answered)),
                (text["unanswered"], str(sla.pending + sla.waiting_past_breach)),
                (text["closed_unanswered"], str(sla.closed_unanswered)),
                (text["done"], str(report.done)),
                (text["kept_warn"].format(warn=warn), _percent(sla.kept_warn)),
                (text["kept_breach"].format(breach=breach), _percent(sla.kept_breach)),
                (text["breaches"], str(sla.breaches)),
            ],
        )
    )
    duration_rows = [
        (text["first_response"], report.first_response),
        *(
            (f"{text['first_response']}: {Column(c).title(language)}", d)
            for c, d in report.first_response_by_column.items()
        ),
        (text["time_to_done"], report.time_to_done),
    ]
    tables.append(
        (
            text["first_response"],
            ("", text["count"], text["median"], text["p90"], text["mean"]),
            [
                (label, str(d.count), age(d.median), age(d.p90), age(d.mean))
                for label, d in duration_rows
            ],
        )
    )
    breakdown: list[tuple[str, str, str]] = []
    for key, counts in (
        ("column", {Column(c).title(language): n for c, n in report.by_column.items()}),
        ("network", report.by_network),
        ("kind", report.by_kind),
        ("tag", report.by_tag),
        ("team", report.by_team),
    ):
        breakdown += [(text[key], one_line(name, 40), str(n)) for name, n in counts.items()]
    tables.append((text["counts"], ("", "", text["count"]), breakdown))
    tables.append(
        (
            text["operators"],
            (
                text["operator"],
                text["answered"],
                text["median"],
                text["p90"],
                text["mean"],
                "SLA",
                text["actions"],
            ),
            [
                (
                    one_line(o.operator, 30),
                    str(o.first_response.count),
                    age(o.first_response.median),
                    age(o.first_response.p90),
                    age(o.first_response.mean),
                    _percent(_ratio(o.sla.within_breach, o.sla.answered)),
                    " ".join(f"{k}:{n}" for k, n in o.actions.items()),
                )
                for o in report.operators
            ],
        )
    )
    hourly = report.granularity == "hour"
    tables.append(
        (
            text["series_hour" if hourly else "series_day"],
            (
                text["start"],
                text["incoming"],
                text["negative"],
                text["answered"],
                text["median"],
                text["kept_breach"].format(breach=breach),
                text["breaches"],
            ),
            [
                (
                    stamp(p.start) if hourly else day(p.start),
                    str(p.incoming),
                    str(p.negative),
                    str(p.sla.answered),
                    age(p.first_response.median),
                    _percent(p.sla.kept_breach),
                    str(p.sla.breaches),
                )
                for p in report.series
            ],
        )
    )
    tables.append(
        (
            text["hour_of_week"],
            ("", *(f"{h:02d}" for h in range(24))),
            [
                (name, *(str(n) for n in row))
                for name, row in zip(days, report.hour_of_week, strict=True)
            ],
        )
    )
    tables.append(
        (
            text["spikes"],
            (text["start"], text["negative"], text["baseline"]),
            [(stamp(s.start), str(s.count), f"{s.baseline:g}") for s in report.spikes],
        )
    )
    complaints = report.complaints
    title = text["complaints"]
    if complaints.sampled < complaints.total:
        title += (
            " (" + text["sampled"].format(sampled=complaints.sampled, total=complaints.total) + ")"
        )
    words = list(complaints.words)
    phrases = list(complaints.phrases)
    tables.append(
        (
            title,
            (text["words"], text["count"], text["phrases"], text["count"]),
            [
                (
                    words[i][0] if i < len(words) else "",
                    str(words[i][1]) if i < len(words) else "",
                    phrases[i][0] if i < len(phrases) else "",
                    str(phrases[i][1]) if i < len(phrases) else "",
                )
                for i in range(max(len(words), len(phrases)))
            ],
        )
    )
    tables.append(
        (
            f"{text['breaches']} ({sla.breaches})",
            (text["when"], text["waited"], text["network"], text["operator"], text["text"]),
            [
                (
                    stamp(b.created_at),
                    age(b.waited),
                    one_line(b.network, 12),
                    one_line(b.operator or "—", 20),
                    one_line(b.text, 60),
                )
                for b in report.breaches[:BREACHES_READ]
            ],
        )
    )
    return head, tables


def report_markdown(report: Report, language: str = "ru") -> str:
    head, tables = _sections(report, language)
    text = _LABELS.get(language, _LABELS["ru"])
    lines = [f"# {text['title']}", "", *(f"{line}  " for line in head)]
    for title, headers, rows in tables:
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append(f"_{text['none']}_")
            continue
        lines.append("| " + " | ".join(_md(h) for h in headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# Backslash-escaped in Markdown cells: the table's own bar, and what would turn customer text
# into a link or an image ([...]), an HTML tag or entity (<, &), code or emphasis.
_MD_SPECIAL = str.maketrans({char: "\\" + char for char in "\\|<>[]*_`~&"})


def _md(cell: str) -> str:
    return cell.translate(_MD_SPECIAL)


def report_table(report: Report, language: str = "ru") -> str:
    head, tables = _sections(report, language)
    text = _LABELS.get(language, _LABELS["ru"])
    lines = [text["title"], *head]
    for title, headers, rows in tables:
        lines += ["", title, "-" * len(title)]
        if not rows:
            lines.append(text["none"])
            continue
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
        for row in [headers, *rows]:
            cells = [
                cell.rjust(width) if index and _numeric(cell) else cell.ljust(width)
                for index, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _numeric(cell: str) -> bool:
    return cell.replace("%", "").replace(".", "").isdigit()


def render(report: Report, fmt: str, language: str = "ru") -> str:
    if fmt == "json":
        return report_json(report) + "\n"
    if fmt == "csv":
        return report_csv(report)
    if fmt == "md":
        return report_markdown(report, language)
    return report_table(report, language)
