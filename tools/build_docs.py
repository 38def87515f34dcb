"""Build the docs site offline into `_docs/`: every notebook a page, executed, without Quarto or any CDN.

    .venv/bin/python tools/build_docs.py            # nbdev processing + execution -> mkdocs-material site in _docs/
    .venv/bin/python tools/build_docs.py --quarto   # same processing into _proc/, then `quarto render` (needs Quarto)

Steps:
1. nbdev's own notebook processing (the `FilterDefaults` processors `nbdev_docs` runs before Quarto: front
   matter, `show_doc` cells added after exported definitions and rendered with docments, `#| hide` cells dropped,
   directives stripped), with nbdev's `exec_show_docs` replaced by `exec_all`: every code cell runs (cwd = the
   notebook's folder, `IN_TEST=1`, cells flagged with settings.ini `tst_flags` or `#| eval: false` skipped, as
   the tests do), so printed output and plots appear. The result is `_proc/`, exactly what Quarto renders. Each
   notebook runs in its own process (forked from a parent that imported torch, transformers, plotly and the package
   once; `--jobs` at a time), so what one notebook's cells change in a module (a re-registered config class) never
   reaches the next.
2. Rendering. Quarto cannot be installed everywhere (it downloads its binary from GitHub), so the offline site is
   rendered by mkdocs-material with mkdocs-jupyter: both are maintained PyPI packages, Material ships the
   sidebar/navigation and a client-side (lunr) search that works with no server, and mkdocs-jupyter renders the
   notebooks with nbconvert, so code and outputs look as in Jupyter. A bare nbconvert build would need our own
   navigation and search. The mkdocs input is `_proc/_mkdocs/` (Quarto skips `_` folders), the site is `_docs/`.
3. Assets are served from the site: plotly.js (from the installed `plotly` package; figures are stored as plotly
   JSON and turned into `<div>` + `Plotly.newPlot` here; only pages with figures load it), MathJax 2 (from
   `jupyter-server-mathjax`), fonts off.
4. ipywidgets: the widget state of each executed notebook is saved in its metadata (as Jupyter's "save widget
   state" does) and rendered in the browser by `@jupyter-widgets/html-manager`'s standalone `embed.js`, served from
   the site on pages that hold widgets. It comes from npm: `npm pack` of a pinned version whose sha512 is checked
   here, cached in `.cache/html-manager-VERSION/` (gitignored): the bundle is 1.9 MB of minified third-party code
   (BSD-3-Clause), so it is fetched by npm's own client rather than committed. Plotly figures and audio shown inside
   an `Output` widget are rendered too (plotly as HTML that calls the site's plotly.js). Without a kernel the
   widgets show what was drawn when the notebook ran; their callbacks need Jupyter.
5. Files a notebook links to (`<a href>` to a local file its code wrote, e.g. a static dashboard from
   `whisper_sae.dashboards.export_html`) are copied beside the page (`{page}_linked/`) and the link rewritten; an
   inlined plotly.js in such an HTML file is replaced by the site's copy (the Quarto build copies them as they are).

6. Executed copies (the slow lane, `tools/execute_notebooks.py`): a notebook with a copy in `nbs/_executed/` is not
   executed here. Its code cells' outputs (and saved widget state) come from the copy, its Markdown from the notebook
   itself, and only nbdev's documentation cells run (imports, exported definitions, `show_doc`), so tutorial pages
   show the figures, tables and findings of their slow cells. A notebook with slow cells whose copy is missing or
   whose code cells differ from it (code hash) fails the build, naming the command that refreshes it; copies
   executed with other package sources are listed, not failed (the slow lane re-asserts their findings).
   `--no-executed` ignores the copies (the slow cells' outputs are then missing, as `tools/check_docs.py` reports).
7. `{{key.field:spec}}` placeholders in Markdown cells (the README's measured numbers, in `nbs/index.ipynb`) are
   filled from `nbs/_executed/results.json` (`whisper_sae.findings.fill`), as `tools/readme.py` does for README.md.

The browser check is `tools/check_docs.py` (and `tests/test_docs.py`)."""
from __future__ import annotations
import argparse, base64, hashlib, json, multiprocessing, os, re, shutil, subprocess, sys, tarfile, tempfile, time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import execute_notebooks as xn  # noqa: E402
SITE_ROOT = '@SITE_ROOT@'  # replaced per page by tools/docs_hooks.py with the page's relative path to the site root
PLOTLY_MIME = 'application/vnd.plotly.v1+json'
WIDGET_MIME = 'application/vnd.jupyter.widget-state+json'
VIEW_MIME = 'application/vnd.jupyter.widget-view+json'
HTML_MANAGER = '@jupyter-widgets/html-manager'
HTML_MANAGER_VERSION = '1.0.15'  # the newest in ipywidgets 8's range (`ipywidgets._version.__html_manager_version__`, ^1.0.1)
HTML_MANAGER_SHA512 = '5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=='  # npm's `integrity`


