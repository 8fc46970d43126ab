"""Shared foundation: settings, database, auth, mail outbox, i18n, templating, CLI."""
