"""First-party feedback formatters (plugin `feedback`): `traceback` and `binary`."""
