"""`python -m bridge sandbox --list`: the seeded opportunities and stages, from the seed itself."""
import json

from sandbox.known import OPPORTUNITY_IDS, STAGE_IDS
from sandbox.store import DEFAULT_SEED_PATH
from helpers import bridge_cli


def test_list_shows_every_seeded_opportunity_and_stage():
    result = bridge_cli("sandbox", "--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for opp_id in OPPORTUNITY_IDS:
        assert any(line.strip().startswith(opp_id) for line in lines), opp_id
    acme = next(line for line in lines if line.strip().startswith(OPPORTUNITY_IDS[0]))
    assert "Acme Corp - Platform expansion" in acme and "proposal" in acme and "hubspot_deal_id 18412345678" in acme
    for api_name in STAGE_IDS:
        assert f"  {api_name} = " in result.stdout
    assert "evaluation_technical = Evaluation" in result.stdout
    assert "evaluation_commercial = Evaluation" in result.stdout


def test_list_reads_the_seed_it_is_given(tmp_path):
    seed = json.loads(DEFAULT_SEED_PATH.read_text())
    seed["opportunities"] = seed["opportunities"][:1]
    seed["opportunities"][0]["attributes"]["display_name"] = "Renamed for this seed"
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    result = bridge_cli("sandbox", "--list", "--seed", str(path))
    assert "Renamed for this seed" in result.stdout and OPPORTUNITY_IDS[1] not in result.stdout
