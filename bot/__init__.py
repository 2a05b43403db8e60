"""Wiring: settings, the Application, the CLI, scheduled jobs and delivery."""
