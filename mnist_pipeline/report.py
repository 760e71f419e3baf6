"""The review report: what a change did to the results, in one markdown file with its pictures.

    python -m mnist_pipeline.report main              # main against the workspace
    python -m mnist_pipeline.report HEAD~1 HEAD --out review

BASE and TARGET are revisions as DVC takes them (a commit, a branch, a tag, an experiment's
name); without TARGET, the workspace. OUT/report.md holds:
- the metrics that changed, from `dvc metrics diff --md --precision 4` (without the precision,
  float noise such as 0.009000000000000001 fills the Change column);
- the params that changed, from `dvc params diff --md`;
- the lines of the study's report (its table and verdicts) that changed, if any did;
- the same three for the optimizer study, a DVC project of its own in study/, when git sees a
  change in study/ (all its outputs are in git; unchanged, its diffs are empty, and its images
  are read from git rather than by DVC, which takes seconds to load the study's stages);
- every plot of the dvc.yaml files, from `dvc plots diff --json`: each chart drawn once with
  both revisions in it, and each image plot once if it is the same at both, else side by side.
The pictures go to OUT/plots/. vl-convert draws the charts with the vega it bundles, DVC reads
the revisions from git and its cache, so nothing touches the network. OUT is replaced as a
whole, once the report is complete. `.github/workflows/ci.yaml` posts it on pull requests.
"""

import difflib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import vl_convert
import yaml

from mnist_pipeline import cli
from mnist_pipeline.dvc_command import dvc
from mnist_pipeline.errors import UserError

STUDY = "study"  # the optimizer study's DVC project
STUDY_REPORT = f"{STUDY}/report.md"
# What DVC calls the working tree in its tables and plot data.
WORKSPACE = "workspace"


def diff_table(markdown: str, nothing: str) -> str:
    """DVC's markdown table, or a sentence when it has no rows (DVC prints the header alone)."""
    rows = markdown.strip().splitlines()
    return "\n".join(rows) if len(rows) > 2 else nothing


def study_changes(base: str | None, target: str | None) -> list[str]:
    """The study report's lines that differ, `-` for the base's and `+` for the target's."""
    if base == target:
        return []
    lines = difflib.unified_diff(
        (base or "").splitlines(), (target or "").splitlines(), lineterm="", n=0
    )
    return [line for line in lines if not line.startswith(("---", "+++", "@@"))]


def study_section(changed: list[str]) -> str:
    if not changed:
        return f"`{STUDY_REPORT}` did not change."
    lines = "\n".join(changed)
    return f"Lines of `{STUDY_REPORT}` that changed:\n\n```diff\n{lines}\n```"


def commit(rev: str) -> str:
    """The commit `rev` names, as DVC resolves it (experiments' names too)."""
    from dvc.scm import SCM, RevError, resolve_rev

    try:
        return resolve_rev(SCM(os.curdir), rev)
    except RevError:
        shown = rev if rev.isprintable() and rev.strip() else repr(rev)  # the line stays one line
        raise UserError(f"{shown}: not a revision of this repository") from None


def files_at(rev: str | None) -> Callable[[str], bytes | None]:
    """A reader of revision `rev`'s files (None: the workspace), resolved once: path -> its
    bytes, or None where it is not."""
    if rev is None:
        return lambda path: Path(path).read_bytes() if Path(path).is_file() else None
    from dvc.scm import SCM

    fs = SCM(os.curdir).get_fs(commit(rev))
    return lambda path: fs.read_bytes(path) if fs.isfile(path) else None


def study_report(rev: str | None) -> str | None:
    """`study/report.md` at `rev` (None: the workspace), or None where it does not exist."""
    text = files_at(rev)(STUDY_REPORT)
    return None if text is None else text.decode()


def study_unchanged(base: str, target: str | None) -> bool:
    """Whether git sees the same study/ at both revisions (the workspace for None, untracked
    files included)."""
    revs = [commit(base), *([commit(target)] if target else [])]
    diff = subprocess.run(["git", "diff", "--quiet", *revs, "--", STUDY])
    if diff.returncode != 0:
        return False
    listed = ["git", "ls-files", "--others", "--exclude-standard", "--", STUDY]
    return target is not None or not subprocess.run(listed, capture_output=True).stdout


def unchanged_study_plots(target: str | None, labels: tuple[str, str], folder: Path) -> dict | None:
    """The plots of a study that is the same at both revisions, as `dvc plots diff --json` lists
    them: each image file once, read from `target`, shown under both labels. None if a plot is
    not an image file: DVC draws those."""
    read = files_at(target)
    pipeline = read(f"{STUDY}/dvc.yaml")
    paths = yaml.safe_load(pipeline).get("plots", []) if pipeline else []
    if not all(isinstance(path, str) and path.endswith(".png") for path in paths):
        return None
    folder.mkdir()
    plots = {}
    for path in paths:
        image = read(f"{STUDY}/{path}")
        if image is None:
            plots[path] = []
            continue
        (folder / slug(path)).write_bytes(image)
        url = str(folder / slug(path))
        plots[path] = [{"type": "image", "revisions": [label], "url": url} for label in labels]
    return plots


