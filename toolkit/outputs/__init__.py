"""Outputs: forecasts, backtests, the watch list, estimative language, charts, reports.

Everything here reads engine results and turns them into what an analyst sees.
"""
