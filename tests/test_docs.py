"""The docs site's browser check (tools/check_docs.py): it passes a good tiny site, fails a broken link, a plotly
figure without its JS, a widget without the widget manager and an audio player that cannot load, and passes the
real site in `_docs/` (built by `tools/build_docs.py`), whose widgets and static dashboard must render.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package: skipped without them, except under CI
(CI=true), where a missing browser is a failure. The real-site test is skipped when `_docs/` was not built, unless
DOCS_REQUIRED=1 (as .ci/run sets it after building)."""
import base64, io, json, os, shutil, sys, wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import check_docs  # noqa: E402


@pytest.fixture(scope='module', autouse=True)
def browser_available():
    missing = [w for w, ok in (('chromium (apt-get install chromium)', Path(check_docs.CHROMIUM).exists()),
                               ('playwright (pip install playwright)', _has_playwright())) if not ok]
    if missing:
        msg = f"the docs browser check needs {' and '.join(missing)}"
        if os.environ.get('CI'): pytest.fail(msg)
        pytest.skip(msg)


def _has_playwright():
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return False
    return True


def _plotly_js() -> Path:
    import plotly
    return Path(plotly.__file__).parent/'package_data'/'plotly.min.js'


FIG = ('<div id="fig" class="plotly-graph-div" style="height:300px;width:400px"></div>\n'
       '<script>Plotly.newPlot("fig", [{"type": "bar", "x": [1, 2], "y": [3, 1]}], {});</script>')


def _site(tmp_path, index_body, other_body='<h1 id="top">Other</h1>', plotly_js=True):
    (tmp_path/'sub').mkdir(parents=True)
    (tmp_path/'assets').mkdir()
    if plotly_js: shutil.copyfile(_plotly_js(), tmp_path/'assets'/'plotly.min.js')
    page = '<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>{}</body></html>'
    (tmp_path/'index.html').write_text(page.format(index_body))
    (tmp_path/'sub'/'other.html').write_text(page.format(other_body))
    return tmp_path


GOOD_INDEX = ('<h1>whisper_sae</h1><h2>Start here</h2><a href="sub/other.html#top">other</a>'
              '<script src="assets/plotly.min.js"></script>' + FIG)


def test_good_site_passes(tmp_path):
    site = _site(tmp_path, GOOD_INDEX)
    rep = check_docs.check_site(site, ['whisper_sae', 'Start here'], {'index.png': 'index.html'})
    assert rep.ok, rep.problems
    assert (rep.pages, rep.figures, rep.links) == (2, 1, 1)
    assert (site/'_screenshots'/'index.png').stat().st_size > 1000


def test_broken_link_fails(tmp_path):
    site = _site(tmp_path, GOOD_INDEX.replace('sub/other.html#top', 'sub/missing.html') + '<a href="sub/other.html#nowhere">x</a>')
    problems = check_docs.check_site(site).problems
    assert any('broken link to /sub/missing.html' in p for p in problems), problems
    assert any('#nowhere: no such anchor' in p for p in problems), problems


def test_plotly_without_js_fails(tmp_path):
    site = _site(tmp_path, GOOD_INDEX, plotly_js=False)
    problems = check_docs.check_site(site).problems
    assert any('1 of 1 plotly figures have no rendered SVG' in p for p in problems), problems
    assert any('Plotly is not defined' in p for p in problems), problems
    assert any('HTTP 404' in p and 'plotly.min.js' in p for p in problems), problems


def test_plotly_js_without_figures_fails(tmp_path):
    problems = check_docs.check_site(_site(tmp_path, '<h1>x</h1><script src="assets/plotly.min.js"></script>')).problems
    assert any('loads plotly.js (4.6 MB) but shows no plotly figure' in p for p in problems), problems


def test_cdn_asset_and_missing_readme_fail(tmp_path):
    site = _site(tmp_path, GOOD_INDEX.replace('assets/plotly.min.js', 'https://cdn.plot.ly/plotly-2.35.2.min.js'))
    problems = check_docs.check_site(site, ['whisper_sae', 'Models']).problems
    assert any('asset from another site' in p for p in problems), problems
    assert any('request leaves the site' in p for p in problems), problems
    assert any("lacks the README's ['Models']" in p for p in problems), problems


def _widget_page():
    "A page with one saved IntSlider (state + view, as nbconvert writes them) and html-manager's embed.js from the site."
    from ipywidgets import IntSlider, Widget
    w = IntSlider(value=7, description='latent')
    state = Widget.get_manager_state(widgets=[w, w.layout, w.style], drop_defaults=True)
    view = {'version_major': 2, 'version_minor': 0, 'model_id': w.model_id}
    for x in (w, w.layout, w.style): x.close()
    return (f'<h1>w</h1><script type="application/vnd.jupyter.widget-view+json">{json.dumps(view)}</script>'
            f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(state)}</script>'
            '<script src="assets/widgets/embed.js"></script>')


def test_widget_renders_and_fails_without_manager(tmp_path):
    sys.path.insert(0, str(ROOT/'tools'))
    import build_docs
    good = _site(tmp_path/'good', _widget_page())
    shutil.copytree(build_docs.widget_manager(), good/'assets'/'widgets')
    rep = check_docs.check_site(good)
    assert rep.ok and rep.widgets == 1, rep.problems
    problems = check_docs.check_site(_site(tmp_path/'bad', _widget_page())).problems
    assert any('1 of 1 widgets were not rendered' in p for p in problems), problems
    assert any('HTTP 404' in p and 'embed.js' in p for p in problems), problems


def _wav(seconds=0.2) -> str:
    buf = io.BytesIO()
    with wave.open(buf, 'wb') as f:
        f.setnchannels(1); f.setsampwidth(2); f.setframerate(16000); f.writeframes(b'\0\0' * int(16000 * seconds))
    return base64.b64encode(buf.getvalue()).decode()


def test_audio_must_load(tmp_path):
    ok = f'<audio controls src="data:audio/wav;base64,{_wav()}"></audio>'
    rep = check_docs.check_site(_site(tmp_path/'good', ok))
    assert rep.ok and rep.audio == 1, rep.problems
    bad = ok + '<audio controls><source src="data:audio/wav;base64,bm90IGEgd2F2IGZpbGU=" type="audio/wav"></audio>'
    problems = check_docs.check_site(_site(tmp_path/'bad', bad)).problems
    assert any('1 of 2 audio players do not load: #1' in p for p in problems), problems


def test_built_site(capsys):
    "The real site: every page clean, the README on the index, screenshots saved (run tools/build_docs.py first)."
    site = ROOT/'_docs'
    if not (site/'index.html').exists():
        msg = "no site in _docs/: run `.venv/bin/python tools/build_docs.py` first"
        if os.environ.get('DOCS_REQUIRED') == '1': pytest.fail(msg)
        pytest.skip(msg)
    shutil.rmtree(site/'_screenshots', ignore_errors=True)
    shots = check_docs.default_screenshots(site)
    rep = check_docs.check_site(site, check_docs.readme_markers(ROOT/'README.md'), shots)
    with capsys.disabled(): print('\n' + rep.summary(), *(f"\n  {s}" for s in rep.screenshots))
    assert rep.ok, '\n'.join(rep.problems)
    assert rep.pages >= 3 and len(rep.screenshots) == len(shots) >= 3
    if (ROOT/'nbs'/'tutorials'/'explorer.ipynb').exists():  # its Explorer widget and its linked static dashboard
        assert rep.widgets >= 1 and rep.dashboards >= 1 and rep.audio >= 1, rep.summary()
        assert {'widgets.png', 'dashboard.png'} <= set(shots), shots
