"""The case as data: indicators, priors, evidence, sources, questions and their validation.

:func:`toolkit.model.case.load_case` reads a case's files into a validated
:class:`~toolkit.model.case.Case` (every problem at once). Kind-specific reading is delegated
to :mod:`toolkit.families`.
"""
