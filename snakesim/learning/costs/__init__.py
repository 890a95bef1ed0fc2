"""What a training step costs, known before it runs: FLOPs, memory, bytes.

- `model`: `CostModel` (per-group FLOPs, bytes and peak memory of a slice-training
  job) and `MemoryBreakdown`;
- `probe`: measures a group's FLOPs and activation memory on the meta device;
- `split_costs`: the same for split training's client and server steps;
- `attention`: the fused-attention rule for activation memory;
- `precision`: storage formats and mixed-precision rules (what each tensor costs).
"""

from snakesim.learning.costs.breakdown import MemoryBreakdown, StepCost, tensor_bytes
from snakesim.learning.costs.model import CostModel

__all__ = ["CostModel", "MemoryBreakdown", "StepCost", "tensor_bytes"]
