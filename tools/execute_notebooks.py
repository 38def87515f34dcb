"""The slow lane: execute the notebooks that have slow cells and keep executed copies with their outputs.

    .venv/bin/python tools/execute_notebooks.py                     # every notebook with slow cells (up-to-date copies skipped)
    .venv/bin/python tools/execute_notebooks.py tutorials/causal    # a subset: stems or paths under nbs/ (also --only)
    .venv/bin/python tools/execute_notebooks.py --force             # execute even up-to-date copies
    .venv/bin/python tools/execute_notebooks.py --check             # CI: fail when a copy is missing or its code cells differ
    .venv/bin/python tools/execute_notebooks.py --results           # only rebuild nbs/_executed/results.json from the copies

Each notebook runs as the tests run it (execnb's `CaptureShell`, as `nbdev.test.test_nb` and tools/build_docs.py use;
cwd = the notebook's folder, `IN_TEST=1`, this tree's package first on the path) with every flagged cell forced except
`gpu` (what `NBDEV_FLAGS=slow` does), in a process of its own, with plotly figures kept as plotly JSON and ipywidgets'
state saved (as the docs build does). Findings checked with `whisper_sae.findings.expect` are deferred
(`WHISPER_SAE_FINDINGS=defer`), so one run lists every finding that moved; a moved finding or a cell that raises fails
the notebook: the cell and the error are named, nothing is written for it, the others still run, exit status 1.

A successful run writes `nbs/_executed/<same relative path>` (the notebook with its outputs; nbdev's export, clean and
test listing and the docs' listing skip `_` folders) with metadata under `executed`: the code hash (sha256 of the code
cells' sources, in order), the package hash (sha256 of `whisper_sae/*.py` except `_modidx.py`), the UTC date, the wall
time, per-cell times of the slower cells, the machine (cores, CPU, torch, Python) and the flags. A copy is up to date
when both hashes match the tree; then it is skipped unless `--force`. Then every `record` / `checked` output of every
copy is collected into `nbs/_executed/results.json` (with each copy's metadata and the lane's total wall time, the
record `slow_lane`), which tools/readme.py fills the README's placeholders from.

Order: notebooks whose results others reuse from the cache run first (`FIRST`), then the rest by path.
Run long lanes niced on shared machines: `nice -n 10 .venv/bin/python tools/execute_notebooks.py`."""
from __future__ import annotations
import argparse, datetime, hashlib, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
EXECUTED = NBS/'_executed'
RESULTS = EXECUTED/'results.json'
PENDING_FILE = 'PENDING'  # in the executed folder: lane notebooks not executed yet, one path per line ('#' comments)
MIME = 'application/vnd.whisper-sae.findings+json'
PLOTLY_MIME = 'application/vnd.plotly.v1+json'
WIDGET_MIME = 'application/vnd.jupyter.widget-state+json'
SKIP_FLAGS = {'gpu'}  # never forced: needs CUDA
FIRST = ['tutorials/main_job.ipynb']  # the main job's store, dictionary and metrics are reused by later notebooks
SIZE_WARN = 3_000_000  # bytes: an executed copy above this is reported (trim figure data or audio)


def _src(cell) -> str:
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s


def _directives(src:str) -> set[str]:
    "The `#| word` directives of a cell (first words), as nbdev reads them at the top of the cell."
    out = set()
    for line in src.splitlines():
        t = line.strip()
        if not t: continue
        if not t.startswith('#|'): break
        words = t[2:].split()
        if words: out.add(words[0])
    return out


def has_slow_cells(nb:dict) -> bool:
    return any(c['cell_type'] == 'code' and 'slow' in _directives(_src(c)) for c in nb['cells'])


def code_hash(nb:dict) -> str:
    "sha256 of the notebook's code cells' sources, in order (markdown, outputs and metadata do not count)."
    h = hashlib.sha256()
    for c in nb['cells']:
        if c['cell_type'] == 'code': h.update(_src(c).encode() + b'\0\x1e')
    return h.hexdigest()


def package_hash(root:Path=ROOT) -> str:
    "sha256 of the package sources `whisper_sae/*.py` (names and contents), except the generated `_modidx.py`."
    h = hashlib.sha256()
    for f in sorted((root/'whisper_sae').glob('*.py')):
        if f.name == '_modidx.py': continue
        h.update(f.name.encode() + b'\0' + f.read_bytes() + b'\0')
    return h.hexdigest()


def executed_path(src:Path, nbs:Path=NBS, executed:Path=EXECUTED) -> Path:
    return executed/src.relative_to(nbs)


