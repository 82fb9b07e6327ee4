"""absl-flag binaries and their configs."""
