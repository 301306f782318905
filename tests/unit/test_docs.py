"""The docs site builds in strict mode, so a broken link, a missing anchor or a page left out of
the nav fails the suite; the README's links into it resolve too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def mkdocs_build(config: Path, site_dir: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site_dir``."""
    command = ["mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site_dir)]
    return subprocess.run(
        [sys.executable, "-m", *command],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def ids_of(html: Path) -> set[str]:
    """Every ``id`` in a built page: the anchors a link may point at."""
    parser = _Ids()
    parser.feed(html.read_text())
    return parser.ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's site, built once in strict mode into a temporary directory."""
    site_dir = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT / "mkdocs.yml", site_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def test_the_docs_site_builds_in_strict_mode_with_every_page_and_picture(site: Path) -> None:
    pages = sorted(path.stem for path in (ROOT / "docs").glob("*.md"))

    built = [page for page in pages if (site / ("" if page == "index" else page) / "index.html").exists()]

    assert built == pages
    assert (site / "assets" / "architecture.svg").read_bytes() == (
        ROOT / "diagrams" / "architecture.svg"
    ).read_bytes()
    assert (site / "assets" / "demo-screenshot.png").exists()


def test_a_dangling_anchor_fails_the_strict_build(tmp_path: Path) -> None:
    # Given a tiny site with the project's validation settings and a link to a missing anchor
    settings = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the rule](other.md#no-such-heading).\n")
    (docs / "other.md").write_text("# Other\n\n## A heading\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.safe_dump({"site_name": "t", "validation": settings["validation"]}))

    # When it is built as the project's site is
    result = mkdocs_build(config, tmp_path / "site")

    # Then the build fails, naming the anchor
    assert result.returncode != 0
    assert "no-such-heading" in result.stdout + result.stderr


def test_the_readme_links_resolve_to_files_and_built_anchors(site: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert any(link.startswith("docs/") for link in local)

    broken = []
    for link in local:
        path, _, anchor = link.partition("#")
        if not (ROOT / path).exists():
            broken.append(link)
        elif anchor:
            page = Path(path).relative_to("docs").with_suffix("")
            html = site / ("" if page.name == "index" else page) / "index.html"
            if anchor not in ids_of(html):
                broken.append(link)

    assert broken == []
