import pytest
from playwright.sync_api import expect

from coordination.demo import demo_seed
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_signs_in_and_sees_the_plant(login):
    demo_seed(users=False)
    page = login("supervisor")

    expect(page.get_by_role("heading", name="Plant overview")).to_be_visible()
    for code in ("L1", "L2", "L3", "L4"):
        expect(page.locator(f"#line-{code}")).to_be_visible()
    expect(page.locator(".job-running")).to_have_count(4)
    expect(page.get_by_text("supervisor · supervisor")).to_be_visible()
    assert screenshot(page, "overview").stat().st_size > 10_000


def test_wrong_password_stays_on_login(page, role_user):
    role_user("planner", username="planner")
    page.goto("/")
    page.get_by_label("Username").fill("planner")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
