"""Plain domain logic: search, answer matching, rendering, digest selection. No Telegram, no database."""
