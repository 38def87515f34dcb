"""The docs site's browser check (tools/check_docs.py): it passes a good tiny site, fails a broken link, a plotly
figure without its JS, a widget without the widget manager, an audio player that cannot load and a page that lacks
its executed copy's outputs, and passes the real site in `_docs/` (built by `tools/build_docs.py`), whose widgets
and static dashboard must render and whose pages must show their executed outputs.

Also the slow lane's tool (tools/execute_notebooks.py) on a tiny notebook tree: executed copies with outputs and
metadata, records collected into results.json, a failing cell or a moved finding writes nothing, staleness by code
hash; and tools/readme.py's placeholders.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package: skipped without them, except under CI
(CI=true), where a missing browser is a failure. The real-site test is skipped when `_docs/` was not built, unless
DOCS_REQUIRED=1 (as .ci/run sets it after building)."""
import base64, io, json, os, shutil, sys, wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import check_docs  # noqa: E402
import execute_notebooks as xn  # noqa: E402


@pytest.fixture(scope='module')
def browser():
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


def test_good_site_passes(browser, tmp_path):
    site = _site(tmp_path, GOOD_INDEX)
    rep = check_docs.check_site(site, ['whisper_sae', 'Start here'], {'index.png': 'index.html'})
    assert rep.ok, rep.problems
    assert (rep.pages, rep.figures, rep.links) == (2, 1, 1)
    assert (site/'_screenshots'/'index.png').stat().st_size > 1000


def test_broken_link_fails(browser, tmp_path):
    site = _site(tmp_path, GOOD_INDEX.replace('sub/other.html#top', 'sub/missing.html') + '<a href="sub/other.html#nowhere">x</a>')
    problems = check_docs.check_site(site).problems
    assert any('broken link to /sub/missing.html' in p for p in problems), problems
    assert any('#nowhere: no such anchor' in p for p in problems), problems


def test_plotly_without_js_fails(browser, tmp_path):
    site = _site(tmp_path, GOOD_INDEX, plotly_js=False)
    problems = check_docs.check_site(site).problems
    assert any('1 of 1 plotly figures have no rendered SVG' in p for p in problems), problems
    assert any('Plotly is not defined' in p for p in problems), problems
    assert any('HTTP 404' in p and 'plotly.min.js' in p for p in problems), problems


def test_plotly_js_without_figures_fails(browser, tmp_path):
    problems = check_docs.check_site(_site(tmp_path, '<h1>x</h1><script src="assets/plotly.min.js"></script>')).problems
    assert any('loads plotly.js (4.6 MB) but shows no plotly figure' in p for p in problems), problems


def test_cdn_asset_and_missing_readme_fail(browser, tmp_path):
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


def test_widget_renders_and_fails_without_manager(browser, tmp_path):
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


def test_audio_must_load(browser, tmp_path):
    ok = f'<audio controls src="data:audio/wav;base64,{_wav()}"></audio>'
    rep = check_docs.check_site(_site(tmp_path/'good', ok))
    assert rep.ok and rep.audio == 1, rep.problems
    bad = ok + '<audio controls><source src="data:audio/wav;base64,bm90IGEgd2F2IGZpbGU=" type="audio/wav"></audio>'
    problems = check_docs.check_site(_site(tmp_path/'bad', bad)).problems
    assert any('1 of 2 audio players do not load: #1' in p for p in problems), problems


def test_built_site(browser, capsys):
    "The real site: every page clean, the README on the index, screenshots saved (run tools/build_docs.py first)."
    site = ROOT/'_docs'
    if not (site/'index.html').exists():
        msg = "no site in _docs/: run `.venv/bin/python tools/build_docs.py` first"
        if os.environ.get('DOCS_REQUIRED') == '1': pytest.fail(msg)
        pytest.skip(msg)
    shutil.rmtree(site/'_screenshots', ignore_errors=True)
    shots = check_docs.default_screenshots(site)
    rep = check_docs.check_site(site, check_docs.readme_markers(ROOT/'README.md'), shots, executed=xn.EXECUTED)
    with capsys.disabled(): print('\n' + rep.summary(), *(f"\n  {s}" for s in rep.screenshots))
    assert rep.ok, '\n'.join(rep.problems)
    assert rep.pages >= 3 and len(rep.screenshots) == len(shots) >= 3
    assert rep.executed == len(check_docs.expected_outputs(xn.EXECUTED)) >= 8, rep.summary()  # every executed copy's page checked
    if (ROOT/'nbs'/'tutorials'/'explorer.ipynb').exists():  # its Explorer widget and its linked static dashboard
        assert rep.widgets >= 1 and rep.dashboards >= 1 and rep.audio >= 1, rep.summary()
        assert {'widgets.png', 'dashboard.png'} <= set(shots), shots