def _cfg():
    from nbdev.config import get_config
    return get_config(path=ROOT)


def notebooks(nbs:Path) -> list[Path]:
    "The notebooks of the site: `nbs/**/*.ipynb` outside `_`/`.` folders, index first, then by path."
    nbs_ = sorted(p for p in nbs.rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts))
    return sorted(nbs_, key=lambda p: (p.relative_to(nbs).as_posix() != 'index.ipynb', p.relative_to(nbs).as_posix()))


@contextmanager
def _cwd_env(path:Path):
    old, old_env = os.getcwd(), os.environ.get('IN_TEST')
    os.chdir(path); os.environ['IN_TEST'] = '1'
    try: yield
    finally:
        os.chdir(old)
        if old_env is None: os.environ.pop('IN_TEST', None)
        else: os.environ['IN_TEST'] = old_env


def _make_exec_all(skip_flags:set[str]):
    from execnb.shell import CaptureShell
    from nbdev.process import Processor

    class exec_all(Processor):
        "Execute every code cell, skipping the flagged ones, as the tests do (replaces nbdev's `exec_show_docs`)"
        def begin(self):
            try:
                from ipywidgets import Widget
                Widget.close_all()  # keep only this notebook's widgets (a process per notebook: a no-op, kept for --jobs callers)
            except ImportError: pass
            self.k = CaptureShell(path=str(ROOT))
            self.k.run_cell('from nbdev.showdoc import show_doc')
            self.k.run_cell("try:\n import plotly.io as _pio; _pio.renderers.default = 'plotly_mimetype'\nexcept ImportError: pass")

        def __call__(self, cell):
            if cell.cell_type != 'code' or not cell.source.strip() or 'nbdev_export'+'(' in cell.source: return
            d = getattr(cell, 'directives_', {}) or {}
            if d.get('eval:', [''])[0].lower() == 'false' or skip_flags & d.keys(): return
            self.k.cell(cell)
            if self.k.exc:
                raise RuntimeError(f"{self.nb.path_}: cell {cell.idx_} raised {type(self.k.exc).__name__}: {self.k.exc}\n"
                                   f"---\n{cell.source}\n---") from self.k.exc

        def end(self):
            try: from ipywidgets import Widget
            except ImportError: return
            state = Widget.get_manager_state(drop_defaults=True)
            if state['state']: self.nb.metadata['widgets'] = {WIDGET_MIME: state}
    return exec_all


def _imports_only(source:str) -> str:
    "The top-level import statements of a cell (all of it when it does not parse, e.g. IPython magics)."
    import ast
    try: tree = ast.parse(source)
    except SyntaxError: return source
    return '\n'.join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def _make_exec_docs(executed:dict):
    "A processor that runs only nbdev's documentation cells and keeps every other output from the executed copy."
    from execnb.shell import CaptureShell
    from nbdev.process import Processor
    from nbdev.processors import _do_eval

    class exec_docs(Processor):
        "Run exported definitions, `show_doc` cells and the imports of other cells nbdev would run (not their other code); every other output comes from the executed copy"
        def begin(self):
            self.k = CaptureShell(path=str(ROOT))
            self.k.run_cell('from nbdev.showdoc import show_doc')

        def __call__(self, cell):
            if cell.cell_type != 'code' or not _do_eval(cell): return
            keep = None if getattr(cell, 'has_sd', False) else cell.get('outputs', [])
            d = getattr(cell, 'directives_', {}) or {}
            if keep is None or {'export', 'exports', 'exporti'} & d.keys(): self.k.cell(cell)
            else: self.k.run_cell(_imports_only(cell.source))  # run for its imports only: the rest may need skipped cells
            if self.k.exc:
                raise RuntimeError(f"{self.nb.path_}: documentation cell {cell.idx_} raised {type(self.k.exc).__name__}: {self.k.exc}\n"
                                   f"---\n{cell.source}\n---") from self.k.exc
            if keep is not None: cell.outputs = keep
    return exec_docs