def slug(plot_id: str) -> str:
    """A file name for a plot: `plots/figures/sgd_curves.png` -> `plots_figures_sgd_curves`."""
    return plot_id.removesuffix(".png").replace("/", "_")


def render_plots(plots: dict, folder: Path, labels: tuple[str, str]) -> list[str]:
    """Write each plot's picture(s) under `folder`/plots; return the report's markdown for them."""
    (folder / "plots").mkdir()
    sections = []
    for plot_id, entries in plots.items():
        if not entries:  # a plot file at neither revision: nothing to show
            continue
        name = slug(plot_id)
        if entries[0]["type"] == "vega":
            spec = entries[0]["content"]
            (folder / "plots" / f"{name}.png").write_bytes(vl_convert.vegalite_to_png(spec))
            title = spec.get("title", {}).get("text", plot_id)
            sections.append(f"### {title}\n\n![{plot_id}](plots/{name}.png)")
            continue
        images = {entry["revisions"][0]: Path(entry["url"]).read_bytes() for entry in entries}
        if len(set(images.values())) == 1:
            (folder / "plots" / f"{name}.png").write_bytes(next(iter(images.values())))
            note = "The same at both revisions." if len(images) > 1 else f"Only at {[*images][0]}."
            sections.append(f"### {plot_id}\n\n{note}\n\n![{plot_id}](plots/{name}.png)")
            continue
        cells = []
        for side, label in zip(("base", "target"), labels, strict=True):
            (folder / "plots" / f"{name}.{side}.png").write_bytes(images[label])
            cells.append(f"![{plot_id} at {label}](plots/{name}.{side}.png)")
        table = f"| {labels[0]} | {labels[1]} |\n|---|---|\n| {cells[0]} | {cells[1]} |"
        sections.append(f"### {plot_id}\n\n{table}")
    return sections


def write_report(base: str, target: str | None, out: Path) -> list[Path]:
    """Make the report of `target` (None: the workspace) against `base` in `out`; return its
    files."""
    revs = [base] if target is None else [base, target]
    labels = (base, target or WORKSPACE)
    changed = study_changes(study_report(base), study_report(target))
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: not a folder; the report needs a folder of its own (--out)")
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        # The same three diffs in each DVC project, the pipeline's and the study's (a project
        # of its own, in study/), side by side, as each spends most of its time loading its
        # pipeline; the study's only if it changed. DVC puts each revision's images in `images`.
        study_plots = None
        if study_unchanged(base, target):
            study_plots = unchanged_study_plots(target, labels, scratch / "study-images")
        projects = [(None, scratch / "dvc-images")]
        if study_plots is None:
            projects.append((STUDY, scratch / "study"))
        jobs = [
            (project, command)
            for project, images in projects
            for command in [
                ("metrics", "diff", *revs, "--md", "--precision", "4"),
                ("params", "diff", *revs, "--md"),
                ("plots", "diff", *revs, "--json", "-o", str(images)),
            ]
        ]
        with ThreadPoolExecutor() as pool:
            metrics, params, plots, *study = pool.map(
                lambda job: dvc(*job[1], capture=True, cwd=job[0]), jobs
            )
        if study:
            study_metrics, study_params, study_json = study
            study_plots = json.loads(study_json)["data"]
        else:
            study_metrics = study_params = ""
        study_plots = {f"{STUDY}/{plot_id}": entries for plot_id, entries in study_plots.items()}
        report = scratch / "report"
        report.mkdir()
        sections = [
            f"# {labels[1]} against {labels[0]}",
            "## Metrics\n\n" + diff_table(metrics, "No metric changed."),
            "## Params\n\n" + diff_table(params, "No param changed."),
            "## The study's verdicts\n\n" + study_section(changed),
            f"Its metrics, in {STUDY}/:\n\n" + diff_table(study_metrics, "No metric changed."),
            f"Its params, in {STUDY}/:\n\n" + diff_table(study_params, "No param changed."),
            "## Plots",
            *render_plots(json.loads(plots)["data"] | study_plots, report, labels),
        ]
        (report / "report.md").write_text("\n\n".join(sections) + "\n")
        # The old report goes only once the new one is whole.
        if out.exists():
            shutil.rmtree(out)
        report.rename(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(path for path in out.rglob("*") if path.is_file())


def main(args) -> None:
    files = write_report(args.base, args.target, args.out)
    cli.log(f"{args.out / 'report.md'}: the report, with {len(files) - 1} pictures")


if __name__ == "__main__":
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("base", help="the revision to compare against")
    parser.add_argument("target", nargs="?", help="the revision to report (default: workspace)")
    parser.add_argument("--out", type=Path, default=Path("review"), help="the report's folder")
    cli.run(main, parser)
