"""The DVC project files against the code. DVC reruns a stage only when a listed dep changes, so
a module a stage imports but does not list is a change DVC would never see."""

import ast
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, ROOT


def from_root(stage: dict) -> dict:
    """A stage of the study's own DVC project with its deps as paths from the repository root,
    where its commands run (`cd ..`), like the pipeline's; a `foreach` stage as its `do`."""
    stage = stage.get("do", stage)
    deps = [dep[3:] if dep.startswith("../") else f"study/{dep}" for dep in stage.get("deps", [])]
    return {**stage, "deps": deps}


# The pipeline and the optimizer study's, by the name `dvc status` gives their stages.
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"] | {
    f"study/dvc.yaml:{name}": from_root(stage)
    for name, stage in yaml.safe_load((ROOT / "study" / "dvc.yaml").read_text())["stages"].items()
}
# `download`'s output is decided by the sha256 pins alone (see its comment in dvc.yaml).
NO_CODE_DEPS = {"download"}
# The study's cells list no code: each depends on study/inputs/PROBLEM.json, the fingerprint
# that the stage `inputs` writes of their code and settings (see study/dvc.yaml).
CELLS = {"study/dvc.yaml:tune", "study/dvc.yaml:rerun"}
INPUTS = "study/dvc.yaml:inputs"


def module_file(name: str) -> Path | None:
    path = ROOT / f"{name.replace('.', '/')}.py"
    return path if path.is_file() else None


def imported_modules(path: Path) -> set[str]:
    """The project modules that `path` imports anywhere: at the top, in functions, in branches."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from package import module` imports a module; `from module import name` does not.
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if module_file(name)}


def import_closure(module: str) -> set[str]:
    """Every project file that running `python -m module` imports, as paths like dvc.yaml's."""
    files, todo = set(), [module]
    while todo:
        path = module_file(todo.pop())
        name = path.relative_to(ROOT).as_posix()
        if name not in files:
            files.add(name)
            todo += imported_modules(path)
    return files


def commands(stage: dict) -> list[str]:
    return stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]


def code(name: str) -> set[str]:
    """The project files a stage's commands run."""
    modules = {m for cmd in commands(STAGES[name]) for m in re.findall(r"python -m (\S+)", cmd)}
    assert modules, f"{name}: no `python -m` command found"
    return set().union(*(import_closure(module) for module in modules))


def code_deps(name: str) -> set[str]:
    return {dep for dep in STAGES[name].get("deps", []) if dep.endswith(".py")}


@pytest.mark.parametrize("name", sorted(STAGES.keys() - NO_CODE_DEPS - CELLS))
def test_stage_deps_list_every_module_its_command_imports(name):
    # `inputs` runs its own code and fingerprints the cells': a change to either must rerun it.
    imported = code(name) | (code("study/dvc.yaml:tune") if name == INPUTS else set())
    listed = code_deps(name)
    missing, extra = sorted(imported - listed), sorted(listed - imported)
    assert listed == imported, f"dvc.yaml: stage {name}: add {missing}, remove {extra}"


@pytest.mark.parametrize("name", sorted(CELLS))
def test_a_cell_depends_on_the_fingerprint_of_exactly_the_code_it_runs(name):
    assert not code_deps(name) and "study/inputs/${item.problem}.json" in STAGES[name]["deps"]
    fingerprinted = set(STAGES[INPUTS]["cmd"].partition("--code")[2].split())
    missing, extra = sorted(code(name) - fingerprinted), sorted(fingerprinted - code(name))
    assert fingerprinted == code(name), (
        f"study/dvc.yaml: inputs --code: add {missing}, remove {extra}"
    )


def test_the_fingerprint_holds_the_settings_its_stage_lists_as_params():
    from stages import study_inputs

    # Relative to study/, the study's DVC project; the data by its problem's pins.
    assert STAGES[INPUTS]["params"] == [
        {"../params.yaml": [*study_inputs.ROOT_KEYS, "data.sha256.${item}"]},
        {"params.yaml": study_inputs.PROTOCOL_KEYS},
    ]


@pytest.mark.parametrize("name", sorted(NO_CODE_DEPS))
def test_download_lists_no_code_on_purpose(name):
    assert not code_deps(name)


@pytest.mark.parametrize("package", ["mnist_pipeline", "mnist_pipeline/study"])
def test_the_package_init_holds_only_its_docstring(package):
    # Every stage imports mnist_pipeline/__init__.py (the study's, its own), and none lists it:
    # that is only right while it runs no code.
    body = ast.parse((ROOT / package / "__init__.py").read_text()).body
    assert (
        len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    )


def test_the_closure_follows_imports_inside_functions():
    # stages/train.py imports the model and the training loop inside main(), after the pin.
    closure = import_closure("stages.train")
    assert {"mnist_pipeline/model.py", "mnist_pipeline/training.py"} <= closure


def test_the_committed_plots_template_is_what_offline_plots_writes():
    # .dvc/config points `dvc plots show` at it; committed, so a fresh clone can draw offline.
    from mnist_pipeline import offline_plots

    assert (ROOT / ".dvc" / "offline_plots.html").read_bytes() == offline_plots.page(), (
        "stale: run `python -m mnist_pipeline.offline_plots .dvc/offline_plots.html`"
    )


@pytest.mark.e2e
def test_the_readme_draws_the_pipeline_as_dvc_dag_prints_it():
    dag = subprocess.run(
        [BIN / "dvc", "dag", "--md", "--collapse-foreach-matrix"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert dag.startswith("```mermaid\n") and dag in (ROOT / "README.md").read_text(), (
        "README.md's pipeline diagram is not what `dvc dag --md --collapse-foreach-matrix` "
        "prints: paste its output in place of the mermaid block\n" + dag
    )
