"""The built book: it builds in the smoke profile, works offline, and its first chapter works in a real browser.

A session fixture builds the whole book (``jupyter-book build`` with ``--warningiserror --nitpick``, the smoke
profile, ``CHAPTERS_OFFLINE=1``) into a temporary folder, so the reader's ``_build/`` is never touched; the
notebooks are first executed in parallel into that build's cache (``tools/preexecute.py``). Speed-ups:

- ``CHAPTERS_SITE_HTML=<dir>``: reuse an already built site (e.g. ``_build/html`` after
  ``make book PROFILE=smoke``) instead of building;
- ``CHAPTERS_SITE_OUTPUT=<dir>``: build into this folder instead of a temporary one, so the notebook execution
  cache (``<dir>/_build/.jupyter_cache``) is kept between test runs.
- ``CHAPTERS_TESTED_NOTEBOOKS=<dir>``: notebooks already executed by the nbval run (``make test`` sets it; see
  ``notebooks/conftest.py``) go into the build's cache as they are, so each notebook executes once per test run;
  any notebook missing there is executed here.

The browser tests drive Debian's headless Chromium (``/usr/bin/chromium``, installed by ``make browser``) with
Playwright; every request to anything but a local file is aborted and recorded, and must not happen.
"""
from __future__ import annotations

import dataclasses
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTER_PAGE = "notebooks/01-convolution-arithmetic.html"
PROSE_PAGES = (
    "book/intro.html", "book/setup.html", "book/part-cnn.html", "book/part-rnn.html", "book/part-gan.html",
    "book/part-trends.html", "book/book-vs-companion.html", "book/references.html",
)
# A word the first chapter teaches (its "Receptive fields" section) and no prose page is about.
SEARCH_WORD = "receptive"
BUILD_TIMEOUT_S = int(os.environ.get("CHAPTERS_SITE_BUILD_TIMEOUT", "1800"))
VENDOR_STAMP = REPO / "book" / "_vendor" / ".fetched"
# The first site test also pays for the session's build (pre-execution and jupyter-book, each up to
# BUILD_TIMEOUT_S): pytest-timeout's default (pyproject.toml) would cut it short.
pytestmark = pytest.mark.timeout(2 * BUILD_TIMEOUT_S + 300)

# Hosts of CDNs, trackers and remote services that must not appear anywhere in a built page.
REMOTE_SERVICE_MARKERS = (
    "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "googleapis.com", "gstatic.com",
    "googletagmanager.com", "google-analytics.com", "plausible.io", "hypothes.is", "utteranc.es",
    "mybinder.org", "colab.research.google.com", "polyfill.io", "code.jquery.com", "kit.fontawesome.com",
    "mathjax@", "require.min.js", "thebe@",
)
# (tag, attribute) pairs that make a browser fetch something when the page loads.
RESOURCE_ATTRIBUTES = {
    ("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"), ("audio", "src"),
    ("embed", "src"), ("object", "data"), ("input", "src"), ("track", "src"),
}
FETCHING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "icon",
                      "shortcut", "manifest", "apple-touch-icon"}
REMOTE_URL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOT_FOR_HUMANS = REPO / "_build" / "browser-first-chapter.png"


@dataclasses.dataclass(frozen=True)
class BuiltSite:
    html: Path           # the folder with index.html
    seconds: float       # build time (0 when reused)
    log: str             # build output (stdout + stderr)

    def page(self, relative: str) -> Path:
        return self.html / relative


def _jupyter_book() -> str:
    candidate = Path(sys.executable).with_name("jupyter-book")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("jupyter-book")
    if not found:
        pytest.fail("jupyter-book is not installed in this environment (run `make test`, which installs it)")
    return found


