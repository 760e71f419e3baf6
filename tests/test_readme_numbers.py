"""The numbers the README's prose quotes are the committed outputs' numbers: a retrain that moves
one fails here until the sentence is written again (the tables it copies whole are checked in
tests/test_study_outputs.py)."""

import json
import re

import pandas as pd

from mnist_pipeline.study import analysis, stats
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
# Prose wraps anywhere: match a quoted phrase across line breaks, and the Unicode minus as "-".
FLAT = re.sub(r"\s+", " ", README).replace("−", "-")
STUDY = json.loads((ROOT / "study" / "results.json").read_text())


def metric(name: str) -> float:
    return json.loads((ROOT / "metrics" / f"{name}.json").read_text())["test"]["acc"]


def said(phrase: str) -> None:
    assert re.sub(r"\s+", " ", phrase) in FLAT, f"README.md no longer says: {phrase}"


def test_the_pipeline_s_two_models_score_what_the_readme_says():
    for name, row in (
        ("adam", "| Adam | 0.001 | 64 |"),
        ("sgd", "| SGD, momentum 0.9 | 0.1 | 256 |"),
    ):
        line = next(line for line in README.splitlines() if line.startswith(row))
        assert f"**{metric(name):.4f}**" in line, (name, line)


def test_the_opening_answer_quotes_the_study_on_both_problems():
    said("neither beats the other on either problem")
    for problem in ("mnist", "fashion-mnist"):
        assert STUDY[problem]["adam-128"]["vs_reference"]["test_acc"]["p_holm"] >= 0.05, problem
    mnist, fashion = (STUDY[p]["adam-128"] for p in ("mnist", "fashion-mnist"))
    d = mnist["vs_reference"]["test_acc"]
    momentum = STUDY["mnist"]["momentum-128"]["test_acc"]["mean"]
    assert f"{mnist['test_acc']['mean']:.4f}" == f"{momentum:.4f}"  # "each"
    low, high = d["images"]["ci95"]
    said(
        f"{d['mean']:+.4f} on MNIST ({momentum:.4f} each; {low:+.4f} to {high:+.4f} over seeds and "
        "new test images: equivalent within the ±0.001 margin"
    )
    assert d["equivalent"] and d["margin"] == 0.001
    d = fashion["vs_reference"]["test_acc"]
    momentum = STUDY["fashion-mnist"]["momentum-128"]["test_acc"]["mean"]
    low, high = d["images"]["ci95"]
    said(
        f"{d['mean']:+.4f} on Fashion-MNIST ({fashion['test_acc']['mean']:.4f} against "
        f"{momentum:.4f}; {low:+.4f} to {high:+.4f}: no difference shown, nor equivalence within "
        f"±{d['margin']:g})"
    )
    assert not d["equivalent"]


def test_the_lrs_the_optimizer_lines_quote_are_the_study_s_choices():
    for problem in ("mnist", "fashion-mnist"):
        arms = STUDY[problem]
        assert f"{arms['sgd-128']['lr'] / arms['momentum-128']['lr']:.1f}" == "5.6", problem
        assert arms["adam-128"]["lr"] == 0.00316, problem
    ratios = sorted(round(STUDY[p]["momentum-128"]["lr"] / 0.00316) for p in STUDY)
    said(f"0.00316 here, {ratios[0]}–{ratios[-1]}× below momentum's")
    said("5.6× below plain SGD's on both problems")


def test_what_momentum_buys_speed_and_budget_are_the_study_s():
    for problem in ("mnist", "fashion-mnist"):  # "ends below momentum on both"
        arms = STUDY[problem]
        assert arms["sgd-128"]["test_acc"]["mean"] < arms["momentum-128"]["test_acc"]["mean"]
    d = STUDY["fashion-mnist"]["sgd-128"]["vs_reference"]["test_acc"]
    assert d["p_holm"] < 0.05
    low, high = d["images"]["ci95"]
    said(f"by a shown {d['mean']:+.4f} ({low:+.4f} to {high:+.4f})")
    d = STUDY["mnist"]["sgd-128"]["vs_reference"]["test_acc"]
    assert d["p_holm"] >= 0.05 and not d["equivalent"]
    said(f"on MNIST {d['mean']:+.4f}, unresolved")

    fashion = [STUDY["fashion-mnist"][a]["epochs_to"] for a in ("momentum-128", "adam-128")]
    assert fashion[0] == fashion[1]  # "both"
    said("both reach validation 0.88 / 0.89 at epoch {:g} / {:g}".format(*fashion[0].values()))
    mnist = [STUDY["mnist"][a]["epochs_to"] for a in ("momentum-128", "adam-128")]
    said(
        "0.975 / 0.98 at {:g} / {:g} against Adam's {:g} / {:g}".format(
            *mnist[0].values(), *mnist[1].values()
        )
    )

    leads = []
    for problem in ("mnist", "fashion-mnist"):
        budget = pd.read_csv(ROOT / "study" / "plots" / problem / "budget.csv").set_index("trials")
        momentum, adam = budget["momentum-128"], budget["adam-128"]
        leads.append((momentum > adam).tolist().index(False))  # trials before Adam first leads
        overlap = (budget["momentum-128 low"] <= budget["adam-128 high"]) & (
            budget["adam-128 low"] <= budget["momentum-128 high"]
        )
        assert overlap.all(), problem  # "their 95 % bands always overlap"
    said(f"momentum leads for the first trials ({leads[0]} on MNIST, {leads[1]} on Fashion-MNIST")


def test_the_test_set_changes_which_differences_are_shown():
    def shown(problem, p_key):
        ds = [
            (name, metric, d)
            for name, arm in STUDY[problem].items()
            for metric, d in arm.get("vs_reference", {}).items()
        ]
        adjusted = stats.holm([d[p_key] for _, _, d in ds])
        pairs = zip(ds, adjusted, strict=True)
        return [(name, metric) for (name, metric, _), p in pairs if p < 0.05]

    mnist, fashion = len(shown("mnist", "p")), len(shown("fashion-mnist", "p"))
    assert fashion == 8  # "all 8"
    said(f"over the seeds alone, {mnist} of MNIST's 8 differences and all 8 of Fashion-MNIST's")
    assert shown("mnist", "p_claim") == []  # "none"
    fashion = shown("fashion-mnist", "p_claim")
    assert {name for name, _ in fashion} == {"sgd-128"}
    said(f"as well, none and {len(fashion)} (plain SGD's) are.")


def test_the_overfitting_sentence_reads_the_committed_curves():
    adam = pd.read_csv(ROOT / "plots" / "train_adam.csv").set_index("epoch")
    six, ten = adam.loc[6], adam.loc[10]
    said(f"training loss keeps falling (Adam {six.train_loss:.3f} → {ten.train_loss:.3f})")
    said(f"validation loss barely moves ({six.val_loss:.3f} → {ten.val_loss:.3f})")
    said(f"(train {100 * ten.train_acc:.1f} %, validation {100 * ten.val_acc:.1f} %)")
    said(f"Validation accuracy still creeps up ({six.val_acc:.4f} → {ten.val_acc:.4f})")
    assert ten.lr == 0  # "whose lr falls to 0"


def test_the_published_anchors_are_the_report_s():
    def rounded(problem):
        deepobs = [acc for name, _, acc in analysis.ANCHORS[problem] if name.startswith("DeepOBS")]
        return sorted({f"{float(acc.split()[0]):.3f}" for acc in deepobs})

    assert rounded("mnist") == ["0.986"]
    said(f"reaches 0.986 (MNIST) and {'–'.join(rounded('fashion-mnist'))}.")
