"""Sphinx configuration of the documentation website (built by ``bash docs/build.sh``).

The site is the committed, executed notebooks (rendered by myst-nb as they are stored: no
cell is run during the build) and an API reference generated from the package's
docstrings. ``bash docs/build.sh [OUT]`` stages the sources into ``OUT/src`` (default
``docs/_build``) and builds ``OUT/html`` with this folder as the configuration (``-c docs``):

* ``src/*.md``: the pages written here (``docs/*.md``);
* ``src/notebooks/``: a copy of every ``notebooks/*.ipynb`` (by glob, so a new notebook
  appears without touching this file);
* ``src/api/``: one page per public module of ``ntm_nb`` (found by walking the package).

Everything the pages load comes from the site itself: MathJax is the copy shipped in the
PyPI package ``sphinx-mathjax-offline``, the theme (furo) uses no web fonts, and myst-nb's
CDN scripts for live widgets are switched off (no widget state is stored; widget outputs
show the PNG stored beside them). The repository's address is read from ``pyproject.toml``
(``[project.urls] Repository``), the one place it is set.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import shutil
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
sys.path.insert(0, str(REPO))

import ntm_nb  # noqa: E402  (after the path is set, so a checkout builds without an install)

# ----------------------------------------------------------------------------------------
# The repository's address: one setting, [project.urls] Repository in pyproject.toml.
# ----------------------------------------------------------------------------------------
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"].rstrip("/")
_match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", REPOSITORY)
if not _match:
    raise ValueError(f"pyproject.toml: Repository {REPOSITORY!r} is not a GitHub address")
GITHUB_SLUG = f"{_match[1]}/{_match[2]}"
BINDER = f"https://mybinder.org/v2/gh/{GITHUB_SLUG}/HEAD"


def binder_url(app: str, notebook: str) -> str:
    """The Binder address that opens ``notebook`` (under notebooks/) in ``lab`` or ``voila``."""
    kind = {"lab": "lab/tree", "voila": "voila/render"}[app]
    return f"{BINDER}?urlpath={kind}/notebooks/{notebook}"


# ----------------------------------------------------------------------------------------
# The sources, staged into the build folder by setup() below: docs/*.md, a copy of every
# notebooks/*.ipynb (by glob) and one API page per public module. Nothing is written into
# docs/ or notebooks/, so two builds into different folders never meet.
# ----------------------------------------------------------------------------------------
def stage_sources(srcdir: Path) -> None:
    """Lay the site's sources into ``srcdir`` (which must not be docs/ itself)."""
    if srcdir.resolve() == DOCS:
        raise RuntimeError(
            "docs/ is the configuration, not the sources: build with `bash docs/build.sh`"
        )
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise RuntimeError("no notebooks/*.ipynb to build the documentation from")
    (srcdir / "notebooks").mkdir(parents=True, exist_ok=True)
    for page in sorted(DOCS.glob("*.md")):
        shutil.copy2(page, srcdir / page.name)
    for notebook in notebooks:
        shutil.copy2(notebook, srcdir / "notebooks" / notebook.name)
    (srcdir / "api").mkdir(exist_ok=True)
    for name, text in api_pages().items():
        (srcdir / "api" / name).write_text(text, encoding="utf-8")


def public_modules() -> list[str]:
    """Every module of ntm_nb whose dotted name has no part starting with an underscore."""
    found = []
    for info in pkgutil.walk_packages(ntm_nb.__path__, prefix="ntm_nb."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return sorted(found)


def api_pages() -> dict[str, str]:
    """api/index.rst and one page per top-level module or subpackage of ntm_nb.

    A subpackage's page documents the package and each of its modules. Each name is
    described once, where it is defined (see ``ignore-module-all`` below).
    """
    modules = public_modules()
    tops = [m for m in modules if m.count(".") == 1]
    pages = {}
    for top in tops:
        lines = []
        for name in [top] + [m for m in modules if m.startswith(top + ".")]:
            title = f"``{name}``"
            lines += [title, ("=" if name == top else "-") * len(title), ""]
            lines += [f".. automodule:: {name}", "   :members:", "   :show-inheritance:", ""]
        pages[top.split(".", 1)[1] + ".rst"] = "\n".join(lines)
    order = _dependency_order([t.split(".", 1)[1] for t in tops])
    index = [
        "API reference",
        "=============",
        "",
        ".. automodule:: ntm_nb",
        "",
        "One page per module or subpackage, in the order above; every page is generated",
        "from the docstrings of the installed code.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *[f"   {name}" for name in order],
        "",
    ]
    pages["index.rst"] = "\n".join(index)
    return pages


def _dependency_order(names: list[str]) -> list[str]:
    """The package docstring's order of its modules, then any it does not name, by name."""
    doc = ntm_nb.__doc__ or ""
    stated = [n for n in re.findall(r"``(\w+)``", doc) if n in names]
    seen = list(dict.fromkeys(stated))
    return seen + sorted(set(names) - set(seen))


def _mathjax_static() -> str:
    """The folder holding ``mathjax/`` (MathJax 3) in the sphinx-mathjax-offline package.

    The package is used only as the source of these files: as a Sphinx extension it copies
    them after the build and is not marked safe for a parallel build, which ``-W`` refuses.
    """
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    locations = list(spec.submodule_search_locations or []) if spec else []
    static = Path(locations[0]) / "static" if locations else None
    if static is None or not (static / "mathjax" / "tex-chtml.js").is_file():
        raise RuntimeError(
            "MathJax for the docs comes from sphinx-mathjax-offline: pip install -e '.[docs]'"
        )
    return str(static)


# ----------------------------------------------------------------------------------------
# Project
# ----------------------------------------------------------------------------------------
project = "ntm_nb"
author = "the ntm_nb authors"
copyright = "the ntm_nb authors (MIT licence)"
release = ntm_nb.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
]