def graft(nb, copy:dict):
    "Give `nb`'s code cells the outputs of the executed `copy` (same code cells, in order) and its widget state."
    from execnb.nbio import dict2nb
    mine = [c for c in nb.cells if c.cell_type == 'code']
    theirs = [c for c in copy['cells'] if c['cell_type'] == 'code']
    if [c.source for c in mine] != [''.join(c['source']) if isinstance(c['source'], list) else c['source'] for c in theirs]:
        raise RuntimeError(f"{nb.path_}: its code cells differ from its executed copy: {xn.refresh_command([Path(nb.path_).name])}")
    for c, e in zip(mine, theirs):
        c.outputs = dict2nb({'cells': [{'cell_type': 'code', 'source': '', 'metadata': {}, 'outputs': e.get('outputs', [])}]}).cells[0].outputs
        c.execution_count = e.get('execution_count')
    w = copy.get('metadata', {}).get('widgets')
    if w: nb.metadata['widgets'] = w


def fill_placeholders(nb, records:dict, where:str):
    "Fill `{{key.field:spec}}` placeholders in the Markdown cells from the executed notebooks' records."
    from whisper_sae.findings import fill
    for c in nb.cells:
        if c.cell_type == 'markdown' and '{{' in c.source: c.source = fill(c.source, records, where)


def widget_manager(cache:Path=ROOT/'.cache') -> Path:
    "The folder holding html-manager's `embed.js` and its fonts: `npm pack` of the pinned version, sha512-checked, cached."
    out = cache/f'html-manager-{HTML_MANAGER_VERSION}'
    if (out/'embed.js').exists(): return out
    if not shutil.which('npm'): sys.exit("docs: the site's widgets need npm to fetch @jupyter-widgets/html-manager: apt-get install npm")
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(['npm', 'pack', f'{HTML_MANAGER}@{HTML_MANAGER_VERSION}', '--pack-destination', tmp, '--json'],
                           capture_output=True, text=True, cwd=tmp)
        if r.returncode: sys.exit(f"docs: npm pack {HTML_MANAGER}@{HTML_MANAGER_VERSION} failed:\n{r.stderr[-2000:]}")
        tgz = Path(tmp)/json.loads(r.stdout)[0]['filename']
        got = base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if got != HTML_MANAGER_SHA512: sys.exit(f"docs: {tgz.name} has sha512 {got}, expected {HTML_MANAGER_SHA512}: refusing it")
        part = out.with_name(out.name + '.part')
        shutil.rmtree(part, ignore_errors=True); part.mkdir(parents=True)
        with tarfile.open(tgz) as t:
            for m in t.getmembers():
                name = m.name.removeprefix('package/')
                keep = name in ('package.json', 'dist/embed.js', 'dist/embed.js.LICENSE.txt') or \
                       (name.startswith('dist/') and name.endswith(('.woff2', '.woff', '.ttf')))
                if keep and m.isfile(): (part/Path(name).name).write_bytes(t.extractfile(m).read())
        shutil.rmtree(out, ignore_errors=True); part.rename(out)
    return out


PENDING_NOTE = ("> **Not executed yet.** The slow cells of this page (its figures, tables and checked findings) have not been "
                "run with the current code, so they show no output here. `nice -n 10 .venv/bin/python tools/execute_notebooks.py {rel}` "
                "runs them (listed in `nbs/_executed/PENDING` until then).")


