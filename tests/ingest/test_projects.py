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
    kept = current_catalogue(tmp_path / "moved" / "projects.yaml", live.read_text(encoding="utf-8"))
    assert kept.digest == load_catalogue(SHIPPED).digest and len(kept.projects) == len(load_catalogue(SHIPPED).projects)
    assert kept.by_slug()["tri-borough"].councils == ("Hammersmith and Fulham", "Kensington and Chelsea", "Westminster")
    assert current_catalogue("", live.read_text(encoding="utf-8")).projects == ()  # an empty setting means no catalogue
    assert current_catalogue(tmp_path / "moved.yaml", None).projects == ()  # nothing live to keep


# -- "uses X" versus "X is mentioned" ------------------------------------------------------------

@pytest.mark.parametrize("sentence, name, relation, reason", [
    # Sentences from the Ofsted inspections in ../shared/corpora/ofsted-ilacs.
    ("The Harbour programme, based on North Yorkshire’s ‘No wrong door’ model, working with children on the "
     "edge of care, is fundamental to the success of these interventions.", "No wrong door", "uses",
     "the inspected council"),
    ("The local authority uses the signs of safety model of social work.", "signs of safety", "uses", "uses"),
    ("The local authority has been successful in securing funding to develop a ‘staying close’ initiative, "
     "although it is too soon to see the impact of this.", "staying close", "mentions", "planned"),
    ("Although several young people benefit from ‘staying put’ arrangements with foster carers, ‘staying close’ "
     "arrangements, to promote relationships with care staff, are not yet developed.", "staying close", "mentions",
     "not yet developed"),
    ("Children’s services leaders have attracted corporate funding to support an ambitious and updated early help "
     "strategy, which will involve delivery through new ‘family hubs’, but it is too soon to evaluate its impact.",
     "family hubs", "mentions", "will involve"),
    ("The disaggregation in April 2018 of the tri-borough arrangements with Westminster City Council and the Royal "
     "Borough of Kensington and Chelsea has led to the development of a range of new services.", "tri-borough",
     "mentions", "stopped"),
    ("The service’s ‘family solutions’ approach, which is similar to family group conferencing, supports families "
     "to find their own solutions.", "family group conferencing", "mentions", "similar to"),
    ("The involvement in the Department for Education Partners in Practice programme has given senior leaders "
     "opportunities to model new ways of working.", "Partners in Practice", "uses", "programme"),
])
def test_uses_or_mentions_from_the_sentence_around_the_name(sentence, name, relation, reason):
    from ingest.projects import classify

    text = "Inspection of a local authority. " + sentence + " Leaders know their services well."
    start = text.lower().index(name.lower())
    found = classify(text, start, start + len(name), inspection=True)
    assert (found.relation, reason in found.reason) == (relation, True), found


def test_only_an_inspection_can_say_uses():
    from ingest.projects import classify

    # Barnet's inspection (2024); the same words in a DfE report would be national context.
    text = "When appropriate, care leavers remain with their foster carers under ‘staying put’ arrangements."
    start = text.index("staying put")
    assert classify(text, start, start + 11, inspection=False).relation == "mentions"
    assert classify(text, start, start + 11, inspection=True).relation == "uses"


def test_a_source_keeps_the_passage_that_says_uses_and_a_weak_alias_never_says_uses(tmp_path):
    from haystack import Document

    from ingest.projects import project_mentions

    catalogue = load_catalogue(_write(tmp_path, "  - name: Staying Close\n    description: d\n"
                                                "  - name: Doncaster Trust\n    description: d\n"
                                                "    weak_aliases: [Doncaster]\n    context: [trust]\n"))
    passages = [Document(content="The council plans to introduce staying close next year.",
                         meta={"ordinal": 0, "type": "inspection"}),
                Document(content="Doncaster uses a trust. Young people benefit from the staying close service.",
                         meta={"ordinal": 1, "type": "inspection"})]
    found = {m.slug: m for m in project_mentions(ProjectLinker(catalogue), passages)}
    assert (found["staying-close"].ordinal, found["staying-close"].relation) == (1, "uses")
    assert "benefit from the staying close service" in found["staying-close"].excerpt
    assert found["doncaster-trust"].relation == "mentions"
    report = [Document(content="Staying close is used in many areas.", meta={"ordinal": 0, "type": "report"})]
    assert project_mentions(ProjectLinker(catalogue), report)[0].relation == "mentions"


def test_relation_survives_storage_and_old_generations_read_as_mentions():
    import json

    from index.records import ProjectMention, SourceRecord

    record = SourceRecord(id="s1", source="a.pdf", title="T", type="inspection", content="c", content_hash="h",
                          date=None, publisher=None, url=None,
                          projects=(ProjectMention("pause", "Pause programme", 3, "…the Pause team…", "uses"),))
    columns = dict(id="s1", source="a.pdf", title="T", type="inspection", content="c", content_hash="h", date=None,
                   publisher=None, url=None)
    again = SourceRecord.from_storage(**columns, meta_json=record.meta_json())
    assert again.projects == record.projects
    old = json.loads(record.meta_json())
    del old["project_evidence"]["pause"]["relation"]
    assert SourceRecord.from_storage(**columns, meta_json=json.dumps(old)).projects[0].relation == "mentions"


def test_shipped_catalogue_links_the_models_the_reports_name():
    catalogue = load_catalogue(SHIPPED)
    assert len(catalogue.projects) >= 25
    linker = ProjectLinker(catalogue)
    # Real sentences (Ofsted inspections) and ordinary phrases that must not link.
    assert "pause" in linker.find("Support to birth parents is provided through the innovative PAUSE project.")
    assert "pause" not in linker.find("Leaders took the opportunity to pause and reflect on their practice.")
    assert "frontline" not in linker.find("Managers have good oversight of frontline practice.")
    assert "supporting-families" not in linker.find("Early help workers are supporting families well.")
    assert "systemic-practice" not in linker.find("Effective use of multi-systemic therapy is helping families.")
    assert "family-safeguarding" not in linker.find("the pressures on child and family safeguarding")
    assert "north-yorkshire-no-wrong-door" not in linker.find(
        "Referrals reflect the council’s ‘no wrong door’ principle.")
    assert set(linker.find("The Harbour programme, based on North Yorkshire’s ‘No wrong door’ model, working with "
                           "children on the edge of care")) == {"dorset-harbour", "north-yorkshire-no-wrong-door"}


def test_based_on_names_another_project_of_the_catalogue(tmp_path):
    path = tmp_path / "projects.yaml"
    path.write_text("projects:\n"
                    "  - name: No Wrong Door\n    description: A model.\n"
                    "  - name: Harbour\n    description: Its version.\n    based_on: [No Wrong Door]\n",
                    encoding="utf-8")
    harbour = load_catalogue(path).by_slug()["harbour"]
    assert harbour.based_on == ("no-wrong-door",)  # a name becomes the slug
    path.write_text("projects:\n  - name: Harbour\n    description: Its version.\n    based_on: [Nowhere]\n",
                    encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"'based_on' has 'Nowhere', which is not another project"):
        load_catalogue(path)
