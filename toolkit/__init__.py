"""scenario-toolkit: Bayesian scenario forecasting for geopolitical analysts."""

__version__ = "0.1.0"
