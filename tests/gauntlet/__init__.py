"""The bad-input gauntlet: thousands of generated malformed manifests through both doors."""
