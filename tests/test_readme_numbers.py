"""The numbers the README's prose quotes are the committed outputs' numbers: a retrain that moves
one fails here until the sentence is written again (the tables it copies whole are checked in
tests/test_study_outputs.py)."""

import json
import re

import pandas as pd

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
# Prose wraps anywhere: match a quoted phrase across line breaks, and the Unicode minus as "-".
FLAT = re.sub(r"\s+", " ", README).replace("−", "-")
STUDY = json.loads((ROOT / "study" / "results.json").read_text())
BUDGET = pd.read_csv(ROOT / "study" / "plots" / "budget.csv").set_index("trials")


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


def test_the_opening_answer_quotes_the_study_s_results():
    adam, momentum = STUDY["adam-128"], STUDY["momentum-128"]
    acc, loss = adam["vs_reference"]["test_acc"], adam["vs_reference"]["test_loss"]
    said(
        f"in test accuracy Adam {adam['test_acc']['mean']:.4f}, momentum "
        f"{momentum['test_acc']['mean']:.4f} (mean of {acc['n']} paired seeds), Adam - momentum "
        f"= {acc['mean']:+.4f}, 95 % CI {acc['ci95'][0]:+.4f} to {acc['ci95'][1]:+.4f}".replace(
            "= +", "= "
        )
    )
    said(
        f"in test loss {adam['test_loss']['mean']:.4f} against {momentum['test_loss']['mean']:.4f}"
        f", Δ {loss['mean']:+.4f} (CI {loss['ci95'][0]:+.4f} to {loss['ci95'][1]:+.4f})"
    )
    assert acc["equivalent"] and loss["equivalent"]  # "equivalent", "inside the margin"
    speed = [STUDY[arm]["epochs_to"] for arm in ("momentum-128", "adam-128")]
    said(
        "at epoch {:g} / {:g} (momentum), {:g} / {:g} (Adam)".format(
            *(epochs[key] for epochs in speed for key in ("val_0975", "val_0980"))
        )
    )


def test_the_good_lr_ranges_are_the_ones_quoted():
    decades = {f"{STUDY[arm]['good_lrs']['decades']:.1f}" for arm in ("momentum-128", "adam-128")}
    assert len(decades) == 1, decades  # "both"
    said(f"both stay within 0.2 pp of their best over {decades.pop()} decades of lr")


def test_the_random_search_claims_follow_the_budget_curves_and_their_bands():
    momentum, adam = BUDGET["momentum-128"], BUDGET["adam-128"]
    said(f"expected best of 3: {momentum[3]:.3f} against {adam[3]:.3f}")
    ahead = (momentum > adam).tolist()
    first_adam = ahead.index(False) + 1
    assert all(ahead[: first_adam - 1]) and not any(ahead[first_adam - 1 :])
    said(f"momentum is ahead for the first {first_adam - 1} trials")
    said(f"Adam from {first_adam} on")
    # "their 95 % bootstrap bands overlap at every number of trials"
    overlap = (BUDGET["momentum-128 low"] <= BUDGET["adam-128 high"]) & (
        BUDGET["adam-128 low"] <= BUDGET["momentum-128 high"]
    )
    assert overlap.all()
    said("bands overlap at every number of trials")


def test_what_momentum_buys_and_what_batch_size_does_are_the_study_s_differences():
    sgd, momentum = STUDY["sgd-128"], STUDY["momentum-128"]
    gap = sgd["vs_reference"]["test_acc"]
    said(
        f"at its own lr ({sgd['lr']:g}, {sgd['lr'] / momentum['lr']:.1f}× momentum's "
        f"{momentum['lr']:g}): test accuracy {-gap['mean']:.4f} higher (CI {-gap['ci95'][1]:.4f} "
        f"to {-gap['ci95'][0]:.4f}"
    )
    at64 = STUDY["adam-64"]["vs_reference"]["test_acc"]
    said(f"at 64 Adam is ahead ({at64['mean']:+.4f}, CI {at64['ci95'][0]:+.4f} to ")
    assert STUDY["adam-256"]["vs_reference"]["test_acc"]["equivalent"]  # "at 256 equivalent"


def test_the_overfitting_sentence_reads_the_committed_curves():
    adam = pd.read_csv(ROOT / "plots" / "train_adam.csv").set_index("epoch")
    six, ten = adam.loc[6], adam.loc[10]
    said(f"training loss keeps falling (Adam {six.train_loss:.3f} → {ten.train_loss:.3f})")
    said(f"validation loss barely moves ({six.val_loss:.3f} → {ten.val_loss:.3f})")
    said(f"(train {100 * ten.train_acc:.1f} %, validation {100 * ten.val_acc:.1f} %)")
    said(f"Validation accuracy still creeps up ({six.val_acc:.4f} → {ten.val_acc:.4f})")
    assert ten.lr == 0  # "whose lr falls to 0"
