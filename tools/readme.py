"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines cannot install).

Markdown cells are copied, code cells become fenced Python, cells marked `#| hide` are dropped.
`--check` exits 1 when README.md differs from what index.ipynb gives (CI runs it)."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = '<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n'


def render(nb_path: Path) -> str:
    cells = json.loads(nb_path.read_text(encoding='utf-8'))['cells']
    parts = []
    for cell in cells:
        src = ''.join(cell['source']).strip('\n')
        lines = src.split('\n')
        if any(l.replace(' ', '').startswith('#|hide') for l in lines): continue
        if cell['cell_type'] == 'markdown': parts.append(src)
        elif cell['cell_type'] == 'code':
            code = '\n'.join(l for l in lines if not l.replace(' ', '').startswith('#|')).strip('\n')
            if code: parts.append(f'```python\n{code}\n```')
    return HEADER + '\n\n'.join(parts) + '\n'


def main(argv):
    text = render(ROOT/'nbs'/'index.ipynb')
    readme = ROOT/'README.md'
    if '--check' in argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            print('README.md is out of date with nbs/index.ipynb: run `python tools/readme.py`', file=sys.stderr)
            return 1
        return 0
    readme.write_text(text, encoding='utf-8')
    return 0


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