# ---- executed outputs on the pages ---------------------------------------------------------------------------------

def _nb(cells) -> dict:
    return {'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}


def _code(src, outputs=(), id='c'):
    return {'cell_type': 'code', 'id': id, 'metadata': {}, 'execution_count': None, 'source': src, 'outputs': list(outputs)}


RECORD = {'output_type': 'display_data', 'metadata': {}, 'data': {
    check_docs.FINDINGS_MIME: {'kind': 'record', 'key': 'demo', 'values': {'fvu': 0.206}}, 'text/plain': 'recorded demo: fvu=0.206'}}
CHECKS = [{'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown':
          f'**{check_docs.CHECKED_TITLE}** (1):\n\n| finding | measured |\n|---|---|\n| FVU | 0.206 |'}},
          {'output_type': 'display_data', 'metadata': {}, 'data': {
              check_docs.FINDINGS_MIME: {'kind': 'checks', 'key': 'demo', 'values': {}}, 'text/plain': 'checked demo: 1 findings'}}]
FIGURE = {'output_type': 'display_data', 'metadata': {}, 'data': {check_docs.PLOTLY_MIME: {'data': [{'type': 'bar', 'y': [1, 2]}]}}}


def test_expected_outputs(tmp_path):
    (tmp_path/'tutorials').mkdir()
    (tmp_path/'tutorials'/'demo.ipynb').write_text(json.dumps(_nb([_code('fig', [FIGURE]), _code('record', [RECORD] + CHECKS)])))
    (tmp_path/'01_whisper.ipynb').write_text(json.dumps(_nb([_code('x')])))
    want = check_docs.expected_outputs(tmp_path)
    assert want['tutorials/demo.html'] == dict(notebook='tutorials/demo.ipynb', figures=1, tables=1, images=0,
                                               records=['recorded demo: fvu=0.206'], checks=1), want
    assert want['whisper.html']['figures'] == 0


def _out(html): return f'<div class="jp-OutputArea"><div class="jp-OutputArea-output">{html}</div></div>'


def test_page_must_show_executed_outputs(browser, tmp_path):
    "A tutorial page with its executed figure, record and findings table passes; the same page built unexecuted fails."
    ex = tmp_path/'executed'
    (ex/'tutorials').mkdir(parents=True)
    (ex/'tutorials'/'demo.ipynb').write_text(json.dumps(_nb([_code('fig', [FIGURE]), _code('record', [RECORD] + CHECKS)])))
    table = '<table><tr><th>finding</th><th>measured</th></tr><tr><td>FVU</td><td>0.206</td></tr></table>'
    executed = ('<h1>w</h1><script src="../assets/plotly.min.js"></script>' + _out(FIG) + _out('<pre>recorded demo: fvu=0.206</pre>')
                + _out(f'<p><strong>{check_docs.CHECKED_TITLE}</strong> (1):</p>{table}'))
    good = _site(tmp_path/'good', '<h1>whisper_sae</h1>', other_body='<h1 id="top">Other</h1>')
    (good/'tutorials').mkdir()
    (good/'tutorials'/'demo.html').write_text(f'<!doctype html><html><head><meta charset="utf-8"></head><body>{executed}</body></html>')
    rep = check_docs.check_site(good, executed=ex)
    assert rep.ok and rep.executed == 1, rep.problems
    (good/'tutorials'/'demo.html').write_text('<!doctype html><html><head><meta charset="utf-8"></head><body><h1>w</h1>'
                                              + _out('') + '</body></html>')  # what an unexecuted slow cell leaves
    problems = check_docs.check_site(good, executed=ex).problems
    assert any('shows 0 rendered plotly figures, its executed copy 1' in p for p in problems), problems
    assert any('lacks 1 of the 1 recorded findings' in p for p in problems), problems
    assert any(f"lacks the '{check_docs.CHECKED_TITLE}' table" in p for p in problems), problems
    (good/'index.html').write_text('<!doctype html><html><head><meta charset="utf-8"></head><body>WER {{fixture.tiny_en_wer:.1%}}</body></html>')
    problems = check_docs.check_site(good, executed=ex).problems
    assert any("index.html: unfilled results placeholders ['{{fixture.tiny_en_wer:.1%}}']" in p for p in problems), problems
    (good/'index.html').write_text('<!doctype html><html><head><meta charset="utf-8"></head><body><h1>whisper_sae</h1>'
                                   'The syntax is <code>{{key.field}}</code>.</body></html>')  # shown as code: not a placeholder
    assert not any('unfilled' in p for p in check_docs.check_site(good, executed=ex).problems)
    (good/'tutorials'/'other.html').write_text('<!doctype html><html><head><meta charset="utf-8"></head><body>x</body></html>')
    (good/'tutorials'/'demo_linked').mkdir()
    (good/'tutorials'/'demo_linked'/'dashboard.html').write_text('<!doctype html><html><head><meta charset="utf-8"></head><body>d</body></html>')
    problems = check_docs.check_site(good, executed=ex).problems
    assert any('tutorials/other.html: a tutorial page without an executed copy' in p for p in problems), problems
    assert not any('demo_linked' in p for p in problems), problems  # a file the page links to is not a page of its own


