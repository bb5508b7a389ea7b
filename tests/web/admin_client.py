"""The admin API as the web tests call it: its token, a bridge with a writable mappings folder, get and post."""
TOKEN = "admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBSCRIPTION = "stripe/subscription-active/payload.json"
EVENT_ID = "evt_1MqqbKLt4dXK03v5qaIbiNCC"


def get(bridge, path, **kwargs):
    return bridge.client.get(path, headers=AUTH, **kwargs)


def post(bridge, path, **kwargs):
    return bridge.client.post(path, headers=AUTH, **kwargs)
