"""Helpers for the browser tests: find things the way a visitor does, and wait for them explicitly.

Every wait is a WebDriverWait on a condition; none of these helpers sleeps. When a wait times
out, the AssertionError says where the browser was and what the page showed, since a server error
page (DEBUG is off in tests) otherwise only shows up as "timed out".
"""

import functools
import os
from pathlib import Path

import pytest
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT_SECONDS = 5

# Bootstrap 5.3's --bs-btn-bg for .btn-primary (#0d6efd) as getComputedStyle reports it.
BOOTSTRAP_PRIMARY_BG = "rgb(13, 110, 253)"


def computed_style(driver, element, property_name):
    """The value getComputedStyle gives, unconverted (chromedriver's own call says rgba(...))."""
    return driver.execute_script(
        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1]);",
        element,
        property_name,
    )


def _where(driver):
    try:
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h1")]
    except Exception:  # the page may be mid-navigation; the URL and title still help
        headings = "?"
    return f"at {driver.current_url!r}, title {driver.title!r}, h1 {headings!r}"


def wait_until(driver, condition, description, timeout=WAIT_SECONDS):
    """WebDriverWait(...).until(condition), failing with `description` and the page it was on."""
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        raise AssertionError(f"Timed out waiting for {description}, {_where(driver)}") from None


def _page_loaded(driver):
    return driver.execute_script("return document.readyState") == "complete"


def prefer_reduced_motion(driver):
    """Asks for prefers-reduced-motion: reduce, as some visitors do.

    Bootstrap's reboot turns on `scroll-behavior: smooth` otherwise, and chromedriver clicks an
    element it has scrolled to before the smooth scroll ends, so clicks near the bottom of a
    long form land on the wrong spot (ElementClickInterceptedException). The emulation lasts
    for the tab, across navigations; setting it again is harmless.
    """
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )


def open_page(driver, url):
    prefer_reduced_motion(driver)
    driver.get(url)
    wait_until(driver, _page_loaded, f"{url} to load")


def _gone(element):
    """EC.staleness_of, also when chromedriver words it differently.

    While a navigation is under way chromedriver sometimes answers a question about a node of
    the old page with "unknown error: ... Node with given id does not belong to the document"
    rather than a stale element reference; both mean the node's page is no longer shown.
    """

    def is_gone(driver):
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error.msg):
                return True
            raise
        return False

    return is_gone


def click_and_wait_for_new_page(driver, element):
    """Clicks a link or submit button and waits until the browser shows the page it leads to."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait_until(driver, _gone(old_page), "the click to lead to a new page")
    wait_until(driver, _page_loaded, "the new page to load")


def heading(driver):
    return driver.find_element(By.CSS_SELECTOR, "main h1").text


def wait_for_heading(driver, text):
    def shows_heading(d):
        try:
            return heading(d) == text
        except NoSuchElementException:
            return False

    wait_until(driver, shows_heading, f"the main heading {text!r}")


def main_navigation(driver):
    return driver.find_element(By.CSS_SELECTOR, "nav[aria-label='Main']")


def navigation_items(driver):
    """The visible texts of the main navigation's links and buttons."""
    nav = main_navigation(driver)
    return [
        element.text
        for element in nav.find_elements(By.CSS_SELECTOR, "a, button")
        if element.is_displayed() and element.text
    ]


def nav_link(driver, text):
    return main_navigation(driver).find_element(By.LINK_TEXT, text)


def nav_button(driver, text):
    nav = main_navigation(driver)
    buttons = [b for b in nav.find_elements(By.TAG_NAME, "button") if b.text == text]
    assert len(buttons) == 1, f"expected one {text!r} button in the navigation, {_where(driver)}"
    return buttons[0]


def field_by_label(driver, label_text):
    """The form control a <label> in the main content names (a required field's * ignored)."""
    labels = driver.find_elements(By.CSS_SELECTOR, "main label[for]")
    for label in labels:
        if label.text.removesuffix("*").strip() == label_text:
            return driver.find_element(By.ID, label.get_attribute("for"))
    found = [label.text for label in labels]
    raise AssertionError(f"No field labelled {label_text!r} (labels: {found!r}), {_where(driver)}")


def fill(driver, label_text, value):
    field = field_by_label(driver, label_text)
    field.clear()
    field.send_keys(value)
    return field


