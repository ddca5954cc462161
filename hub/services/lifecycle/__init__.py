"""The data lifecycle: the trash (move there, restore, purge), and what purges it."""
