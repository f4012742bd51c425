"""Personal data (RGPD): the retention policy, its purge, and the export of what is held about a trainee."""
