"""The Ray GPU cluster: its jobs and nodes, bookings and quotas."""
