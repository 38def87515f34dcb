"""Run each notebook's inline tests with nbdev's own test function, one pytest case per notebook.

Cells carrying a flag from settings.ini `tst_flags` (slow, gpu) are skipped unless named in the
NBDEV_FLAGS environment variable (space separated), as `nbdev_test --flags` does."""
import os
from pathlib import Path

import pytest
import nbdev.test as nbtest
from nbdev.config import get_config

cfg = get_config()
NBS_PATH = Path(cfg.config_path) / cfg.nbs_path
NOTEBOOKS = sorted(p for p in NBS_PATH.rglob('*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in p.relative_to(NBS_PATH).parts))
FLAGS = cfg.get('tst_flags', '').split()
FORCE = os.environ.get('NBDEV_FLAGS', '').split()


def test_found_notebooks():
    assert len(NOTEBOOKS) >= 3, f"expected the notebooks under {NBS_PATH}, found {NOTEBOOKS}"


@pytest.fixture(autouse=True)
def _registries():
    """Restore the architecture registries after each notebook: the notebooks run in this one process, and a notebook
    that re-runs `05_dictionaries`' exported cells registers classes defined in `__main__`, which later notebooks would
    then build (and fail to pickle for `torch.multiprocessing`)."""
    import whisper_sae.config as C, whisper_sae.dictionaries as D
    saved = dict(C.DICTIONARY_CONFIGS), dict(D.DICTIONARIES)
    yield
    for reg, old in zip((C.DICTIONARY_CONFIGS, D.DICTIONARIES), saved): reg.clear(); reg.update(old)


@pytest.mark.parametrize('notebook', NOTEBOOKS, ids=[str(p.relative_to(NBS_PATH)) for p in NOTEBOOKS])
def test_notebook(notebook):
    ok, seconds = nbtest.test_nb(notebook, skip_flags=FLAGS, force_flags=FORCE, basepath=cfg.config_path)
    assert ok, f"{notebook.name} failed (see the traceback above); run it in Jupyter to debug"