def source_notebooks(nbs:Path=NBS) -> list[Path]:
    "Every notebook under `nbs` outside `_`/`.` folders, by path."
    return sorted(p for p in nbs.rglob('*.ipynb') if not any(x.startswith(('_', '.')) for x in p.relative_to(nbs).parts))


def lane(nbs:Path=NBS, executed:Path=EXECUTED) -> list[Path]:
    "The notebooks of the slow lane: those with slow cells, and any other with an executed copy; `FIRST` first."
    out = [p for p in source_notebooks(nbs) if has_slow_cells(_read(p)) or executed_path(p, nbs, executed).exists()]
    return sorted(out, key=lambda p: (p.relative_to(nbs).as_posix() not in FIRST,
                                      FIRST.index(p.relative_to(nbs).as_posix()) if p.relative_to(nbs).as_posix() in FIRST else 0,
                                      p.relative_to(nbs).as_posix()))


def _read(p:Path) -> dict: return json.loads(p.read_text(encoding='utf-8'))


def meta(nb:dict) -> dict: return nb.get('metadata', {}).get('executed', {})


def status(src:Path, nbs:Path=NBS, executed:Path=EXECUTED, pkg:str|None=None) -> str:
    "'missing' (no executed copy), 'stale' (its code cells differ), 'package' (executed with other package sources) or 'ok'."
    dst = executed_path(src, nbs, executed)
    if not dst.exists(): return 'missing'
    m = meta(_read(dst))
    if m.get('code_hash') != code_hash(_read(src)): return 'stale'
    if m.get('package_hash') != (pkg or package_hash()): return 'package'
    return 'ok'


def pending(executed:Path=EXECUTED) -> list[str]:
    """Lane notebooks (paths under nbs/) listed in `executed/PENDING`: not executed yet, said so on their docs page
    instead of failing the build. A successful run removes a notebook from the list; `--check` fails an entry whose
    copy exists (the list must not rot) or that names no lane notebook."""
    f = Path(executed)/PENDING_FILE
    if not f.exists(): return []
    return [l.split('#', 1)[0].strip() for l in f.read_text().splitlines() if l.split('#', 1)[0].strip()]


def _unpend(rel:str, executed:Path=EXECUTED):
    f = Path(executed)/PENDING_FILE
    if rel not in pending(executed): return
    keep = [l for l in f.read_text().splitlines() if l.split('#', 1)[0].strip() != rel]
    f.write_text('\n'.join(keep) + '\n')


def refresh_command(rels:list[str]) -> str:
    return 'python tools/execute_notebooks.py ' + ' '.join(rels)


# ---- one notebook, in its own process ------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    from importlib.metadata import version, PackageNotFoundError
    try: torch = version('torch')
    except PackageNotFoundError: torch = None
    return {'cores': os.cpu_count(), 'cpu': _cpu_model(), 'torch': torch, 'python': platform.python_version(),
            'platform': platform.platform(terse=True)}


def _plain_outputs(outs) -> list[dict]:
    return json.loads(json.dumps(outs or [], default=lambda o: dict(o) if isinstance(o, dict) else str(o)))


def _excerpt(src:str, n:int=6) -> str:
    lines = src.splitlines()
    return '\n'.join(lines[:n]) + ('\n    ...' if len(lines) > n else '')


