"""Storage: the evidence ledger, saved runs, history, priors edits and case scaffolds.

Every write goes through :mod:`toolkit.core.atomic`.
"""