def process_notebook(src:Path, dst:Path, skip_flags:set[str], executed:dict|None=None, records:dict|None=None,
                     pending_rel:str|None=None):
    """nbdev's docs processing of `src` with every unflagged cell executed, or, given its `executed` copy, with the copy's
    outputs (only documentation cells run); placeholders filled from `records`; writes the processed notebook to `dst`."""
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults, exec_show_docs, strip_ansi, filter_stream_
    run = _make_exec_all(skip_flags) if executed is None else _make_exec_docs(executed)

    class Procs(FilterDefaults):
        def base_procs(self):
            procs = [run if p is exec_show_docs else p for p in super().base_procs()]
            i = procs.index(run)
            return procs[:i + 1] + [strip_ansi, filter_stream_] + procs[i + 1:]

    nb = read_nb(src)
    nb.path_ = str(src)
    if pending_rel is not None:  # a lane notebook not executed yet: said so under its title (`tools/execute_notebooks.py` PENDING)
        from execnb.nbio import mk_cell
        nb.cells.insert(1, mk_cell(PENDING_NOTE.format(rel=pending_rel), 'markdown'))
    if executed is not None: graft(nb, executed)
    if records is not None: fill_placeholders(nb, records, str(src.relative_to(ROOT)) if ROOT in src.parents else str(src))
    with _cwd_env(src.parent): Procs()(nb)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)


def _warm_imports():
    "Import what most notebooks import, once, before the children fork (each child then starts warm)."
    import importlib, pkgutil
    import torch, transformers, plotly.io, plotly.graph_objects, ipywidgets, nbdev.showdoc  # noqa: F401
    plotly.io.renderers  # noqa: B018 (a lazy submodule: 3 s of imports)
    import whisper_sae
    for m in pkgutil.iter_modules(whisper_sae.__path__):
        try: importlib.import_module(f'whisper_sae.{m.name}')
        except Exception: pass  # a module with a missing optional dependency: the notebook that needs it says so


def _process_one(a) -> tuple[str, str, str]:
    "Process one notebook (in a child process): (error or '', the progress line, the stale-copy note or '')."
    src, nbs, proc, skip, executed, records, in_lane, pkg = a
    rel, t = src.relative_to(nbs), time.time()
    try:
        copy, st, note = None, None, ''
        if in_lane:
            st = xn.status(src, nbs, executed, pkg)
            if st == 'missing' and rel.as_posix() in xn.pending(executed): st = 'pending'
            if st in ('missing', 'stale'):
                why = 'has slow cells but no executed copy' if st == 'missing' else 'its code cells differ from its executed copy'
                raise RuntimeError(f"{why}: refresh it with `nice -n 10 {xn.refresh_command([rel.as_posix()])}` and commit nbs/_executed/")
            if st != 'pending': copy = json.loads(xn.executed_path(src, nbs, executed).read_text())
            if st == 'package': note = f"{rel} ({xn.meta(copy).get('date', '?')[:10]})"
        process_notebook(src, proc/rel, skip, copy, records, pending_rel=rel.as_posix() if in_lane and st == 'pending' else None)
    except Exception as e:
        return (str(e).splitlines()[0] if str(e) else type(e).__name__), '', ''
    msg = f"docs: processed {rel} in {time.time() - t:.1f} s" + ((' (PENDING: not executed yet)' if copy is None else ' (outputs from its executed copy)') if in_lane else '')
    return '', msg, note


