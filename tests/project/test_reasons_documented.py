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


def section(name: str, start: str, end: str = "\n## ") -> str:
    """The text of doc `name` from `start` to the next `end` (the next heading of that level)."""
    text = (ROOT / name).read_text()
    assert start in text, f"{name} lost its section {start!r}"
    return text.split(start, 1)[1].split(end, 1)[0]


def answer_table() -> list[str]:
    """The rows of the README's "Answers to the sender" table."""
    section_text = section("README.md", "## Answers to the sender")
    return [line for line in section_text.splitlines() if line.startswith("| ") and line[2:5].isdigit()]


def test_every_rejection_and_ignored_reason_is_documented_for_senders():
    """In the README's answer table, security.md's edge table, or its note on the other paths."""
    slugs = (slugs_in("\n".join(answer_table())) | slugs_in(section("docs/security.md", "## Slow clients"))
             | slugs_in(section("docs/security.md", "What is reachable on the webhook port", "\n\n")))
    missing = {str(r) for r in [*Rejected, *SignatureReason, *Ignored]} - slugs
    assert not missing, f"document these answers in README.md or docs/security.md: {sorted(missing)}"


def test_every_mapping_failure_is_documented_for_mapping_authors():
    table = section("docs/mapping.md", "Every reason the mapping itself")
    missing = {str(r) for r in MappingFailure} - slugs_in(table)
    assert not missing, f"add these dead-delivery reasons to docs/mapping.md's table: {sorted(missing)}"


def test_the_answer_table_names_only_reasons_the_bridge_has():
    known = {str(r) for r in [*Rejected, *SignatureReason, *Ignored, *MappingFailure]}
    statuses = {"accepted", "duplicate", "conflict", "ignored", "rejected", "status"}
    rows = answer_table()
    assert len(rows) >= 10
    named = {slug for row in rows for slug in slugs_in(row.split("|")[2])}
    assert named - statuses <= known, f"not a reason the bridge answers with: {sorted(named - statuses - known)}"


def test_every_refusal_of_the_admin_api_and_console_is_documented_for_operators():
    table = section("docs/operating.md", "A refusal is")
    missing = {str(r) for r in Refused} - slugs_in(table)
    assert not missing, f"add these admin API / console answers to docs/operating.md's table: {sorted(missing)}"
