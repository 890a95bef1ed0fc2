"""Models as layer stacks: groups of layers a scheme can train, send and cut between.

- `stack`: `LayerStack` (the group structure every scheme works on), the digits CNN,
  the model registry (`model_factory`) and He initialisation;
- `vgg`: VGG-11 and the MLP;
- `lm`, `lm_models`, `lm_presets`: causal language models from Hugging Face configs
  (published presets in ``lm_configs/``) or local checkpoints, as layer stacks;
- `lora`: LoRA adapters (``peft``).
"""

from snakesim.learning.models.stack import (
    MODELS,
    LayerStack,
    ModelFactory,
    digits_cnn,
    init_parameters,
    model_factory,
)

__all__ = ["MODELS", "LayerStack", "ModelFactory", "digits_cnn", "init_parameters",
           "model_factory"]
