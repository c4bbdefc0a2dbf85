"""Helpers for the browser tests: find things the way a visitor does, and wait for them explicitly.

Every wait is a WebDriverWait on a condition; none of these helpers sleeps. When a wait times
out, the AssertionError says where the browser was and what the page showed, since a server error
page (DEBUG is off in tests) otherwise only shows up as "timed out".
"""

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
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
