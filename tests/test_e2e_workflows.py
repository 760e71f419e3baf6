"""The workflows the README promises, each through the real `dvc` CLI in a temporary clone."""

import re
import subprocess
import sys
import time

import pytest
import yaml
from PIL import Image

from tests.conftest import (
    NO_NETWORK,
    copy_project,
    dvc,
    find_chromium,
    git_commit,
    one_error,
    run,
    set_param,
    user_env,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(trained_project, tmp_path):
    return copy_project(trained_project, tmp_path / "p")


def test_metrics_show_compares_the_two_optimizers(project):
    out = dvc("metrics", "show", cwd=project).stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("metrics/")}
    assert {
        "metrics/adam.json",
        "metrics/sgd.json",
        "metrics/train_adam.json",
        "metrics/train_sgd.json",
    } <= rows.keys()
    header = out.splitlines()[0].split()
    for column in ("test.acc", "test.loss", "test.f1", "test.per_class_acc.7"):
        assert column in header, column
    # Scores only: the settings behind them are params, shown by `dvc params diff`.
    assert not [column for column in header if column.startswith("model.")], header


def test_experiments_queued_and_temporary_then_the_same_change_restored_diffed_and_reviewed(
    project, tmp_path
):
    # The README's workflow 3: two queued experiments run two at a time, and while the queue's
    # workers start and run them, a named one with --temp on the other dataset, Fashion-MNIST
    # (one test: the three share the wait).
    for lr in ("0.05", "0.2"):
        dvc("exp", "run", "--queue", "-n", f"sgd-lr{lr}", "-S", f"train_sgd.lr={lr}", cwd=project)
    # Not `dvc exp run --run-all -j 2`, which waits for its workers to exit: DVC 3.67's workers
    # sometimes miss their shutdown (seen here: both experiments done, one worker idle for
    # good). The queue's status says when the experiments are done. The workers it starts keep
    # its output open, so it is not captured: waiting for its end would wait for theirs.
    command = ["dvc", "queue", "start", "-j", "2"]
    subprocess.run(command, cwd=project, env=user_env(), check=True, capture_output=False)
    dvc("exp", "run", "--temp", "-n", "fashion", "-S", "data.dataset=fashion-mnist", cwd=project)
    deadline = time.monotonic() + 600
    while (status := dvc("queue", "status", cwd=project).stdout).count("Success") < 2:
        assert "Failed" not in status and time.monotonic() < deadline, status
        time.sleep(1)
    assert run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project).stdout == ""

    table = dvc("exp", "show", "--csv", "--only-changed", cwd=project).stdout
    rows = [line for line in table.splitlines() if line.startswith(("sgd-lr", "fashion"))]
    assert len(rows) == 3 and "train_sgd.lr" in table.splitlines()[0], table
    assert "data.dataset" in table.splitlines()[0], table
    diff = dvc("metrics", "diff", "sgd-lr0.05", "sgd-lr0.2", cwd=project).stdout
    assert re.search(r"metrics/sgd.json\s+test.acc", diff), diff
    # Two data versions, compared as DVC compares any two revisions: both models' scores, the
    # per-class ones under each dataset's class names, and the raw files that changed.
    metrics = dvc("metrics", "diff", "HEAD", "fashion", "--all", cwd=project).stdout
    for model in ("adam", "sgd"):
        assert re.search(rf"metrics/{model}.json\s+test.acc", metrics), metrics
    assert "per_class_acc.Ankle boot" in metrics and "per_class_acc.7 " in metrics, metrics
    changed = dvc("diff", "HEAD", "fashion", cwd=project).stdout
    assert "data/raw/train-images-idx3-ubyte" in changed, changed
    dvc("plots", "diff", "HEAD", "fashion", "-o", str(tmp_path / "diff"), cwd=project)
    page = (tmp_path / "diff" / "index.html").read_text()
    assert "fashion" in page and "Validation loss, Adam vs SGD" in page

    # The README's workflow 2, in the workspace this time: change a param, reproduce, diff.
    set_param(project, "train_sgd.lr", "0.05")
    repro = dvc("repro", cwd=project).stdout
    assert "Running stage 'train_sgd'" in repro and "Running stage 'train_adam'" not in repro
    metrics = dvc("metrics", "diff", cwd=project).stdout
    assert re.search(r"metrics/sgd.json\s+test.acc", metrics), metrics
    # Only what changed: nothing of Adam's, no timings.
    assert "adam" not in metrics and "second" not in metrics, metrics
    params = dvc("params", "diff", cwd=project).stdout
    assert re.search(r"params.yaml\s+train_sgd.lr\s+0.1\s+0.05", params), params

    # The review report of that change, once committed, made with no network at all.
    git_commit(project, "train_sgd.lr 0.05")
    report_command = [sys.executable, "-m", "mnist_pipeline.report", "HEAD~1", "HEAD"]
    run([*NO_NETWORK, *report_command, "--out", "review"], cwd=project)
    report = (project / "review" / "report.md").read_text()
    assert re.search(r"\| metrics/sgd.json +\| test.acc +\| 0\.\d{1,4} +\|", report), report
    assert re.search(r"\| params.yaml +\| train_sgd.lr +\| 0.1 +\| 0.05 +\|", report), report
    assert "metrics/adam.json" not in report, report  # only what changed
    assert "`study/report.md` did not change." in report
    # Each chart once, both revisions in it; an image plot once if unchanged, else both.
    changed = set(run(["git", "diff", "--name-only", "HEAD~1"], cwd=project).stdout.split())
    assert (
        "plots/figures/sgd_curves.png" in changed and "plots/figures/adam_curves.png" not in changed
    )
    expected = set()
    for folder in ("", "study/"):
        for plot in yaml.safe_load((project / folder / "dvc.yaml").read_text())["plots"]:
            if isinstance(plot, dict):
                expected.add(f"{next(iter(plot))}.png")
                continue
            name = (folder + plot).removesuffix(".png").replace("/", "_")
            both = folder + plot in changed
            expected |= {f"{name}.base.png", f"{name}.target.png"} if both else {f"{name}.png"}
    written = {path.name for path in (project / "review" / "plots").iterdir()}
    assert written == expected, written ^ expected
    for name in written:
        assert f"(plots/{name})" in report, name
        with Image.open(project / "review" / "plots" / name) as image:
            image.verify()  # a whole, valid PNG
    status = run(["git", "status", "--porcelain"], cwd=project).stdout
    assert status == "", status  # it wrote only review/, which .gitignore lists

    # A revision that does not exist: one line, and the report made above is left as it was.
    before = {path: path.read_bytes() for path in (project / "review").rglob("*") if path.is_file()}
    failed = run([*report_command[:3], "nosuchrev", "--out", "review"], cwd=project, check=False)
    assert one_error(failed).startswith("error: nosuchrev: not a revision"), failed.stderr
    after = {path: path.read_bytes() for path in (project / "review").rglob("*") if path.is_file()}
    assert after == before and not list(project.glob(".review.*"))


