"""Bug: `make test` failed as soon as a user added a mapping to mappings/, as the docs tell them to.

The repository is copied (without .git and .venv) to a temporary folder, a user's own valid mapping
is added to its mappings/, and every test module that reads the whole mappings folder runs there.
"""
import shutil
import subprocess
import sys

from helpers import ROOT

# A user's sender we do not ship: hex HMAC of the body, no event id (the content hash dedupes).
USER_MAPPING = """\
verify: {scheme: hmac, secrets: [ACME_BILLING_SECRET], header: X-Billing-Signature, algorithm: sha256, encoding: hex}
event:
  type: kind
routes:
  - name: invoice-paid
    on: invoice.paid
    opportunity: {id: metadata.reevo_opportunity_id}
    set:
      amount: {from: total, transform: cents_to_decimal}
"""
# Every module that loads the whole folder (directly or through the shared bridge fixture).
MODULES = ["tests/mapping/test_mapping.py", "tests/cli/test_cli.py", "tests/web/test_admin.py",
           "tests/web/test_stripe_end_to_end.py", "tests/ops/test_rebuild.py", "tests/test_secrets.py"]


def test_the_suite_passes_with_a_users_extra_mapping_in_mappings(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "var", "__pycache__", "*.db*"))
    (copy / "mappings" / "acme-billing.yaml").write_text(USER_MAPPING)
    check = subprocess.run([sys.executable, "-m", "bridge", "check"], cwd=copy, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0 and "12 mapping file(s) OK" in check.stdout, check.stdout + check.stderr
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", *MODULES], cwd=copy, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
