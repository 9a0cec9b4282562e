import os
import pytest

from termigen_harbor.bundle import BundleError, BundleFile, Provenance, TaskBundle, harbor_accepts

from termigen_harbor.testing import make_bundle


def test_round_trip_keeps_every_file_mode_and_metadata(tmp_path):
    bundle = make_bundle().model_copy(update={"provenance": Provenance(source="synthesized", model="m", gate_rounds=[{"oracle": 1.0}])})
    bundle.environment["data/input.csv"] = BundleFile(content=b"a,b\n\x00\x01", executable=False)
    root = bundle.write(tmp_path)
    assert root == tmp_path / "count-words"
    assert os.access(root / "solution" / "solve.sh", os.X_OK)
    assert not os.access(root / "environment" / "data" / "input.csv", os.X_OK)
    again = TaskBundle.read(root)
    assert again == bundle
    assert again.taxonomy.category == "data_etl" and again.taxonomy.tier == 2
    assert harbor_accepts(root)


def test_written_bundle_is_read_by_harbor_itself(tmp_path):
    from harbor.models.task.task import Task

    task = Task(make_bundle().write(tmp_path))
    assert task.config.agent.timeout_sec == 120
    assert "count.txt" in task.instruction


@pytest.mark.parametrize("bad", ["/etc/passwd", "../escape", "a/../../escape", "a/./../../b", "", "dir\\file", "n" * 300, "a/" * 600 + "b"])
def test_write_refuses_paths_that_leave_the_bundle(tmp_path, bad):
    bundle = make_bundle()
    bundle.tests[bad] = BundleFile.text("x")
    with pytest.raises(BundleError):
        bundle.write(tmp_path)
    assert not any(p.name == "escape" for p in tmp_path.rglob("*"))
    assert not (tmp_path.parent / "escape").exists()


def test_write_refuses_a_name_that_is_a_path(tmp_path):
    with pytest.raises(BundleError, match="single path component"):
        make_bundle(name="a/b").write(tmp_path)
    with pytest.raises(BundleError, match="leaves the bundle"):
        make_bundle(name="..").write(tmp_path)


def test_write_refuses_to_write_through_a_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "tasks" / "count-words"
    (root / "tests").mkdir(parents=True)
    (root / "environment").symlink_to(outside)
    with pytest.raises(BundleError, match="symlink"):
        make_bundle().write(tmp_path / "tasks", overwrite=True)
    assert list(outside.iterdir()) == []
    assert not (root / "instruction.md").exists(), "nothing is written when any path is refused"


def test_write_refuses_a_non_empty_directory_unless_told(tmp_path):
    make_bundle().write(tmp_path)
    with pytest.raises(BundleError, match="not empty"):
        make_bundle().write(tmp_path)
    make_bundle().write(tmp_path, overwrite=True)


def test_read_refuses_symlinks_inside_the_bundle(tmp_path):
    root = make_bundle().write(tmp_path)
    (root / "tests" / "link.py").symlink_to("/etc/passwd")
    with pytest.raises(BundleError) as err:
        TaskBundle.read(root)
    assert err.value.file == "tests/link.py"


def test_read_names_the_field_of_a_bad_config(tmp_path):
    root = make_bundle().write(tmp_path)
    (root / "task.toml").write_text('[agent]\ntimeout_sec = "soon"\n')
    with pytest.raises(BundleError) as err:
        TaskBundle.read(root)
    assert err.value.file == "task.toml" and err.value.field == "[agent].timeout_sec"
    assert "valid number" in str(err.value)


def test_read_reports_toml_syntax_errors_with_the_line(tmp_path):
    root = make_bundle().write(tmp_path)
    (root / "task.toml").write_text('[agent]\ntimeout_sec = 10\n[verifier\n')
    with pytest.raises(BundleError, match=r"task.toml: not valid TOML: .*line 3"):
        TaskBundle.read(root)


def test_read_reports_a_missing_instruction_and_bad_taxonomy(tmp_path):
    root = make_bundle().write(tmp_path)
    (root / "task.toml").write_text('[metadata]\ncategory = "x"\ntier = "top"\n')
    with pytest.raises(BundleError) as err:
        TaskBundle.read(root)
    assert err.value.field == "[metadata].tier"
    (root / "instruction.md").unlink()
    with pytest.raises(BundleError, match="instruction.md: missing"):
        TaskBundle.read(root)
