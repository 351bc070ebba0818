"""The projects catalogue: checked on load with errors naming entry and field; alias matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.projects import CatalogueError, ProjectLinker, load_catalogue

pytestmark = pytest.mark.unit

SHIPPED = Path(__file__).resolve().parents[2] / "corpus" / "projects.yaml"


def _write(tmp_path, body: str) -> Path:
    path = tmp_path / "projects.yaml"
    path.write_text("projects:\n" + body, encoding="utf-8")
    return path


def test_shipped_catalogue_has_the_seed_projects():
    catalogue = load_catalogue(SHIPPED)
    names = {p.name for p in catalogue.projects}
    assert len(catalogue.projects) >= 10
    for expected in ("Reclaiming Social Work", "Signs of Safety", "Doncaster Children's Services Trust",
                     "Achieving for Children", "Durham Aycliffe", "Tri-Borough", "Evolve YP's Social Work Practice"):
        assert expected in names
    slugs = catalogue.by_slug()
    assert slugs["tri-borough"].councils == ("Hammersmith and Fulham", "Kensington and Chelsea", "Westminster")
    assert all(p.description for p in catalogue.projects)


@pytest.mark.parametrize("entry, message", [
    ("  - description: no name\n", "entry 1: 'name' is missing"),
    ("  - name: A\n", "entry 1 (A): 'description' is missing"),
    ("  - name: A\n    description: d\n    themes: [safety]\n", "entry 1 (A): 'themes' has 'safety'"),
    ("  - name: A\n    description: d\n    councils: [Gotham]\n", "entry 1 (A): 'councils' has 'Gotham'"),
    ("  - name: A\n    description: d\n    years: [2016, 2014]\n", "entry 1 (A): 'years' must be"),
    ("  - name: A\n    description: d\n    weak_aliases: [Hackney]\n", "entry 1 (A): 'weak_aliases' need 'context'"),
    ("  - name: A\n    description: d\n    colour: red\n", "entry 1 (A): unknown field 'colour'"),
    ("  - name: A\n    description: d\n    links: [{title: x, url: 'javascript:alert(1)'}]\n", "'links' must be"),
    ("  - name: A\n    description: d\n  - name: A\n    description: e\n", "entry 2 (A): slug 'a' is also entry 1's"),
])
def test_errors_name_the_entry_and_the_field(tmp_path, entry, message):
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(_write(tmp_path, entry))
    assert message in str(caught.value) and "projects.yaml" in str(caught.value)


def test_council_aliases_become_names_and_missing_file_is_empty(tmp_path):
    catalogue = load_catalogue(_write(tmp_path, "  - name: A\n    description: d\n    councils: [Richmond, Lincs]\n"))
    assert catalogue.projects[0].councils == ("Richmond upon Thames", "Lincolnshire")
    assert load_catalogue(tmp_path / "none.yaml").projects == ()
    with pytest.raises(CatalogueError, match="cannot be read as YAML"):
        load_catalogue(_write(tmp_path, "  - name: [unclosed\n"))


@pytest.mark.parametrize("text, found", [
    ("the Triborough arrangement", True),
    ("the tri borough arrangement", True),
    ("TRI-BOROUGH", True),
    ("Evolve’s YP’s Social Work Practice", True),
    ("tribal boroughs", False),
])
def test_alias_variants(tmp_path, text, found):
    catalogue = load_catalogue(_write(tmp_path, "  - name: Tri-Borough\n    description: d\n"
                                                "  - name: Evolve YP's Social Work Practice\n    description: d\n"))
    assert bool(ProjectLinker(catalogue).find(text)) is found


def test_weak_alias_needs_context_in_the_same_passage(tmp_path):
    catalogue = load_catalogue(_write(tmp_path, "  - name: Doncaster Trust\n    description: d\n"
                                                "    weak_aliases: [Doncaster]\n    context: [trust]\n"))
    linker = ProjectLinker(catalogue)
    assert linker.find("Doncaster Rovers won on Saturday.") == {}
    assert "doncaster-trust" in linker.find("The work with Doncaster to develop an independent trust.")
    assert "doncaster-trust" in linker.find("The Doncaster Trust opened.")
    assert linker.find("Aycliffes and Doncasters") == {}


def test_a_missing_catalogue_file_keeps_the_live_one(tmp_path):
    from ingest.projects import current_catalogue

    live = tmp_path / "projects.json"
    live.write_text(load_catalogue(SHIPPED).to_json(), encoding="utf-8")
    kept = current_catalogue(tmp_path / "moved" / "projects.yaml", live)
    assert kept.digest == load_catalogue(SHIPPED).digest and len(kept.projects) == len(load_catalogue(SHIPPED).projects)
    assert kept.by_slug()["tri-borough"].councils == ("Hammersmith and Fulham", "Kensington and Chelsea", "Westminster")
    assert current_catalogue("", live).projects == ()  # an empty setting means no catalogue
    assert current_catalogue(tmp_path / "moved.yaml", None).projects == ()  # nothing live to keep
