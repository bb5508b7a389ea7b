"""Fixtures of the web tests."""
import shutil

import pytest

from admin_client import TOKEN
from helpers import ROOT


@pytest.fixture
def admin(make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=TOKEN, BRIDGE_MAPPINGS_DIR=folder)
    bridge.mappings = folder
    return bridge
