"""The GitHub Actions workflow cannot run here, so it is checked against GitHub's workflow schema
(the copy check-jsonschema ships: no network), and for the two jobs the project promises."""

import subprocess

import yaml

from tests.conftest import BIN, ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yaml"


def check_workflow(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", path],
        capture_output=True,
        text=True,
    )


def test_the_workflow_is_valid_for_github_actions():
    result = check_workflow(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_workflow_with_a_misspelt_key_is_refused(tmp_path):
    broken = tmp_path / "ci.yaml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "run-on:"))
    result = check_workflow(broken)
    assert result.returncode != 0 and "'runs-on' is a required property" in result.stdout


def test_pushes_run_the_readme_test_command_and_pull_requests_get_the_report():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    commands = [step["run"] for step in jobs["test"]["steps"] if "run" in step]
    assert commands[-1] == "make test" and all("apt-get install" in c for c in commands[:-1])
    assert "make test" in (ROOT / "README.md").read_text()
    report = jobs["report"]
    assert report["if"] == "github.event_name == 'pull_request'"
    script = report["steps"][-1]["run"]
    assert "python -m mnist_pipeline.report" in script and "cml comment create" in script
    assert report["permissions"]["pull-requests"] == "write"
    assert workflow["permissions"] == {"contents": "read"}  # nothing else may write
