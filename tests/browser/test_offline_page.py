"""The broker's /offline page in a real browser (headless Chromium driven by Selenium):
a request code made by the real `license-check` with no network is pasted into the
page, the response code read from `#response` is installed by `license-check`, and the
machine is licensed; the QR code the page draws reads back (zbarimg) as that response
code; a one-character typo is named by its group; a deactivation code
pasted into the page frees the seat; the page loads nothing the CSP refuses; and the
QR code `license-check` prints on a terminal reads back as its request code.

Run by tests/browser/run.sh, which starts license-stack and sets:
LC_TEST_BROKER_URL, LC_TEST_TRUSTED_KEYS, LC_TEST_TWO_SEAT_KEY, LICENSE_CHECK.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile
import unittest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BROKER = os.environ["LC_TEST_BROKER_URL"].rstrip("/")
TRUSTED = os.environ["LC_TEST_TRUSTED_KEYS"]
KEY = os.environ["LC_TEST_TWO_SEAT_KEY"]
LICENSE_CHECK = os.environ["LICENSE_CHECK"]
# Nothing listens here: to license-check, the machine is offline.
NO_NETWORK = "http://127.0.0.1:9"
ASKING = "Asking the license server"


class Machine:
    """One desktop machine: its own directories and machine id, the file key store."""

    def __init__(self, machine_id):
        self.home = tempfile.TemporaryDirectory()
        self.machine_id = machine_id

    def env(self):
        home = self.home.name
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, "config"),
            "XDG_DATA_HOME": os.path.join(home, "data"),
            "LICENSE_CHECK_KEYSTORE": "file",
            "LICENSE_CHECK_TRUSTED_KEYS": TRUSTED,
            "LICENSE_CHECK_BROKER_URL": NO_NETWORK,
            "LICENSE_CHECK_MACHINE_ID": self.machine_id,
        }

    def run(self, *args):
        return subprocess.run(
            [LICENSE_CHECK, *args], env=self.env(), capture_output=True, text=True, timeout=60
        )

    def status(self):
        out = self.run("status", "--offline", "--json")
        return out.returncode, json.loads(out.stdout)


def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
        # A phone's width: the page must work there.
        "--window-size=390,844",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class OfflinePage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.browser = chromium()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()

    def open_page(self):
        self.browser.get(BROKER + "/offline")
        self.assertEqual(self.browser.title, "Offline activation")

    def answer_of(self, box, button, out):
        """Types `box`'s text, presses `button`, and waits for `out` to settle."""
        self.browser.find_element(By.ID, button).click()

        def settled(driver):
            text = driver.find_element(By.ID, out).text
            return text if text and ASKING not in text else False

        return WebDriverWait(self.browser, 20).until(settled)

    def paste(self, box, text):
        area = self.browser.find_element(By.ID, box)
        area.clear()
        area.send_keys(text)

    def test_a_request_pasted_into_the_page_is_answered_and_installed(self):
        machine = Machine("browser-test-machine")
        self.addCleanup(machine.home.cleanup)
        made = machine.run("activate", KEY, "--offline-request")
        self.assertEqual(made.returncode, 0, made.stderr)
        request = made.stdout.strip()

        self.open_page()
        # A one-character typo: the check character of its group names it.
        groups = request.split("-")
        groups[2] = ("B" if groups[2][0] == "A" else "A") + groups[2][1:]
        self.paste("request", "-".join(groups))
        typo = self.answer_of("request", "submit", "response")
        self.assertIn("group 3 of", typo)
        self.assertIn("typo", typo)

        # Pasted as a person might: lower case, across lines.
        self.paste("request", request.lower().replace("-", "-\n", 3))
        response = self.answer_of("request", "submit", "response")
        self.assertTrue(response.replace("-", "").isalnum(), response)
        message = self.browser.find_element(By.ID, "message").text
        self.assertIn("Activated", message)
        qr = self.browser.find_element(By.ID, "qr")
        self.assertTrue(qr.get_attribute("src").startswith("data:image/svg+xml;base64,"))
        # The QR code, as the phone draws it, reads back as the response code.
        shot = os.path.join(machine.home.name, "qr.png")
        qr.screenshot(shot)
        scanned = subprocess.run(
            ["zbarimg", "--raw", "-q", shot], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(scanned.stdout.strip(), response, scanned.stderr)
        download = self.browser.find_element(By.ID, "download").get_attribute("href")
        self.assertTrue(download.startswith("blob:"), download)

        installed = machine.run("activate", "--offline-response", response)
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        code, status = machine.status()
        self.assertEqual((code, status["licensed"]), (0, True), status)

        # The same answer on another machine licenses nothing.
        other = Machine("browser-test-other")
        self.addCleanup(other.home.cleanup)
        refused = other.run("activate", "--offline-response", response)
        self.assertEqual(refused.returncode, 64, refused.stderr)

        # The other machine takes the second seat; a third gets MACHINE_LIMIT, with
        # the machines holding the seats and what to do.
        self.paste("request", other.run("activate", KEY, "--offline-request").stdout.strip())
        self.assertNotIn(" ", self.answer_of("request", "submit", "response"))
        third = Machine("browser-test-third")
        self.addCleanup(third.home.cleanup)
        self.paste("request", third.run("activate", KEY, "--offline-request").stdout.strip())
        full = self.answer_of("request", "submit", "response")
        self.assertIn("MACHINE_LIMIT", full)
        self.assertIn("Free one", full)
        self.assertFalse(self.browser.find_element(By.ID, "answer").is_displayed())

        # Deactivation through the page frees the seat.
        gone = machine.run("deactivate", "--offline")
        self.assertEqual(gone.returncode, 0, gone.stderr)
        self.paste("deactivation", gone.stdout.strip())
        done = self.answer_of("deactivation", "deactivate", "deactivated")
        self.assertIn("holds no seat", done)
        self.assertIn("Seats in use: 1 of 2", done)
        self.assertEqual(machine.status()[1]["licensed"], False)

    def test_the_page_breaks_no_rule_of_its_content_security_policy(self):
        self.open_page()
        self.paste("request", "COUPON-123")
        answer = self.answer_of("request", "submit", "response")
        self.assertIn("no code uses", answer)
        logs = self.browser.get_log("browser")
        refused = [e for e in logs if "Content Security Policy" in e.get("message", "")]
        self.assertEqual(refused, [], refused)


class TerminalQr(unittest.TestCase):
    """The QR code `license-check activate KEY --offline-request` prints on a terminal,
    scanned as a camera would: drawn into an image and read back with zbarimg."""

    # The CLI draws light modules as filled halves (for a dark terminal): each
    # character is two modules, top and bottom, True where the module is light.
    HALVES = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}

    def test_the_terminal_qr_code_reads_back_as_the_request_code(self):
        machine = Machine("browser-test-terminal")
        self.addCleanup(machine.home.cleanup)
        command = shlex.join([LICENSE_CHECK, "activate", KEY, "--offline-request"])
        # `script` gives license-check a terminal, so it prints the QR code too.
        shown = subprocess.run(
            ["script", "-q", "-e", "-c", command, "/dev/null"],
            env=machine.env(), capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(shown.returncode, 0, shown.stdout + shown.stderr)
        lines = shown.stdout.replace("\r", "").split("\n")
        drawing = [line for line in lines if line and set(line) <= set(self.HALVES)]
        codes = [line for line in lines if re.fullmatch(r"[0-9A-Z]+(-[0-9A-Z]+)+", line)]
        self.assertTrue(drawing, shown.stdout)
        self.assertEqual(len(codes), 1, shown.stdout)
        image = os.path.join(machine.home.name, "terminal-qr.pbm")
        self.write_pbm(drawing, image)
        scanned = subprocess.run(
            ["zbarimg", "--raw", "-q", image], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(scanned.stdout.strip(), codes[0], scanned.stderr)

    def write_pbm(self, drawing, path, scale=4, border=4):
        """A plain PBM (1 = black) of the drawing: dark modules black, light white."""
        rows = []
        for line in drawing:
            halves = [self.HALVES[ch] for ch in line]
            rows.append([top for top, _ in halves])
            rows.append([bottom for _, bottom in halves])
        width = max(len(row) for row in rows) + 2 * border
        light = [True] * width
        framed = [[True] * border + row + [True] * (width - border - len(row)) for row in rows]
        rows = [light] * border + framed + [light] * border
        pixels = []
        for row in rows:
            line = " ".join("0" if lit else "1" for lit in row for _ in range(scale))
            pixels.extend([line] * scale)
        with open(path, "w", encoding="ascii") as out:
            out.write(f"P1\n{width * scale} {len(rows) * scale}\n" + "\n".join(pixels) + "\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
