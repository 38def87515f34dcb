"""Mutation check: plant one small deliberate bug at a time in a copy of the repo and run the tests that guard it.

    .venv/bin/python tools/mutations.py                 # every mutation in tests/mutations/*.yaml
    .venv/bin/python tools/mutations.py --only fvu      # mutations whose name contains 'fvu'
    .venv/bin/python tools/mutations.py --list          # what would run
    .venv/bin/python tools/mutations.py --out mutations.md --jobs 2

A mutation is a YAML entry in `tests/mutations/<area>.yaml`:

    - name: fvu without the mean subtraction     # what the bug is
      file: nbs/05_dictionaries.ipynb             # the notebook holding the code (the source of truth), or a plain file (setup.py)
      old: "(target_ND - target_ND.mean(0))"      # exact text, found `count` times (default 1) in the notebook's cells
      new: "target_ND"                            # what it becomes
      tests: [05_dictionaries]                    # notebooks whose tests must now fail
      flags: ''                                   # NBDEV_FLAGS for the run (e.g. 'slow'); default none

The replacement is made in the notebook and, where the cell is exported, in the generated module too (notebook tests
run the notebook's own definitions; other notebooks import the module), so both stay one program. Each mutation runs in
its own temporary copy of the working tree (tracked and untracked files that git does not ignore; the offline corpus is
linked read-only; caches are not shared, so a mutant never writes a cache a later run reads).

A mutation is *caught* when the named notebooks' tests fail, *missed* when they pass, *stale* when its `old` text is no
longer in the code (the code moved: update the entry). Before the mutants, the same notebooks run unmutated (`--no-baseline`
skips this): a failing baseline makes every "caught" meaningless, so it stops the run. Exit status 1 when any mutation is
missed or stale. The last line is a JSON summary.
"""
from __future__ import annotations
import argparse, concurrent.futures as cf, json, os, re, shutil, subprocess, sys, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT/'tests'/'mutations'
LINKED = ('data/offline-corpus',)  # large, read-only inputs the tests need; linked, not copied


@dataclass
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: list[str]
    count: int = 1
    flags: str = ''
    source: str = ''  # the YAML file it came from
    result: str = ''
    seconds: float = 0.0
    detail: str = ''


def load_mutations(folder:Path=SPECS) -> list[Mutation]:
    "Every mutation in `folder/*.yaml`, in file then entry order; a malformed entry names its file and fix."
    out = []
    for f in sorted(folder.glob('*.yaml')):
        entries = yaml.safe_load(f.read_text()) or []
        for i, e in enumerate(entries):
            missing = {'name', 'file', 'old', 'new', 'tests'} - set(e)
            extra = set(e) - {'name', 'file', 'old', 'new', 'tests', 'count', 'flags'}
            if missing or extra:
                sys.exit(f"{f}: entry {i} ({e.get('name', '?')}): missing {sorted(missing)} / unknown {sorted(extra)}; see tools/mutations.py")
            tests = e['tests'] if isinstance(e['tests'], list) else [e['tests']]
            out.append(Mutation(e['name'], e['file'], e['old'], e['new'], [str(t) for t in tests], int(e.get('count', 1)),
                                str(e.get('flags') or ''), f.name))
    names = [m.name for m in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup: sys.exit(f"mutation names must be unique; repeated: {sorted(dup)}")
    return out


def working_tree_files(root:Path=ROOT) -> list[str]:
    "Tracked and untracked-but-not-ignored files of the working tree (what a commit of it would hold)."
    r = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], cwd=root, capture_output=True, check=True)
    return sorted({p for p in r.stdout.decode().split('\0') if p and (root/p).is_file()})


def make_copy(dest:Path, files:list[str], root:Path=ROOT) -> Path:
    for p in files:
        (dest/p).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root/p, dest/p)
    for p in LINKED:
        if (root/p).exists():
            (dest/p).parent.mkdir(parents=True, exist_ok=True)
            (dest/p).symlink_to(root/p)
    return dest


def _module_of(nb:dict, settings_lib:str='whisper_sae') -> str|None:
    for c in nb['cells']:
        m = re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M)
        if m: return f"{settings_lib}/{m.group(1).replace('.', '/')}.py"
    return None


def apply(m:Mutation, tree:Path) -> str|None:
    "Plant `m` in the copy at `tree`; return None, or why it is stale."
    nb_path = tree/m.file
    if not nb_path.exists(): return f"{m.file} does not exist"
    if nb_path.suffix != '.ipynb':  # a plain source file (setup.py, a tool): the text itself
        text = nb_path.read_text(encoding='utf-8')
        if text.count(m.old) != m.count: return f"`old` found {text.count(m.old)} times in {m.file}, expected {m.count}: update {m.source}"
        nb_path.write_text(text.replace(m.old, m.new), encoding='utf-8')
        return None
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    found, exported = 0, False
    for c in nb['cells']:
        src = ''.join(c['source'])
        n = src.count(m.old)
        if n:
            found += n
            exported |= bool(re.match(r'\s*#\|\s*export', src))
            c['source'] = src.replace(m.old, m.new).splitlines(keepends=True)
    if found != m.count: return f"`old` found {found} times in {m.file}, expected {m.count}: the code moved, update {m.source}"
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    if exported:
        mod = _module_of(nb)
        text = (tree/mod).read_text(encoding='utf-8') if mod and (tree/mod).exists() else ''
        if text.count(m.old) != m.count:
            return f"`old` found {text.count(m.old)} times in {mod}, expected {m.count}: run nbdev_export, or update {m.source}"
        (tree/mod).write_text(text.replace(m.old, m.new), encoding='utf-8')
    return None


