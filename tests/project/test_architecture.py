"""What may import what (docs/architecture.md): each package of the bridge imports only from
the layers below it, and only the command line imports the sandbox (which imports nothing
from the bridge: tests/sandbox/test_sandbox_server.py)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The table "What may import what" in docs/architecture.md; keep the two equal.
LAYERS = [
    {"reasons"},
    {"config", "signatures", "untrusted_json"},
    {"mapping", "store"},
    {"telemetry"},
    {"accept", "delivery"},
    {"ops"},
    {"web"},
    {"cli"},
]
LAYER_OF = {name: number for number, names in enumerate(LAYERS) for name in names}
ENTRY_POINTS = {"__init__", "__main__"}  # bridge/__init__.py and __main__.py: the version and the doors in


def imported_modules(path: Path) -> list[str]:
    """Absolute module names a file imports (`from bridge import x` counts as `bridge.x`)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += ([f"bridge.{alias.name}" for alias in node.names] if node.module == "bridge" else [node.module])
    return names


def unit_of(path: Path) -> str:
    """`bridge/mapping/loader.py` → `mapping`; `bridge/accept.py` → `accept`."""
    return path.relative_to(ROOT / "bridge").parts[0].removesuffix(".py")


def test_every_package_and_module_of_the_bridge_has_a_layer():
    units = {unit_of(path) for path in (ROOT / "bridge").rglob("*.py")} - ENTRY_POINTS
    assert units <= set(LAYER_OF), f"give these a layer in docs/architecture.md and here: {units - set(LAYER_OF)}"


def test_each_layer_imports_only_from_the_layers_below_it():
    wrong = []
    for path in (ROOT / "bridge").rglob("*.py"):
        unit = unit_of(path)
        if unit in ENTRY_POINTS:
            continue
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "sandbox" and unit != "cli":
                wrong.append(f"{path.relative_to(ROOT)} imports {name} (only bridge/cli may)")
            if parts[0] != "bridge" or len(parts) < 2 or parts[1] in (unit, "__version__"):
                continue
            if LAYER_OF.get(parts[1], 0) >= LAYER_OF[unit]:
                wrong.append(f"{path.relative_to(ROOT)} (layer {LAYER_OF[unit]}) imports {name}")
    assert not wrong, "\n".join(wrong)



# Test folders mirror the bridge's packages; these hold what crosses them.
TEST_FOLDERS_BESIDE_PACKAGES = {"console", "faults", "sandbox", "project", "fixtures"}


def test_test_folders_mirror_the_packages():
    packages = {p.name for p in (ROOT / "bridge").iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders <= packages | TEST_FOLDERS_BESIDE_PACKAGES, folders - packages - TEST_FOLDERS_BESIDE_PACKAGES


def test_no_test_module_imports_another():
    """Shared test code lives in helpers.py, signing.py or a folder's module, never in a test_ module or a
    conftest (several folders have one, and `import conftest` finds whichever was loaded first)."""
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in (ROOT / "tests").rglob("*.py")
             for name in imported_modules(path) if name.split(".")[0].startswith("test_") or name == "conftest"]
    assert not wrong, "\n".join(wrong)
