"""The voice coach in a real headless Chromium against the real server (``python -m
spotlight serve``, the offline coach): push-to-talk with a question spoken by espeak-ng
(Chromium's fake microphone plays it), a typed question, then the network cut for 20 s by
a proxy that drops every connection and refuses new ones: the panel backs off, reconnects
by itself once the network is back, and its attempt counter starts over; and when the
network stays away, the panel stops at "max reconnects reached" and Retry brings it back.

The backoff waits of the last part (1 + 2 + 4 + 8 + 16 + 5 x 30 s) are skipped with
Playwright's clock (``fast_forward``); everything else runs in real time.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from server_process import PIN, spotlight_server
from test_browser_dashboard import FAST_ENV, require_browser, shot
from test_browser_login import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PLAYWRIGHT_MISSING
from voice_support import ESPEAK, ESPEAK_HINT

if PLAYWRIGHT_MISSING is None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, expect, sync_playwright

STEP_MS = 20_000
CUT_S = 20.0
# After the network is back the next attempt comes within the current backoff: with a 20 s
# cut, attempts run at about 1, 3, 7, 15 and 31 s, so at most ~16 s after it is restored.
BACK_MS = 25_000


class Proxy:
    """TCP between the browser and the server on 127.0.0.1; ``cut()`` drops every
    connection and refuses new ones (the network is gone) until ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepting = False
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)  # the accept loop looks at `accepting` this often
        self.accepting = True
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        # The accept thread closes its own listener (a socket closed under a blocked accept()
        # is not reliably woken on Linux and would go on accepting); connections still in
        # the backlog are reset with it.
        self.accepting = False
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            with suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self.accepting:
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                client.settimeout(None)
                if not self.accepting:
                    client.close()
                    return
                try:
                    upstream = socket.create_connection(self.target)
                except OSError:
                    client.close()
                    continue
                with self._lock:
                    self._conns |= {client, upstream}
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def question_wav(path: Path) -> float:
    """A spoken question for the fake microphone: 0.5 s of silence, the words, then silence
    long enough that the file does not start over while the button is held. Returns the
    seconds to hold the button."""
    assert ESPEAK is not None, ESPEAK_HINT
    subprocess.run(
        [ESPEAK, "-v", "en-us", "-s", "140", "-w", str(path), "what is the price of spy"],
        check=True,
    )
    with wave.open(str(path)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    speech_s = float(len(frames) / 2 / rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(int(rate * 0.5) * 2) + frames + bytes(int(rate * 6) * 2))
    return 0.5 + speech_s + 1.0


@contextmanager
def voice_page(wav: Path) -> Iterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args, timeout=30_000
        )
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.set_default_timeout(STEP_MS)
            expect.set_options(timeout=STEP_MS)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                yield page
            except BaseException:
                with suppress(PlaywrightError):
                    shot(page, "voice", "failure")
                raise
            assert not errors, f"uncaught errors in the page: {errors}"
        finally:
            browser.close()


def voice(page: Page) -> Any:
    return page.evaluate("window.spotlight.voice()")


def coach_says(page: Page, text: str) -> None:
    page.wait_for_function(
        """(text) => [...document.querySelectorAll('#voice-transcript li[data-role=coach]')]
             .some((li) => li.dataset.state === 'completed' && li.textContent.includes(text))""",
        arg=text,
    )


def test_push_to_talk_and_reconnecting_after_the_network_is_cut(tmp_path: Path) -> None:
    require_browser()
    if ESPEAK is None:
        pytest.fail(ESPEAK_HINT)
    hold_s = question_wav(tmp_path / "question.wav")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with (
        spotlight_server(data_dir, env=FAST_ENV) as srv,
        voice_page(tmp_path / "question.wav") as page,
    ):
        proxy = Proxy(int(srv.url.rsplit(":", 1)[1]))
        proxy.restore()
        page.clock.install()  # runs in real time until fast_forward below
        page.goto(f"{proxy.url}/")
        page.locator("#pin").fill(PIN)
        page.locator("#login").click()
        panel = page.locator("#voice-panel")
        expect(panel).to_have_attribute("data-voice-state", "open")
        expect(panel).to_have_attribute("data-agent", "offline")
        expect(page.locator("#voice-state")).to_contain_text("ready")

        # Push-to-talk: the fake microphone says the question while the button is held.
        # (Pointer events on the element itself: the panels above it fill in and move it.)
        talk = page.locator("#voice-talk")
        talk.dispatch_event("pointerdown")
        expect(talk).to_have_attribute("aria-pressed", "true")
        time.sleep(hold_s)
        talk.dispatch_event("pointerup")
        expect(page.locator("#voice-transcript li[data-role=user]").first).to_contain_text(
            "what is the price of spy"
        )
        coach_says(page, "SPY is at")
        page.wait_for_function("window.spotlight.voice().played > 24000")  # it spoke
        # A typed question.
        page.locator("#voice-text").fill("where is the gamma flip")
        page.locator("#voice-ask").click()
        coach_says(page, "call wall")
        page.locator("#voice-transcript").scroll_into_view_if_needed()
        shot(page, "voice", "01-answers")

        # The network is cut for 20 s: the panel backs off and comes back by itself.
        opens = int(panel.get_attribute("data-opens") or "0")
        proxy.cut()
        expect(panel).to_have_attribute("data-voice-state", "waiting")
        expect(page.locator("#voice-state")).to_contain_text("reconnecting in")
        time.sleep(CUT_S)
        assert int(panel.get_attribute("data-attempt") or "0") >= 4  # 1, 3, 7, 15 s
        shot(page, "voice", "02-reconnecting")
        proxy.restore()
        restored = time.monotonic()
        expect(panel).to_have_attribute("data-voice-state", "open", timeout=BACK_MS)
        assert time.monotonic() - restored < BACK_MS / 1000
        assert int(panel.get_attribute("data-opens") or "0") == opens + 1
        state = voice(page)["state"]
        assert state["failures"] == 0 and state["attempt"] == 0  # the counter reset
        page.locator("#voice-text").fill("what is the regime")
        page.locator("#voice-ask").click()
        coach_says(page, "The regime is")

        # The network stays away: 10 attempts (backoff skipped), then the max state.
        proxy.cut()
        expect(panel).to_have_attribute("data-voice-state", "waiting")
        for _ in range(12):
            if panel.get_attribute("data-voice-state") == "gave-up":
                break
            page.clock.fast_forward(31_000)
            page.wait_for_function(
                "() => ['waiting', 'gave-up'].includes("
                "document.getElementById('voice-panel').dataset.voiceState)"
            )
        expect(panel).to_have_attribute("data-voice-state", "gave-up")
        expect(page.locator("#voice-state")).to_have_text("max reconnects reached")
        assert voice(page)["state"]["failures"] == 10
        retry = page.locator("#voice-retry")
        expect(retry).to_be_visible()
        shot(page, "voice", "03-max-reconnects")
        page.clock.fast_forward(300_000)
        expect(panel).to_have_attribute("data-voice-state", "gave-up")  # nothing by itself
        proxy.restore()
        retry.click()
        expect(panel).to_have_attribute("data-voice-state", "open")
        expect(retry).to_be_hidden()
        proxy.cut()
