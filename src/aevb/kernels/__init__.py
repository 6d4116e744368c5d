"""Speed only: the CPU kernels of the dense layers, the hand-written training pass, the direct optimiser
step and the fast decoder log-density. Each computes what plain PyTorch computes (the tests compare
them); nothing here imports the model."""
