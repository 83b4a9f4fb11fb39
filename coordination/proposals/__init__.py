"""Resequencing proposals: when a constraint hits a line, recommend the recovery.

``snapshot`` reads the live picture of the affected lines into a scheduling ``Problem`` (and
the input version: a hash of only what would change the answer); ``alternatives`` solves it
for several objectives with the core (``coordination.scheduling``) and explains each against
the baseline; ``services`` creates, supersedes, approves and rejects proposals (audited) and
records outcomes; ``triggers`` listens to exception changes and enqueues the build.
"""
