"""The documentation website: ``bash docs/build.sh`` builds it from the stored notebooks and
the docstrings, offline, with warnings as errors and every internal link checked.

The site is built once per session, into the session's temporary folder (not docs/_build,
so a run never disturbs a build of your own); ``build_docs`` is shared with the browser
test (``tests/browser/test_docs_site.py``), which opens the same build in Chromium.
The repository's address is one setting, ``[project.urls] Repository`` in pyproject.toml:
the site reads it, and the README's Binder badges must name the same repository.
"""

from __future__ import annotations

import importlib.util
import json
import pkgutil
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import tomllib

import ntm_nb

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BUILD_TIMEOUT_S = 600  # about a minute on an idle 2-core machine


@dataclass(frozen=True)
class DocsBuild:
    out: Path
    returncode: int
    output: str
    seconds: float

    @property
    def html(self) -> Path:
        return self.out / "html"


_BUILDS: dict[Path, DocsBuild] = {}


def build_docs(out: Path) -> DocsBuild:
    """Run ``bash docs/build.sh OUT`` once per folder and session; later calls reuse it."""
    out = out.resolve()
    if out not in _BUILDS:
        start = time.perf_counter()
        proc = subprocess.run(
            ["bash", str(REPO / "docs" / "build.sh"), str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        _BUILDS[out] = DocsBuild(
            out, proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - start
        )
    return _BUILDS[out]


def docs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's one build folder (the same for every module that asks)."""
    return tmp_path_factory.getbasetemp() / "docs_site"


@pytest.fixture(scope="session")
def docs(tmp_path_factory: pytest.TempPathFactory) -> DocsBuild:
    build = build_docs(docs_folder(tmp_path_factory))
    if build.returncode != 0:
        pytest.fail(
            f"bash docs/build.sh exited {build.returncode}:\n{build.output[-6000:]}",
            pytrace=False,
        )
    return build


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _outputs(nb: dict) -> list[dict]:
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def png_outputs(path: Path) -> int:
    """How many outputs of a stored notebook carry an image/png (plots and widget pictures)."""
    return sum("image/png" in o.get("data", {}) for o in _outputs(_notebook(path)))


# ----------------------------------------------------------------------------------------
# The build
# ----------------------------------------------------------------------------------------
def test_build_succeeds_with_warnings_as_errors(docs: DocsBuild) -> None:
    assert (docs.html / "index.html").is_file()
    assert docs.seconds < 300, f"the docs build took {docs.seconds:.0f} s"


def test_build_script_is_strict_and_checks_the_site() -> None:
    script = (REPO / "docs" / "build.sh").read_text()
    assert "-W" in script.split() and "--keep-going" in script.split()
    assert "check_site.py" in script
    conf = (REPO / "docs" / "conf.py").read_text()
    assert re.search(r"""^nb_execution_mode\s*=\s*["']off["']""", conf, re.M)


def test_every_notebook_has_a_page(docs: DocsBuild) -> None:
    assert NOTEBOOKS, "no notebooks/*.ipynb"
    index = (docs.html / "index.html").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        page = docs.html / "notebooks" / f"{path.stem}.html"
        assert page.is_file(), f"no page for {path.name}"
        assert f'href="notebooks/{path.stem}.html"' in index, f"index does not link {path.name}"


def test_pages_show_the_stored_outputs_without_running_anything(docs: DocsBuild) -> None:
    """Every stored PNG is on its page (a widget output shows its picture, not its view), and
    no widget view or widget-manager script (from a CDN) is left."""
    for path in NOTEBOOKS:
        html = (docs.html / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        output_images = re.findall(r'<img[^>]*src="(\.\./_images/[^"]+)"', html)
        assert len(output_images) >= png_outputs(path), (
            f"{path.name}: {png_outputs(path)} stored PNG outputs, "
            f"{len(output_images)} images on its page"
        )
        for src in output_images:
            assert (docs.html / "notebooks" / src).resolve().is_file(), src
        assert WIDGET_VIEW not in html, f"{path.name}: a widget view was rendered"
        assert "require.js" not in html and "embed-amd" not in html, path.name


def test_math_is_rendered_by_the_bundled_mathjax(docs: DocsBuild) -> None:
    mathjax = docs.html / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.is_file()
    fonts = list((docs.html / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert fonts, "MathJax's CHTML fonts are not in the site"
    page = (docs.html / "notebooks" / "01_memory.html").read_text(encoding="utf-8")
    assert 'class="math' in page
    assert re.search(r'<script[^>]*src="\.\./_static/mathjax/tex-chtml\.js', page)


def test_every_public_module_has_an_api_page(docs: DocsBuild) -> None:
    documented = set()
    for page in (docs.html / "api").glob("*.html"):
        documented |= set(re.findall(r'id="module-(ntm_nb[\w.]*)"', page.read_text("utf-8")))
    public = {
        m.name
        for m in pkgutil.walk_packages(ntm_nb.__path__, prefix="ntm_nb.")
        if not any(part.startswith("_") for part in m.name.split("."))
    }
    named = {"tasks", "viz", "widgets", "memory", "addressing", "controller", "heads"}
    named |= {"model", "baseline", "records", "optim", "checkpoint", "train", "describe"}
    named |= {"pretrained", "cli"}
    missing = sorted(({"ntm_nb"} | public | {f"ntm_nb.{n}" for n in named}) - documented)
    assert not missing, f"modules without an API reference: {missing}"


def test_site_checker_catches_broken_links_and_remote_loads(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("check_site", REPO / "docs" / "check_site.py")
    check_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_site)
    (tmp_path / "a.html").write_text('<p id="here"></p><a href="#here">ok</a>')
    assert check_site.check_site(tmp_path) == []
    (tmp_path / "b.html").write_text(
        '<a href="a.html#gone">x</a><a href="missing.html">y</a>'
        '<script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example/f.css"><a href="https://arxiv.org">z</a>'
    )
    (tmp_path / "s.css").write_text("@font-face { src: url(https://fonts.example/f.woff2) }")
    problems = "\n".join(check_site.check_site(tmp_path))
    for expected in ["#gone", "missing.html", "cdn.example", "fonts.example/f.css", "s.css"]:
        assert expected in problems
    assert "arxiv" not in problems


# ----------------------------------------------------------------------------------------
# The repository's address: one setting
# ----------------------------------------------------------------------------------------
def repository_url() -> str:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["project"]["urls"]["Repository"].rstrip("/")


def binder_links(text: str) -> list[str]:
    return re.findall(r"https://mybinder\.org/v2/gh/[^\s)\"'<>]+", text)


def test_repository_is_one_github_address() -> None:
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repository_url())


def test_readme_binder_badges_use_the_repository_and_existing_notebooks() -> None:
    slug = urlsplit(repository_url()).path.strip("/")
    links = binder_links((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(links) >= 2, "the README has a JupyterLab and a Voila Binder badge"
    for link in links:
        parts = urlsplit(link)
        assert parts.path.startswith(f"/v2/gh/{slug}/"), (
            f"{link}: the Binder badge names another repository than pyproject.toml's "
            f"Repository ({repository_url()})"
        )
        (urlpath,) = parse_qs(parts.query)["urlpath"]
        kind, _, target = urlpath.partition("/")
        assert kind in {"lab", "voila"}, link
        target = target.split("/", 1)[1]  # lab/tree/X, voila/render/X -> X
        assert (REPO / target).is_file(), f"{link}: {target} does not exist"


def test_readme_names_the_setting_and_the_build_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Documentation" in readme
    assert "bash docs/build.sh" in readme
    assert "[project.urls]" in readme


def test_site_uses_the_repository_address(docs: DocsBuild) -> None:
    url = repository_url()
    index = (docs.html / "index.html").read_text(encoding="utf-8")
    assert f'href="{url}"' in index
    slug = urlsplit(url).path.strip("/")
    assert f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/notebooks/" in index
    for link in binder_links(index):
        assert f"/v2/gh/{slug}/" in link


def test_a_workflow_publishes_the_site() -> None:
    workflow = (REPO / ".github" / "workflows" / "docs.yml").read_text(encoding="utf-8")
    assert "bash docs/build.sh" in workflow
    assert "docs/_build/html" in workflow
    assert "actions/deploy-pages" in workflow
