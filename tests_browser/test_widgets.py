"""Every widget chapter, run in a real JupyterLab and driven in headless Chromium with the network blocked.

One JupyterLab server (localhost, a free port, a random token; the checkout's virtual environment for the
server and the kernel) serves copies of the chapters (outputs cleared, so nothing stored can pass for a
result). For each chapter that displays interactive ipywidgets (found automatically, see
`browser_utils.widget_chapters`), one at a time and with one kernel: open it, run all cells, then in every
widget area move each slider, change each dropdown, type into each text box, press each button, and assert
that the area's output (image, text, table or HTML) changes (for a widget that recomputes on a button press:
after pressing it). Each control is tested from the widget's start state (it is put back after its change).
Fails on an error in any cell or widget callback, a JavaScript exception, a widget that does not render, a
description, readout, button or dropdown value cut off by its box, a slider readout too coarse to show one
step, or a request that leaves localhost. Screenshots of every area before and after each change go to
`_browser/<chapter>/`.
"""
from __future__ import annotations
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_utils import OUT, ROOT, free_port, watch_errors, widget_chapters

CHAPTERS = widget_chapters(ROOT / "nbs")
LAB = OUT / "lab"
# JupyterLab and the kernel run on the checkout's virtual environment (`make setup`), whatever runs pytest
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)

