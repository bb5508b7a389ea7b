"""Every reason slug the bridge can answer with is documented, and the README's answer table names
only real ones: the enums in bridge/reasons.py and bridge.signatures are the one list."""
import re

from bridge.reasons import Ignored, MappingFailure, Refused, Rejected
from bridge.signatures import SignatureReason
from helpers import ROOT

CODE = re.compile(r"`([^`\n]+)`")
SLUG = re.compile(r"[a-z][a-z0-9_]*")


def slugs_in(text: str) -> set[str]:
    """Every word inside `code` spans: `408 request_timeout` gives request_timeout."""
    return {slug for span in CODE.findall(text) for slug in SLUG.findall(span)}


def documented(*names: str) -> set[str]:
    return {slug for name in names for slug in slugs_in((ROOT / name).read_text())}


def answer_table() -> list[str]:
    """The rows of the README's "Answers to the sender" table."""
    section = (ROOT / "README.md").read_text().split("## Answers to the sender", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and line[2:5].isdigit()]


def test_every_rejection_and_ignored_reason_is_documented_for_senders():
    slugs = documented("README.md", "docs/security.md")
    missing = {str(r) for r in [*Rejected, *SignatureReason, *Ignored]} - slugs
    assert not missing, f"document these answers in README.md or docs/security.md: {sorted(missing)}"


def test_every_mapping_failure_is_documented_for_mapping_authors():
    missing = {str(r) for r in MappingFailure} - documented("docs/mapping.md", "docs/operating.md", "README.md")
    assert not missing, f"document these dead-delivery reasons in docs/mapping.md: {sorted(missing)}"


def test_the_answer_table_names_only_reasons_the_bridge_has():
    known = {str(r) for r in [*Rejected, *SignatureReason, *Ignored, *MappingFailure]}
    statuses = {"accepted", "duplicate", "conflict", "ignored", "rejected", "status"}
    rows = answer_table()
    assert len(rows) >= 10
    named = {slug for row in rows for slug in slugs_in(row.split("|")[2])}
    assert named - statuses <= known, f"not a reason the bridge answers with: {sorted(named - statuses - known)}"


def test_every_refusal_of_the_admin_api_and_console_is_documented_for_operators():
    missing = {str(r) for r in Refused} - documented("docs/operating.md", "docs/console.md", "docs/first-week.md")
    assert not missing, f"document these admin API / console answers in docs/operating.md: {sorted(missing)}"
