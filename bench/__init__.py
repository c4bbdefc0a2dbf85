"""Performance benchmark of the booking paths on a large PostgreSQL clinic (see README.md)."""
