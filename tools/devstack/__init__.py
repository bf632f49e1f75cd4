"""``python -m devstack`` runs the GTD stack (``make run``); ``devstack.soak`` soaks it.

The mechanism (processes, recipes, the supervisor, workerd) lives in :mod:`harness`.
"""