# ---- tools/execute_notebooks.py on a tiny tree ---------------------------------------------------------------------

def _md(src, id='m'): return {'cell_type': 'markdown', 'id': id, 'metadata': {}, 'source': src}


GOOD_NB = [_md('# Demo\n\n> a tiny tutorial'), _code('from whisper_sae.findings import expect, record, show, checked\nx = 0.2', id='imp'),
           _code("#| slow\nexpect('demo value', x + 0.005, 0.2, 0.01)\nrecord('demo', value=x + 0.005)\nshow('value **{v:.3f}**', v=x)", id='slw'),
           _code("#| gpu\nraise RuntimeError('gpu cells are not forced')", id='gpu'),
           _code("#| slow\nchecked('demo')", id='chk')]


def _tree(tmp_path, cells, name='demo.ipynb'):
    nbs = tmp_path/'nbs'
    (nbs/'tutorials').mkdir(parents=True, exist_ok=True)
    (nbs/'tutorials'/name).write_text(json.dumps(_nb(cells), indent=1))
    (nbs/'plain.ipynb').write_text(json.dumps(_nb([_code('y = 1', id='p')])))  # no slow cells: not in the lane
    return nbs


def _run(*args):
    import subprocess
    return subprocess.run([sys.executable, str(ROOT/'tools'/'execute_notebooks.py'), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, 'PYTHONPATH': str(ROOT)})


def test_execute_writes_copy_and_results(tmp_path):
    nbs = _tree(tmp_path, GOOD_NB)
    src, ex = nbs/'tutorials'/'demo.ipynb', nbs/'_executed'
    assert xn.lane(nbs, ex) == [src] and xn.status(src, nbs, ex) == 'missing'
    r = _run('--nbs', nbs)
    assert r.returncode == 0, r.stdout + r.stderr
    copy = json.loads((ex/'tutorials'/'demo.ipynb').read_text())
    m = copy['metadata']['executed']
    assert m['code_hash'] == xn.code_hash(json.loads(src.read_text())) and m['package_hash'] == xn.package_hash()
    assert m['flags'] == {'forced': ['slow'], 'skipped': ['gpu']} and m['machine']['cores'] == os.cpu_count() and m['wall_s'] > 0
    outs = {c['id']: c['outputs'] for c in copy['cells'] if c['cell_type'] == 'code'}
    assert outs['gpu'] == [] and outs['imp'] == []
    assert ''.join(outs['slw'][1]['data']['text/markdown']) == 'value **0.200**', outs['slw']
    assert [c['source'] for c in copy['cells']] == [c['source'] for c in json.loads(src.read_text())['cells']]
    res = json.loads((ex/'results.json').read_text())
    assert res['records']['demo'] == {'value': pytest.approx(0.205)} and res['checks']['demo']['demo value']['target'] == 0.2
    assert res['records']['slow_lane']['notebooks'] == 1 and res['sources'] == {'checks:demo': 'tutorials/demo.ipynb', 'record:demo': 'tutorials/demo.ipynb'}
    assert xn.status(src, nbs, ex) == 'ok' and xn.check(nbs, ex) == 0
    assert 'up to date' in _run('--nbs', nbs).stdout  # skipped: same code and package
    nb = json.loads(src.read_text())
    nb['cells'][0]['source'] += '\n\nProse changes need no re-execution.'
    src.write_text(json.dumps(nb))
    assert xn.status(src, nbs, ex) == 'ok'
    nb['cells'][1]['source'] = nb['cells'][1]['source'].replace('0.2', '0.3')
    src.write_text(json.dumps(nb))
    assert xn.status(src, nbs, ex) == 'stale' and xn.check(nbs, ex) == 1
    assert xn.status(src, nbs, ex, pkg='other') == 'stale'
    (ex/'orphan.ipynb').write_text(json.dumps(_nb([])))
    assert xn.check(nbs, ex) == 1


