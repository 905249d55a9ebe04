"""The simulator's web console in a real headless Chromium, after the demo scenario.

Each test opens ``/console`` on a simulator served on 127.0.0.1 (the demo's care
logic wired to it) and acts as a developer would: read the phones, answer as
someone, tap back, move the clock, switch a fault on, export the session.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from adapters.cli.demo import ERIK, INGRID, SOFIA
from caresupport_transport import MessageReceived, OutgoingMessage, ReactionAdded, TextPart
from tests.console.served import ServedConsole

WAIT = 10.0


def wait_for(browser: Any, condition: Any, what: str) -> Any:
    """Wait until ``condition`` holds; a bubble redrawn meanwhile (stale) is looked up again."""
    return WebDriverWait(
        browser,
        WAIT,
        poll_frequency=0.05,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(condition, message=what)


def click(browser: Any, selector: str) -> None:
    """Click what ``selector`` finds, looking it up again if it is redrawn under the click."""

    def clicked(b: Any) -> bool:
        b.find_element(By.CSS_SELECTOR, selector).click()
        return True

    wait_for(browser, clicked, f"a click on {selector}")


def phone(browser: Any, person: str) -> WebElement:
    found: WebElement = wait_for(
        browser,
        lambda b: (
            b.find_elements(By.CSS_SELECTOR, f'.phone[data-person="{person}"] .bubble')
            and b.find_element(By.CSS_SELECTOR, f'.phone[data-person="{person}"]')
        ),
        f"{person}'s phone with messages",
    )
    return found


def open_console(browser: Any, served: ServedConsole) -> None:
    browser.get(served.url)
    wait_for(browser, lambda b: b.find_element(By.ID, "live").text == "live", "the live stream")


def texts_received(served: ServedConsole) -> list[tuple[str, str]]:
    return [
        (
            str(e.message.sender),
            " ".join(p.text for p in e.message.parts if isinstance(p, TextPart)),
        )
        for e in list(served.handled)
        if isinstance(e, MessageReceived)
    ]


def test_console_shows_each_person_of_the_demo_with_the_service_that_carried_them(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    open_console(browser, served)
    services = {}
    for person in (INGRID, SOFIA, ERIK):
        bubbles = phone(browser, str(person)).find_elements(
            By.CSS_SELECTOR, "section.chat:not([data-group]) .bubble"
        )
        services[person] = {b.get_attribute("data-service") for b in bubbles}
    assert services == {INGRID: {"imessage"}, SOFIA: {"rcs"}, ERIK: {"sms"}}
    care_line = browser.find_element(By.CSS_SELECTOR, '.phone[data-person="__line__"]')
    notes = [li.text for li in care_line.find_elements(By.CSS_SELECTOR, ".degradations li")]
    assert any("effect" in note and "SMS" in note for note in notes), notes
    group = phone(browser, str(ERIK)).find_element(By.CSS_SELECTOR, "section.chat[data-group]")
    title = group.find_element(By.CSS_SELECTOR, ".chat-title").text
    assert all(str(p) in title for p in (INGRID, SOFIA, ERIK))


def test_a_reply_typed_as_the_sms_only_person_reaches_the_care_logic_handler(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    open_console(browser, served)
    erik = phone(browser, str(ERIK))
    erik.find_element(By.CSS_SELECTOR, "input[name=text]").send_keys("I can drive on Tuesday")
    erik.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        browser,
        lambda _: (str(ERIK), "I can drive on Tuesday") in texts_received(served),
        "the reply at the care logic's handler",
    )
    wait_for(
        browser,
        lambda b: any(
            e.text.endswith("I can drive on Tuesday") or "I can drive on Tuesday" in e.text
            for e in b.find_elements(
                By.CSS_SELECTOR, f'.phone[data-person="{ERIK}"] .bubble.mine[data-service="sms"]'
            )
        ),
        "Erik's green bubble",
    )


def test_a_tapback_from_the_imessage_person_reaches_the_care_logic_and_the_bubble(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    open_console(browser, served)
    phone(browser, str(INGRID))
    theirs = f'.phone[data-person="{INGRID}"] .bubble.theirs'
    message_id = wait_for(
        browser,
        lambda b: b.find_element(By.CSS_SELECTOR, theirs).get_attribute("data-message-id"),
        "a bubble from the care line",
    )
    click(browser, f'{theirs}[data-message-id="{message_id}"] button[data-tapback="love"]')
    wait_for(
        browser,
        lambda _: any(
            isinstance(e, ReactionAdded) and e.message_id == message_id for e in served.handled
        ),
        "the tapback at the care logic's handler",
    )
    wait_for(
        browser,
        lambda b: (
            f"love by {INGRID}"
            in b.find_element(
                By.CSS_SELECTOR,
                f'.phone[data-person="__line__"] .bubble[data-message-id="{message_id}"]',
            ).text
        ),
        "the tapback on the care line's bubble",
    )


def test_advancing_the_clock_shows_the_read_tick(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    assert served.transport is not None
    chat = next(
        c for c in served.simulator.world.conversations.values() if c.participants == (INGRID,)
    )
    receipt = served.call(
        served.transport.send_message(chat.id, OutgoingMessage.of_text("Did Astrid sleep well?"))
    )
    message_id = receipt.message_ids[0]
    open_console(browser, served)
    selector = f'.phone[data-person="__line__"] .bubble[data-message-id="{message_id}"]'
    status = wait_for(
        browser,
        lambda b: b.find_element(By.CSS_SELECTOR, selector).get_attribute("data-status"),
        "the bubble",
    )
    assert status != "read"
    seconds = browser.find_element(By.ID, "advance-seconds")
    seconds.clear()
    seconds.send_keys("120")
    browser.find_element(By.ID, "advance-button").click()
    wait_for(
        browser,
        lambda b: b.find_element(By.CSS_SELECTOR, selector).get_attribute("data-status") == "read",
        "the read status",
    )
    wait_for(
        browser,
        lambda b: b.find_element(By.CSS_SELECTOR, f"{selector} .ticks").text == "✓✓ read",
        "the read tick",
    )


def test_a_dropped_webhook_connection_shows_as_a_retry_in_the_webhook_log(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    open_console(browser, served)
    assert all(o.attempts == 1 for o in served.simulator.deliveries)
    browser.find_element(By.CSS_SELECTOR, 'input[data-fault="webhook_drop"]').click()
    ingrid = phone(browser, str(INGRID))
    for attempt in range(4):
        ingrid.find_element(By.CSS_SELECTOR, "input[name=text]").send_keys(f"ping {attempt}")
        ingrid.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        time.sleep(0.3)
    retried = wait_for(
        browser,
        lambda b: next(
            (
                (r.get_attribute("data-index"), r.find_element(By.CSS_SELECTOR, ".status").text)
                for r in b.find_elements(By.CSS_SELECTOR, "#webhook-log tbody tr")
                if int(r.get_attribute("data-attempts")) >= 2
            ),
            None,
        ),
        "a delivery that needed a retry",
    )
    index, status = retried
    assert status == "200"
    outcome = served.simulator.deliveries[int(index)]
    assert outcome.attempts >= 2
    assert outcome.delivered
    # Every ping still reached the care logic once the retries went through.
    wait_for(
        browser,
        lambda _: (
            [t for s, t in texts_received(served) if t.startswith("ping")]
            == [f"ping {n}" for n in range(4)]
        ),
        "every ping at the handler",
    )
    before = len(served.simulator.deliveries)
    click(browser, f'#webhook-log tr[data-index="{index}"] button')
    wait_for(
        browser,
        lambda _: any(
            o.delivery.event_id == outcome.delivery.event_id
            for o in served.simulator.deliveries[before:]
        ),
        "the redelivery of the same event",
    )


def test_message_text_is_shown_as_text_never_run_as_html(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    attack = '<img src=x onerror="document.title=\'owned\'"><script>document.title="owned"</script>'
    open_console(browser, served)
    sofia = phone(browser, str(SOFIA))
    sofia.find_element(By.CSS_SELECTOR, "input[name=text]").send_keys(attack)
    sofia.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        browser,
        lambda b: any(
            e.text == attack
            for e in b.find_elements(By.CSS_SELECTOR, '.phone[data-person="__line__"] .text')
        ),
        "the attack shown as text",
    )
    assert browser.find_elements(By.CSS_SELECTOR, ".bubble img, .bubble script") == []
    assert browser.title != "owned"


def test_the_exported_session_replays_on_in_memory_transport_and_passes(
    browser: Any, served: ServedConsole, screenshot: None, tmp_path: Path
) -> None:
    open_console(browser, served)
    erik = phone(browser, str(ERIK))
    erik.find_element(By.CSS_SELECTOR, "input[name=text]").send_keys("See you Tuesday")
    erik.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda _: (str(ERIK), "See you Tuesday") in texts_received(served), "reply")
    downloads: Path = browser.downloads
    browser.find_element(By.ID, "export-link").click()
    exported = downloads / "test_console_session.py"
    wait_for(browser, lambda _: exported.exists() and exported.stat().st_size > 0, "the file")
    source = exported.read_text()
    assert f"({str(ERIK)!r}, 'See you Tuesday')" in source
    assert "assert receipt.service is Service.SMS" in source
    target = tmp_path / "test_console_session.py"
    target.write_text(source)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_console_works_from_the_keyboard_at_phone_width(
    browser: Any, served: ServedConsole, screenshot: None
) -> None:
    browser.set_window_size(390, 844)
    try:
        open_console(browser, served)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        sofia = phone(browser, str(SOFIA))
        # Typing shows on the care line's phone, then Enter in the text field sends.
        sofia.find_element(By.CSS_SELECTOR, "button[data-typing]").send_keys(Keys.SPACE)
        wait_for(
            browser,
            lambda b: (
                f"{SOFIA} is typing…"
                in b.find_element(By.CSS_SELECTOR, '.phone[data-person="__line__"]').text
            ),
            "the typing indicator",
        )
        field = sofia.find_element(By.CSS_SELECTOR, "input[name=text]")
        field.send_keys("Typed without a mouse", Keys.ENTER)
        wait_for(
            browser,
            lambda _: (str(SOFIA), "Typed without a mouse") in texts_received(served),
            "the keyboard-sent reply at the handler",
        )
        # The page clears the field once the simulator has answered, which may be
        # just after the webhook reached the handler.
        wait_for(
            browser,
            lambda b: (
                phone(b, str(SOFIA))
                .find_element(By.CSS_SELECTOR, "input[name=text]")
                .get_attribute("value")
                == ""
            ),
            "the cleared text field",
        )
    finally:
        browser.set_window_size(1280, 1400)