def _preexecute_copies(workspace: Path, cache: Path, environment: dict) -> str:
    """Fill the build's execution cache in parallel (tools/preexecute.py) from copies of the chapter notebooks.

    Copies, so that these kernels write their run folders (checkpoints) under ``workspace``, never into
    ``notebooks/runs`` where the nbval run of the same notebook may be training at the same moment (pytest-xdist).
    The cache matches notebooks by content, so the build below uses these outputs; a notebook that failed here is
    executed again by the build, which reports the error.
    """
    copies = workspace / "notebooks"
    shutil.copytree(REPO / "notebooks", copies, ignore=shutil.ignore_patterns("runs", "exercises", ".ipynb_checkpoints"))
    recorded = os.environ.get("CHAPTERS_TESTED_NOTEBOOKS")
    command = [sys.executable, str(REPO / "tools" / "preexecute.py"), "--cache", str(cache),
               *(["--recorded", str(Path(recorded).resolve())] if recorded else []),
               *sorted(str(path) for path in copies.glob("[0-9]*.ipynb"))]
    try:
        result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "pre-execution timed out"  # the build executes whatever is not cached and enforces its own timeout
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> BuiltSite:
    """The book built in the smoke profile (or the site named by CHAPTERS_SITE_HTML)."""
    reused = os.environ.get("CHAPTERS_SITE_HTML")
    if reused:
        html = Path(reused).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"CHAPTERS_SITE_HTML={reused} has no index.html; build the book first or unset it")
        return BuiltSite(html=html, seconds=0.0, log="(reused an existing build)")
    if not VENDOR_STAMP.is_file():
        pytest.fail("book/_vendor is missing: run `make assets` (bash tools/fetch_web_assets.sh book/_vendor), "
                    "which fetches require.js, the widget manager and MathJax from the npm registry")
    output = Path(os.environ.get("CHAPTERS_SITE_OUTPUT") or tmp_path_factory.mktemp("site")).resolve()
    environment = {**os.environ, "CHAPTERS_PROFILE": "smoke", "CHAPTERS_OFFLINE": "1"}
    started = time.perf_counter()
    preexecuted = _preexecute_copies(tmp_path_factory.mktemp("executed"), output / "_build" / ".jupyter_cache",
                                     environment)
    command = [_jupyter_book(), "build", str(REPO), "--path-output", str(output),
               "--warningiserror", "--nitpick", "--keep-going"]
    try:
        result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"the smoke build took more than {BUILD_TIMEOUT_S} s: {' '.join(command)}\n"
                    f"{(error.stdout or '')[-3000:] if isinstance(error.stdout, str) else ''}")
    seconds = time.perf_counter() - started
    log = result.stdout + result.stderr
    if result.returncode != 0 or "build succeeded" not in log:
        pytest.fail(f"the book did not build (exit {result.returncode}, {seconds:.0f} s): {' '.join(command)}\n"
                    f"--- last lines of the build log ---\n{log[-6000:]}")
    return BuiltSite(html=output / "_build" / "html", seconds=seconds, log=preexecuted + log)


# ------------------------------------------------------------------------------------------------ static checks