RUN_TIMEOUT_S = float(os.environ.get("BROWSER_RUN_TIMEOUT_S", 480))   # run-all of one chapter
SETTLE_TIMEOUT_S = 60                                                 # one widget callback
# JupyterLab user settings: never write to the notebooks, no news or update checks, every cell kept in the DOM
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def kernel_env(**extra) -> dict[str, str]:
    """The environment of JupyterLab and its kernels: this checkout first on sys.path (whatever pip installed),
    one torch thread unless the environment says otherwise (as in `make test-nbs`: several threads on a busy
    2-core machine are many times slower)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, **extra)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def package_location(python: Path, cwd: Path) -> Path:
    "The folder `python`, started in `cwd` with `kernel_env()`, imports aigc_book from."
    out = subprocess.run([str(python), "-c", "import aigc_book; print(aigc_book.__file__)"], cwd=cwd,
                         env=kernel_env(), capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(f"{python} cannot import aigc_book:\n{out.stderr[-2000:]}")
    return Path(out.stdout.strip()).resolve().parent


def test_discovery_finds_the_widget_chapters():
    "Discovery is automatic; the chapters known to have widgets must be among those found."
    for name in ("27_image_widgets.ipynb", "35_text_widgets.ipynb", "44_roi.ipynb"):
        assert name in CHAPTERS, CHAPTERS
    assert "21_vae.ipynb" not in CHAPTERS                              # tqdm progress bars only


class Lab:
    "A JupyterLab server on 127.0.0.1 serving cleared copies of the chapters from `_browser/lab/nbs`."
    def __init__(self):
        shutil.rmtree(LAB, ignore_errors=True)
        self.nbs = LAB / "nbs"
        self.nbs.mkdir(parents=True)
        where = package_location(PYTHON, self.nbs)                     # the kernel starts in self.nbs
        if where != ROOT / "aigc_book":
            raise RuntimeError(f"{PYTHON} imports aigc_book from {where}, not from this checkout ({ROOT})")
        for rel, value in LAB_SETTINGS.items():
            path = LAB / "settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        # a private Jupyter data folder whose python3 kernel is the checkout's Python, preferred over every
        # other kernelspec (JUPYTER_PREFER_ENV_PATH=0: a venv's own share/jupyter otherwise wins, and
        # `ipykernel install --sys-prefix` run through a symlinked venv writes another path there)
        kernel = LAB / "data" / "kernels" / "python3" / "kernel.json"
        kernel.parent.mkdir(parents=True)
        argv = [str(PYTHON), "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        kernel.write_text(json.dumps({"argv": argv, "display_name": "Python 3 (ipykernel)",
                                      "language": "python"}))
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = LAB / "server.log"
        # the checkout's JupyterLab (not the first `jupyter-lab` on PATH, e.g. pyenv's)
        env = kernel_env(PATH=os.pathsep.join([str(PYTHON.parent), os.environ.get("PATH", "")]),
                         JUPYTER_DATA_DIR=str(LAB / "data"), JUPYTER_PREFER_ENV_PATH="0",
                         JUPYTERLAB_SETTINGS_DIR=str(LAB / "settings"),
                         JUPYTERLAB_WORKSPACES_DIR=str(LAB / "workspaces"))
        cmd = [str(PYTHON), "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.nbs}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")                                 # as `make lab` does (ROOT_FLAG)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + 120
        while True:
            try:
                self.api("GET", "/api/status")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    tail = self.log_text()[-3000:]
                    raise RuntimeError(f"JupyterLab did not start; see {self.log_path}:\n{tail}")
                time.sleep(0.5)
        kernel = self.api("GET", "/api/kernelspecs")["kernelspecs"]["python3"]["spec"]["argv"][0]
        if kernel != str(PYTHON):
            self.stop()
            raise RuntimeError(f"the python3 kernel runs {kernel}, not the checkout's Python ({PYTHON})")

    def api(self, method: str, path: str):
        "Call the server's REST API with the token; the decoded JSON reply (or None)."
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def add(self, name: str) -> None:
        "Copy a chapter into the server's folder with its outputs and saved widget state cleared."
        nb = json.loads((ROOT / "nbs" / name).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        nb.get("metadata", {}).pop("widgets", None)
        (self.nbs / name).write_text(json.dumps(nb), encoding="utf-8")

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def lab():
    server = Lab()
    yield server
    server.stop()


# ---- JavaScript run in the JupyterLab page --------------------------------------------------------------
OPENED = """name => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.context && w.context.path === name && w.sessionContext && w.sessionContext.session
            && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  window.__nb = w;
  window.__kernelErrors = [];
  k.iopubMessage.connect((_, msg) => {
    const c = msg.content, t = msg.header.msg_type;
    if (t === 'error') window.__kernelErrors.push(`${c.ename}: ${c.evalue}`);
    if (t === 'stream' && c.name === 'stderr' && /Traceback|Exception in comm/.test(c.text))
      window.__kernelErrors.push(c.text.slice(0, 2000));
  });
  return true;
}"""

RUN_STATE = """() => {
  const nb = window.__nb, cells = nb.content.model.cells, errors = [];
  let code = 0, done = 0;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code++;
    if (c.executionCount) done++;
    for (const o of c.outputs.toJSON())
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
  }
  return {code, done, errors, status: nb.sessionContext.session.kernel.status};
}"""

# mark widget areas (top-level cell outputs holding a widget with controls) and their controls
MARK = """() => {
  const CONTROLS = '.widget-slider, .widget-dropdown, .widget-text, .widget-textarea, '
                 + '.widget-toggle-buttons, button.widget-button, .widget-checkbox, .widget-select, '
                 + '.widget-radio';
  const areas = [];
  document.querySelectorAll('.jp-Notebook .jp-Cell').forEach((cell, ci) => {
    cell.querySelectorAll('.jp-OutputArea-output').forEach(out => {
      if (out.closest('.widget-output') || !out.querySelector(':scope > .jupyter-widgets')) return;
      const controls = [...out.querySelectorAll(CONTROLS)]
                          .filter(c => !c.parentElement.closest('.widget-output'))
                          .filter(c => !c.parentElement.closest(CONTROLS));
      if (!controls.length) return;
      const k = areas.length;
      out.dataset.wtArea = k;
      areas.push({cell: ci, controls: controls.map((c, j) => {
        c.dataset.wtControl = `${k}-${j}`;
        const kind = ['slider', 'dropdown', 'textarea', 'text', 'toggle-buttons', 'button', 'checkbox',
                      'select', 'radio']
          .find(t => c.matches(t === 'button' ? 'button.widget-button' : `.widget-${t}`));
        const label = c.querySelector('.widget-label');
        return {kind, label: (label ? label.textContent : c.textContent).trim().slice(0, 40)};
      })});
    });
  });
  return areas;
}"""

# what area k shows: Output widgets by content (their text, images and SVG: not the output area's wrappers,
# which differ between a first render and a re-render), HTML widgets and images as they are; then the kernel's
# status
SIGNATURE = """k => {
  const area = document.querySelector(`[data-wt-area="${k}"]`);
  if (!area) return '(area gone)|busy';
  const parts = [...area.querySelectorAll('.widget-output, .widget-html-content, .widget-htmlmath-content, '
                                         + 'img.widget-image')].map(e => {
    if (e.tagName === 'IMG') return e.src;
    if (!e.classList.contains('widget-output')) return e.innerHTML;
    return e.textContent + [...e.querySelectorAll('img')].map(i => i.src).join(' ')
           + [...e.querySelectorAll('svg')].map(g => g.outerHTML).join(' ');
  });
  return parts.join('\\n') + '|' + (window.__nb.sessionContext.session.kernel.status);
}"""

# descriptions, readouts, buttons and dropdown values cut off by their box (ellipsis or overflow)
TRUNCATED = """k => {
  const area = document.querySelector(`[data-wt-area="${k}"]`), cut = [];
  const ctx = document.createElement('canvas').getContext('2d');
  area.querySelectorAll('.widget-label, .widget-readout, button, .widget-toggle-button').forEach(e => {
    if (e.offsetParent && e.scrollWidth > e.clientWidth + 1)
      cut.push(`${e.className.split(' ')[0] || e.tagName}: ${e.textContent.trim()}`);
  });
  area.querySelectorAll('select').forEach(s => {
    const o = s.options[s.selectedIndex];
    if (!o || !s.offsetParent) return;
    const cs = getComputedStyle(s);
    ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (ctx.measureText(o.text).width > room + 1) cut.push(`dropdown value: ${o.text}`);
  });
  return cut;
}"""


RERUN = """i => {
  const nb = window.__nb, before = nb.content.model.cells.get(i).executionCount;
  nb.content.activeCellIndex = i;
  window.jupyterapp.commands.execute('notebook:run-cell');
  return before;
}"""

RERUN_DONE = """([i, before]) => {
  const nb = window.__nb;
  return nb.content.model.cells.get(i).executionCount !== before
         && nb.sessionContext.session.kernel.status === 'idle';
}"""


def rerun_cell(page, cell: int, k: int, areas: list) -> str:
    "Run the widget's cell again (a fresh widget in its start state), mark the areas: area k's signature."
    before = page.evaluate(RERUN, cell)
    page.wait_for_function(RERUN_DONE, arg=[cell, before], timeout=SETTLE_TIMEOUT_S * 1000, polling=250)
    deadline = time.time() + SETTLE_TIMEOUT_S
    while True:                                              # the new widget renders after the cell ends
        now = page.evaluate(MARK)
        if [len(a["controls"]) for a in now] == [len(a["controls"]) for a in areas]:
            break
        assert time.time() < deadline, f"the widget of cell {cell} did not render again after re-running it"
        page.wait_for_timeout(250)
    return wait_settled(page, k, before="")


def wait_settled(page, k: int, before: str, timeout: float = SETTLE_TIMEOUT_S) -> str:
    "Wait until the kernel is idle and area k's output has stopped changing; return its final signature."
    page.wait_for_timeout(300)
    deadline = time.time() + timeout
    last, stable = None, 0
    while time.time() < deadline:
        sig = page.evaluate(SIGNATURE, k)
        idle = sig.endswith("|idle")
        stable = stable + 1 if (sig == last and idle) else 0
        if stable >= 3 and (sig != before or stable >= 6):
            return sig
        last = sig
        page.wait_for_timeout(250)
    return page.evaluate(SIGNATURE, k)


def attempts(page, control, kind: str):
    "Yield callables that each change `control` in a new way (one step first, then bigger changes)."
    if kind == "slider":
        handle = control.locator(".noUi-handle").first
        at_max = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
        keys = ["ArrowLeft", "PageDown", "Home"] if at_max else ["ArrowRight", "PageUp", "End", "Home"]
        for key in keys:
            yield f"key {key}", lambda key=key: (handle.focus(), handle.press(key))
    elif kind in ("dropdown", "select"):
        box = control.locator("select").first
        options = box.locator("option").all_inner_texts()
        current = box.evaluate("s => s.selectedIndex")
        for step in (1, 2, len(options) // 2):
            i = (current + step) % len(options)
            if i != current:
                yield f"option {options[i]!r}", lambda i=i: box.select_option(index=i)
    elif kind in ("text", "textarea"):
        box = control.locator("input, textarea").first
        kind_attr = box.get_attribute("type") or "text"
        if kind_attr == "number":
            value = float(box.input_value() or 0)
            top = box.get_attribute("max")
            sign = -1 if top is not None and value + 1 > float(top) else 1
            for delta in (1, 7, 100):
                new = value + sign * delta
                yield f"type {new:g}", lambda new=new: (box.fill(f"{new:g}"), box.press("Enter"))
        else:
            value = box.input_value()
            for new in (value + "the", value[:-1], "A"):
                commit = "Tab" if kind == "textarea" else "Enter"
                yield f"type {new!r}", lambda new=new, commit=commit: (box.fill(new), box.press(commit))
    elif kind == "toggle-buttons":
        buttons = control.locator("button")
        for i in range(buttons.count()):
            if "mod-active" not in (buttons.nth(i).get_attribute("class") or ""):
                yield f"toggle {buttons.nth(i).inner_text()!r}", lambda i=i: buttons.nth(i).click()
    elif kind in ("button", "checkbox", "radio"):
        target = control if kind == "button" else control.locator("input").first
        for n in range(3):
            yield f"click #{n + 1}", lambda: target.click()


def slider_value(control) -> float:
    "A slider's current value (a selection slider's: the option's index), from its handle's ARIA attributes."
    handle = control.locator(".noUi-handle").first
    return float(handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow"))


def numeric_readout(control):
    "A slider's editable readout (None when hidden)."
    readout = control.locator(".widget-readout").first
    if readout.count() and readout.is_visible() and readout.get_attribute("contenteditable") == "true":
        return readout
    return None


def _number(text: str):
    try:
        return float(text.replace(",", ""))
    except ValueError:                                       # a label (selection slider) or custom format
        return None


def shows(text: str, value: float) -> bool:
    "Is the readout `text` the slider's `value` correctly rounded? (A selection slider's is a label.)"
    shown = _number(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return shown is not None and abs(shown - value) <= 0.5 * 10 ** -decimals + 1e-9


def readout_problem(control, before: float, before_text: str) -> str | None:
    "After a one-step move from `before`: a numeric readout that cannot show the step (off by >= step / 2)."
    if not shows(before_text, before):
        return None
    after = slider_value(control)
    readout = numeric_readout(control)
    if after == before or readout is None:
        return None
    text = readout.inner_text().strip()
    shown = _number(text)
    step = abs(after - before)
    if shown is not None and abs(shown - after) >= step / 2 - 1e-12:
        return f"readout {text!r} for value {after:g} (step {step:g}): readout_format too coarse for the step"
    return None


def restorer(control, kind: str):
    "A callable that puts `control` back to its current value (None for a button: nothing to restore)."
    if kind == "slider":
        readout = numeric_readout(control)
        text = readout.inner_text().strip() if readout is not None else ""
        if readout is not None and shows(text, slider_value(control)):
            return lambda: (readout.click(), readout.press("Control+a"), readout.type(text),
                            readout.press("Enter"))
        handle = control.locator(".noUi-handle").first                # a selection slider: walk back by keys
        index = handle.get_attribute("aria-valuenow")
        def walk():
            handle.focus()
            handle.press("Home")
            for _ in range(300):
                if handle.get_attribute("aria-valuenow") == index:
                    break
                handle.press("ArrowRight")
        return walk
    if kind in ("dropdown", "select"):
        box = control.locator("select").first
        index = box.evaluate("s => s.selectedIndex")
        return lambda: box.select_option(index=index)
    if kind in ("text", "textarea"):
        box = control.locator("input, textarea").first
        value = box.input_value()
        commit = "Tab" if kind == "textarea" else "Enter"
        return lambda: (box.fill(value), box.press(commit))
    if kind == "toggle-buttons":
        active = control.locator("button.mod-active").first
        return lambda: active.click()
    if kind == "checkbox":
        box = control.locator("input").first
        return lambda: box.click()
    return None


def exercise(page, k: int, control, kind: str, buttons, signature: str):
    """Change `control` until area k's output changes: `(how, new signature, readout problems)`; how=None if
    it never does.

    A widget that recomputes only on a button press (its controls set what the button does) is driven that
    way: when a change alone leaves the output as it was, the area's buttons are pressed one after another."""
    problems = []
    for how, act in attempts(page, control, kind):
        control.scroll_into_view_if_needed()
        value = slider_value(control) if how.startswith("key Arrow") else None
        readout = numeric_readout(control) if value is not None else None
        before_text = readout.inner_text().strip() if readout is not None else ""
        act()
        new = wait_settled(page, k, signature)
        if readout is not None:                                        # one step: can the readout show it?
            problem = readout_problem(control, value, before_text)
            if problem:
                problems.append(problem)
        if new != signature:
            return how, new, problems
        for label, button in buttons:
            button.click()
            new = wait_settled(page, k, signature)
            if new != signature:
                return f"{how}, then {label!r}", new, problems
    return None, signature, problems


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:30] or "control"


