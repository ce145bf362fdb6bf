"""What the trace header (and the registry) say about a layer: its one-line description,
its activation, and that activation's derivative formula."""

from __future__ import annotations

from engine.trace.reader import Trace


def _layer_configs(trace: Trace, record: dict) -> list:
    scenario = trace.header.get("scenario") or {}
    network = record.get("network")
    if network:
        names = {"G": "generator", "D": "discriminator"}
        section = scenario.get(names.get(network, network)) or {}
    else:
        section = scenario.get("model") or {}
    layers = section.get("layers") if isinstance(section, dict) else None
    return layers if isinstance(layers, list) else []


def describe(trace: Trace, record: dict) -> str:
    """The header's one-line description of the layer, e.g. "dense 2→2, sigmoid"."""
    for entry in trace.header.get("network") or []:
        if entry.get("name") == record["layer"] and entry.get("network") == record.get("network"):
            return entry.get("describe", record.get("kind", ""))
    return record.get("kind", "")


def activation_config(trace: Trace, record: dict) -> dict | None:
    """The layer's ``activation:`` from the resolved scenario, as a mapping with its
    options ({"type": "leaky_relu", "negative_slope": 0.2}); None without one."""
    layers = _layer_configs(trace, record)
    index = record.get("index")
    if isinstance(index, int) and 0 <= index < len(layers):
        activation = layers[index].get("activation")
        if isinstance(activation, dict):
            return activation
        if isinstance(activation, str):
            return {"type": activation}
    return None


def activation_name(trace: Trace, record: dict) -> str | None:
    """The activation of a dense layer (its ``activation:``), from the resolved scenario."""
    return (activation_config(trace, record) or {}).get("type")


def derivative_formula(activation: str | None) -> str | None:
    """The registered activation's f'(z) formula, e.g. "f'(z) = a(1 - a)"."""
    if activation is None:
        return None
    from engine.report.compose import active_registry

    component = active_registry().components["activations"].get(activation)
    return None if component is None else component.implementation.derivative_formula


def activation_formula(activation: str | None) -> str | None:
    """The registered activation's own formula, e.g. "a = z·σ(βz)"; None for the base
    class's placeholder "a = f(z)" or an activation the registry does not know."""
    if activation is None:
        return None
    from engine.report.compose import active_registry

    component = active_registry().components["activations"].get(activation)
    formula = None if component is None else component.implementation.formula
    return None if not formula or formula == "a = f(z)" else formula
