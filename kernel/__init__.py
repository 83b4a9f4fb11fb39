"""The ground floor every app may import: domain errors, the API router, permission and
error handling, admin and viewset bases, the observer registry and the role groups.

It imports no app of ours (``coordination``, ``exceptions``, ``workflows``, ``integrations``)
and no settings shell (``plantcoord``); those import it.
"""
