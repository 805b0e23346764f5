"""The collector and tag server: serves each account's stamped tag and receives, validates and
stores the events the tag sends (see `README.md`, "Collector")."""
