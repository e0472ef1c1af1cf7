import torch

# The test models are tiny: extra threads only add start-up and spin-wait overhead (a lot on a busy machine).
torch.set_num_threads(1)
