"""The analytics report as readable text tables, for `tierzero analytics` (the API answers with the report's JSON)."""

from __future__ import annotations

from handoff.analytics import AnalyticsReport, Share


def _percent(share: Share) -> str:
    return f"{share.count} ({100 * share.rate:.1f}%)" if share.rate is not None else str(share.count)


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "-"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [headers, *rows]
    ]


def render_text(report: AnalyticsReport) -> str:
    """The report as readable tables, for `tierzero analytics`."""
    c, t = report.conversations, report.tickets
    reasons = ", ".join(f"{k.replace('_', ' ')} {_percent(v)}" for k, v in c.escalated_by_reason.items())
    lines = [
        f"Tier Zero analytics, {report.days[0].day} to {report.days[-1].day} ({report.timezone})",
        "",
        f"Conversations {c.conversations}: answered {_percent(c.answered)}, deflected {_percent(c.deflected)}, "
        f"escalated {_percent(c.escalated)}",
        f"  escalated because: {reasons}",
        f"Tickets {t.tickets}: SLA breached {_percent(t.sla_breached)} "
        f"(first response {t.sla_breached_by_deadline['first_response'].count}, "
        f"resolution {t.sla_breached_by_deadline['resolution'].count}); "
        f"median first response {_duration(t.median_first_response_minutes)} ({t.responded} answered), "
        f"median resolution {_duration(t.median_resolution_minutes)} ({t.resolved} resolved)",
    ]
    ticket_headers = ["tickets", "no answer", "asked", "needs agent", "SLA breached", "1st response", "resolution"]
    for title, groups in (("queue", report.by_queue), ("priority", report.by_priority), ("tag", report.by_tag)):
        if groups:
            rows = [
                [
                    name,
                    str(g.tickets),
                    *(str(share.count) for share in g.by_reason.values()),
                    _percent(g.sla_breached),
                    _duration(g.median_first_response_minutes),
                    _duration(g.median_resolution_minutes),
                ]
                for name, g in groups.items()
            ]
            lines += ["", *_table([title, *ticket_headers], rows)]
    if report.by_language:
        rows = [
            [lang, str(g.conversations), _percent(g.deflected), _percent(g.escalated)]
            for lang, g in report.by_language.items()
        ]
        lines += ["", *_table(["language", "conversations", "deflected", "escalated"], rows)]
    rows = [
        [
            str(d.day),
            str(d.conversations.conversations),
            _percent(d.conversations.deflected),
            _percent(d.conversations.escalated),
            str(d.tickets.tickets),
            _percent(d.tickets.sla_breached),
            _duration(d.tickets.median_first_response_minutes),
            _duration(d.tickets.median_resolution_minutes),
        ]
        for d in report.days
    ]
    headers = [
        "day",
        "conversations",
        "deflected",
        "escalated",
        "tickets",
        "SLA breached",
        "1st response",
        "resolution",
    ]
    lines += ["", *_table(headers, rows)]
    return "\n".join(lines)
