"""The demo store: pages that call the tag the way real stores do (served by the collector with
`--demo`)."""
