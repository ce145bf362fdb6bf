"""Built-in initializers: draw a parameter's first values from the scenario seed.

fan_in is the number of inputs of a unit, fan_out the number of units (for W of shape
(fan_in, fan_out)). The Xavier/Glorot and He/Kaiming formulas match torch.nn.init.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine import hookimpl
from engine.components import ComponentConfig, Initializer
from engine.i18n import _


class ConstantConfig(ComponentConfig):
    type: Literal["constant"] = "constant"
    value: float = Field(0.0, description="Every entry gets this value.")


class Constant(Initializer):
    """w = value."""

    def sample(self, shape, fan_in, fan_out, rng):
        return np.full(shape, self.config.value)


class NormalConfig(ComponentConfig):
    type: Literal["normal"] = "normal"
    mean: float = Field(0.0, description="Mean of the normal distribution.")
    std: float = Field(1.0, gt=0, description="Standard deviation, > 0.")


class Normal(Initializer):
    """w ~ N(mean, std²)."""

    def sample(self, shape, fan_in, fan_out, rng):
        return rng.normal(self.config.mean, self.config.std, size=shape)


class UniformConfig(ComponentConfig):
    type: Literal["uniform"] = "uniform"
    low: float = Field(-0.1, description="Lower bound.")
    high: float = Field(0.1, description="Upper bound, > low.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.high <= self.low:
            raise ValueError(
                _("high ({high}) must be greater than low ({low})").format(
                    high=self.high, low=self.low
                )
            )
        return self


class Uniform(Initializer):
    """w ~ U(low, high)."""

    def sample(self, shape, fan_in, fan_out, rng):
        return rng.uniform(self.config.low, self.config.high, size=shape)


class XavierUniformConfig(ComponentConfig):
    type: Literal["xavier_uniform"] = "xavier_uniform"
    gain: float = Field(1.0, gt=0, description="Scale factor (torch.nn.init.calculate_gain).")


class XavierUniform(Initializer):
    """Glorot & Bengio 2010: w ~ U(-a, a), a = gain·√(6 / (fan_in + fan_out))."""

    def sample(self, shape, fan_in, fan_out, rng):
        limit = self.config.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class XavierNormalConfig(ComponentConfig):
    type: Literal["xavier_normal"] = "xavier_normal"
    gain: float = Field(1.0, gt=0, description="Scale factor (torch.nn.init.calculate_gain).")


class XavierNormal(Initializer):
    """Glorot & Bengio 2010: w ~ N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))."""

    def sample(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, self.config.gain * math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


class HeUniformConfig(ComponentConfig):
    type: Literal["he_uniform"] = "he_uniform"
    gain: float = Field(math.sqrt(2.0), gt=0, description="Scale factor; √2 suits relu.")


class HeUniform(Initializer):
    """He et al. 2015: w ~ U(-a, a), a = gain·√(3 / fan_in) (gain √2: a = √(6 / fan_in))."""

    def sample(self, shape, fan_in, fan_out, rng):
        limit = self.config.gain * math.sqrt(3.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class HeNormalConfig(ComponentConfig):
    type: Literal["he_normal"] = "he_normal"
    gain: float = Field(math.sqrt(2.0), gt=0, description="Scale factor; √2 suits relu.")


class HeNormal(Initializer):
    """He et al. 2015: w ~ N(0, σ²), σ = gain / √fan_in (gain √2: σ = √(2 / fan_in))."""

    def sample(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, self.config.gain / math.sqrt(fan_in), size=shape)


@hookimpl
def tracegrad_register_initializers(register):
    register("constant", Constant, ConstantConfig)
    register("normal", Normal, NormalConfig)
    register("uniform", Uniform, UniformConfig)
    register("xavier_uniform", XavierUniform, XavierUniformConfig)
    register("xavier_normal", XavierNormal, XavierNormalConfig)
    register("he_uniform", HeUniform, HeUniformConfig)
    register("he_normal", HeNormal, HeNormalConfig)
