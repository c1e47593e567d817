"""The coding panel in a real JupyterLab, driven by headless Chromium (selenium).

The test starts JupyterLab on the loopback interface with a temporary project,
opens notebooks/coder.ipynb (parameters injected by papermill: a document and a
new coder), runs it, selects a word of the segment with a double click, ticks a
code in the tree, checks the DOM (the passage highlighted) and the coder's file
(the passage's offsets and quote), presses keys and clicks the coding stripes to
move and come back, and saves a screenshot (``panel-span.png`` in ``$BALISES_SCREENSHOTS`` or the test's
temporary folder).

Chromium and its driver come from the distribution's packages
(``apt-get install -y chromium chromium-driver``); without them the test is
skipped with a message saying so. Nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from analyse.model.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT_S = 240          # a 2-core machine shared with other jobs: JupyterLab and a kernel take their time

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium ou son pilote absent : `apt-get install -y chromium chromium-driver` pour ce test "
           "du panneau dans JupyterLab")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _coder_notebook(project: Path) -> Path:
    """notebooks/coder.ipynb with a document and a coder injected after its parameters cell (as papermill does)."""
    nb = nbformat.read(ROOT / "notebooks" / "coder.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell('doc_id = "le-mene-test"\ncoder = "T"')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = project / "notebooks" / "coder.ipynb"
    out.parent.mkdir(exist_ok=True)
    nbformat.write(nb, out)
    return out


@pytest.fixture
def lab(project: Path, tmp_path_factory):
    """JupyterLab serving the temporary project on 127.0.0.1; yields its URL and token."""
    port, token = _free_port(), "balises-test"
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTER_DATA_DIR": str(home / "data"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTER_PLATFORM_DIRS": "1", "PYTHONPATH": str(ROOT / "src")}
    # no « Jupyter news? » toast over the screenshot
    (home / "config" / "labconfig").mkdir(parents=True)
    (home / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}), encoding="utf-8")
    log = open(home / "lab.log", "w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={project}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.extension_manager=readonly", "--LabApp.news_url=", f"--LabApp.workspaces_dir={home / 'ws'}"],
        cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("JupyterLab n'a pas démarré :\n" + (home / "lab.log").read_text(encoding="utf-8")[-3000:])
            time.sleep(0.5)
    try:
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1500,1900", "--lang=fr-FR", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, what, message, timeout=WAIT_S):
    """Wait until ``what(driver)`` is truthy; the view redraws its text on every change, hence stale elements."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.5,
                         ignored_exceptions=(StaleElementReferenceException,)).until(what, message)


