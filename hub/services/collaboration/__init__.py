"""Comments, the activity feed and inbox, digests, pages and notebooks, tasks, share links,
webhooks and live updates."""