@pytest.mark.parametrize("name", CHAPTERS, ids=[n.removesuffix(".ipynb") for n in CHAPTERS])
def test_widget_chapter(lab, offline, name):
    "Run the chapter in JupyterLab, then change every control of every widget and see its output change."
    stem = name.removesuffix(".ipynb")
    shots = OUT / stem
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    lab.add(name)
    log_start = len(lab.log_text())
    page = offline.new_page()
    js_errors = watch_errors(page)
    problems = []
    try:
        page.goto(f"{lab.base}/lab/tree/{name}?token={lab.token}&reset")
        page.wait_for_function(OPENED, arg=name, timeout=120_000, polling=500)
        t0 = time.time()
        # start the run and return at once (the command's promise resolves only when every cell has run)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        while True:
            state = page.evaluate(RUN_STATE)
            if state["done"] == state["code"] and state["status"] == "idle":
                break
            if state["errors"] and state["status"] == "idle":
                break
            assert time.time() - t0 < RUN_TIMEOUT_S, f"run-all not done after {RUN_TIMEOUT_S:.0f} s: {state}"
            page.wait_for_timeout(1000)
        run_s = time.time() - t0
        assert not state["errors"], f"cells failed: {state['errors']}"
        page.wait_for_timeout(1000)
        text = page.inner_text(".jp-Notebook")
        assert "Error displaying widget" not in text, "a widget failed to render"
        areas = page.evaluate(MARK)
        assert areas, "no widget with controls rendered (discovery found stored ones)"
        for k, area in enumerate(areas):
            box = page.locator(f'[data-wt-area="{k}"]')
            box.scroll_into_view_if_needed()
            signature = wait_settled(page, k, before="")
            box.screenshot(path=str(shots / f"area{k}_0_initial.png"))
            cut = page.evaluate(TRUNCATED, k)
            if cut:
                problems.append(f"area {k} (cell {area['cell']}): truncated {cut}")
            buttons = {j: (c["label"], page.locator(f'[data-wt-control="{k}-{j}"]'))
                       for j, c in enumerate(area["controls"]) if c["kind"] == "button"}
            for j, info in enumerate(area["controls"]):
                control = page.locator(f'[data-wt-control="{k}-{j}"]')
                what = f"area {k} (cell {area['cell']}) {info['kind']} {info['label']!r}"
                restore = restorer(control, info["kind"])
                start_readout = numeric_readout(control) if info["kind"] == "slider" else None
                start_text = start_readout.inner_text().strip() if start_readout is not None else None
                start = signature
                others = [] if info["kind"] == "button" else list(buttons.values())   # a button acts alone
                changed, signature, issues = exercise(page, k, control, info["kind"], others, signature)
                problems += [f"{what}: {p}" for p in issues]
                if changed is None:
                    problems.append(f"{what}: the output never changed")
                else:
                    shot = f"area{k}_{j + 1}_{info['kind']}_{slug(info['label'])}.png"
                    box.screenshot(path=str(shots / shot))
                    if "Traceback (most recent call last)" in box.inner_text():
                        problems.append(f"{what} ({changed}): the widget shows a traceback")
                if restore:                                  # test the next control from the start state
                    control.scroll_into_view_if_needed()
                    restore()
                    signature = wait_settled(page, k, signature)
                    if signature != start:                          # not back: start afresh from a new widget
                        now_readout = numeric_readout(control) if start_text is not None else None
                        now = now_readout.inner_text().strip() if now_readout is not None else None
                        if start_text is not None and now != start_text:
                            problems.append(f"{what}: its start value {start_text} cannot be set again (the "
                                            f"slider snaps to {now}): start it on its step grid")
                        signature = rerun_cell(page, area["cell"], k, areas)
        kernel_errors = page.evaluate("() => window.__kernelErrors")
        if kernel_errors:
            problems.append(f"kernel errors: {kernel_errors[:3]}")
        log = lab.log_text()[log_start:]
        if "Exception in comm" in log or "Traceback (most recent call last)" in log:
            problems.append(f"server log has a traceback: {log[-2000:]}")
        print(f"{name}: ran in {run_s:.0f} s; {len(areas)} widget areas, "
              f"{sum(len(a['controls']) for a in areas)} controls exercised")
    finally:
        page.screenshot(path=str(shots / "page.png"))
        page.close()
        lab.shutdown_kernels()
    assert not js_errors, js_errors
    assert not offline.offline.blocked, f"requests left localhost: {offline.offline.blocked}"
    assert not problems, "\n".join(problems)
