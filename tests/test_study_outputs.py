"""The committed answer cannot go stale quietly: the README quotes the study's own report (and
`dvc status` in a fresh clone, tests/test_e2e_reproducible.py, finds the report up to date with
the committed cells, code and protocol)."""

import json

from tests.conftest import ROOT

REPORT = (ROOT / "study" / "report.md").read_text()


def test_the_readme_quotes_the_study_s_table_across_problems_as_the_report_has_it():
    readme = (ROOT / "README.md").read_text()
    overview = REPORT.split("\n## MNIST\n")[0]
    quoted = [line for line in overview.splitlines() if line.startswith("|")]
    assert len(quoted) == 2 + 2 * 4  # header, rule, four comparisons on each problem
    missing = [line for line in quoted if line not in readme]
    assert not missing, (
        "README.md no longer quotes study/report.md (copy its first table): "
        + "\n".join(missing[:3])
    )


def test_the_committed_results_hold_every_arm_of_both_problems_with_twenty_paired_seeds():
    results = json.loads((ROOT / "study" / "results.json").read_text())
    assert sorted(results) == ["fashion-mnist", "mnist"]
    for problem, arms in results.items():
        assert set(arms) >= {"sgd-128", "momentum-128", "adam-128"}, problem
        for name, arm in arms.items():
            assert arm["test_acc"]["n"] >= 20, (problem, name)
            if not name.startswith("momentum-"):
                d = arm["vs_reference"]["test_acc"]
                assert d["n"] >= 20 and d["images"]["resamples"] == 9999, (problem, name)


def test_the_study_guide_quotes_every_table_row_and_verdict_of_the_report():
    guide = (ROOT / "docs" / "study.md").read_text()
    quoted = [line for line in REPORT.splitlines() if line.startswith(("|", "- **"))]
    missing = [line for line in quoted if line not in guide]
    assert not missing, (
        "docs/study.md no longer quotes study/report.md (copy its tables and verdicts): "
        + "\n".join(missing[:3])
    )