def process_all(nbs:Path, proc:Path, only:list[str]|None=None, keep_going:bool=False, use_executed:bool=True,
                executed:Path|None=None, jobs:int=1) -> tuple[list[Path], list[str]]:
    """Process every notebook into `proc` (the Quarto project, as `nbdev_proc_nbs` lays it out); returns the outputs and
    the failures (`keep_going`: a notebook that raises, or whose executed copy is missing or stale, is reported and left
    out, the others are still processed). Notebooks with an executed copy take their outputs from it (`use_executed`)."""
    cfg = _cfg()
    skip = set(cfg.get('tst_flags', '').split()) - set(os.environ.get('NBDEV_FLAGS', '').split())
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    executed = executed or nbs/'_executed'
    records = xn.load_records(executed/'results.json')
    lane = set(xn.lane(nbs, executed)) if use_executed else set()
    pkg = xn.package_hash()
    todo = [src for src in notebooks(nbs) if not only or src.relative_to(nbs).stem in only or src.relative_to(nbs).as_posix() in only]
    args = [(src, nbs, proc, skip, executed, records, src in lane, pkg) for src in todo]
    out, failed, drift = [], [], []
    # Each notebook runs in a child process forked from this one (warm imports, nothing to re-import): a notebook's cells
    # change module state (a re-executed `@register_config` class replaces the registered one), which must not leak
    # into the next notebook, as it does not in the tests (a process per notebook there too).
    _warm_imports()
    ctx = multiprocessing.get_context('fork')
    with ctx.Pool(max(1, jobs), maxtasksperchild=1) as pool:
        for src, (err, msg, note) in zip(todo, pool.imap(_process_one, args)):
            rel = src.relative_to(nbs)
            if err:
                if not keep_going: raise RuntimeError(f"{rel}: {err}")
                (proc/rel).unlink(missing_ok=True)
                failed.append(f"{rel}: {err}")
                print(f"docs: FAILED {failed[-1]}", file=sys.stderr, flush=True)
                continue
            print(msg, flush=True)
            if note: drift.append(note)
            out.append(proc/rel)
    if drift: print(f"docs: note: these pages show outputs executed with older package sources (not a failure; the slow lane, "
                    f"tools/execute_notebooks.py, re-asserts their findings): {', '.join(drift)}", flush=True)
    _quarto_files(nbs, proc)
    return out, failed


def _quarto_files(nbs:Path, proc:Path):
    "The Quarto project files beside the processed notebooks: _quarto.yml (top level), nbdev.yml, sidebar.yml."
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    refresh_quarto_yml()  # writes nbs/nbdev.yml from settings.ini; nbs/_quarto.yml links to the top-level file
    nbdev_sidebar.__wrapped__(path=nbs, force=True)
    for name in ('_quarto.yml', 'nbdev.yml', 'sidebar.yml'):
        f = nbs/name if (nbs/name).exists() else ROOT/name
        shutil.copyfile(f, proc/name)


# ---- mkdocs: the processed notebooks adapted for mkdocs-jupyter -------------------------------------------------

_re_fm = re.compile(r'^---\n(.*?)\n---\s*$', re.S)
_re_dir = re.compile(r'^\s*#\|.*\n?', re.M)
_re_heading = re.compile(r'^#{1,6} .*$', re.M)
_re_mdlink = re.compile(r'\[(`[^`]+`)\]\([^)]+\)')


def _frontmatter(nb:dict) -> dict:
    "The Quarto front matter nbdev made of the first `# Title` / `> description` cell (title, description, output-file)."
    import yaml
    for c in nb['cells']:
        if c['cell_type'] == 'raw':
            m = _re_fm.match(''.join(c['source']))
            if m: return yaml.safe_load(m.group(1)) or {}
    return {}


def _plotly_html(fig:dict, first:bool, js:str='site') -> str:
    "A plotly figure as a `<div>` + `Plotly.newPlot`; the page's first one also loads plotly.js (from the site or CDN)."
    import plotly.io as pio
    if js == 'cdn': return pio.to_html(fig, include_plotlyjs='cdn' if first else False, full_html=False)
    html = pio.to_html(fig, include_plotlyjs=False, full_html=False, config={'responsive': True})
    return (f'<script src="{SITE_ROOT}/assets/plotly.min.js"></script>\n' if first else '') + html


_re_href = re.compile(r'(<a\b[^>]*?\bhref=")([^"#?]+)(")', re.I)


def _local_links(html:str, nb_dir:Path, page:str, files:dict[Path, str]) -> str:
    "Links to local files a cell wrote (relative to the notebook's folder) -> copies beside the page, recorded in `files`."
    def sub(m):
        href = m.group(2)
        if re.match(r'^[a-z][a-z0-9+.-]*:', href, re.I) or href.startswith('/'): return m.group(0)
        f = (nb_dir/href).resolve()
        if not f.is_file() or ROOT not in f.parents or f.suffix == '.ipynb': return m.group(0)
        dst = files.setdefault(f, f'{Path(page).stem}_linked/{f.name}')
        return m.group(1) + dst + m.group(3)
    return _re_href.sub(sub, html)


