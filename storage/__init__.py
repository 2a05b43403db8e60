"""Persistence: models, migrations, repositories and the feed importer."""
