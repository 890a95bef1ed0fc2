"""Pure PyTorch learning: layer-stack models, data, partitioners, slice training, costs.

This package never imports simpy or networkx; the simulator drives it through
`TrainJob` futures whose FLOPs and memory are known before they run.
"""
