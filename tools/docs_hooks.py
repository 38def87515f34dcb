"""mkdocs hook for tools/build_docs.py. Assets are addressed relative to each page, so the site works from any
folder (a GitHub Pages project path, a local server) and never from a CDN; nbdev's links to the published site
(`doc_host` + `doc_baseurl`) become links inside this site; nbconvert's mermaid loader (which imports mermaid from
a CDN when a page has a diagram) is dropped, as no notebook draws one."""
import re

SITE_ROOT = '@SITE_ROOT@'
_re_mermaid = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
                         r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>', re.S)


def on_post_page(output, page, config, **kwargs):
    root = '/'.join(['..'] * page.file.url.count('/')) or '.'
    published = (config.get('extra') or {}).get('published_url')
    if published: output = output.replace(f'href="{published}', f'href="{SITE_ROOT}/')
    output = _re_mermaid.sub('', output)
    return output.replace(SITE_ROOT, root)
