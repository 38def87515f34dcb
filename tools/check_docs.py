"""Check the built docs site in a real browser: headless Debian Chromium driven by Playwright.

    .venv/bin/python tools/check_docs.py [_docs]

Serves the site on 127.0.0.1 and opens every page. A page fails on: a console error or uncaught exception, a
request that failed or answered >= 400, any request leaving 127.0.0.1 (a CDN asset), a `<script src>` or
stylesheet pointing off-site, an internal link to a missing file or a missing `#anchor`, a plotly figure
without its rendered SVG, plotly.js loaded by a page without figures, an ipywidget (saved widget state + view) that the widget manager did not render, or an
`<audio>` player whose source the browser cannot load (no duration). Every HTML file of the site is opened,
including static pages copied into it (the dashboards from `export_html`). The index page must show the README's
title and section headings. Screenshots of the
index, one API page and one tutorial (or another notebook) page go to `_docs/_screenshots/`.

Executed outputs (the slow lane, tools/execute_notebooks.py): the page of every notebook with an executed copy in
`nbs/_executed/` must show what the copy holds: at least as many rendered plotly figures, output tables and images,
every `record` line, and, where the copy has them, the "Findings checked by this run" table. A tutorial page without
an executed copy fails too, and so does a page showing an unfilled `{{key.field}}` results placeholder. A page built from an unexecuted notebook (`tools/build_docs.py --no-executed`) fails.
Exit status 1 and one line per problem when anything fails; the last line is a summary either way."""
from __future__ import annotations
import argparse, functools, re, shutil, sys, threading, time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT/'nbs'/'_executed'
FINDINGS_MIME = 'application/vnd.whisper-sae.findings+json'
PLOTLY_MIME = 'application/vnd.plotly.v1+json'
CHECKED_TITLE = 'Findings checked by this run'  # what whisper_sae.findings.checked displays
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
# MathJax 2 probes a blank font at about:blank and a TeX font that jupyter-server-mathjax does not ship before it
# settles on the STIX-Web fonts it does ship: neither affects the page.
IGNORE = (re.compile(r"(^|font at ')about:blank"), re.compile(r'/assets/mathjax/fonts/HTML-CSS/TeX/'))
_re_offsite = re.compile(r'<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc\s*=\s*["\'](?:https?:)?//|'
                         r'<link\b[^>]*\bhref\s*=\s*["\'](?:https?:)?//[^"\']+["\'][^>]*>', re.I)


@dataclass
class Report:
    pages: int = 0
    links: int = 0
    figures: int = 0
    widgets: int = 0
    audio: int = 0
    dashboards: int = 0
    executed: int = 0
    problems: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    @property
    def ok(self): return not self.problems

    def summary(self) -> str:
        return (f"docs check: {self.pages} pages, {self.links} internal links, {self.figures} plotly figures rendered, "
                f"{self.widgets} widgets rendered, {self.audio} audio players loaded, {self.dashboards} dashboards, "
                f"{self.executed} pages with their executed outputs, "
                f"{len(self.problems)} problems")


_re_placeholder = re.compile(r'\{\{\s*[A-Za-z_]\w*\.[A-Za-z_]\w*[^}]*\}\}')
_re_md_table = re.compile(r'^\|.*\|[ \t]*\n\|(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*$', re.M)


def page_of(rel:str) -> str:
    "The site page of a notebook (path under nbs/), as nbdev names it: `01_whisper.ipynb` -> `whisper.html`."
    p = Path(rel)
    return p.with_name(re.sub(r'^\d+[a-zA-Z0-9]*_', '', p.name.lower())).with_suffix('.html').as_posix()


