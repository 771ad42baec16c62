"""First-party sandbox backends (plugin `sandbox`)."""