def choose(driver, label_text, option_text):
    Select(field_by_label(driver, label_text)).select_by_visible_text(option_text)


def type_date(driver, label_text, date):
    """Types a date into an <input type=date> the way a person would, in the browser's order.

    Chromium's date input takes digits field by field, in the order of the browser locale's
    short date (month/day/year for en-US); Intl reports that order, so it need not be guessed.
    The input's value is checked afterwards, so a wrong order fails here, not at the server.
    """
    field = field_by_label(driver, label_text)
    order = driver.execute_script(
        "return new Intl.DateTimeFormat().formatToParts(new Date(2001, 1, 3))"
        ".map(part => part.type).filter(type => ['year', 'month', 'day'].includes(type));"
    )
    digits = {"year": f"{date.year:04d}", "month": f"{date.month:02d}", "day": f"{date.day:02d}"}
    field.send_keys("".join(digits[part] for part in order))
    assert field.get_attribute("value") == date.isoformat(), (
        f"typing {date} in the order {order} gave the date input {field.get_attribute('value')!r}"
    )
    return field


def type_datetime(driver, label_text, moment):
    """Types a wall-clock date and time into an <input type=datetime-local>, as type_date does.

    The sub-fields come in the order of the browser locale's short date and time (for en-US
    month/day/year, then hour:minute and AM/PM), which Intl reports. A full month, day, hour or
    minute moves the cursor on by itself; a year may have up to six digits, so after one the
    cursor is moved on with the right arrow key. The input's value is checked afterwards.
    """
    field = field_by_label(driver, label_text)
    order = driver.execute_script(
        "return new Intl.DateTimeFormat(undefined, {year: 'numeric', month: '2-digit',"
        " day: '2-digit', hour: '2-digit', minute: '2-digit'})"
        ".formatToParts(new Date(2001, 1, 3, 16, 5)).map(part => part.type)"
        ".filter(type => ['year', 'month', 'day', 'hour', 'minute', 'dayPeriod']"
        ".includes(type));"
    )
    twelve_hour = "dayPeriod" in order
    hour = (moment.hour % 12 or 12) if twelve_hour else moment.hour
    typed = {
        "year": f"{moment.year:04d}",
        "month": f"{moment.month:02d}",
        "day": f"{moment.day:02d}",
        "hour": f"{hour:02d}",
        "minute": f"{moment.minute:02d}",
        "dayPeriod": "A" if moment.hour < 12 else "P",
    }
    keys = []
    for part in order:
        keys.append(typed[part])
        if part == "year":
            keys.append(Keys.ARROW_RIGHT)
    field.send_keys(*keys)
    expected = moment.strftime("%Y-%m-%dT%H:%M")
    assert field.get_attribute("value") == expected, (
        f"typing {expected} in the order {order} gave the datetime-local input "
        f"{field.get_attribute('value')!r}"
    )
    return field


def submit(driver, button_text):
    """Presses the main form's submit button and waits for the page the server answers with."""
    buttons = [
        button
        for button in driver.find_elements(By.CSS_SELECTOR, "main form button[type='submit']")
        if button.text == button_text
    ]
    assert len(buttons) == 1, f"expected one {button_text!r} submit button, {_where(driver)}"
    click_and_wait_for_new_page(driver, buttons[0])


def messages(driver):
    """The texts of the flash messages shown at the top of the page."""
    return [
        alert.text
        for alert in driver.find_elements(By.CSS_SELECTOR, ".messages .alert")
        if alert.is_displayed()
    ]


def error_summary(driver):
    """The entries of the form's error summary box (form_errors.html); [] when there is none."""
    return [
        item.text
        for item in driver.find_elements(By.CSS_SELECTOR, "#form-errors li")
        if item.is_displayed()
    ]


# --- The keyboard alone: what a visitor without a mouse (or with a screen reader) does ---


def focused_element(driver):
    return driver.switch_to.active_element


def press(driver, *keys):
    """Presses keys as the keyboard would, on whatever has the focus."""
    ActionChains(driver).send_keys(*keys).perform()


def press_shift_tab(driver):
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()


KEY_NAMES = {Keys.ENTER: "Enter", Keys.SPACE: "Space", Keys.TAB: "Tab"}