def run_tests(tree:Path, tests:list[str], flags:str, python:str, timeout:int) -> tuple[int, str]:
    "Run the named notebooks' tests in `tree`; (pytest's exit status, the tail of its output)."
    env = dict(os.environ, PYTHONPATH=str(tree), NBDEV_FLAGS=flags)
    expr = ' or '.join(Path(t).stem if t.endswith('.ipynb') else t for t in tests)
    cmd = [python, '-m', 'pytest', 'tests/test_notebooks.py', '-q', '-x', '-p', 'no:cacheprovider', '-k', expr]
    try:
        r = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout} s"
    return r.returncode, (r.stdout + r.stderr)[-3000:]


def check(m:Mutation, files:list[str], python:str, timeout:int, keep:bool=False) -> Mutation:
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix='mutant-'))
    try:
        tree = make_copy(tmp/'repo', files)
        why = apply(m, tree)
        if why: m.result, m.detail = 'stale', why
        else:
            rc, out = run_tests(tree, m.tests, m.flags, python, timeout)
            if rc == 5: m.result, m.detail = 'error', f"no tests matched {m.tests}"
            elif rc == 124: m.result, m.detail = 'caught', out  # a mutant that hangs the tests is caught, slowly
            else:
                m.result = 'caught' if rc else 'missed'
                fails = re.findall(r'(?:Error|Exception|assert)[^\n]{0,160}', out)
                m.detail = fails[-1] if rc and fails else ''
    finally:
        if not keep: shutil.rmtree(tmp, ignore_errors=True)
    m.seconds = time.time() - t0
    return m


def table(ms:list[Mutation]) -> str:
    rows = ['| mutation | notebook | tests run | result | s |', '|---|---|---|---|---|']
    for m in ms: rows.append(f"| {m.name} | `{Path(m.file).stem}` | {', '.join(m.tests)} | **{m.result}** | {m.seconds:.0f} |")
    return '\n'.join(rows) + '\n'


def update_table(path:Path, ms:list[Mutation]):
    "Replace the rows of `ms` (by name) in the Markdown table at `path`, appending those it lacks."
    new = {m.name: row for m, row in zip(ms, table(ms).splitlines()[2:])}
    lines = path.read_text().splitlines()
    name = lambda l: l.split('|')[1].strip() if l.startswith('|') and not l.startswith(('| mutation', '|---')) else None
    out = [new.pop(name(l), l) if name(l) else l for l in lines]
    path.write_text('\n'.join(out + list(new.values())) + '\n')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', nargs='*', default=[], help='run mutations whose name contains any of these words')
    ap.add_argument('--list', action='store_true', help='list the mutations and exit')
    ap.add_argument('--jobs', type=int, default=1, help='mutants tested at once (each runs its notebooks on the CPU threads it finds)')
    ap.add_argument('--timeout', type=int, default=1200, help='seconds per test run')
    ap.add_argument('--no-baseline', action='store_true', help='skip the unmutated run of the same notebooks')
    ap.add_argument('--out', help='also write the Markdown table here')
    ap.add_argument('--update', help="replace these mutations' rows in an existing table (e.g. tests/mutations/RESULTS.md after --only)")
    ap.add_argument('--python', default=str(ROOT/'.venv'/'bin'/'python'), help='the interpreter that runs the tests')
    a = ap.parse_args(argv)
    ms = load_mutations()
    if a.only: ms = [m for m in ms if any(w.lower() in m.name.lower() for w in a.only)]
    if not ms: sys.exit("no mutations selected")
    if a.list:
        for m in ms: print(f"{m.source}: {m.name}  [{m.file} -> tests {', '.join(m.tests)}{'; flags ' + m.flags if m.flags else ''}]")
        return 0
    files = working_tree_files()
    t0 = time.time()
    if not a.no_baseline:
        groups = {}
        for m in ms: groups.setdefault(m.flags, set()).update(m.tests)
        with tempfile.TemporaryDirectory(prefix='baseline-') as tmp:
            tree = make_copy(Path(tmp)/'repo', files)
            for flags, tests in groups.items():
                rc, out = run_tests(tree, sorted(tests), flags, a.python, a.timeout * 2)
                if rc:
                    print(out, file=sys.stderr)
                    sys.exit(f"the unmutated notebooks {sorted(tests)} fail (exit {rc}): fix them before checking mutants")
        print(f"baseline: {sum(len(t) for t in groups.values())} notebook runs pass unmutated ({time.time() - t0:.0f} s)", file=sys.stderr)
    with cf.ThreadPoolExecutor(max(1, a.jobs)) as ex:
        futs = [ex.submit(check, m, files, a.python, a.timeout) for m in ms]
        for f in cf.as_completed(futs):
            m = f.result()
            print(f"{m.result:7s} {m.seconds:5.0f} s  {m.name}" + (f"  ({m.detail[:200]})" if m.result != 'caught' and m.detail else ''),
                  file=sys.stderr, flush=True)
    md = table(ms)
    print(md)
    if a.out: Path(a.out).write_text(md)
    if a.update: update_table(Path(a.update), ms)
    counts = {k: sum(m.result == k for m in ms) for k in ('caught', 'missed', 'stale', 'error')}
    print(json.dumps(dict(counts, total=len(ms), seconds=round(time.time() - t0))))
    return 0 if counts['caught'] == len(ms) else 1


if __name__ == '__main__': sys.exit(main())