def expected_outputs(executed:Path=EXECUTED) -> dict[str, dict]:
    "What each executed copy's page must show: {page: {notebook, figures, tables, images, records, checks}}."
    import json
    out = {}
    for f in sorted(Path(executed).rglob('*.ipynb')):
        rel = f.relative_to(executed).as_posix()
        e = dict(notebook=rel, figures=0, tables=0, images=0, records=[], checks=0)
        for c in json.loads(f.read_text())['cells']:
            for o in c.get('outputs', []):
                d = o.get('data', {})
                txt = lambda k: ''.join(d[k]) if isinstance(d.get(k), list) else (d.get(k) or '')
                if PLOTLY_MIME in d: e['figures'] += 1
                if 'image/png' in d or 'image/jpeg' in d: e['images'] += 1
                if 'text/html' in d: e['tables'] += txt('text/html').lower().count('<table')
                elif 'text/markdown' in d: e['tables'] += len(_re_md_table.findall(txt('text/markdown')))
                p = d.get(FINDINGS_MIME)
                if p and p.get('kind') == 'record': e['records'].append(txt('text/plain'))
                if p and p.get('kind') == 'checks': e['checks'] += 1
        out[page_of(rel)] = e
    return out


def output_problems(want:dict, got:dict) -> list[str]:
    "What a page (`got`: counts read in the browser) lacks of its executed copy's outputs (`want`)."
    how = f"(its executed copy nbs/_executed/{want['notebook']} holds them: was the page built without it?)"
    p = []
    for k, what in (('figures', 'rendered plotly figures'), ('tables', 'output tables'), ('images', 'output images')):
        if got[k] < want[k]: p.append(f"shows {got[k]} {what}, its executed copy {want[k]} {how}")
    norm = lambda t: ' '.join(t.split())
    text = norm(got['text'])
    missing = [r for r in want['records'] if norm(r) not in text]
    if missing: p.append(f"lacks {len(missing)} of the {len(want['records'])} recorded findings, e.g. {missing[0][:100]!r} {how}")
    if want['checks'] and CHECKED_TITLE not in got['text']: p.append(f"lacks the '{CHECKED_TITLE}' table {how}")
    return p


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


def serve(site:Path) -> tuple[str, ThreadingHTTPServer]:
    "Serve `site` on a free loopback port; returns the base URL and the server (call `.shutdown()`)."
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}/", srv


def readme_markers(readme:Path) -> list[str]:
    "Text the index page must show: the README's title and its `##` section headings."
    lines = readme.read_text().splitlines()
    return [l.lstrip('#').strip() for l in lines if re.match(r'#{1,2} \S', l)]


def _page_files(site:Path) -> list[Path]:
    skip = ('assets', 'search', '_screenshots')
    return sorted(p for p in site.rglob('*.html') if p.relative_to(site).parts[0] not in skip)


def _target(site:Path, path:str) -> Path|None:
    f = site/unquote(path).lstrip('/')
    if f.is_dir(): f = f/'index.html'
    return f if f.is_file() else None


def _ignored(*texts:str) -> bool:
    return any(p.search(t) for p in IGNORE for t in texts if t)


def _router(host:str, errs:list[str]):
    "A route handler that lets requests to `host` through and aborts (and records) every other one."
    def _route(route):
        u = urlsplit(route.request.url)
        if u.scheme in ('http', 'https', 'ws', 'wss') and u.netloc != host:
            errs.append(f"request leaves the site (CDN?): {route.request.url}")
            return route.abort()
        return route.continue_()
    return _route


