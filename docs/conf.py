"""Sphinx configuration of the regkit documentation."""

import os
import warnings
from pathlib import Path

import regkit

project = "regkit"
author = "regkit developers"
copyright = "2026, regkit developers"
release = version = regkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "sg_execution_times.rst",
]
html_theme = "pydata_sphinx_theme"
html_title = "regkit"
html_theme_options = {"navigation_with_keys": False}

autosummary_generate = True
# Document what regkit adds, not the scikit-learn plumbing every estimator inherits.
autodoc_default_options = {
    "members": True,
    "inherited-members": "BaseEstimator,RegressorMixin,ClassifierMixin,TransformerMixin,"
    "_MetadataRequester",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# No network: intersphinx inventories cannot be fetched, so keep the mapping empty.
intersphinx_mapping = {}

# Gallery budget. The published docs (`make docs`) run every script at its full
# budget, so that the figures and numbers are the ones the estimators really give;
# REGKIT_QUICK=1 (`make docs-quick`, CI, the tests) runs the reduced budget.
# sphinx-gallery skips a script whose source did not change since its last run (it
# keeps an md5 of the source): after a change of budget those records are deleted,
# so outputs of the other budget are never published. The stamp is written first:
# every record made from here on, even by an interrupted build, is of this budget.
BUDGET = "quick" if os.environ.get("REGKIT_QUICK") == "1" else "full"
_GALLERY = Path(__file__).parent / "auto_examples"
_BUDGET_STAMP = _GALLERY / ".regkit-budget"
if not _BUDGET_STAMP.exists() or _BUDGET_STAMP.read_text().strip() != BUDGET:
    for record in _GALLERY.glob("*.md5"):
        record.unlink()
    _GALLERY.mkdir(exist_ok=True)
    _BUDGET_STAMP.write_text(BUDGET + "\n")

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "backreferences_dir": None,
}

warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Hide members that scikit-learn defines (metadata routing, get_params...)."""
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and module and not module.startswith("regkit"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
