"""Running the hub: backups, health and the numbers operators watch."""
