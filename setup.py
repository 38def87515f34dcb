"""Packaging for whisper_sae: everything is read from settings.ini (nbdev's classic layout)."""
from configparser import ConfigParser
from pathlib import Path
import shutil
import setuptools
from setuptools.command.build_py import build_py

cfg = ConfigParser(delimiters=['='])
cfg.read(Path(__file__).parent/'settings.ini')
cfg = cfg['DEFAULT']
for key in 'version description keywords author author_email license min_python lib_name user git_url'.split():
    assert key in cfg, f'settings.ini lacks `{key}`: add it under [DEFAULT]'

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()
lic = licenses[cfg['license']]
min_python = cfg['min_python']
requirements = cfg.get('requirements', '').split()
dev_requirements = cfg.get('dev_requirements', '').split()
offline_requirements = cfg.get('offline_requirements', '').split()
corpus_requirements = cfg.get('corpus_requirements', '').split()
bench_requirements = cfg.get('bench_requirements', '').split()
png_requirements = cfg.get('png_requirements', '').split()
analysis_requirements = cfg.get('analysis_requirements', '').split()
scripts = [s.strip() for s in cfg.get('console_scripts', '').split('\n') if s.strip()]
readme = Path(__file__).parent/'README.md'
# What a clone keeps at its top level and an installed package needs: copied into the package's `_data/` folder when a
# wheel is built (`whisper_sae.config.shipped_path` reads them from there when there is no clone around the package).
SHIPPED = ('configs', 'data/speech-fixture')


class build_py_shipped(build_py):
    "build_py, plus copies of the `SHIPPED` folders inside the built package."
    def run(self):
        super().run()
        here = Path(__file__).parent
        for rel in SHIPPED:
            dst = Path(self.build_lib)/cfg['lib_path']/'_data'/rel
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(here/rel, dst, ignore=shutil.ignore_patterns('__pycache__', '*.tmp'))

setuptools.setup(
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'License :: ' + lic[1],
                 'Natural Language :: ' + cfg['language'].title()]
                + ['Programming Language :: Python :: ' + v for v in py_versions[py_versions.index(min_python):]],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'offline': offline_requirements, 'corpus': corpus_requirements, 'bench': bench_requirements, 'png': png_requirements, 'analysis': analysis_requirements},
    python_requires='>=' + min_python,
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else cfg['description'],
    long_description_content_type='text/markdown',
    zip_safe=False,
    cmdclass={'build_py': build_py_shipped},
    entry_points={'console_scripts': scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    version=cfg['version'], description=cfg['description'], keywords=cfg['keywords'],
    author=cfg['author'], author_email=cfg['author_email'],
)