class _ResourceCollector(html.parser.HTMLParser):
    """Collects every URL a browser would fetch on load, and the text of inline scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str]] = []
        self.inline_scripts: list[str] = []
        self.tag_attribute_values: list[str] = []   # every attribute of tags that load or run something
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in {"script", "link", "iframe", "img", "source", "object", "embed", "video", "audio"}:
            self.tag_attribute_values.extend(value for _, value in attrs if value)
        for name, value in attrs:
            if (tag, name) in RESOURCE_ATTRIBUTES and value:
                self.resources.append((tag, value))
            if name == "srcset" and value:
                self.resources.extend((tag, part.split()[0]) for part in value.split(",") if part.strip())
            if name == "style" and value and "url(" in value:
                self.resources.extend((tag, url) for url in re.findall(r"url\(['\"]?([^'\")]+)", value))
        if tag == "link" and attributes.get("href"):
            rels = set((attributes.get("rel") or "").lower().split())
            if rels & FETCHING_LINK_RELS:
                self.resources.append(("link", attributes["href"]))
        self._in_script = tag == "script" and "src" not in attributes

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _html_pages(site: BuiltSite) -> list[Path]:
    return sorted(path for path in site.html.rglob("*.html") if "_static" not in path.relative_to(site.html).parts)


@pytest.mark.slow
def test_build_succeeds_with_every_page(site):
    for page in ("index.html", "search.html", "searchindex.js", CHAPTER_PAGE, *PROSE_PAGES):
        assert site.page(page).is_file(), f"{page} is missing from the built site"
    # Reader exercise notebooks are not part of the book.
    assert not (site.html / "notebooks" / "exercises").exists()
    assert not list(site.html.rglob("exercises/*.html"))
    print(f"smoke build: {site.seconds:.1f} s, {len(_html_pages(site))} pages")
    print("\n".join(line for line in site.log.splitlines() if "notebook(s)" in line))


@pytest.mark.slow
def test_no_page_loads_anything_from_another_host(site):
    """No <script>/<link>/<img>/... points at another host, and no CDN or remote service is named in one.

    Text on a page may still mention a URL (e.g. where the real MNIST file comes from); only what the browser
    would load, and the code that could load it, is checked here. The browser test checks what really loads.
    """
    problems = []
    for page in _html_pages(site):
        name = page.relative_to(site.html).as_posix()
        collector = _ResourceCollector()
        collector.feed(page.read_text(encoding="utf-8"))
        for tag, url in collector.resources:
            if REMOTE_URL.match(url):
                problems.append(f"{name}: <{tag}> loads {url}")
        scripts = [script for script in collector.inline_scripts
                   if not script.lstrip().startswith("{")]  # JSON payloads (widget state) are data, not code
        for text in collector.tag_attribute_values + scripts:
            problems.extend(f"{name}: refers to {marker}: {text[:120]!r}"
                            for marker in REMOTE_SERVICE_MARKERS if marker in text)
        for script in scripts:
            problems.extend(f"{name}: inline script refers to {url}"
                            for url in re.findall(r"""["'`]((?:https?:)?//[^"'`\s]+)""", script))
    for stylesheet in (site.html / "_static").rglob("*.css"):
        for url in re.findall(r"""(?:@import\s+(?:url\()?|url\()\s*['"]?((?:https?:)?//[^'")\s]+)""",
                              stylesheet.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{stylesheet.relative_to(site.html)}: loads {url}")
    assert not problems, "the site must work offline:\n" + "\n".join(problems)


@pytest.mark.slow
def test_vendored_javascript_is_in_the_site_and_used(site):
    static = site.html / "_static"
    for asset in ("require.js", "widgets/embed-amd.js", "mathjax/tex-mml-chtml.js", "companion-widgets.js",
                  "companion.css"):
        assert (static / asset).is_file() and (static / asset).stat().st_size > 0, f"_static/{asset} is missing"
    assert list((static / "widgets").glob("*.woff2")), "the widget manager's Font Awesome files are missing"
    assert list((static / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff")), "MathJax fonts missing"
    chapter = site.page(CHAPTER_PAGE).read_text(encoding="utf-8")
    for reference in ("../_static/require.js", "../_static/widgets/embed-amd.js",
                      "../_static/mathjax/tex-mml-chtml.js", "../_static/companion-widgets.js"):
        assert reference in chapter, f"{CHAPTER_PAGE} does not load {reference}"
    # The shim must run before require.js reads its configuration and before the widget manager starts.
    assert chapter.index("companion-widgets.js") < chapter.index("_static/require.js") < chapter.index("embed-amd.js")
    # Every page with math loads the local MathJax (Sphinx adds MathJax only to pages that have math).
    for page in _html_pages(site):
        text = page.read_text(encoding="utf-8")
        if 'class="math' in text:
            assert "_static/mathjax/tex-mml-chtml.js" in text, f"{page.name} has math but not the local MathJax"


@pytest.mark.slow
def test_first_chapter_embeds_math_and_a_kernel_free_frame_player(site):
    chapter = site.page(CHAPTER_PAGE).read_text(encoding="utf-8")
    assert 'class="math' in chapter, "the first chapter has no math"
    match = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', chapter, re.S)
    assert match, "the first chapter embeds no widget state (were its notebooks executed with widgets?)"
    state = json.loads(match.group(1))["state"]
    models = {model_id: entry["model_name"] for model_id, entry in state.items()}
    stacks = [model_id for model_id, name in models.items() if name == "StackModel"]
    assert stacks, "no frame_player (ipywidgets.Stack) in the first chapter"
    links = [entry["state"] for entry in state.values() if entry["model_name"] == "LinkModel"]
    linked_to_stack = [link for link in links
                       if link["target"][0].removeprefix("IPY_MODEL_") in stacks and link["target"][1] == "selected_index"]
    assert linked_to_stack, "no slider is jslinked to a Stack's selected_index"


@pytest.mark.slow
def test_search_index_contains_a_word_from_the_first_chapter(site):
    from sphinx.search.en import SearchEnglish

    text = site.page("searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1: text.rindex(")")])
    stem = SearchEnglish({}).stem(SEARCH_WORD)
    chapter_doc = index["docnames"].index(CHAPTER_PAGE.removesuffix(".html"))
    documents = set()
    for kind in ("terms", "titleterms"):  # Sphinx files a word under titleterms when a heading of the page has it
        found = index[kind].get(stem, [])
        documents.update(found if isinstance(found, list) else [found])
    assert chapter_doc in documents, f"'{SEARCH_WORD}' (stem '{stem}') does not lead to the first chapter"


# ------------------------------------------------------------------------------------------------ browser checks

class OfflinePage:
    """A new browser context whose requests to anything but local files are aborted and recorded."""

    LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.remote_requests: list[str] = []
        self.failed_local: list[str] = []
        self.page_errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("requestfailed", self._failed)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.LOCAL_SCHEMES):
            route.continue_()
        else:
            self.remote_requests.append(url)
            route.abort()

    def _failed(self, request):
        if request.url.startswith("file:"):
            self.failed_local.append(f"{request.url} ({request.failure})")

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: run `make browser` (installs Debian's chromium) to run this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def offline_page(browser):
    page = OfflinePage(browser)
    yield page
    page.close()


def _visible_frame(stack) -> str:
    """What the frame player shows now: the image's src (a blob: URL per rendered frame) or the frame's HTML."""
    images = stack.locator("img")
    if images.count():
        return images.first.get_attribute("src") or ""
    return stack.inner_html()


def _wait_for_change(page, read, before, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = read()
        if now != before:
            return now
        page.wait_for_timeout(100)
    return read()


def _assert_slider_moves_the_frame(page, player, slider, stack) -> None:
    """Move a frame player's slider one step (keyboard, else a drag) and check the visible frame changes."""
    readout = player.locator(".widget-readout").first
    frame_before, readout_before = _visible_frame(stack), readout.inner_text()

    # Move the slider one step with the keyboard (the jslink, not Python, updates the stack) ...
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    frame_after = _wait_for_change(page, lambda: _visible_frame(stack), frame_before, timeout_s=5)
    if frame_after == frame_before:  # ... or, if keyboard support is off, drag the handle to the right end.
        handle_box, track_box = handle.bounding_box(), slider.locator(".noUi-target").first.bounding_box()
        page.mouse.move(handle_box["x"] + handle_box["width"] / 2, handle_box["y"] + handle_box["height"] / 2)
        page.mouse.down()
        page.mouse.move(track_box["x"] + track_box["width"] - 2, handle_box["y"] + handle_box["height"] / 2,
                        steps=8)
        page.mouse.up()
        frame_after = _wait_for_change(page, lambda: _visible_frame(stack), frame_before)
    assert frame_after != frame_before, "moving the slider did not change the visible frame"
    assert readout.inner_text() != readout_before, "the slider's readout did not change"


@pytest.mark.slow
@pytest.mark.browser
def test_first_chapter_works_offline_in_chromium(site, offline_page, tmp_path):
    page = offline_page.page
    page.goto(site.page(CHAPTER_PAGE).as_uri(), wait_until="load")

    # Math: MathJax 3 (served from _static/mathjax) typeset the formulas.
    page.wait_for_selector("mjx-container", timeout=60_000)
    assert page.locator("mjx-container").count() >= 1

    # The first frame player rendered from the embedded widget state: a slider and the stacked frame.
    player = page.locator(".chapters-frame-player").first
    player.wait_for(state="visible", timeout=60_000)
    player.scroll_into_view_if_needed()
    slider = player.locator(".widget-slider").first
    stack = player.locator(".chapters-frame-player-stack").first
    assert slider.is_visible() and stack.is_visible()
    stack.locator("img, .widget-html, .widget-label").first.wait_for(state="visible", timeout=30_000)
    _assert_slider_moves_the_frame(page, player, slider, stack)

    # Live (kernel) demos say on the static page that they need a kernel.
    notes = page.locator(".chapters-kernel-note")
    for index in range(notes.count()):
        assert notes.nth(index).is_visible(), "a live demo's 'needs a running kernel' note is hidden"

    player.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    screenshot = tmp_path / "first-chapter.png"
    page.screenshot(path=str(screenshot))
    SCREENSHOT_FOR_HUMANS.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_FOR_HUMANS)

    assert offline_page.remote_requests == [], "the page tried to reach other hosts"
    assert offline_page.failed_local == [], "local files the page needs are missing"
    assert offline_page.page_errors == [], "JavaScript errors on the page"


@pytest.mark.slow
@pytest.mark.browser
def test_search_page_finds_the_first_chapter_offline(site, offline_page):
    page = offline_page.page
    page.goto(site.page("search.html").as_uri() + f"?q={SEARCH_WORD}", wait_until="load")
    results = page.locator("#search-results li")
    results.first.wait_for(state="visible", timeout=30_000)
    hrefs = [results.nth(index).locator("a").first.get_attribute("href") or "" for index in range(results.count())]
    assert any("01-convolution-arithmetic" in href for href in hrefs), hrefs
    assert offline_page.remote_requests == [], "the search page tried to reach other hosts"
    assert offline_page.page_errors == [], "JavaScript errors on the search page"


def _chapter_pages() -> list:
    """Every chapter notebook as its page in the built site (discovered at collection time)."""
    return [pytest.param(f"notebooks/{path.stem}.html", id=path.stem)
            for path in sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("chapter_page", _chapter_pages())
def test_every_chapter_page_works_offline_in_chromium(site, offline_page, chapter_page):
    """Each chapter loads from local files only, without JavaScript errors; its frame players render from the
    embedded widget state, and the first one responds to its slider without a kernel."""
    page = offline_page.page
    page.goto(site.page(chapter_page).as_uri(), wait_until="load")
    page.wait_for_selector("article", timeout=30_000)
    players = page.locator(".chapters-frame-player")
    for index in range(players.count()):
        player = players.nth(index)
        player.scroll_into_view_if_needed()
        stack = player.locator(".chapters-frame-player-stack").first
        stack.locator("img, .widget-html, .widget-label").first.wait_for(state="visible", timeout=30_000)
        if index == 0:
            _assert_slider_moves_the_frame(page, player, player.locator(".widget-slider").first, stack)
    # A loaded-but-undecodable image is complete with zero width (lazy images not yet loaded are not complete).
    broken = page.evaluate("""() => Array.from(document.querySelectorAll('article img'))
        .filter(img => !img.closest('.chapters-frame-player') && img.complete && img.naturalWidth === 0)
        .map(img => img.src.slice(0, 80))""")
    assert broken == [], f"images that did not load: {broken[:5]}"
    assert offline_page.remote_requests == [], "the page tried to reach other hosts"
    assert offline_page.failed_local == [], "local files the page needs are missing"
    assert offline_page.page_errors == [], "JavaScript errors on the page"
