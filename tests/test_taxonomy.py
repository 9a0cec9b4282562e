import pytest

from termigen_harbor.taxonomy import TaxonomyError, load_taxonomy, parse_taxonomy
from termigen_harbor.validate import discover
from termigen_harbor.bundle import TaskBundle

from termigen_harbor.testing import TEMPLATES


def test_the_termigen_taxonomy_has_three_tiers_and_eleven_categories():
    taxonomy = load_taxonomy("termigen")
    assert [t.id for t in taxonomy.tiers] == [1, 2, 3] and len(taxonomy.categories) == 11
    assert all(c.goal and c.skills and c.seeds for c in taxonomy.categories)
    assert taxonomy.tier_of("distributed_parallel") == 3


def test_the_litecoder_domains_are_ten():
    assert [c.id for c in load_taxonomy("litecoder").categories] == [
        "ai_ml", "build_tools", "data_science", "networking", "security", "system_administration",
        "version_control", "coding", "scientific_computing", "games",
    ]  # fmt: skip


def test_every_template_is_filed_under_a_termigen_category_and_tier():
    taxonomy = load_taxonomy("termigen")
    ids = {c.id for c in taxonomy.categories}
    for template in discover([TEMPLATES]):
        tax = TaskBundle.read(template).taxonomy
        assert tax.category in ids and tax.tier == taxonomy.tier_of(tax.category), template.name


GOOD = """name: mine
tiers:
  - id: 1
    name: One
    categories:
      - id: first
        name: First
        goal: Do things.
        skills: [bash]
"""


def test_a_users_file_works_and_a_malformed_one_names_the_line_and_problem(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    assert load_taxonomy(str(path)).categories[0].id == "first"
    with pytest.raises(TaxonomyError, match=r"line 6: tiers.0.categories.0.skills: Field required"):
        parse_taxonomy(GOOD.replace("        skills: [bash]\n", ""), "mine.yaml")
    with pytest.raises(TaxonomyError, match=r"line 6: not valid YAML"):
        parse_taxonomy(GOOD.replace("categories:", "categories: [oops"), "mine.yaml")
    with pytest.raises(TaxonomyError, match=r"appears twice"):
        parse_taxonomy(GOOD + GOOD.split("categories:\n")[1], "mine.yaml")
    with pytest.raises(TaxonomyError, match=r"line 6: tiers.0.categories.0.id: String should match"):
        parse_taxonomy(GOOD.replace("id: first", "id: First Category"), "mine.yaml")
    with pytest.raises(TaxonomyError, match="no such taxonomy"):
        load_taxonomy("nope")