def test_push_then_pull_in_a_fresh_clone_restores_everything_byte_identical(project, tmp_path):
    remote = tmp_path / "remote"
    dvc("remote", "add", "-d", "shared", str(remote), cwd=project)
    git_commit(project, "add remote")
    dvc("push", cwd=project)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], cwd=tmp_path)
    dvc("pull", cwd=clone)
    for folder in ("data/raw", "data/processed", "models"):
        ours = sorted(
            p.relative_to(project) for p in (project / folder).iterdir() if p.name != ".gitignore"
        )
        assert ours
        for path in ours:
            assert (clone / path).read_bytes() == (project / path).read_bytes(), path
    status = dvc("status", cwd=clone).stdout
    assert "up to date" in status, status


def test_plots_show_renders_every_chart_offline(project, tmp_path):
    browser = find_chromium()
    dvc("plots", "show", cwd=project)
    page = (project / "dvc_plots" / "index.html").read_text()
    assert "cdn.jsdelivr" not in page and "<script src=" not in page
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            (project / "dvc_plots" / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # vega-embed draws each chart as an <svg class="marks">; the 5 vega plots of dvc.yaml.
    assert dom.count('class="marks"') == 5, dom[:2000]
    images = re.findall(r'<img src="(static/[^"]+\.png)">', dom)
    plots = yaml.safe_load((project / "dvc.yaml").read_text())["plots"]
    pngs = [plot for plot in plots if isinstance(plot, str) and plot.endswith(".png")]
    assert len(images) == len(pngs) == 7, images  # the study's are in its own project
    assert all((project / "dvc_plots" / image).is_file() for image in images)


def test_the_commit_hooks_refuse_a_stale_lock_and_unformatted_code_and_pass_a_fresh_commit(
    project, tmp_path
):
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}  # not the user's cache
    run(["pre-commit", "install"], cwd=project, env_extra=env)
    head = run(["git", "rev-parse", "HEAD"], cwd=project).stdout

    def commit() -> subprocess.CompletedProcess:
        run(["git", "add", "-A"], cwd=project)
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-m", "a change"]
        return run(command, cwd=project, check=False, env_extra=env)

    set_param(project, "train_sgd.lr", "0.05")
    (project / "stages" / "new.py").write_text("x=1\n")
    refused = commit()
    assert refused.returncode != 0
    assert run(["git", "rev-parse", "HEAD"], cwd=project).stdout == head
    out = refused.stdout + refused.stderr  # git hands a hook's output to stderr
    assert re.search(r"ruff format\.+Failed", out) and "1 file reformatted" in out, out
    assert re.search(r"dvc.lock matches the pipeline\.+Failed", out), out
    assert "train_sgd:" in out and "params.yaml" in out, out
    assert "error: ./dvc.lock: not what the pipeline above records: run dvc repro" in out, out

    # The param back as the lock has it (as `dvc repro` would make the lock match the param),
    # and ruff's fix staged: nothing is stale, so the commit goes through.
    run(["git", "checkout", "HEAD", "--", "params.yaml"], cwd=project)
    allowed = commit()
    out = allowed.stdout + allowed.stderr
    assert allowed.returncode == 0 and "Failed" not in out, out
    assert re.search(r"dvc.lock matches the pipeline\.+Passed", out), out
    assert (project / "stages" / "new.py").read_text() == "x = 1\n"