def test_pending_list(tmp_path):
    "A lane notebook listed in _executed/PENDING passes --check until it is executed; then the stale entry fails, and a run removes it."
    nbs = _tree(tmp_path, GOOD_NB)
    ex = nbs/'_executed'
    ex.mkdir()
    assert xn.check(nbs, ex) == 1  # missing and not pending
    (ex/'PENDING').write_text('# not executed yet\ntutorials/demo.ipynb  # an hour on 2 cores\n')
    assert xn.pending(ex) == ['tutorials/demo.ipynb'] and xn.check(nbs, ex) == 0
    (ex/'PENDING').write_text('tutorials/demo.ipynb\nplain.ipynb\n')
    assert xn.check(nbs, ex) == 1  # plain.ipynb has no slow cells: an entry that names nothing fails
    (ex/'PENDING').write_text('tutorials/demo.ipynb\n')
    assert _run('--nbs', nbs).returncode == 0
    assert xn.pending(ex) == [] and xn.check(nbs, ex) == 0  # executed: the run took it off the list
    (ex/'PENDING').write_text('tutorials/demo.ipynb\n')
    assert xn.check(nbs, ex) == 1  # listed, but its copy exists: the list must not rot


def test_execute_failures_write_nothing(tmp_path):
    moved = [c if c['id'] != 'slw' else _code("#| slow\nexpect('demo value', 0.5, 0.2, 0.01)\nexpect('other', 3, 4)", id='slw') for c in GOOD_NB]
    nbs = _tree(tmp_path, moved)
    r = _run('--nbs', nbs)
    assert r.returncode == 1 and not (nbs/'_executed'/'tutorials'/'demo.ipynb').exists(), r.stdout
    assert "2 finding(s) moved" in r.stderr and "finding 'demo value' moved: measured 0.5, stated 0.2 ± 0.01" in r.stderr, r.stderr
    assert 'FAILED: tutorials/demo.ipynb' in r.stdout
    nbs = _tree(tmp_path/'b', GOOD_NB)
    assert _run('--nbs', nbs).returncode == 0
    before = (nbs/'_executed'/'tutorials'/'demo.ipynb').read_text()
    broken = [c if c['id'] != 'slw' else _code("#| slow\n1 / 0", id='slw') for c in GOOD_NB]
    (nbs/'tutorials'/'demo.ipynb').write_text(json.dumps(_nb(broken)))
    r = _run('--nbs', nbs, 'demo')
    assert r.returncode == 1 and 'cell 2 (id slw) raised ZeroDivisionError' in r.stderr, r.stderr
    assert (nbs/'_executed'/'tutorials'/'demo.ipynb').read_text() == before  # the old copy is kept, now stale
    assert xn.check(nbs, nbs/'_executed') == 1


def test_readme_placeholders(tmp_path):
    import readme
    res = tmp_path/'results.json'
    res.write_text(json.dumps({'records': {'bundled_wer': {'tiny_en_fixture': 0.0268}}}))
    nb = tmp_path/'index.ipynb'
    nb.write_text(json.dumps(_nb([_md('tiny.en: {{bundled_wer.tiny_en_fixture:.1%}} WER'), _code('#| hide\nx = 1')])))
    assert readme.render(nb, res).endswith('tiny.en: 2.7% WER\n')
    nb.write_text(json.dumps(_nb([_md('{{main_job.fvu:.3f}}')])))
    with pytest.raises(KeyError, match="names the record 'main_job'"): readme.render(nb, res)
