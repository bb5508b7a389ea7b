"""The HTTP layer: the app factory, the webhook endpoint and health, the admin API.

It coordinates; the logic lives in bridge.accept, bridge.mapping, bridge.delivery, bridge.ops.
"""
