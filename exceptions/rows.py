"""The board's rows as HTML, built in Python.

Measured (bench/board.py): the template engine spent ~70 % of a 200-row board render on the
~30 variables per row (escape + localize each). One format string per row, escaping only
the free text, renders the same markup an order of magnitude faster. Markup changes here
must keep the classes and ids the CSS, board.js and the tests use.

Actions carry ``data-panel`` instead of hx-* attributes: board.js sends them with
``htmx.ajax`` from ``#panel``, outside the polled rows, so a refresh that replaces the rows
while an action is in flight cannot make htmx drop the action's answer.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kernel.plant_time import plant_time

from .actions import case_actions_offered

ROW = (
    '<tr id="case-{pk}" class="case sev-{sev} status-{status}">'
    '<td><span class="sev-badge sev-{sev}">{sev_label}</span></td>'
    '<td class="case-title"><a href="{url}/">{title}</a>'
    '<div class="small muted">{kind} · {key}{flags}</div></td>'
    "<td>{affected}</td><td>{owner}</td>"
    '<td><time class="age" datetime="{opened}">{age}</time></td>'
    '<td class="num">{events}</td><td>{status}</td>'
    '<td class="actions">{actions}</td></tr>\n'
)
LINK = '<a class="act-link" data-panel href="{url}/{action}/?next={next}">{label}</a>'
ACK = (
    '<form method="post" action="{url}/acknowledge/" data-panel>'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="expected_state" value="open">'
    '<input type="hidden" name="next" value="{next}">'
    '<button class="small-button act" type="submit">Acknowledge</button></form>'
)


def board_rows_html(
    cases, *, csrf_token: str, next_url: str, act_kinds: set[str] | None = None
) -> SafeString:
    """Rows for cases labelled by ``selectors._label_rows``; actions only on the kinds in
    ``act_kinds`` (None: all). A role reads another function's exception when it has a task
    on it, but acting stays with that function."""
    csrf, nxt = escape(csrf_token), escape(next_url)
    out = []
    for case in cases:
        flags = ""
        if not case.condition_active:
            cleared = plant_time(case.cleared_at, "time")
            flags += f' · <span class="cleared">cleared {cleared}</span>'
        if case.repeat_of_id:
            flags += ' · <span class="repeat">repeat</span>'
        out.append(
            ROW.format(
                pk=case.pk,
                sev=case.severity,
                status=escape(case.status),
                sev_label=case.severity_label,
                url=case.url,
                title=escape(case.title),
                kind=escape(case.kind_label),
                key=escape(case.key),
                flags=flags,
                affected=escape(case.affected_label) or "—",
                owner=escape(case.owner) or "unassigned",
                opened=case.opened_iso,
                age=case.age,
                events=case.event_count,
                next=nxt,
                actions="".join(
                    ACK.format(url=case.url, csrf=csrf, next=nxt)
                    if action == "acknowledge"
                    else LINK.format(url=case.url, action=action, next=nxt, label=action.title())
                    for action in (
                        case_actions_offered(case)
                        if act_kinds is None or case.kind in act_kinds
                        else []
                    )
                ),
            )
        )
    return mark_safe("".join(out))  # every free-text value is escaped above