root_doc = "index"
exclude_patterns: list[str] = []
# Broken internal links fail the build: MyST warns on a link to a missing page, file or
# heading (-W makes that an error), and docs/check_site.py checks every link of the built
# site. Docstrings name things in ``literals``, not roles, so nitpicky would only report
# the third-party types in signatures (torch.Tensor, ...), which no inventory here resolves.
nitpicky = False

# ----------------------------------------------------------------------------------------
# Notebooks (myst-nb): never execute; show what is stored.
# ----------------------------------------------------------------------------------------
nb_execution_mode = "off"
# A widget output is stored as its view (application/vnd.jupyter.widget-view+json), a
# static image/png of its figure where it has one, and text/plain. No widget state is
# stored, so the view could never render: drop it, and show the PNG (else the text).
nb_mime_priority_overrides = [
    ("*", "application/vnd.jupyter.widget-view+json", None),
    ("html", "image/png", 5),
]
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # no require.js / widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "substitution", "colon_fence"]
myst_heading_anchors = 3
myst_substitutions = {
    "repository": f"[{GITHUB_SLUG}]({REPOSITORY})",
    "binder_lab": f"[JupyterLab on Binder]({binder_url('lab', '00_start_here.ipynb')})",
    "binder_voila": f"[the Voilà app on Binder]({binder_url('voila', '00_start_here.ipynb')})",
}

# ----------------------------------------------------------------------------------------
# API reference (autodoc)
# ----------------------------------------------------------------------------------------
# Each name is described once, in the module that defines it: a re-export listed in a
# module's __all__ (ntm_nb.train re-exports the records, for one) is not repeated there.
autodoc_default_options = {"member-order": "bysource", "ignore-module-all": True}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# ----------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"ntm_nb {release}"
html_static_path = [_mathjax_static()]  # -> _static/mathjax/
mathjax_path = "mathjax/tex-chtml.js"  # relative: served from _static, no CDN
html_copy_source = False
html_show_sourcelink = False
_GITHUB_SVG = (
    '<svg stroke="currentColor" fill="currentColor" stroke-width="0" viewBox="0 0 16 16">'
    '<path fill-rule="evenodd" d="M8 0C3.58 0 0 3.58 0 8c0 3.54 2.29 6.53 5.47 7.59.4.07.55'
    "-.17.55-.38 0-.19-.01-.82-.01-1.49-2.01.37-2.53-.49-2.69-.94-.09-.23-.48-.94-.82-1.13-.28"
    "-.15-.68-.52-.01-.53.63-.01 1.08.58 1.23.82.72 1.21 1.87.87 2.33.66.07-.52.28-.87.51-1.07"
    "-1.78-.2-3.64-.89-3.64-3.95 0-.87.31-1.59.82-2.15-.08-.2-.36-1.02.08-2.12 0 0 .67-.21 2.2"
    ".82.64-.18 1.32-.27 2-.27.68 0 1.36.09 2 .27 1.53-1.04 2.2-.82 2.2-.82.44 1.1.16 1.92.08"
    " 2.12.51.56.82 1.27.82 2.15 0 3.07-1.87 3.75-3.65 3.95.29.25.54.73.54 1.48 0 1.07-.01 1.93"
    '-.01 2.2 0 .21.15.46.55.38A8.013 8.013 0 0016 8c0-4.42-3.58-8-8-8z"></path></svg>'
)
html_theme_options = {
    "top_of_page_buttons": [],
    "footer_icons": [
        {"name": "GitHub", "url": REPOSITORY, "html": _GITHUB_SVG, "class": ""},
    ],
}
html_context = {"repository_url": REPOSITORY, "binder_url": BINDER}


def setup(app) -> None:
    stage_sources(Path(app.srcdir))
