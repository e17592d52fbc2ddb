"""Headless Chromium: launch from a (test) Canvas platform, ask on the group page, see a
streamed answer with a numbered citation linking to the Canvas page.

Skips (with the reason printed) when /usr/bin/chromium or /usr/bin/chromedriver is missing.
"""

import os

import pytest

from tests.assistant.conftest import load_course, needs_model
from tests.assistant.corpus import BIO101
from tests.assistant.webdriver import CHROMEDRIVER, CHROMIUM, Browser
from tests.integrations.conftest import jwks_server, platform, platform_key  # noqa: F401 - fixtures
from workspaces.models import Group

_missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
if _missing:
    print(f"\n[browser test] skipped: {', '.join(_missing)} missing (apt-get install -y chromium chromium-driver)")

pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"{', '.join(_missing)} missing: install chromium chromium-driver"
)


@needs_model
def test_launch_ask_and_see_a_cited_answer(transactional_db, live_server, platform, client, settings, tmp_path):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_SAMESITE = "Lax"
    settings.CSRF_COOKIE_SAMESITE = "Lax"
    response, _ = platform.full_launch(client)
    assert response.status_code == 302
    group = Group.objects.get(lms_context_id="d3a2504bba5184799a38f141e8df2335cfa8206d")
    assert response["Location"] == f"/groups/{group.uuid}/"
    load_course(group, BIO101)
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    browser = Browser(str(tmp_path / "chromium"))
    try:
        browser.get(f"{live_server.url}/healthz")
        browser.add_cookie(settings.SESSION_COOKIE_NAME, session_cookie)
        browser.get(f"{live_server.url}{response['Location']}")
        browser.wait_for("return document.getElementById('group-content').dataset.ready")
        assert "Offline mode" in browser.run("return document.getElementById('assistant-mode').textContent")
        assert browser.run("return document.getElementById('staff-notice').hidden") is True
        browser.type("#question", "Where does the Calvin cycle run?\n")  # Enter sends (keyboard only)
        browser.wait_for("return document.querySelector('.msg-assistant[data-status=answered] .sources a')")
        answer = browser.run("return document.querySelector('.msg-assistant .msg-body').innerText")
        link = browser.run(
            "const a = document.querySelector('.msg-assistant .sources a'); return [a.textContent, a.href];"
        )
        (tmp_path / "chat.png").write_bytes(browser.screenshot())
        print(f"\n[browser test] screenshot: {tmp_path / 'chat.png'}")
    finally:
        browser.close()
    assert "The Calvin cycle runs in the stroma. [1]" in answer
    assert link[0] == "Week 3: Photosynthesis"
    assert link[1].startswith(f"https://canvas.example.edu/courses/{group.pk}/pages/")
