"""What the bridge tells its operators: logs (scrubbed), Prometheus metrics, Sentry alerts."""
