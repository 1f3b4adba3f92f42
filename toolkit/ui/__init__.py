"""User interfaces: the ``scenarios`` command line and the notebook dashboards."""
