"""The time-aware model sampled by sequential Monte Carlo: latent rate paths, marginals."""
