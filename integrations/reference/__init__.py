"""A reference ERP/MES: the peer the demo and the tests deliver the outbox to, over real HTTP.

Django-free on purpose (stdlib ``wsgiref`` and the ``standardwebhooks`` package only): it
stands for a system that is not ours, with its own store and no access to our database.
Started by ``manage.py run_reference_plant --port N`` or ``python -m integrations.reference``.
"""
