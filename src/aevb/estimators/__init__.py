"""Numbers about a trained model: the bound over a data set, importance-sampled log p(x), HMC and the
paper's Appendix D estimator, and diagnostics (KL per dimension, active units)."""
