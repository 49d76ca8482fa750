"""The packages form layers and imports only point downwards: core <- training <- sshvideo <- gui.

Every import in every module is checked, the lazy ones inside functions included. The one exception
is the ``view`` command, which opens the Qt window (``gui``) from the command line."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("core", "training", "sshvideo", "gui")  # each may import itself and the ones before it
UPWARD_EXCEPTIONS = {("sshvideo/commands/view.py", "gui")}


def imported_packages(path: Path) -> set[str]:
    """First components of every absolute module name imported anywhere in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", LAYERS)
def test_imports_only_point_downwards(package):
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    upward = []
    for path in sorted((REPO / package).rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        for imported in imported_packages(path) & set(LAYERS):
            if imported not in allowed and (relative, imported) not in UPWARD_EXCEPTIONS:
                upward.append(f"{relative} imports {imported}")
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_the_checker_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from gui.app import run_viewer\n    import training.wider\n")
    assert imported_packages(module) == {"os", "gui", "training"}