def _widget_outputs_html(state:dict) -> int:
    "Plotly outputs inside saved `Output` widgets -> HTML calling the site's plotly.js; returns how many."
    n = 0
    for m in state.values():
        for o in (m.get('state') or {}).get('outputs') or []:
            data = o.get('data') or {}
            if PLOTLY_MIME in data:
                o['data'] = {'text/html': _plotly_html(data[PLOTLY_MIME], False), 'text/plain': data.get('text/plain', '')}
                n += 1
    return n


def mkdocs_notebook(nb:dict, title:str, desc:str, widgets:bool=True, nb_dir:Path|None=None, page:str='',
                    files:dict|None=None) -> tuple[dict, int]:
    """Adapt a processed notebook for mkdocs-jupyter: front matter -> heading, Quarto cell options -> tags, plotly -> HTML,
    widget state kept (`widgets`) or dropped, links to local files (relative to `nb_dir`) -> copies listed in `files`."""
    cells, n_fig = [], 0
    state = _widget_state(nb) if widgets else None
    n_wfig = _widget_outputs_html(state) if state else 0
    for c in nb['cells']:
        src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        if c['cell_type'] == 'raw' and _re_fm.match(src):
            md = f"# {title}\n" + (f"\n> {desc}\n" if desc else '')
            cells.append({'cell_type': 'markdown', 'id': 'title', 'metadata': {}, 'source': md})
            continue
        if c['cell_type'] == 'markdown':  # nbdev's doc links inside headings would leave the TOC's anchors wrong
            c['source'] = _re_heading.sub(lambda m: _re_mdlink.sub(r'\1', m.group(0)), src)
        if c['cell_type'] == 'code':
            opts = dict(re.findall(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$', src, re.M))
            c['source'] = _re_dir.sub('', src)
            tags = set(c.get('metadata', {}).get('tags', []))
            if opts.get('echo') == 'false' or not c['source'].strip(): tags.add('remove_input')
            if opts.get('output') == 'false': tags.add('remove_output')
            if tags: c.setdefault('metadata', {})['tags'] = sorted(tags)
            if 'remove_input' in tags and not c.get('outputs'): continue
            outs = []
            for o in c.get('outputs', []):
                data = o.get('data', {})
                if PLOTLY_MIME in data:
                    o['data'] = {'text/html': _plotly_html(data[PLOTLY_MIME], n_fig == 0), 'text/plain': data.get('text/plain', '')}
                    n_fig += 1
                if state and VIEW_MIME in data and n_wfig and n_fig == 0:  # widgets draw figures after the page loaded
                    outs.append({'output_type': 'display_data', 'metadata': {},
                                 'data': {'text/html': f'<script src="{SITE_ROOT}/assets/plotly.min.js"></script>'}})
                    n_fig = 1
                if nb_dir is not None and files is not None and 'text/html' in data:
                    h = data['text/html']
                    data['text/html'] = _local_links(''.join(h) if isinstance(h, list) else h, nb_dir, page, files)
                if not state: data.pop(VIEW_MIME, None)
                outs.append(o)
            c['outputs'] = outs
        cells.append(c)
    nb['cells'] = cells
    if not state: nb.setdefault('metadata', {}).pop('widgets', None)  # widgets show their text fallback
    return nb, n_fig + n_wfig


def _widget_state(nb): return ((nb.get('metadata', {}).get('widgets') or {}).get(WIDGET_MIME) or {}).get('state')


def _nav(pages:list[tuple[str, str]]) -> list:
    "Home, then the API notebooks (nbs/*.ipynb), then each folder (tutorials/ ...) as its own section."
    home, api, sections = [], [], {}
    for rel, title in pages:
        parts = rel.split('/')
        if rel == 'index.ipynb': home.append({'Home': rel})
        elif len(parts) == 1: api.append({title: rel})
        else: sections.setdefault(parts[0].replace('_', ' ').title(), []).append({title: rel})
    return home + ([{'API': api}] if api else []) + [{k: v} for k, v in sections.items()]


def _copy_linked(f:Path, dst:Path, site_plotly:Path, plotly_js:Path):
    "Copy a linked file into the site; an HTML page with plotly.js inlined gets a `<script src>` to the site's copy instead."
    dst.parent.mkdir(parents=True, exist_ok=True)
    if f.suffix.lower() not in ('.html', '.htm'): shutil.copyfile(f, dst); return
    text, js = f.read_text(encoding='utf-8'), plotly_js.read_text(encoding='utf-8')
    inline = f'<script type="text/javascript">{js}</script>'
    if inline in text: text = text.replace(inline, f'<script src="{os.path.relpath(site_plotly, dst.parent)}"></script>', 1)
    dst.write_text(text, encoding='utf-8')


def mkdocs_site(proc:Path, site:Path, widgets:bool=True) -> dict:
    "Render the processed notebooks in `proc` into `site` with mkdocs-material + mkdocs-jupyter."
    import yaml, plotly, jupyter_server_mathjax
    cfg = _cfg()
    src = proc/'_mkdocs'
    shutil.rmtree(src, ignore_errors=True)
    (src/'assets').mkdir(parents=True)
    pages, n_figs, widget_pages, n_files = [], 0, [], 0
    nbs = ROOT/cfg.nbs_path
    plotly_js = Path(plotly.__file__).parent/'package_data'/'plotly.min.js'
    for nbp in notebooks(proc):
        rel = nbp.relative_to(proc).as_posix()
        nb = json.loads(nbp.read_text())
        fm = _frontmatter(nb)
        title, desc = str(fm.get('title', nbp.stem)), str(fm.get('description', '') or '')
        if 'output-file' in fm: rel = str(Path(rel).with_name(Path(fm['output-file']).stem + '.ipynb').as_posix())
        if _widget_state(nb): widget_pages.append(rel)
        files = {}
        nb, n = mkdocs_notebook(nb, title if rel != 'index.ipynb' else cfg.title, desc, widgets=widgets,
                                nb_dir=(nbs/nbp.relative_to(proc)).parent, page=rel, files=files)
        n_figs += n
        (src/rel).parent.mkdir(parents=True, exist_ok=True)
        (src/rel).write_text(json.dumps(nb, indent=1))
        for f, dst in files.items(): _copy_linked(f, src/Path(rel).parent/dst, src/'assets'/'plotly.min.js', plotly_js)
        n_files += len(files)
        pages.append((rel, title))
    shutil.copyfile(plotly_js, src/'assets'/'plotly.min.js')
    if widgets and widget_pages: shutil.copytree(widget_manager(), src/'assets'/'widgets')
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent/'static', src/'assets'/'mathjax',
                    ignore=shutil.ignore_patterns('*.md', 'LICENSE', 'unpacked', 'test'))
    (src/'assets'/'mathjax'/'config'/'local').mkdir(parents=True, exist_ok=True)
    (src/'assets'/'mathjax'/'config'/'local'/'docs.js').write_text(  # the only web font the package ships
        'MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}});\n'
        'MathJax.Ajax.loadComplete("[MathJax]/config/local/docs.js");\n')
    (src/'assets'/'extra.css').write_text(
        ".jupyter-wrapper .jp-RenderedHTMLCommon table { font-size: .75rem; }\n"
        ".md-typeset h3 code, .jupyter-wrapper h3 code { font-size: inherit; }\n")
    if widget_pages and not widgets: print(f"docs: note: {widget_pages} hold ipywidgets state; --no-widgets: they show their text fallback", file=sys.stderr)
    conf = {
        'site_name': cfg.title, 'site_description': cfg.description,  # no repo_url: Material would query GitHub's API
        'copyright': f'Source: <a href="{cfg.git_url}">{cfg.git_url}</a>',
        'docs_dir': str(src), 'site_dir': str(site), 'use_directory_urls': False, 'strict': False,
        'theme': {'name': 'material', 'font': False, 'features': ['navigation.sections', 'navigation.top', 'search.highlight',
                                                                 'content.code.copy', 'toc.follow'],
                  'palette': {'primary': 'indigo'}},
        'extra_css': ['assets/extra.css'],
        'plugins': ['search', {'mkdocs-jupyter': {
            'execute': False, 'cache': False, 'include_source': True, 'ignore_h1_titles': False, 'include_requirejs': False,
            'remove_tag_config': {'remove_input_tags': ['remove_input'], 'remove_all_outputs_tags': ['remove_output']},
            'custom_mathjax_url': f'{SITE_ROOT}/assets/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/docs',
            'toc_depth': 3}}],
        'hooks': [str(ROOT/'tools'/'docs_hooks.py')],
        'extra': {'published_url': cfg.doc_host.rstrip('/') + cfg.doc_baseurl.rstrip('/') + '/'},
        'nav': _nav(pages),
    }
    (proc/'mkdocs.yml').write_text(yaml.safe_dump(conf, sort_keys=False))
    shutil.rmtree(site, ignore_errors=True)
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '-q', '-f', str(proc/'mkdocs.yml')], cwd=ROOT,
                       env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    if r.returncode: sys.exit(f"docs: mkdocs build failed (exit {r.returncode})")
    return {'pages': len(pages), 'figures': n_figs, 'widget_pages': len(widget_pages) if widgets else 0, 'files': n_files}


