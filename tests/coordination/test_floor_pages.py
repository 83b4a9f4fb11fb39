"""Issue 15: the drill-down pages (line, order, job, item, lot), their links and the search."""

import pytest

from coordination.models import Lot
from coordination.quality import lot_hold_place

pytestmark = pytest.mark.django_db


def page(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def test_line_page_shows_status_jobs_exceptions_staffing_and_events(client, role_user, plant, down):
    case = down("L1", reason="filler jam")
    body = page(client, role_user("supervisor"), "/lines/L1/")
    assert "Line L1" in body and "Running" in body  # the observer alone does not move the line
    assert "WO-60101" in body and "WO-60102" in body  # running now, then next
    assert f"#{case.pk} Line L1 down: filler jam" in body
    assert "Staffing" in body and "Recent events" in body
    assert "equipment.status from mes/test" in body  # the signal, on the line's timeline
    assert 'id="line-plan"' in body and "What to run next" in body  # the ranked list
    assert 'data-job="WO-60102"' in body and "Next shift" in body
    assert 'href="/api/v1/lines/L1/schedule.xml"' in body  # its B2MML download
    assert 'href="/lines/L1/andon"' in body


def test_line_page_live_part_for_htmx(client, role_user, plant):
    client.force_login(role_user("maintenance"))
    response = client.get("/lines/L2/?part=live", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="line-live"') and "<html" not in body


def test_unknown_line_order_job_item_are_404(client, role_user, plant):
    user = role_user("supervisor")
    for url in ("/lines/NOPE/", "/orders/SO-1/", "/jobs/WO-1/", "/items/NOPE/", "/lots/NOPE/"):
        page(client, user, url, 404)


def test_order_page_lists_jobs_and_the_exception_on_it(client, role_user, plant, order_change):
    case = order_change("SO-10101")
    body = page(client, role_user("planner"), "/orders/SO-10101/")
    assert "Order SO-10101" in body and "Customer tier" in body
    assert 'href="/jobs/WO-60101/"' in body and 'href="/lines/L1/"' in body
    assert f"#{case.pk} Order SO-10101 changed" in body


def test_order_page_is_refused_to_maintenance(client, role_user, plant):
    page(client, role_user("maintenance"), "/orders/SO-10101/", 403)


def test_job_page_for_maintenance_shows_no_order(client, role_user, plant):
    body = page(client, role_user("maintenance"), "/jobs/WO-60101/")
    assert "Job WO-60101" in body and "SO-10101" not in body
    assert "LOT-FG-1" not in body  # lots are not maintenance's either


def test_job_page_links_its_order_and_lots_for_the_supervisor(client, role_user, plant):
    body = page(client, role_user("supervisor"), "/jobs/WO-60101/")
    assert 'href="/orders/SO-10101/"' in body and 'href="/lots/LOT-FG-1/"' in body
    assert "WO-60102" in body  # the job after it on the line


def test_lot_page_shows_where_it_is_and_its_holds(client, role_user, plant):
    quality = role_user("quality")
    lot_hold_place(
        lot_id=Lot.objects.get(code="LOT-FG-1").pk,
        actor=quality,
        reason="seal leak",
        defect_code="SEAL",
    )
    body = page(client, quality, "/lots/LOT-FG-1/")
    assert "Where it is" in body and "QA-CAGE" in body
    assert "seal leak" in body and "still on hold" in body
    assert 'href="/jobs/WO-60101/"' in body and 'href="/orders/SO-10101/"' in body
    assert "/api/v1/" not in body
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"


def test_exception_page_links_lead_to_pages_not_the_api(client, role_user, plant, down):
    case = down("L1")
    body = page(client, role_user("supervisor"), f"/exceptions/{case.pk}/")
    assert "/api/v1/" not in body
    assert 'href="/jobs/WO-60101/"' in body and 'href="/orders/SO-10101/"' in body


def test_overview_tiles_and_cards_link_to_the_pages(client, role_user, plant):
    body = page(client, role_user("supervisor"), "/")
    assert 'href="/lines/L1/"' in body and 'href="/jobs/WO-60101/"' in body
    assert 'href="/orders/SO-10101/"' in body and 'href="/orders/?late=1"' in body
    assert 'href="/quality/"' in body


def test_overview_shows_maintenance_no_order_link(client, role_user, plant):
    body = page(client, role_user("maintenance"), "/")
    assert "/orders/" not in body and 'href="/jobs/WO-60101/"' in body


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("L3", "/lines/L3/"),
        ("so-10102", "/orders/SO-10102/"),
        ("WO-60104", "/jobs/WO-60104/"),
        ("LOT-M0001", "/lots/LOT-M0001/"),
        ("MAT-CAP-28", "/items/MAT-CAP-28/"),
    ],
)
def test_search_opens_the_one_exact_match(client, role_user, plant, query, target):
    client.force_login(role_user("supervisor"))
    response = client.get("/search/", {"q": query})
    assert response.status_code == 302 and response["Location"] == target


def test_search_finds_an_exception_by_number(client, role_user, plant, down):
    case = down("L2")
    client.force_login(role_user("supervisor"))
    response = client.get("/search/", {"q": f"#{case.pk}"})
    assert response["Location"] == f"/exceptions/{case.pk}/"


def test_search_lists_partial_matches(client, role_user, plant):
    body = page(client, role_user("supervisor"), "/search/?q=SO-101")
    assert body.count('class="hit hit-order"') == 10  # capped per kind


def test_search_respects_the_role(client, role_user, plant, order_change):
    order_change("SO-10101")
    body = page(client, role_user("maintenance"), "/search/?q=SO-10101&list=1")
    assert "hit-order" not in body and "hit-exception" not in body
    body = page(client, role_user("sales"), "/search/?q=LOT&list=1")
    assert "hit-lot" not in body


@pytest.mark.parametrize("query", ["\x00", "x" * 5000, "#99999999999999999999", "%", "  "])
def test_search_survives_hostile_input(client, role_user, plant, query):
    client.force_login(role_user("supervisor"))
    response = client.get("/search/", {"q": query})
    assert response.status_code in (200, 400)


def test_search_box_is_in_the_layout(client, role_user, plant):
    body = page(client, role_user("sales"), "/inbox/")
    assert 'role="search"' in body and 'action="/search/"' in body


def test_search_for_a_line_opens_the_line_even_with_its_downtime_open(
    client, role_user, plant, down
):
    down("L2")
    client.force_login(role_user("supervisor"))
    response = client.get("/search/", {"q": "L2"})
    assert response.status_code == 302 and response["Location"] == "/lines/L2/"
