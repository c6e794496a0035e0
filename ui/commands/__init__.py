"""The `newsrag` commands, one module per group (ui.cli loads each when it runs); shared helpers in common."""
