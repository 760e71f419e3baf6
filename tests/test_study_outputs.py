"""The committed answer cannot go stale quietly: the README quotes the study's own report (and
`dvc status` in a fresh clone, tests/test_e2e_reproducible.py, finds the report up to date with
the committed cells, code and protocol)."""

import json

from tests.conftest import ROOT

REPORT = (ROOT / "study" / "report.md").read_text()


def test_the_readme_quotes_the_study_s_table_and_main_verdicts_as_the_report_has_them():
    readme = (ROOT / "README.md").read_text()
    table = [line for line in REPORT.splitlines() if line.startswith("|")]
    main = [line for line in REPORT.splitlines() if line.startswith("- **") and "-128**" in line]
    quoted = table + main
    missing = [line for line in quoted if line not in readme]
    assert not missing, (
        "README.md no longer quotes study/report.md (copy its table and verdicts): "
        + "\n".join(missing[:3])
    )


def test_the_committed_results_hold_every_arm_with_twenty_paired_seeds():
    results = json.loads((ROOT / "study" / "results.json").read_text())
    assert set(results) >= {"sgd-128", "momentum-128", "adam-128"}
    for name, arm in results.items():
        assert arm["test_acc"]["n"] >= 20, name
        if not name.startswith("momentum-"):
            assert arm["vs_reference"]["test_acc"]["n"] >= 20, name
