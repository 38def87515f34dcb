"""mkdocs hooks for tools/build_docs.py.

- Assets are addressed relative to each page, so the site works from any folder (a GitHub Pages project path, a
  local server) and never from a CDN.
- nbdev's links to the published site (`doc_host` + `doc_baseurl`, made by its `add_links` processor) become links
  inside this site. nbdev links every method it indexes, but only documented names have an anchor: such a link
  goes to the nearest documented parent (`Class.method` -> `Class`), else to the page.
- mkdocs-jupyter builds the page TOC from a Markdown export that drops inline code, so a heading such as
  "One entry point: `load_corpus`" got a TOC anchor that matches no heading: the TOC is built from the cells'
  Markdown (and `show_doc`'s Markdown output) as written.
- Headings with the same text (two `show_doc` of one name) get unique ids as the TOC numbers them (`x`, `x_1`).
- nbconvert's mermaid loader (which imports mermaid from a CDN when a page has a diagram) is dropped: no notebook
  draws one.
- nbconvert's widget loader fetches `@jupyter-widgets/html-manager` from a CDN: it gets the site's copy of the
  standalone `embed.js` instead (tools/build_docs.py puts it in `assets/widgets/`)."""
import json, re
from pathlib import Path
from urllib.parse import unquote

SITE_ROOT = '@SITE_ROOT@'
_re_mermaid = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
                         r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>', re.S)
_re_heading = re.compile(r'<h([1-6]) id="([^"]+)"(.*?)</h\1>', re.S)
_re_fence = re.compile(r'^(```|~~~).*?^\1[ \t]*$', re.S | re.M)  # a `# comment` in a code block is no heading
_re_id = re.compile(r'\b(?:id|name)="([^"]+)"')
_re_widget_src = re.compile(r"(var widgetRendererSrc = )'[^']*';")
_re_doclink = re.compile(r'<a data-doclink href="([^"#]*)#([^"]*)"')


def _nb_markdown(nb_path, *args, **kwargs) -> str:
    "A notebook's Markdown cells and Markdown outputs, as written (the TOC's source)."
    out = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        if c['cell_type'] == 'markdown': out.append(''.join(c['source']))
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md: out.append(''.join(md))
    return _re_fence.sub('', '\n\n'.join(out))


def on_startup(**kwargs):
    import mkdocs_jupyter.convert
    mkdocs_jupyter.convert.nb2md = _nb_markdown


def on_post_page(output, page, config, **kwargs):
    root = '/'.join(['..'] * page.file.url.count('/')) or '.'
    published = (config.get('extra') or {}).get('published_url')
    if published: output = output.replace(f'href="{published}', f'data-doclink href="{SITE_ROOT}/')
    output = _re_mermaid.sub('', output)
    output = _re_widget_src.sub(lambda m: f"{m.group(1)}'{SITE_ROOT}/assets/widgets/embed.js';", output)
    seen = {}
    def dedup(m):
        n = seen[m.group(2)] = seen.get(m.group(2), -1) + 1
        if not n: return m.group(0)
        new = f'{m.group(2)}_{n}'
        return f'<h{m.group(1)} id="{new}"' + m.group(3).replace(f'href="#{m.group(2)}"', f'href="#{new}"') + f'</h{m.group(1)}>'
    output = _re_heading.sub(dedup, output)
    return output.replace(SITE_ROOT, root)


def on_post_build(config, **kwargs):
    site = Path(config['site_dir'])
    pages = {p: p.read_text() for p in site.rglob('*.html')}
    ids = {p.resolve(): set(_re_id.findall(t)) for p, t in pages.items()}

    def fix(page, m):
        path, frag = m.group(1), unquote(m.group(2))
        target = (page.parent/path).resolve() if path else page.resolve()
        have = ids.get(target)
        if have is None or frag in have: return m.group(0)
        parts = frag.split('.')
        while len(parts) > 1:
            parts.pop()
            if '.'.join(parts) in have: return f'<a data-doclink href="{path}#{".".join(parts)}"'
        return f'<a data-doclink href="{path or "#"}"'

    for p, t in pages.items():
        new = _re_doclink.sub(lambda m: fix(p, m), t)
        if new != t: p.write_text(new)
