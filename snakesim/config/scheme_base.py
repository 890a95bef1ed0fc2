"""The base classes of every scheme's section: `Frozen` (every scenario model's base),
`SchemeSpec` (how a scheme describes itself) and `WithServer`, and the validators the
scheme sections share."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Base of every schema model: immutable, unknown keys are errors, types are strict.

    Strict: a boolean is never a number (``rounds: true`` is an error, not 1), a float
    is never an integer (``clients: 1e9`` is an error, not a billion clients) and a
    numeric string is never a number; quantities with units (`snakesim.config.quantities`)
    parse their own strings. Numbers must be finite (``lr: .inf`` is an error).
    """

    # A docstring under a field is its description (JSON Schema, docs/scenario-keys.md).
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


def _on_off(value: object) -> object:
    # YAML 1.1 reads a bare on/off as a boolean; accept what the user meant.
    return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


def _kind(value: object) -> object:
    # `assignment: even` is shorthand for `assignment: {kind: even}`.
    return {"kind": value} if isinstance(value, str) else value


class SchemeSpec(Frozen):
    """What every scheme's section tells the rest of snakesim about itself.

    Attributes
    ----------
    display
        The scheme's name in messages and tables.
    implementation
        The module that implements it; it defines ``build(spec, topology)``.
    """

    display: ClassVar[str]
    implementation: ClassVar[str]

    def named_server(self) -> str | None:
        """The server node this section names (None: none, or the topology's)."""
        return None

    def needs_server(self) -> bool:
        """Whether the scheme cannot run without a server node."""
        return False

    def title(self) -> str:
        """The scheme as this section configures it, for messages."""
        return self.display

    def node_options(self) -> dict[str, str | None]:
        """The options that name a node, by key (each must be a node of the topology)."""
        return {}

    def route_nodes(self) -> list[str] | None:
        """The learners this section lists explicitly, in order (None: every client but
        the server)."""
        return None

    def lora_spec(self) -> LoraSpec | None:
        """The LoRA adapters it trains instead of the weights (None: none)."""
        return None


class WithServer(SchemeSpec):
    """A scheme with a ``server`` option (default: ``topology.server``)."""

    server: str | None = None
    """The server node this scheme uses (not a learner). null: the topology's server
    (``topology.server``)."""

    def named_server(self) -> str | None:
        return self.server

    def needs_server(self) -> bool:
        return True

    def node_options(self) -> dict[str, str | None]:
        return {"server": self.server}


class LoraSpec(Frozen):
    """LoRA adapters (Hu et al., ICLR 2022, via ``peft``): train and exchange only them.

    ``targets`` names the linear layers that get adapters (module name suffixes, e.g.
    ``q_proj``, ``v_proj``); the base weights stay frozen and are never sent.
    """

    rank: int = Field(default=8, ge=1, le=4096)
    """Rank r of each adapter's low-rank update (1 to 4096)."""
    alpha: int = Field(default=16, ge=1, le=1_000_000)
    """LoRA's scale numerator: the update is scaled by ``alpha / rank`` (1 to 1,000,000)."""
    dropout: float = Field(default=0.0, ge=0, lt=1)
    """Dropout on the adapters' input in training, in [0, 1); 0: none."""
    targets: list[Annotated[str, Field(min_length=1)]] = Field(
        default=["q_proj", "v_proj"], min_length=1)
    """Module name suffixes of the linear layers that get adapters (e.g. ``q_proj``,
    ``v_proj``); at least one, and they must match a linear layer of the model."""
