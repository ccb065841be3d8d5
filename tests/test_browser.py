"""The demo notebook in a real browser: Voila serves it, Playwright drives the system Chromium.

Needs Debian's chromium (`apt-get install chromium`; CI's .ci/run installs it): without it the test
fails rather than skips. It uses the quick profile's attention model when there is one (a local run or
the shipped weights, so that the screenshot shows sensible code), else trains the smoke-profile model
on data/sample; serves a copy of notebooks/06_interactive_demo.ipynb with that `profile`, types a
docstring, clicks Generate, checks that code and an attention image appear, and takes a screenshot
(then an overlong docstring, which must get the note that says so):
into the test's temporary folder, or into figures/demo_screenshot.png when SEQ2SEQ_UPDATE_SCREENSHOT=1
(so that running the tests never changes a committed file).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from seq2seq_lib.config import PROJECT_ROOT, load_config
from seq2seq_lib.course.demo import demo_checkpoint
from seq2seq_lib.errors import UserError
from seq2seq_lib.paths import run_paths

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
NOTEBOOK = PROJECT_ROOT / "notebooks" / "06_interactive_demo.ipynb"
SCREENSHOT = PROJECT_ROOT / "figures" / "demo_screenshot.png"
DOCSTRING = "Return the number of lines in a text file, ignoring empty lines."
TIMEOUT_MS = 45_000


@pytest.fixture(scope="session")
def demo_profile() -> str:
    """'quick' when a quick attention model exists, else 'smoke' (trained on data/sample if missing)."""
    from seq2seq_lib.pipeline import train_models

    try:
        demo_checkpoint("attention", "quick")
        return "quick"
    except UserError:
        pass
    config = load_config(PROJECT_ROOT / "configs" / "smoke.yaml")
    if not (run_paths(config).model_dir("attention") / "checkpoint.pt").is_file():
        train_models(config, ["attention"], progress=False)
    return "smoke"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout_s: float = 30.0) -> None:
    """Wait until the server listens on port; fail with Voila's log when it exits or never listens."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"voila exited with status {process.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"voila did not listen on port {port} within {timeout_s:.0f}s: {log.read_text()[-2000:]}")


@pytest.fixture
def voila_url(demo_profile: str, tmp_path: Path) -> Iterator[str]:
    """Serve a copy of the demo notebook parameterised to demo_profile; yields its URL."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    notebook = parameterize_notebook(load_notebook_node(str(NOTEBOOK)), {"profile": demo_profile}, kernel_name="python3", language="python")
    nbformat.write(notebook, tmp_path / "demo.ipynb")
    port = free_port()
    command = [sys.executable, "-m", "voila", "demo.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
               "--show_tracebacks=True"]
    python_path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "JUPYTER_PLATFORM_DIRS": "1"}  # the kernel imports seq2seq_lib
    log = tmp_path / "voila.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_demo_generates_code_and_attention_in_a_browser(voila_url: str, tmp_path: Path, chromium: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1600})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(voila_url, wait_until="domcontentloaded")
            demo = page.locator(".seq2seq-demo")
            expect(demo).to_be_visible()
            demo.locator(".demo-input textarea").fill(DOCSTRING)
            demo.locator(".demo-generate").click()
            code = demo.locator(".demo-code-output .demo-code pre")
            expect(code).to_be_visible()
            assert code.inner_text().strip(), "the generated code is empty"
            heatmap = demo.locator("img.demo-heatmap")
            expect(heatmap).to_be_visible()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=heatmap.element_handle())
            expect(demo.locator(".demo-info")).to_contain_text("code tokens in")
            target = SCREENSHOT if os.environ.get("SEQ2SEQ_UPDATE_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name
            partial = target.with_name(".demo_screenshot.tmp.png")
            demo.scroll_into_view_if_needed()
            demo.screenshot(path=str(partial))
            os.replace(partial, target)
            assert target.stat().st_size > 10_000, "the screenshot is (nearly) empty"
            demo.locator(".demo-input textarea").fill(" ".join([DOCSTRING] * 8))  # 96 words: longer than training's 39
            demo.locator(".demo-generate").click()
            expect(demo.locator(".demo-info")).to_contain_text("the model was trained on docstrings of at most")
            expect(demo.locator(".demo-info")).to_contain_text("code tokens in")
        finally:
            browser.close()
