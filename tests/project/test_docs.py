"""The tree keeps the promises the docs make: a short README, docs/ beside it, links that
resolve, every setting documented, small modules in role-named packages (issue 13)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DOCUMENTS = ["mapping.md", "senders.md", "operating.md", "sandbox.md", "architecture.md", "performance.md"]
MAX_README_LINES = 300
MAX_MODULE_LINES = 400
MAX_LOOSE_MODULES = 6
MAX_GUNICORN_CONF_LINES = 40

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces → '-'."""
    anchors = set()
    for line in FENCE.sub("", text).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines < MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_documents_exist(name):
    assert (DOCS / name).is_file(), f"docs/{name} is missing"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    """Links and images: the file exists, and an anchor into a .md file names one of its headings."""
    text = path.read_text()
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto: …: not part of the tree
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text()):
            broken.append(f"{target} (no heading with that anchor)")
    assert not broken, f"{path.relative_to(ROOT)}: broken links: {', '.join(broken)}"


def test_bridge_holds_few_loose_modules():
    loose = sorted(p.name for p in (ROOT / "bridge").glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, f"bridge/ has {len(loose)} loose modules: {', '.join(loose)}"


def test_gunicorn_conf_is_a_thin_shim_and_the_sandbox_is_not_in_the_product():
    lines = (ROOT / "gunicorn.conf.py").read_text().count("\n")
    assert lines < MAX_GUNICORN_CONF_LINES, f"gunicorn.conf.py has {lines} lines; logic belongs in bridge/web/server.py"
    assert not (ROOT / "bridge" / "sandbox").exists() and (ROOT / "sandbox" / "__init__.py").is_file()


def test_no_module_is_over_the_limit():
    too_long = {}
    for package in ("bridge", "sandbox"):
        for path in (ROOT / package).rglob("*.py"):
            lines = path.read_text().count("\n")
            if lines > MAX_MODULE_LINES:
                too_long[str(path.relative_to(ROOT))] = lines
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def settings_in_code() -> set[str]:
    """Every BRIDGE_* variable named in the code that runs the bridge."""
    sources = [*(ROOT / "bridge").rglob("*.py"), ROOT / "gunicorn.conf.py", ROOT / "app.py"]
    return {name for path in sources for name in re.findall(r"\bBRIDGE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}


def settings_in_docs() -> set[str]:
    """Every BRIDGE_* variable in a row of the configuration table of docs/operating.md."""
    text = (DOCS / "operating.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(BRIDGE_[A-Z0-9_]+)`", row.split(" | ")[0])}


def test_every_setting_is_in_the_configuration_table():
    undocumented = settings_in_code() - settings_in_docs()
    assert not undocumented, f"add to the table in docs/operating.md#configuration: {sorted(undocumented)}"


def test_the_configuration_table_names_no_setting_the_code_dropped():
    gone = settings_in_docs() - settings_in_code()
    assert not gone, f"docs/operating.md#configuration lists settings the code no longer reads: {sorted(gone)}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_every_file_path_the_docs_name_exists(path):
    """`bridge/store/sqlite.py`, `tests/store/` …: a path quoted in the docs is a path in the tree."""
    quoted = re.findall(r"`((?:bridge|sandbox|bench|tests|mappings|docs|scripts)/[\w./-]*)`", path.read_text())
    missing = sorted({name for name in quoted if not (ROOT / name).exists()})
    assert not missing, f"{path.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_every_command_and_option_is_in_the_command_table():
    """Each `python -m bridge` command and each of its options appears in docs/operating.md#command-line."""
    import argparse

    from bridge.cli.main import build_parser
    text = (DOCS / "operating.md").read_text()
    table = text.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for command, parser in subparsers.choices.items():
        rows = [row for row in table.splitlines() if row.startswith(f"| `python -m bridge {command}")]
        options = [o for action in parser._actions for o in action.option_strings
                   if o.startswith("--") and o != "--help"]
        if not rows:
            missing.append(command)
        missing += [f"{command} {option}" for option in options if not any(option in row for row in rows)]
    assert not missing, f"add to the command table of docs/operating.md: {missing}"


def test_every_admin_endpoint_is_in_the_admin_table():
    """Each operation of the admin API's OpenAPI document has a row in docs/operating.md#admin-api."""
    from bridge.web.openapi import OPENAPI
    text = (DOCS / "operating.md").read_text()
    table = text.split("\n## Admin API\n", 1)[1].split("\n## ", 1)[0]
    documented = {re.sub(r"\{[^}]*\}", "{}", row.split("`")[1].split("?")[0])
                  for row in table.splitlines() if row.startswith("| `")}
    missing = [f"{method.upper()} {path}" for path, operations in OPENAPI["paths"].items() for method in operations
               if f"{method.upper()} {re.sub(r'{[^}]*}', '{}', path)}" not in documented
               and path != "/admin/openapi.json"]
    assert not missing, f"add to the admin table of docs/operating.md: {missing}"


def test_every_metric_is_in_the_metrics_table():
    """Each `bridge_…` metric the code defines has a row in docs/operating.md#metrics."""
    defined = {name for path in (ROOT / "bridge").rglob("*.py")
               for name in re.findall(r"(?:Counter|Gauge|Histogram|Summary|MetricFamily)\(\s*\"(bridge_\w+)\"",
                                      path.read_text())}
    text = (DOCS / "operating.md").read_text()
    table = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    documented = {row.split("`")[1] for row in table.splitlines() if row.startswith("| `")}
    assert len(defined) >= 10, defined  # the pattern still finds the definitions
    assert defined <= documented, f"add to the metrics table of docs/operating.md: {sorted(defined - documented)}"


def test_the_mapping_reference_names_every_field_and_value_type():
    """docs/mapping.md lists each standard PATCH field and each custom field value type the loader accepts."""
    from bridge.mapping.reevo_fields import PATCH_SURFACE, VALUE_TYPES
    text = (DOCS / "mapping.md").read_text()
    fields_section = text.split("\n## Fields you can set\n", 1)[1].split("\n## ", 1)[0]
    custom_row = next(row for row in text.splitlines() if row.startswith("| `custom_fields` |"))
    missing_fields = [name for name in PATCH_SURFACE if f"`{name}`" not in fields_section]
    missing_types = sorted(t for t in VALUE_TYPES if f"`{t}`" not in custom_row)
    assert not missing_fields, f"add to 'Fields you can set' in docs/mapping.md: {missing_fields}"
    assert not missing_types, f"add to the custom_fields row of docs/mapping.md: {missing_types}"


def test_every_signature_scheme_and_option_is_in_the_scheme_table():
    """docs/senders.md#signature-schemes has a row per scheme naming each of its options."""
    from bridge.signatures import REGISTRY
    text = (DOCS / "senders.md").read_text()
    table = text.split("\n## Signature schemes\n", 1)[1].split("\n## ", 1)[0]
    rows = {row.split("`")[1]: row for row in table.splitlines() if row.startswith("| `")}
    missing = [name for name in REGISTRY if name not in rows]
    missing += [f"{name} {option}" for name, scheme in REGISTRY.items() if name in rows
                for option in scheme.options if f"`{option}" not in rows[name]]
    assert not missing, f"add to the scheme table of docs/senders.md: {missing}"
