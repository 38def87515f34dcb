"""The static HTML dashboard (`whisper_sae.dashboards.export_html`) rendered in headless Chromium.

A dashboard is made from the pipeline's output on the test config (`configs/tiny_test.yaml`: random tiny Whisper,
the 8-clip speech fixture; seconds), opened by `tools/check_docs.py`'s browser check (Debian chromium via
Playwright) and photographed. It must show every latent's section with its statistics, histogram and examples,
each example with a rendered plotly figure, the marked word and an audio player whose WAV the browser loads; the
type table must link to every section and sort on a click; no console error, no request leaving the page.
Broken copies of the same page (plotly.js missing, corrupt audio, no marked words, a CDN script) must fail.

Needs /usr/bin/chromium and playwright: skipped without them, except under CI (CI=true), where that is a failure."""
import base64, os, re, sys, tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import check_docs  # noqa: E402


@pytest.fixture(scope='module', autouse=True)
def browser_available():
    try: import playwright.sync_api  # noqa: F401
    except ImportError: has_pw = False
    else: has_pw = True
    missing = [w for w, ok in (('chromium (apt-get install chromium)', Path(check_docs.CHROMIUM).exists()),
                               ('playwright (pip install playwright)', has_pw)) if not ok]
    if missing:
        msg = f"the dashboard render test needs {' and '.join(missing)}"
        if os.environ.get('CI'): pytest.fail(msg)
        pytest.skip(msg)


N_EXAMPLES = 2


@pytest.fixture(scope='module')
def dashboard():
    "(html text, latents) of a dashboard of 3 latents of the tiny_test pipeline's SAE."
    from whisper_sae.config import ExperimentConfig
    from whisper_sae.pipeline import run_experiment, experiment_paths
    from whisper_sae.dictionaries import load_dictionary
    from whisper_sae.whisper import load_whisper
    from whisper_sae.features import compute_features, latent_types
    from whisper_sae.dashboards import export_html
    root = Path(tempfile.mkdtemp())
    cfg = ExperimentConfig.load(ROOT/'configs'/'tiny_test.yaml')
    paths = experiment_paths(cfg, root)
    run_experiment(cfg, phases=('extract', 'train'), root=root, progress=False)
    feats = compute_features(paths.store, load_dictionary(paths.dictionary), paths.out/'features',
                             w=load_whisper(cfg.model.spec, attn_implementation='eager'), n_top=4, progress=False)
    latents = [r['latent'] for r in latent_types(feats)[:3]]
    page = export_html(feats, latents, root/'dashboard.html', n_examples=N_EXAMPLES)
    return page.read_text(), latents


def _check(tmp_path, text, shot=None):
    (tmp_path/'index.html').write_text(text)
    return check_docs.check_site(tmp_path, screenshots={shot: 'index.html'} if shot else None)


def test_dashboard_renders(tmp_path, dashboard):
    text, latents = dashboard
    rep = _check(tmp_path, text, 'dashboard.png')
    assert rep.ok, rep.problems
    n_ex = N_EXAMPLES * len(latents)
    assert (rep.dashboards, rep.figures, rep.audio) == (1, len(latents) + n_ex, n_ex), rep.summary()
    png = tmp_path/'_screenshots'/'dashboard.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 20_000, png.stat().st_size


def test_types_table_sorts(tmp_path, dashboard):
    "Clicking a header of the type table sorts its rows by that column, both ways."
    from playwright.sync_api import sync_playwright
    text, latents = dashboard
    (tmp_path/'index.html').write_text(text)
    base, srv = check_docs.serve(tmp_path)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=check_docs.CHROMIUM, args=check_docs.CHROMIUM_ARGS, headless=True)
            page = b.new_page()
            page.goto(base + 'index.html')
            col = "[...document.querySelectorAll('table.types tbody tr')].map(r => parseFloat(r.cells[0].dataset.v))"
            page.click('table.types th:nth-child(1)')
            asc = page.evaluate(col)
            page.click('table.types th:nth-child(1)')
            desc = page.evaluate(col)
            b.close()
    finally:
        srv.shutdown(); srv.server_close()
    assert asc == sorted(latents) and desc == sorted(latents, reverse=True), (asc, desc)


def _broken(text:str) -> dict[str, str]:
    "Broken copies of a good dashboard page, by what is wrong."
    plotly = re.search(r'<script type="text/javascript">.{1000000,}?</script>', text, re.S)
    assert plotly, "the dashboard should inline plotly.js"
    m = re.search(r'data:audio/wav;base64,([A-Za-z0-9+/=]{100})', text)
    junk = base64.b64encode(b'not a wav file at all, just bytes ' * 4).decode()[:100]
    return {'no plotly.js': text.replace(plotly.group(0), '', 1),
            'corrupt audio': text.replace(m.group(0), 'data:audio/wav;base64,' + junk, 1),
            'no marked words': text.replace('<mark>', '<span>').replace('</mark>', '</span>'),
            'a CDN script': text.replace('</head>', '<script src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script></head>', 1)}


def test_broken_dashboards_fail(tmp_path, dashboard):
    text, latents = dashboard
    want = {'no plotly.js': ['plotly figures have no rendered SVG', 'Plotly is not defined', 'no rendered spectrogram'],
            'corrupt audio': ['audio players do not load'],
            'no marked words': ['no marked transcript'],
            'a CDN script': ['asset from another site', 'request leaves the site']}
    for name, broken in _broken(text).items():
        d = tmp_path/name.replace(' ', '_')
        d.mkdir()
        problems = _check(d, broken).problems
        for w in want[name]:
            assert any(w in p for p in problems), (name, w, problems)
