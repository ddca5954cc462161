"""Who may do what, and what every change records: the acting principal, roles and grants, the
audit trail and feed entries, limits and shared lookups."""