def run_one(src:Path, out:Path, nbs:Path=NBS) -> int:
    "Execute `src` (all cells but `gpu` ones) and write it with outputs and metadata to `out`; 1 on failure."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    raw = _read(src)
    nb = NBProcessor(src, procs=FrontmatterProc, process=True).nb
    if len(nb.cells) != len(raw['cells']): raise RuntimeError(f"{src}: nbdev's reading has {len(nb.cells)} cells, the file {len(raw['cells'])}")
    os.environ['IN_TEST'] = '1'
    os.environ['WHISPER_SAE_FINDINGS'] = 'defer'
    sys.path.insert(0, str(ROOT))
    rel = src.relative_to(nbs).as_posix() if nbs in src.parents else src.name
    t_start, date, where = time.time(), datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(), machine()
    load0 = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    k = CaptureShell(path=str(src.parent))
    k.run_cell('import plotly.io as _pio; _pio.renderers.default = "plotly_mimetype"')
    try:
        from ipywidgets import Widget
        Widget.close_all()
    except ImportError: Widget = None
    cells_s, n, count, forced = {}, len(nb.cells), 0, set()
    old = os.getcwd()
    os.chdir(src.parent)
    try:
        for i, (cell, rc) in enumerate(zip(nb.cells, raw['cells'])):
            if cell.cell_type != 'code': continue
            rc['outputs'], rc['execution_count'] = [], None
            d = set((getattr(cell, 'directives_', {}) or {}).keys())
            if not cell.source.strip() or 'nbdev_export' + '(' in cell.source: continue
            if (getattr(cell, 'directives_', {}) or {}).get('eval:', [''])[0].lower() == 'false' or SKIP_FLAGS & d: continue
            forced |= d & {'slow'}
            t = time.time()
            k.cell(cell)
            dt = time.time() - t
            count += 1
            rc['outputs'], rc['execution_count'] = _plain_outputs(cell.get('outputs')), count
            for o in rc['outputs']:
                if o.get('output_type') == 'execute_result': o['execution_count'] = count
            if dt >= 1: cells_s[rc.get('id', str(i))] = round(dt, 1)
            flag = ' (slow)' if 'slow' in d else ''
            print(f"[{rel}] cell {i} {rc.get('id', '')}{flag}: {dt:.1f} s", flush=True)
            if k.exc:
                print(f"\nFAILED {rel}: cell {i} (id {rc.get('id', '?')}) raised {type(k.exc).__name__}: {k.exc}\n---\n"
                      f"{_excerpt(cell.source)}\n---\n{k.prettytb(fname=src)}", file=sys.stderr, flush=True)
                return 1
        r = k.run('import whisper_sae.findings as _wsf; _wsf.raise_moved()') if 'whisper_sae.findings' in sys.modules else []
        if k.exc:
            print(f"\nFAILED {rel}: findings moved (no `checked` call raised them):\n{k.exc}", file=sys.stderr, flush=True)
            return 1
    finally: os.chdir(old)
    if Widget is not None:
        state = Widget.get_manager_state(drop_defaults=True)
        if state['state']: raw.setdefault('metadata', {})['widgets'] = {WIDGET_MIME: state}
    raw.setdefault('metadata', {})['executed'] = {
        'code_hash': code_hash(raw), 'package_hash': package_hash(), 'date': date, 'wall_s': round(time.time() - t_start, 1),
        'cells_s': cells_s, 'machine': where, 'load_start': round(load0, 2) if load0 is not None else None,
        'load_end': round(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') else None,
        'flags': {'forced': sorted(forced), 'skipped': sorted(SKIP_FLAGS)}, 'tool': 'tools/execute_notebooks.py'}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return 0


# ---- results.json ---------------------------------------------------------------------------------------------------

def outputs_of(nb:dict, kind:str|None=None):
    "Every findings payload (`record` / `checked`) in `nb`'s outputs, in order."
    for c in nb['cells']:
        for o in c.get('outputs', []):
            p = o.get('data', {}).get(MIME)
            if p and (kind is None or p.get('kind') == kind): yield p


def collect(executed:Path=EXECUTED, nbs:Path=NBS) -> dict:
    "results.json's content: every record and check of every executed copy, each copy's metadata, the lane's wall time."
    records, checks, sources, notebooks = {}, {}, {}, {}
    for f in sorted(executed.rglob('*.ipynb')):
        rel = f.relative_to(executed).as_posix()
        nb = _read(f)
        m = meta(nb)
        notebooks[rel] = {k: m.get(k) for k in ('date', 'wall_s', 'code_hash', 'package_hash', 'machine', 'flags')}
        for p in outputs_of(nb):
            book = records if p['kind'] == 'record' else checks
            if p['key'] in book and sources.get((p['kind'], p['key'])) != rel:
                raise SystemExit(f"results: {p['kind']} {p['key']!r} comes from both {sources[(p['kind'], p['key'])]} and {rel}: "
                                 "give one of them another key")
            book.setdefault(p['key'], {}).update(p['values'])
            sources[(p['kind'], p['key'])] = rel
    wall = sum(n['wall_s'] or 0 for n in notebooks.values())
    dates = sorted(n['date'] for n in notebooks.values() if n.get('date'))
    rows = [f"| `{rel}` | {n['wall_s'] / 60:.1f} |" for rel, n in notebooks.items() if n.get('wall_s') is not None]
    machines = sorted({f"{n['machine']['cores']} cores ({n['machine']['cpu']}), torch {n['machine']['torch']}"
                       for n in notebooks.values() if n.get('machine')})
    records['slow_lane'] = {'notebooks': len(notebooks), 'wall_s': round(wall, 1), 'wall_min': round(wall / 60, 1),
                            'wall_h': round(wall / 3600, 2), 'first_date': dates[0][:10] if dates else '',
                            'last_date': dates[-1][:10] if dates else '', 'machines': '; '.join(machines),
                            'dates': '' if not dates else dates[0][:10] if dates[0][:10] == dates[-1][:10] else f"{dates[0][:10]} to {dates[-1][:10]}",
                            'table': '| notebook | minutes |\n|---|---|\n' + '\n'.join(rows)}
    return {'about': 'Collected by tools/execute_notebooks.py from nbs/_executed/: `records` (whisper_sae.findings.record), '
                     '`checks` (checked), `notebooks` (each executed copy\'s metadata). Do not edit by hand.',
            'records': records, 'checks': checks,
            'sources': {f"{k}:{key}": rel for (k, key), rel in sorted(sources.items())}, 'notebooks': notebooks}


def write_results(executed:Path=EXECUTED, nbs:Path=NBS) -> dict:
    res = collect(executed, nbs)
    (executed/'results.json').write_text(json.dumps(res, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return res


def load_records(path:Path=RESULTS) -> dict:
    "The records of results.json ({key: {field: value}}); an empty dict when there is none."
    return json.loads(path.read_text())['records'] if path.exists() else {}


# ---- the lane ------------------------------------------------------------------------------------------------------

def _select(names:list[str], nbs:Path=NBS) -> list[Path]:
    all_nbs = source_notebooks(nbs)
    out = []
    for n in names:
        p = Path(n)
        hits = [q for q in all_nbs if q.resolve() in (p.resolve(), (nbs.parent/p).resolve())
                or q.relative_to(nbs).as_posix() in (n, n + '.ipynb') or q.stem == n]
        if not hits: raise SystemExit(f"execute: no notebook {n!r} under {nbs} (give a stem, e.g. causal, or a path, e.g. tutorials/causal)")
        out += [h for h in hits if h not in out]
    order = {p: i for i, p in enumerate(lane(nbs, nbs/'_executed'))}
    return sorted(out, key=lambda p: order.get(p, len(order)))


def check(nbs:Path=NBS, executed:Path=EXECUTED) -> int:
    "The fast CI check: every lane notebook has an executed copy of its current code; package drift is reported."
    pkg, bad, drift, waiting = package_hash(), [], [], []
    todo, lanes = pending(executed), [p.relative_to(nbs).as_posix() for p in lane(nbs, executed)]
    bad += [(r, 'unknown-pending') for r in todo if r not in lanes]
    for src in lane(nbs, executed):
        rel = src.relative_to(nbs).as_posix()
        s = status(src, nbs, executed, pkg)
        if s == 'missing' and rel in todo: waiting.append(rel)
        elif rel in todo: bad.append((rel, 'pending-done'))
        elif s in ('missing', 'stale'): bad.append((rel, s))
        elif s == 'package': drift.append(f"{rel} (executed {meta(_read(executed_path(src, nbs, executed))).get('date', '?')})")
    for f in sorted(executed.rglob('*.ipynb')):
        if not (nbs/f.relative_to(executed)).exists(): bad.append((f.relative_to(executed).as_posix(), 'orphan'))
    if drift: print(f"executed copies made with older package sources (the slow lane re-asserts their findings when it runs): "
                    f"{', '.join(drift)}")
    if executed.exists() and any(executed.rglob('*.ipynb')):
        want = collect(executed, nbs)
        have = json.loads((executed/'results.json').read_text()) if (executed/'results.json').exists() else None
        if have != json.loads(json.dumps(want)): bad.append(('_executed/results.json', 'results'))
    for rel, s in bad:
        why = {'missing': 'has slow cells but no executed copy', 'stale': 'its code cells differ from its executed copy',
               'orphan': 'is an executed copy of a notebook that no longer exists: git rm it',
               'results': 'does not match the executed copies: python tools/execute_notebooks.py --results',
               'pending-done': f'has an executed copy but is still listed in {executed.name}/{PENDING_FILE}: remove the line',
               'unknown-pending': f'is listed in {executed.name}/{PENDING_FILE} but is not a notebook with slow cells: remove the line'}[s]
        print(f"executed: {rel} {why}", file=sys.stderr)
    stale = [r for r, s in bad if s in ('missing', 'stale')]
    if stale: print(f"executed: refresh with `nice -n 10 {refresh_command(stale)}` and commit nbs/_executed/", file=sys.stderr)
    if waiting: print(f"executed: PENDING (listed in {executed.name}/{PENDING_FILE}; their docs pages say so): {', '.join(waiting)}; "
                      f"run `nice -n 10 {refresh_command(waiting)}` and commit nbs/_executed/")
    n = len(lane(nbs, executed))
    print(f"executed: {n - len(waiting) - len([b for b in bad if b[1] in ('missing', 'stale')])} of {n} notebooks have an up-to-date executed copy"
          f"{f', {len(waiting)} pending' if waiting else ''}"
          f"{'' if not bad else '; FAILED'}")
    return 1 if bad else 0


def execute(todo:list[Path], nbs:Path=NBS, force:bool=False, timeout_min:float=240) -> tuple[list[str], list[str]]:
    """Execute `todo` (each in its own process, killed after `timeout_min`), replacing each executed copy only on success;
    returns (done, failed)."""
    executed, pkg, failed, done, summary = nbs/'_executed', package_hash(), [], [], []
    for src in todo:
        rel = src.relative_to(nbs).as_posix()
        dst = executed_path(src, nbs, executed)
        if not force and status(src, nbs, executed, pkg) == 'ok':
            print(f"executed: {rel}: up to date (same code and package hashes), skipped; --force executes it", flush=True); continue
        print(f"executed: {rel}: executing ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out, t = Path(tmp)/'executed.ipynb', time.time()
            env = {**os.environ, 'PYTHONPATH': str(ROOT) + (os.pathsep + os.environ['PYTHONPATH'] if os.environ.get('PYTHONPATH') else '')}
            try: rc = subprocess.run([sys.executable, __file__, '--child', str(src), str(out), '--nbs', str(nbs)], env=env,
                                     timeout=timeout_min * 60).returncode
            except subprocess.TimeoutExpired: rc = f'killed after the {timeout_min:g} min timeout'
            if rc or not out.exists():
                failed.append(rel)
                summary.append((rel, 'FAILED', time.time() - t, None))
                print(f"executed: {rel}: FAILED after {time.time() - t:.0f} s (exit {rc}); its executed copy is unchanged", flush=True)
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(out), dst)
        size = dst.stat().st_size
        done.append(rel)
        summary.append((rel, 'executed', time.time() - t, size))
        _unpend(rel, executed)
        write_results(executed, nbs)  # after each notebook, so an interrupted lane leaves results.json consistent
        print(f"executed: {rel}: done in {time.time() - t:.0f} s -> {dst} ({size / 1e6:.2f} MB)"
              + (f"; over {SIZE_WARN / 1e6:.0f} MB: trim its figures or audio" if size > SIZE_WARN else ''), flush=True)
    if summary: print('\n'.join(['executed: summary', *(f"  {r:<40} {s_:<9} {t_ / 60:6.1f} min  {'' if z is None else f'{z / 1e6:.2f} MB'}"
                                                        for r, s_, t_, z in summary)]), flush=True)
    return done, failed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('notebooks', nargs='*', help='stems or paths under nbs/ (default: every notebook with slow cells)')
    p.add_argument('--only', nargs='*', default=[], help='the same as the positional notebooks')
    p.add_argument('--force', action='store_true', help='execute even notebooks whose copy is up to date')
    p.add_argument('--check', action='store_true', help='fail if a copy is missing or stale (code hash); report package drift')
    p.add_argument('--results', action='store_true', help='only rebuild nbs/_executed/results.json')
    p.add_argument('--timeout-min', type=float, default=240, help='kill a notebook that runs longer (a failure; the others still run)')
    p.add_argument('--nbs', default=str(NBS), help='the notebooks folder (copies go to its _executed/); for tests')
    p.add_argument('--child', nargs=2, metavar=('SRC', 'OUT'), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    nbs = Path(a.nbs).resolve()
    if a.child: sys.exit(run_one(Path(a.child[0]).resolve(), Path(a.child[1]), nbs))
    if a.check: sys.exit(check(nbs, nbs/'_executed'))
    if a.results:
        res = write_results(nbs/'_executed', nbs)
        print(f"executed: results.json: {len(res['records'])} records, {len(res['checks'])} check tables"); return
    t0 = time.time()
    todo = _select(a.notebooks + a.only, nbs) if a.notebooks or a.only else lane(nbs, nbs/'_executed')
    done, failed = execute(todo, nbs, a.force, a.timeout_min)
    print(f"executed: {len(done)} executed, {len(failed)} failed, {len(todo) - len(done) - len(failed)} up to date "
          f"in {(time.time() - t0) / 60:.1f} min" + (f"; FAILED: {', '.join(failed)}" if failed else ''))
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()
