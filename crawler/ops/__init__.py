"""Operating a mirror: probe a feed, show its status, verify its files, run
crawls periodically, and the run's log file."""
