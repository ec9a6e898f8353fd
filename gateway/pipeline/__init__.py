"""The order pipeline: Dramatiq actors from queued notification to updated Opportunity."""
