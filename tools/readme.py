"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines cannot install).

Markdown cells are copied, code cells become fenced Python, cells marked `#| hide` are dropped. Measured numbers are
`{{key.field:spec}}` placeholders in the notebook, filled from the records of the executed notebooks
(`nbs/_executed/results.json`, written by tools/execute_notebooks.py; `whisper_sae.findings.fill`).
`--check` exits 1 when README.md differs from what index.ipynb and results.json give (CI runs it): a README whose
numbers disagree with the executed results fails."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT/'nbs'/'_executed'/'results.json'
HEADER = '<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n'


def render(nb_path: Path, results: Path = RESULTS) -> str:
    sys.path.insert(0, str(ROOT))
    from whisper_sae.findings import fill
    records = json.loads(results.read_text(encoding='utf-8'))['records'] if results.exists() else {}
    cells = json.loads(nb_path.read_text(encoding='utf-8'))['cells']
    parts = []
    for cell in cells:
        src = ''.join(cell['source']).strip('\n')
        lines = src.split('\n')
        if any(l.replace(' ', '').startswith('#|hide') for l in lines): continue
        if cell['cell_type'] == 'markdown': parts.append(fill(src, records, f"{nb_path.name} (records from {results})"))
        elif cell['cell_type'] == 'code':
            code = '\n'.join(l for l in lines if not l.replace(' ', '').startswith('#|')).strip('\n')
            if code: parts.append(f'```python\n{code}\n```')
    return HEADER + '\n\n'.join(parts) + '\n'


def main(argv):
    try: text = render(ROOT/'nbs'/'index.ipynb')
    except KeyError as e:
        print(f"README.md cannot be rendered: {e.args[0]}", file=sys.stderr)
        return 1
    readme = ROOT/'README.md'
    if '--check' in argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            print('README.md is out of date with nbs/index.ipynb or with the executed results (nbs/_executed/results.json): '
                  'run `python tools/readme.py` and commit README.md', file=sys.stderr)
            return 1
        return 0
    readme.write_text(text, encoding='utf-8')
    return 0


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
