"""The chat page in headless Chromium (Debian's, driven by Playwright): type a question, watch
the answer stream in, stop a long answer; a screenshot is kept as a test artifact."""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

from conftest import ARTIFACTS

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Flags for a root user on a machine with no network beyond loopback.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        # The page's CSP forbids eval, which Playwright's wait_for_function uses.
        page = browser.new_page(viewport={"width": 1100, "height": 760}, bypass_csp=True)
        page.goto(server.url + "/")
        page.fill("#key", server.api_key)
        page.dispatch_event("#key", "change")
        page.wait_for_function("document.getElementById('model').textContent.includes('context')")
        yield page
        browser.close()


def test_question_gets_a_streamed_answer(server, page):
    page.fill("#max-tokens", "60")
    page.fill("#temperature", "0")
    page.fill("#input", "What is the capital of France? Answer in one short sentence.")
    page.press("#input", "Enter")
    # Seen while streaming: part of the answer is on the page before the stream ends.
    page.wait_for_function(
        "(() => { const b = document.querySelector('.assistant[data-streaming]'); return b && b.textContent.length > 0; })()",
        timeout=60_000,
    )
    page.wait_for_selector(".assistant[data-done]", timeout=120_000)
    answer = page.inner_text(".assistant")
    assert "Paris" in answer, answer
    assert page.inner_text(".user") == "What is the capital of France? Answer in one short sentence."
    assert page.is_enabled("#send") and not page.is_enabled("#stop")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)


def test_stop_button_ends_a_long_answer(server, page):
    page.click("#clear")
    page.fill("#max-tokens", "2000")
    page.fill("#input", "Write a very long essay about the history of computing.")
    page.press("#input", "Enter")
    page.wait_for_function(
        "(() => { const b = document.querySelector('.assistant[data-streaming]'); return b && b.textContent.length > 20; })()",
        timeout=60_000,
    )
    page.click("#stop")
    page.wait_for_selector(".assistant[data-done]", timeout=10_000)
    assert "stopped" in page.inner_text(".assistant .stats")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-page-stopped.png"), full_page=True)


def test_markdown_is_rendered_and_escaped(page):
    html = page.evaluate("markdown('# Title\\n\\nSome **bold** and `code` <b>x</b>\\n\\n```py\\nprint(1 < 2)\\n```\\n- a\\n- b')")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "<pre><code>print(1 &lt; 2)</code></pre>" in html
    assert "<ul><li>a</li><li>b</li></ul>" in html
