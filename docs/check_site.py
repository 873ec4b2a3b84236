"""Check a built documentation site: internal links resolve, and nothing is fetched remotely.

    python docs/check_site.py docs/_build/html

Fails (exit 1, one line per problem) where

* a relative ``href``/``src`` points at a file the site lacks, or at an ``#anchor`` the
  target page does not define;
* a page would load something from the web: a ``<script src>``, ``<link href>``, ``<img>``,
  ``<iframe>``, ``<source>``, ``<video>``, ``<audio>`` or ``<embed>`` with an absolute URL,
  or a stylesheet (``.css``) with a remote ``url(...)`` or ``@import``.

Links to other sites (``<a href="https://...">``) are allowed: following one is the
reader's choice, not something the page loads.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Tags whose URL attribute the browser fetches when the page loads.
FETCHED = {
    "script": "src",
    "link": "href",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
}
REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
CSS_REMOTE = re.compile(r"""url\(\s*['"]?\s*(?:https?:)?//|@import\s+['"]?(?:https?:)?//""", re.I)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        for key in ("id", "name") if tag == "a" else ("id",):
            if key in values:
                self.ids.add(values[key])
        for attr in ("href", "src"):
            if attr in values:
                self.urls.append((tag, attr, values[attr].strip()))
        if "srcset" in values:
            for part in values["srcset"].split(","):
                if part.strip():
                    self.urls.append((tag, "srcset", part.split()[0]))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def check_site(site: Path) -> list[str]:
    """Every problem found in the site under ``site``, as readable lines (empty: all good)."""
    site = site.resolve()
    pages = {p.resolve(): _parse(p) for p in site.rglob("*.html")}
    problems: list[str] = []
    if not pages:
        return [f"{site}: no HTML pages"]
    for path, page in sorted(pages.items()):
        where = path.relative_to(site)
        for tag, attr, url in page.urls:
            if REMOTE.match(url):
                if FETCHED.get(tag) == attr or attr == "srcset":
                    problems.append(f"{where}: <{tag} {attr}> loads from the web: {url}")
                continue
            if SCHEME.match(url) or not url:  # mailto:, data:, javascript:, ...
                continue
            parts = urlsplit(url)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if site not in target.parents and target != site:
                problems.append(f"{where}: <{tag} {attr}> points outside the site: {url}")
            elif not target.exists():
                problems.append(f"{where}: <{tag} {attr}> broken link: {url}")
            elif parts.fragment and target.suffix == ".html":
                anchor = unquote(parts.fragment)
                if anchor not in pages[target].ids:
                    problems.append(f"{where}: <{tag} {attr}> no anchor #{anchor} in {url}")
    for css in sorted(site.rglob("*.css")):
        for match in CSS_REMOTE.finditer(css.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{css.relative_to(site)}: stylesheet loads from the web: {match[0]}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check_site(Path(argv[0]))
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"check_site: {len(problems)} problem(s) in {argv[0]}", file=sys.stderr)
        return 1
    print(f"check_site: {argv[0]}: internal links resolve, nothing is loaded from the web")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
