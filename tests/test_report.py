"""The review report's parts, without DVC: the diffs it quotes and the pictures it draws."""

import contextlib
import io

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from mnist_pipeline import report
from mnist_pipeline.errors import UserError
from tests.conftest import git_commit, run
from tests.strategies import assert_one_clear_line

CHART = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "title": {"text": "Validation loss"},
    "data": {
        "values": [
            {"epoch": epoch, "val_loss": loss, "rev": rev}
            for rev, losses in (("HEAD~1", (0.3, 0.2)), ("HEAD", (0.25, 0.1)))
            for epoch, loss in enumerate(losses, 1)
        ]
    },
    "mark": "line",
    "encoding": {
        "x": {"field": "epoch", "type": "quantitative"},
        "y": {"field": "val_loss", "type": "quantitative"},
        "color": {"field": "rev", "type": "nominal"},
    },
}


def png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, "PNG")
    return buffer.getvalue()


def image_entries(tmp_path, name: str, by_rev: dict[str, bytes]) -> list[dict]:
    """What `dvc plots diff --json` lists for an image plot: one file per revision."""
    entries = []
    for rev, data in by_rev.items():
        path = tmp_path / f"{rev}_{name}"
        path.write_bytes(data)
        entries.append({"type": "image", "revisions": [rev], "url": str(path)})
    return entries


def test_a_diff_table_without_rows_becomes_a_sentence():
    empty = "| Path   | Metric   | HEAD~1   | HEAD   | Change   |\n|--------|------|\n\n"
    assert report.diff_table(empty, "No metric changed.") == "No metric changed."
    row = empty.strip() + "\n| a.json | acc | 0.9 | 0.91 | 0.01 |\n"
    assert report.diff_table(row, "No metric changed.") == row.strip()


def test_the_study_changes_are_the_lines_that_differ_marked_by_side():
    base = "| arm | acc |\n| adam | 0.98 |\n- **adam**: equivalent.\n"
    target = "| arm | acc |\n| adam | 0.99 |\n- **adam**: better.\n"
    assert report.study_changes(base, target) == [
        "-| adam | 0.98 |",
        "-- **adam**: equivalent.",
        "+| adam | 0.99 |",
        "+- **adam**: better.",
    ]
    assert report.study_changes(base, base) == []
    assert report.study_changes(None, None) == []
    assert report.study_changes(None, target)[0] == "+| arm | acc |"  # the study is new


def test_each_chart_is_drawn_once_and_an_image_plot_once_unless_it_changed(tmp_path):
    dvc_images = tmp_path / "dvc"
    dvc_images.mkdir()
    plots = {
        "val_loss": [{"type": "vega", "revisions": ["HEAD~1", "HEAD"], "content": CHART}],
        "plots/figures/same.png": image_entries(
            dvc_images, "same.png", {"HEAD~1": png("red"), "HEAD": png("red")}
        ),
        "plots/figures/moved.png": image_entries(
            dvc_images, "moved.png", {"HEAD": png("blue"), "HEAD~1": png("red")}
        ),
        "plots/figures/new.png": image_entries(dvc_images, "new.png", {"HEAD": png("green")}),
        "study/figures/gone.png": [],  # how DVC lists a plot found at neither revision
    }
    out = tmp_path / "out"
    out.mkdir()
    markdown = "\n\n".join(report.render_plots(plots, out, ("HEAD~1", "HEAD")))

    written = {path.name: path.read_bytes() for path in (out / "plots").iterdir()}
    assert set(written) == {
        "val_loss.png",
        "plots_figures_same.png",
        "plots_figures_moved.base.png",
        "plots_figures_moved.target.png",
        "plots_figures_new.png",
    }
    assert written["plots_figures_moved.base.png"] == png("red")  # base is HEAD~1, whatever
    assert written["plots_figures_moved.target.png"] == png("blue")  # order DVC lists them in
    with Image.open(out / "plots" / "val_loss.png") as chart:
        assert chart.format == "PNG" and chart.width > 100
    for name in written:
        assert f"(plots/{name})" in markdown
    assert "### Validation loss" in markdown  # the chart's own title
    assert "The same at both revisions." in markdown and "Only at HEAD." in markdown
    assert "| HEAD~1 | HEAD |" in markdown and "gone" not in markdown


@pytest.mark.parametrize(
    "plot_id, name",
    [("val_loss", "val_loss"), ("plots/figures/sgd_curves.png", "plots_figures_sgd_curves")],
)
def test_a_plot_is_named_by_its_path(plot_id, name):
    assert report.slug(plot_id) == name


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A git repository with one commit of a study report (no DVC needed to read it)."""
    root = tmp_path_factory.mktemp("repository")
    (root / "study").mkdir()
    (root / "study" / "report.md").write_text("- **adam-128**: equivalent.\n")
    run(["git", "init", "-q"], cwd=root)
    git_commit(root, "a study")
    return root


@example(rev="\r")  # found by the search: it broke the one-line rule
@given(rev=st.text(max_size=24) | st.sampled_from(["HEAD", "HEAD~1", "--help", "-x", "a..b"]))
def test_any_revision_is_read_or_refused_in_one_line(repository, rev):
    with contextlib.chdir(repository):
        try:
            text = report.study_report(rev)
        except UserError as error:
            assert_one_clear_line(error, rev if rev.isprintable() and rev.strip() else repr(rev))
        else:
            assert text == "- **adam-128**: equivalent.\n"


def test_the_study_counts_as_unchanged_only_when_git_sees_the_same_files_in_it(tmp_path):
    # Then the report leaves the study's DVC project alone (seconds to load its stages).
    (tmp_path / "study" / "figures").mkdir(parents=True)
    (tmp_path / "study" / "dvc.yaml").write_text("plots:\n  - figures/a.png\n  - figures/b.png\n")
    (tmp_path / "study" / "figures" / "a.png").write_bytes(png("red"))
    run(["git", "init", "-q"], cwd=tmp_path)
    git_commit(tmp_path, "a study")
    (tmp_path / "params.yaml").write_text("lr: 0.1\n")
    git_commit(tmp_path, "a change beside the study")
    with contextlib.chdir(tmp_path):
        assert report.study_unchanged("HEAD~1", "HEAD") and report.study_unchanged("HEAD", None)
        plots = report.unchanged_study_plots("HEAD", ("HEAD~1", "HEAD"), tmp_path / "images")
        assert plots["figures/b.png"] == []  # at neither revision
        shown = [(entry["revisions"], entry["url"]) for entry in plots["figures/a.png"]]
        assert [revisions for revisions, _ in shown] == [["HEAD~1"], ["HEAD"]]
        assert {open(url, "rb").read() for _, url in shown} == {png("red")}

        (tmp_path / "study" / "figures" / "b.png").write_bytes(png("blue"))  # untracked
        assert not report.study_unchanged("HEAD", None)
        git_commit(tmp_path, "a new figure")
        assert not report.study_unchanged("HEAD~1", "HEAD") and report.study_unchanged("HEAD", None)
        (tmp_path / "study" / "figures" / "a.png").write_bytes(png("green"))  # modified
        assert not report.study_unchanged("HEAD", None)

        # A chart (not an image file) is DVC's to draw: no shortcut.
        (tmp_path / "study" / "dvc.yaml").write_text("plots:\n  - plots/sensitivity.csv\n")
        assert report.unchanged_study_plots(None, ("HEAD", "workspace"), tmp_path / "x") is None