def quarto_site(proc:Path, site:Path):
    "Render `proc` with Quarto (as `nbdev_docs` does) and move its output to `site`."
    if not shutil.which('quarto'): sys.exit("docs: --quarto needs Quarto (https://quarto.org); the default mkdocs build does not")
    nbs = ROOT/_cfg().nbs_path
    for nbp in notebooks(proc):  # Quarto drops plotly's JSON output: give it HTML, plotly.js from plotly's CDN (online site)
        nb = json.loads(nbp.read_text())
        n, files, rel = 0, {}, nbp.relative_to(proc)
        for c in nb['cells']:
            for o in c.get('outputs', []):
                if PLOTLY_MIME in o.get('data', {}):
                    o['data'] = {'text/html': _plotly_html(o['data'][PLOTLY_MIME], n == 0, js='cdn')}
                    n += 1
                h = o.get('data', {}).get('text/html')
                if h: o['data']['text/html'] = _local_links(''.join(h) if isinstance(h, list) else h, (nbs/rel).parent, rel.name, files)
        for f, dst in files.items():
            (nbp.parent/dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, nbp.parent/dst)
        if n or files: nbp.write_text(json.dumps(nb, indent=1))
    subprocess.run(['quarto', 'render', '--no-cache'], cwd=proc, check=True)
    shutil.rmtree(site, ignore_errors=True)
    shutil.move(str(proc/site.name), str(site))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quarto', action='store_true', help='render with Quarto instead of mkdocs (the published site)')
    p.add_argument('--skip-exec', action='store_true', help='reuse the processed notebooks already in _proc/')
    p.add_argument('--only', nargs='*', help='process only these notebooks (stems or paths under nbs/; the others are '
                   'taken from _proc/ as a previous build left them, so a partial site can be checked)')
    p.add_argument('--no-widgets', action='store_true', help='do not ship the widget manager (widgets show their text)')
    p.add_argument('--keep-going', action='store_true', help='leave out a notebook that raises, build the rest, exit 1 at the end')
    p.add_argument('--no-executed', action='store_true', help='ignore the executed copies in nbs/_executed/ (slow cells stay empty)')
    p.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1), help='notebooks processed at once (each in its own process)')
    a = p.parse_args(argv)
    cfg = _cfg()
    nbs, proc, site = ROOT/cfg.nbs_path, ROOT/'_proc', ROOT/cfg.doc_path
    t0, failed = time.time(), []
    if not a.skip_exec:
        if not a.only: shutil.rmtree(proc, ignore_errors=True)
        proc.mkdir(exist_ok=True)
        failed = process_all(nbs, proc, a.only, a.keep_going, use_executed=not a.no_executed, jobs=a.jobs)[1]
    t1 = time.time()
    if a.quarto:
        quarto_site(proc, site)
        print(f"docs: Quarto site in {site} (processing {t1 - t0:.0f} s, render {time.time() - t1:.0f} s)")
        return
    res = mkdocs_site(proc, site, widgets=not a.no_widgets)
    print(f"docs: built {res['pages']} pages with {res['figures']} plotly figures, {res['widget_pages']} with widgets, "
          f"{res['files']} linked files into {site.relative_to(ROOT)}/ "
          f"(processing {t1 - t0:.0f} s, render {time.time() - t1:.0f} s)")
    if failed: sys.exit("docs: these notebooks raised, or their executed copy is missing or stale, and are missing from the site:\n  " + "\n  ".join(failed))


if __name__ == '__main__': main()