_JS_COLLECT = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  figures: [...document.querySelectorAll('.plotly-graph-div')].map(d => !!d.querySelector('svg.main-svg')),
  plotlyjs: [...document.querySelectorAll('script[src]')].some(s => /plotly[^/]*\\.js$/.test(s.getAttribute('src'))),
  text: document.body ? document.body.innerText : '',
  prose: (() => { if (!document.body) return ''; const b = document.body.cloneNode(true);
                  b.querySelectorAll('code, pre, script, style, textarea, .clipboard-copy-txt').forEach(e => e.remove()); return b.textContent; })()
})"""
_JS_OUTPUTS = """() => {
  const inOut = sel => [...document.querySelectorAll(sel)].filter(e => e.closest('.jp-OutputArea')).length;
  return {figures: [...document.querySelectorAll('.jp-OutputArea .plotly-graph-div')].filter(d => d.querySelector('svg.main-svg')).length,
          tables: inOut('table'), images: inOut('img'),
          text: [...document.querySelectorAll('.jp-OutputArea')].map(e => e.innerText).join('\\n')};
}"""
_JS_WIDGETS = """() => ({
  views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  state: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
  rendered: [...document.querySelectorAll('.widget-subarea')].filter(e => e.querySelector('.jupyter-widgets')).length
})"""
# A dashboard page (`whisper_sae.dashboards.export_html`): per latent section its stats table, histogram and
# examples; per example a figure, the marked word and a player; a sortable type table linking to every section.
_JS_DASHBOARD = """() => {
  const secs = [...document.querySelectorAll('section.latent')];
  if (!secs.length) return null;
  const p = [];
  const table = document.querySelector('table.types');
  if (!table) p.push('no latent types table');
  else {
    const linked = new Set([...table.querySelectorAll('tbody a[href^="#latent-"]')].map(a => a.getAttribute('href').slice(1)));
    const missing = secs.map(s => s.id).filter(id => !linked.has(id));
    if (missing.length) p.push('the types table does not link to ' + missing.join(', '));
  }
  let examples = 0;
  for (const s of secs) {
    if (!s.querySelector('table.stats')) p.push(s.id + ': no statistics table');
    if (!s.querySelector('.plotly-graph-div')) p.push(s.id + ': no histogram');
    for (const e of s.querySelectorAll('.example')) {
      examples++;
      if (!e.querySelector('.plotly-graph-div svg.main-svg')) p.push(e.id + ': no rendered spectrogram/trace figure');
      if (!e.querySelector('.context mark')) p.push(e.id + ': no marked transcript');
      if (!e.querySelector('audio') && !/audio not available/.test(e.innerText)) p.push(e.id + ': no audio player');
    }
  }
  return {sections: secs.length, examples: examples, problems: p};
}"""
# Each player's source is loaded into a fresh Audio element: it must give metadata with a positive duration.
_JS_AUDIO = """async () => Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(res => {
  const s = a.getAttribute('src') ? a.src : ((a.querySelector('source[src]') || {}).src || '');
  if (!s) return res('no source');
  const b = new Audio(), t = setTimeout(() => res('timed out loading'), 15000);
  b.preload = 'metadata';
  b.onloadedmetadata = () => { clearTimeout(t); res(b.duration > 0 ? '' : 'duration ' + b.duration); };
  b.onerror = () => { clearTimeout(t); res('cannot load (MediaError ' + (b.error && b.error.code) + ')'); };
  b.src = s;
})))"""


def _pending_page(page:str, executed:Path) -> bool:
    "Whether `page` (e.g. tutorials/causal.html) is a notebook listed in `executed/PENDING` (not executed yet; the page says so)."
    f = Path(executed)/'PENDING'
    if not f.exists(): return False
    stems = {l.split('#', 1)[0].strip().removesuffix('.ipynb') for l in f.read_text().splitlines()}
    return page.removesuffix('.html') in stems


def check_site(site:Path|str, index_markers:list[str]=(), screenshots:dict[str, str]|None=None,
               chromium:str=CHROMIUM, timeout_ms:int=30_000, executed:Path|None=None) -> Report:
    """Open every page of `site` in headless Chromium and report what fails (see the module docstring).
    `screenshots` maps a file name to a page (path relative to `site`) to photograph into `site/_screenshots/`;
    `executed`: the folder of executed copies whose outputs the pages must show (None: not checked)."""
    from playwright.sync_api import sync_playwright
    site = Path(site).resolve()
    rep = Report()
    pages = _page_files(site)
    if not pages: rep.problems.append(f"no HTML pages under {site}: build the site first (tools/build_docs.py)"); return rep
    want = expected_outputs(executed) if executed is not None else {}
    if executed is not None:
        rels = {f.relative_to(site).as_posix() for f in pages}
        for f in pages:
            rel = f.relative_to(site).as_posix()
            if rel.startswith('tutorials/') and '_linked/' not in rel and rel not in want and not _pending_page(rel, executed):
                rep.problems.append(f"{rel}: a tutorial page without an executed copy in {executed}: run tools/execute_notebooks.py")
        rep.problems += [f"{page}: missing from the site, though nbs/_executed/{w['notebook']} exists" for page, w in want.items() if page not in rels]
    for f in pages:
        for m in _re_offsite.finditer(f.read_text(errors='replace')):
            rep.problems.append(f"{f.relative_to(site)}: asset from another site: {m.group(0)[:160]}")
    base, srv = serve(site)
    host = urlsplit(base).netloc
    ids: dict[Path, set[str]] = {}
    links: list[tuple[Path, str]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
            for f in pages:
                rel = f.relative_to(site).as_posix()
                errs: list[str] = []
                page = ctx.new_page()
                page.on('console', lambda m, errs=errs: errs.append(f"console {m.type}: {m.text}")
                        if m.type == 'error' and not _ignored(m.location.get('url', ''), m.text) else None)
                page.on('pageerror', lambda e, errs=errs: errs.append(f"uncaught exception: {e}"))
                page.on('requestfailed', lambda r, errs=errs: errs.append(f"request failed: {r.url} ({r.failure})")
                        if not _ignored(r.url) else None)
                page.on('response', lambda r, errs=errs: errs.append(f"HTTP {r.status}: {r.url}")
                        if r.status >= 400 and not _ignored(r.url) else None)
                page.route('**/*', _router(host, errs))
                try:
                    page.goto(base + rel, wait_until='load', timeout=timeout_ms)
                    try: page.wait_for_load_state('networkidle', timeout=timeout_ms)
                    except Exception: errs.append("the page did not settle (network busy) within the timeout")
                    w = page.evaluate(_JS_WIDGETS)
                    if w['views'] and w['state']:
                        try: page.wait_for_function(f"() => ({_JS_WIDGETS})().rendered >= {w['views']}", timeout=timeout_ms)
                        except Exception: pass
                        w = page.evaluate(_JS_WIDGETS)
                        rep.widgets += min(w['rendered'], w['views'])
                        if w['rendered'] < w['views']:
                            errs.append(f"{w['views'] - w['rendered']} of {w['views']} widgets were not rendered (widget manager missing?)")
                    elif w['views']: errs.append(f"{w['views']} widget views but no saved widget state: they cannot render")
                    audio = page.evaluate(_JS_AUDIO)
                    rep.audio += sum(not a for a in audio)
                    bad = [f"#{i}: {a}" for i, a in enumerate(audio) if a]
                    if bad: errs.append(f"{len(bad)} of {len(audio)} audio players do not load: {', '.join(bad[:5])}")
                    info = page.evaluate(_JS_COLLECT)
                    if rel in want:
                        errs += output_problems(want[rel], page.evaluate(_JS_OUTPUTS))
                        rep.executed += 1
                    dash = page.evaluate(_JS_DASHBOARD)
                    if dash:
                        rep.dashboards += 1
                        errs += [f"dashboard: {x}" for x in dash['problems']]
                except Exception as e:
                    rep.problems.append(f"{rel}: did not load: {e}"); page.close(); continue
                rep.pages += 1
                ids[f.resolve()] = set(info['ids'])
                links += [(f, h) for h in info['links']]
                n_ok = sum(info['figures'])
                rep.figures += n_ok
                if info['plotlyjs'] and not info['figures']:
                    errs.append("loads plotly.js (4.6 MB) but shows no plotly figure")
                if n_ok < len(info['figures']):
                    errs.append(f"{len(info['figures']) - n_ok} of {len(info['figures'])} plotly figures have no rendered SVG")
                unfilled = _re_placeholder.findall(info['prose'])  # outside code: the syntax may be shown as code
                if unfilled: errs.append(f"unfilled results placeholders {unfilled[:3]}: build the docs with nbs/_executed/results.json")
                if f == site/'index.html':
                    missing = [m for m in index_markers if m not in info['text']]
                    if missing: errs.append(f"the index page lacks the README's {missing}")
                for name, shot in (screenshots or {}).items():
                    if shot == rel:
                        out = site/'_screenshots'/name
                        out.parent.mkdir(exist_ok=True)
                        if name.startswith('widgets') and w['rendered']:  # the widget, not the page's top
                            page.evaluate("() => { document.querySelector('.widget-subarea').scrollIntoView({block: 'start'}); window.scrollBy(0, -80); }")
                        page.screenshot(path=str(out))
                        page.evaluate('() => window.scrollTo(0, 0)')
                        rep.screenshots.append(out)
                rep.problems += [f"{rel}: {e}" for e in dict.fromkeys(errs)]
                page.close()
            browser.close()
    finally:
        srv.shutdown(); srv.server_close()
    for f, href in links:
        u = urlsplit(href)
        if u.netloc != host or u.scheme not in ('http', 'https'): continue
        rep.links += 1
        t = _target(site, u.path)
        src = f.relative_to(site).as_posix()
        if t is None: rep.problems.append(f"{src}: broken link to {u.path}"); continue
        if u.fragment and t.suffix == '.html' and t.resolve() in ids and unquote(u.fragment) not in ids[t.resolve()]:
            rep.problems.append(f"{src}: link to {u.path}#{u.fragment}: no such anchor")
    rep.problems = list(dict.fromkeys(rep.problems))
    return rep


def default_screenshots(site:Path) -> dict[str, str]:
    """index.png, api.png (an API page, one with a plotly figure if any), tutorial.png (a tutorial, else another page),
    widgets.png (the first page with widgets) and dashboard.png (the first static dashboard), when the site has them."""
    pages = [p.relative_to(site).as_posix() for p in _page_files(site)]
    text = {p: (site/p).read_text(errors='replace') for p in pages}
    extra = {}
    widget_pages = sorted((p for p in pages if '<script type="application/vnd.jupyter.widget-view+json">' in text[p]),
                          key=lambda p: not p.startswith('tutorials/'))
    dashboards = [p for p in pages if '<section class="latent"' in text[p]]
    if widget_pages: extra['widgets.png'] = widget_pages[0]
    if dashboards: extra['dashboard.png'] = dashboards[0]
    pages = [p for p in pages if p not in dashboards]
    top = [p for p in pages if '/' not in p and p not in ('index.html', '404.html')]
    with_fig = [p for p in top if 'plotly-graph-div' in (site/p).read_text(errors='replace')]
    tutorials = [p for p in pages if p.startswith('tutorials/')]
    shots = {'index.png': 'index.html'}
    if top: shots['api.png'] = (with_fig or top)[0]
    other = tutorials or [p for p in top if p != shots.get('api.png')]
    if other: shots['tutorial.png'] = other[-1] if not tutorials else other[0]
    return shots | extra


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    a.add_argument('site', nargs='?', default=str(ROOT/'_docs'))
    a.add_argument('--readme', default=str(ROOT/'README.md'))
    a.add_argument('--executed', default=str(EXECUTED), help="executed copies whose outputs the pages must show ('' to skip)")
    args = a.parse_args(argv)
    site = Path(args.site)
    if not Path(CHROMIUM).exists(): sys.exit(f"docs check: {CHROMIUM} is missing: apt-get install chromium")
    t = time.time()
    shutil.rmtree(site/'_screenshots', ignore_errors=True)
    rep = check_site(site, readme_markers(Path(args.readme)), default_screenshots(site), executed=Path(args.executed) if args.executed else None)
    for p in rep.problems: print(f"docs check: FAIL {p}")
    for s in rep.screenshots: print(f"docs check: screenshot {s}")
    print(f"{rep.summary()} ({time.time() - t:.0f} s)")
    sys.exit(0 if rep.ok else 1)


if __name__ == '__main__': main()
