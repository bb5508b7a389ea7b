"""Delivery: workers that claim stored deliveries and PATCH Reevo, the retry policy, targets, the Reevo client."""
