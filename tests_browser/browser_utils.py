"""Helpers for the browser tests: find Chromium, pick free ports, keep the browser off the network, collect
errors, find the chapters that show widgets."""
from __future__ import annotations
import json
import os
import re
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_browser"                                          # screenshots and logs (git-ignored)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Playwright's default for each action (click, screenshot, ...): generous, the CPU is shared with other jobs
TIMEOUT_MS = 120_000


def chromium_path() -> str:
    "The Chromium executable: $CHROMIUM, else Debian's `chromium` on PATH; a clear error when there is none."
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("no Chromium found (set $CHROMIUM or install Debian's package: "
                           "`apt-get install -y chromium`); Playwright's own browser download is not used")
    return path


def free_port() -> int:
    "A TCP port on 127.0.0.1 that is free right now."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Offline:
    "Route handler for a browser context: serves localhost, aborts and records every other request."
    def __init__(self):
        self.blocked = []

    def __call__(self, route):
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:", "file:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def offline_context(browser):
    "A browser context that may only talk to localhost; `ctx.offline.blocked` lists what else it tried."
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.offline = Offline()
    ctx.route("**/*", ctx.offline)
    return ctx


def watch_errors(page) -> list[str]:
    "Collect the page's uncaught JavaScript exceptions and console errors into a list (returned, live)."
    errors = []
    page.on("pageerror", lambda e: errors.append(f"JavaScript exception: {e}"))
    page.on("console", lambda m: errors.append(f"console error: {m.text}") if m.type == "error" else None)
    return errors


# ---- which chapters show interactive widgets ------------------------------------------------------------
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# widget models that only display (a tqdm bar: an HBox of HTML + FloatProgress + HTML); any other is a control
PASSIVE_MODELS = {"LayoutModel", "HBoxModel", "VBoxModel", "BoxModel", "GridBoxModel", "HTMLModel",
                  "HTMLMathModel", "LabelModel", "OutputModel", "FloatProgressModel", "IntProgressModel",
                  "ImageModel", "ValidModel", "AccordionModel", "TabModel", "StackModel"}
TQDM_TEXT = re.compile(r"^[^\n|]*\d+%\|")


def shows_widgets(nb: dict) -> bool:
    "Does this stored notebook display interactive ipywidgets (controls, not just tqdm progress bars)?"
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    names = [m.get("model_name", "") for m in state.values()]
    if any(n not in PASSIVE_MODELS and not n.endswith("StyleModel") for n in names):
        return True
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data and not TQDM_TEXT.match("".join(data.get("text/plain", ""))):
                return True
    return False


def widget_chapters(nbs: Path) -> list[str]:
    "File names of the chapters in `nbs` that display interactive widgets, in book order."
    found = []
    for path in sorted(Path(nbs).glob("[0-9][0-9]_*.ipynb")):
        if shows_widgets(json.loads(path.read_text(encoding="utf-8"))):
            found.append(path.name)
    return found