def _double_click_first_word(driver) -> bool:
    """Double-click the first word of the segment's text, as a coder selecting it; True when done."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    try:
        text = driver.find_element(By.CSS_SELECTOR, ".balises-panel .balises-text")
        x, y, width, height = driver.execute_script(
            "const t = arguments[0], n = document.createTreeWalker(t, NodeFilter.SHOW_TEXT).nextNode();"
            "const r = document.createRange(); r.setStart(n, 0); r.setEnd(n, 7);"
            "const b = r.getBoundingClientRect(), o = t.getBoundingClientRect();"
            "return [b.left - o.left + b.width / 2, b.top - o.top + b.height / 2, o.width, o.height];", text)
        ActionChains(driver).move_to_element_with_offset(text, int(x - width / 2), int(y - height / 2)) \
            .double_click().perform()
        return True
    except StaleElementReferenceException:
        return False


def test_a_passage_coded_in_jupyterlab(project: Path, lab, browser, tmp_path: Path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import TimeoutException

    url, token = lab
    _coder_notebook(project)
    browser.get(f"{url}/lab/tree/notebooks/coder.ipynb?token={token}&reset")
    _wait(browser, lambda d: d.execute_script(
        "const a = window.jupyterapp; const w = a && a.shell.currentWidget;"
        "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.connectionStatus === 'connected');"),
        "le notebook et son noyau ne se sont pas ouverts")
    browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    _wait(browser, lambda d: "Bonjour à tous, on commence." in d.find_element(
        By.CSS_SELECTOR, ".balises-panel .balises-text").text, "le panneau de codage ne s'est pas affiché")

    # double-click the word « Bonjour »: the browser selects it, the view tells the kernel
    for attempt in range(3):
        try:
            _wait(browser, lambda d: _double_click_first_word(d), "le texte du segment ne se laisse pas cliquer", 30)
            _wait(browser, lambda d: "« Bonjour »" in d.find_element(By.CSS_SELECTOR, ".balises-selection-info").text,
                  "la sélection n'est pas arrivée au noyau", timeout=30)
            break
        except TimeoutException:
            if attempt == 2:
                raise

    # search the tree, then tick the code: the passage is coded
    search = _wait(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, ".balises-panel input[placeholder^='Rechercher un code']"),
        "le champ de recherche des codes n'apparaît pas", timeout=30)[0]
    search.send_keys("ENG.2")
    tick = _wait(browser, lambda d: [e for e in d.find_elements(
        By.XPATH, "//div[contains(@class,'balises-panel')]//label[contains(., 'ENG.2 — ')]//input[@type='checkbox']")
        if e.is_displayed()], "le code ENG.2 n'apparaît pas dans l'arbre", timeout=60)[0]
    tick.click()
    marked = _wait(browser, lambda d: [m.text for m in d.find_elements(
        By.CSS_SELECTOR, ".balises-text mark.balises-span[data-codes~='ENG.2']")], "le passage codé n'est pas surligné",
        timeout=60)
    assert marked == ["Bonjour"]
    # the passage list is another widget, synced by its own message: it may arrive after the highlight
    _wait(browser, lambda d: any("ENG.2" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".balises-passage")),
          "le passage codé n'apparaît pas dans la liste des passages", timeout=30)

    # the coder's file holds the passage, not the whole segment
    seg = load_corpus(project / "corpus").segments_of("le-mene-test")[0]
    path = project / "corpus" / "codings" / "T.jsonl"
    _wait(browser, lambda d: path.exists(), "le fichier du codeur T n'a pas été écrit", timeout=30)
    (rec,) = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert (rec["code"], rec["start"], rec["end"], rec["quote"]) == ("ENG.2", seg.start, seg.start + 7, "Bonjour")

    # keys reach the panel through JupyterLab: j next segment, k back
    browser.execute_script("document.querySelector('.balises-panel .balises-segment-view').focus();")
    ActionChains(browser).send_keys("j").perform()
    _wait(browser, lambda d: "Segment 2 / 3" in d.find_element(By.CSS_SELECTOR, ".balises-panel").text,
          "la touche j n'a pas fait passer au segment suivant", timeout=60)
    ActionChains(browser).send_keys("k").perform()
    _wait(browser, lambda d: "Segment 1 / 3" in d.find_element(By.CSS_SELECTOR, ".balises-panel").text
          and d.find_elements(By.CSS_SELECTOR, ".balises-text mark.balises-span"),
          "la touche k n'est pas revenue au segment codé", timeout=60)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".balises-stripes td[data-code='ENG.2'][data-n='1']"),
          "les bandes de codage ne montrent pas le code du segment 1", timeout=30)
    # a click on the stripes' segment number goes there, and back
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".balises-stripes th[data-n='3']").click() or True,
          "les bandes de codage ne se laissent pas cliquer", timeout=30)
    _wait(browser, lambda d: "Segment 3 / 3" in d.find_element(By.CSS_SELECTOR, ".balises-panel").text,
          "un clic sur les bandes de codage n'a pas mené au segment 3", timeout=60)
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".balises-stripes th[data-n='1']").click() or True,
          "les bandes de codage ne se laissent pas cliquer", timeout=30)
    _wait(browser, lambda d: "Segment 1 / 3" in d.find_element(By.CSS_SELECTOR, ".balises-panel").text
          and d.find_elements(By.CSS_SELECTOR, ".balises-text mark.balises-span"),
          "un clic sur les bandes de codage n'est pas revenu au segment 1", timeout=60)

    panel = browser.find_element(By.CSS_SELECTOR, ".balises-panel")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", panel)
    folder = Path(os.environ.get("BALISES_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "panel-span.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

    # another document chosen in the workbench: the new panel answers the keys, not the old one
    from selenium.webdriver.support.ui import Select

    menu = browser.find_element(By.XPATH, "//div[contains(@class,'widget-dropdown')][.//label[.='Document']]//select")
    Select(menu).select_by_value(next(o.get_attribute("value") for o in Select(menu).options
                                      if "malaunay-test" in o.text))
    _wait(browser, lambda d: "malaunay-test#1" in d.find_element(By.CSS_SELECTOR, ".balises-panel").text,
          "le panneau du second document ne s'est pas affiché", timeout=60)
    browser.execute_script("document.querySelector('.balises-panel .balises-segment-view').focus();")
    ActionChains(browser).send_keys("j").perform()
    _wait(browser, lambda d: "malaunay-test#2" in d.find_element(By.CSS_SELECTOR, ".balises-panel").text,
          "la touche j n'agit pas sur le panneau du second document", timeout=60)
