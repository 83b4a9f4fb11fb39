"""No template brings back what the Content-Security-Policy blocks: inline scripts, inline
event handlers (``onclick=``, htmx's ``hx-on``), ``style=`` attributes or ``<style>`` blocks.
The browser test (tests/browser/test_csp.py) proves the pages it visits; this covers every
template, visited or not."""

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted(
    p
    for p in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    if ".venv" not in p.parts
)
BLOCKED = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "inline event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "hx-on attribute": re.compile(r"\bhx-on", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "style element": re.compile(r"<style\b", re.I),
}


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_has_nothing_the_policy_blocks(template):
    text = re.sub(r"{#.*?#}", "", template.read_text(), flags=re.S)  # comments may say <style>
    found = [what for what, pattern in BLOCKED.items() if pattern.search(text)]
    assert found == [], f"{template.relative_to(ROOT)}: {', '.join(found)}"