def press_and_wait_for_new_page(driver, key):
    """Presses a key that follows a link or submits a form; waits for the page it leads to."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    press(driver, key)
    name = KEY_NAMES.get(key, repr(key))
    wait_until(driver, _gone(old_page), f"pressing {name} to lead to a new page")
    wait_until(driver, _page_loaded, "the new page to load")


def describe_element(driver, element):
    """The start of an element's HTML, to say in a failure which one it was."""
    return element.get_attribute("outerHTML")[:160]


def tab_until(driver, matches, description, limit=60):
    """Presses Tab until the focused element `matches`; returns it. Fails after `limit` presses."""
    for _ in range(limit):
        press(driver, Keys.TAB)
        element = focused_element(driver)
        if matches(element):
            return element
    raise AssertionError(
        f"{limit} presses of Tab never reached {description}; the focus ended on "
        f"{describe_element(driver, focused_element(driver))}, {_where(driver)}"
    )


def tab_to_text(driver, text):
    """Tabs to the link or button whose visible text is `text`."""
    return tab_until(driver, lambda element: element.text == text, f"{text!r}")


def assert_focus_is_visible(driver, element):
    """The focused element is on screen, inside the window, with a focus outline drawn around it
    (WCAG 2.4.7 focus visible, 2.4.11 focus not obscured)."""
    assert focused_element(driver) == element, "the element is not the one with the focus"
    seen = driver.execute_script(
        """
        const element = arguments[0], style = getComputedStyle(element);
        const box = element.getBoundingClientRect();
        return {
          outlineStyle: style.outlineStyle,
          outlineWidth: parseFloat(style.outlineWidth),
          inWindow: box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
            && box.bottom <= window.innerHeight && box.right <= window.innerWidth,
        };
        """,
        element,
    )
    where = f"{describe_element(driver, element)}, {_where(driver)}"
    assert element.is_displayed() and seen["inWindow"], f"focused but not in view: {where}"
    assert seen["outlineStyle"] != "none" and seen["outlineWidth"] > 0, (
        f"no visible focus outline ({seen['outlineStyle']}, {seen['outlineWidth']}px): {where}"
    )


# --- Accessibility checks with axe-core (package.json's devDependencies; `npm ci` installs it) ---

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 level A and AA, as axe-core tags its rules (2.2 added AA rules only, e.g. target-size).
WCAG_22_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NODES_SHOWN = 5  # failing elements listed per rule and page; a calendar can have dozens


@functools.cache
def _axe_source():
    if not AXE_SCRIPT.is_file():
        missing = (
            f"axe-core is not installed ({AXE_SCRIPT} is missing): run `npm ci` (make install)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def accessibility_violations(driver):
    """axe-core's WCAG 2.2 AA violations on the page the browser shows, as axe reports them.

    axe is injected into the page through WebDriver, which a Content Security Policy does not
    govern, so the portal's policy needs no exception for the tests.
    """
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(_axe_source())
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(
          document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']}
        )
          .then((results) => done(results.violations), (error) => done({error: String(error)}));
        """,
        WCAG_22_AA_TAGS,
    )
    if isinstance(result, dict):
        raise AssertionError(f"axe-core failed to run: {result['error']}, {_where(driver)}")
    return result


def describe_violations(page_name, url, violations):
    lines = [f"{page_name} ({url}): {len(violations)} accessibility violation(s)"]
    for violation in violations:
        lines.append(
            f"  [{violation['impact']}] {violation['id']}: {violation['help']}"
            f" ({violation['helpUrl']})"
        )
        nodes = violation["nodes"]
        for node in nodes[:NODES_SHOWN]:
            lines.append(f"      at {' '.join(map(str, node['target']))}")
            summary = " ".join((node.get("failureSummary") or "").split())
            if summary:
                lines.append(f"         {summary}")
        if len(nodes) > NODES_SHOWN:
            lines.append(f"      and {len(nodes) - NODES_SHOWN} more like these")
    return "\n".join(lines)


def assert_accessible(driver, page_name):
    """Fails with each WCAG 2.2 AA violation axe-core finds: rule, impact, help and the nodes."""
    violations = accessibility_violations(driver)
    assert not violations, describe_violations(page_name, driver.current_url, violations)
