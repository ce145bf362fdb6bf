"""The step player's data: each traced step as phases on the network diagram.

    step_phases(trace, step, activations) -> (stage, phases)

The stage is the diagram: columns of units (the input, then each layer's output; a network
fed by another, like D by G, starts on the column its feeder ends on) joined by layers. A
phase is one moment of the step, in the order the trace recorded it:

    forward  one layer: z = x·W + b, a = f(z)       edges show the weights
    loss     the loss and ∂L/∂ŷ
    backward one layer, last first                   edges show ∂L/∂W
    handoff  one network's ∂L/∂x becomes the gradient of the network that fed it
    update   every parameter of a network: before ← after

Each phase holds the values shown (for each of the first ``SAMPLES`` samples of the batch a
student can choose to follow, the first ``SHOWN`` units of a column) and, for every element a
student can click, its equation with the trace's numbers substituted. The
numbers come from the trace only; an equation that cannot be written whole (a summarized
array) says what the trace kept. The page's script (``player.js``) only displays them.
"""

from __future__ import annotations

import numpy as np

from engine.i18n import N_, _
from engine.report.numbers import array, factor, fmt, sub
from engine.report.substitute import derivative, squared_error
from engine.report.updates import worked_entry
from engine.trace.reader import Trace
from engine.trace.tensors import Summary

#: Units shown per column; the rest are counted ("+ 122 more").
SHOWN = 6
#: Samples of a batch the player can follow (the first ones).
SAMPLES = 8


def sample_row(value, n: int = 0) -> list[float | None] | None:
    """Sample n's numbers (from 0) of a (batch, units) trace value, the first ``SHOWN``
    units (a vector, like a bias, is the same for every sample); from a summary only what its
    head holds (the head is the array's first numbers in row order: sample 1's)."""
    value = array(value)
    if value is None:
        return None
    if isinstance(value, Summary):
        width = value.shape[-1] if len(value.shape) > 1 else value.shape[0]
        head = list(value.head[: min(width, SHOWN)]) if n == 0 or len(value.shape) < 2 else []
        return head + [None] * (min(width, SHOWN) - len(head))
    value = np.asarray(value, dtype=np.float64)
    row = value[min(n, len(value) - 1)] if value.ndim > 1 else value
    return [float(v) for v in row[:SHOWN]]


def first_sample(value) -> list[float | None] | None:
    """Sample 1's numbers of a (batch, units) trace value (see ``sample_row``)."""
    return sample_row(value, 0)


def sample_count(records: list[dict]) -> int:
    """The samples of the batch a student can follow: the rows of the first forward pass's
    x when the trace holds it whole, at most ``SAMPLES``."""
    for record in records:
        if record["type"] == "forward":
            x = _whole(record["values"].get("x"))
            return 1 if x is None or x.ndim != 2 else max(1, min(len(x), SAMPLES))
    return 1


def grid(value) -> list[list[float | None]] | None:
    """The shown corner of a weight matrix (inputs × units); from a summary, its first row's
    head (the rest is unknown: None)."""
    value = array(value)
    if value is None:
        return None
    if isinstance(value, Summary):
        rows, cols = (value.shape + (1,))[:2]
        shown_rows, shown_cols = min(rows, SHOWN), min(cols, SHOWN)
        flat = list(value.head)
        out = [[None] * shown_cols for _unused in range(shown_rows)]
        for k, number in enumerate(flat):
            i, j = divmod(k, cols)
            if i < shown_rows and j < shown_cols:
                out[i][j] = float(number)
        return out
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 1:
        value = value[None, :]
    return [[float(v) for v in row[:SHOWN]] for row in value[:SHOWN]]


def _whole(value):
    value = array(value)
    return None if value is None or isinstance(value, Summary) else np.asarray(value, float)


class _Stage:
    """Columns and layers, laid out from the step's forward records."""

    def __init__(self, records: list[dict]):
        self.columns: list[dict] = []
        self.layers: dict[str, dict] = {}
        handoffs = [r for r in records if r["type"] == "handoff"]
        feeds = {r["to"]: r["from"] for r in handoffs}  # G feeds D: G is laid out first
        forwards = [r for r in records if r["type"] == "forward"]
        networks = list(dict.fromkeys(r.get("network") for r in forwards))
        networks.sort(key=lambda n: 0 if n in feeds else 1)
        for network in networks:
            own = {r["layer"]: r for r in forwards if r.get("network") == network}
            ordered = sorted(own.values(), key=lambda r: r["index"])
            if not self.columns or network not in feeds.values():
                first = ordered[0]["values"]["x"]
                self._column(network, "input", _width(first))
            else:  # the feeder's last column is this network's input
                self.columns[-1]["name"] += f" = {network} input"
            for record in ordered:
                values = record["values"]
                output = values.get("a", values.get("z"))
                source = len(self.columns) - 1
                self._column(network, record["layer"], _width(output))
                self.layers[record["layer"]] = {
                    "name": record["layer"],
                    "network": network,
                    "source": source,
                    "target": source + 1,
                }

    def _column(self, network, name, width):
        label = "x" if not self.columns else "a"
        self.columns.append(
            {
                "network": network,
                "name": name,
                "label": label,
                "units": width,
                "shown": min(width, SHOWN),
            }
        )


def _width(value) -> int:
    value = array(value)
    shape = value.shape if isinstance(value, Summary) else np.shape(value)
    return int(shape[-1]) if len(shape) else 1


def step_phases(
    trace: Trace, step: int, activations: dict[str, dict | str | None], loss: dict | None = None
) -> tuple[dict, list[dict]] | None:
    """The stage and the phases of traced step ``step``; None when the step has no layer
    the player can draw (only dense layers have edges)."""
    records = trace.step_records(step)
    if not any(r["type"] == "forward" for r in records) or _undrawable(records):
        return None
    stage, optimizers = _Stage(records), _optimizers(trace, records)
    followed = [
        _Phases(stage, records, activations, loss or {}, n, optimizers).build()
        for n in range(sample_count(records))
    ]
    return (
        {"columns": stage.columns, "layers": list(stage.layers.values())},
        merge_samples(followed),
    )


def _optimizers(trace: Trace, records: list[dict]) -> dict:
    """Each update record's optimizer, rebuilt once per optimizer of the step."""
    from engine.report.updates import update_optimizer

    built = {}
    for record in records:
        if record["type"] == "update" and record.get("network") not in built:
            built[record.get("network")] = update_optimizer(trace, record)
    return built


def merge_samples(followed: list[list[dict]]) -> list[dict]:
    """One list of phases from each followed sample's: a phase's ``nodes`` and ``grads`` hold
    one row per sample, and an equation that differs between samples one text per sample."""
    merged = []
    for index, phase in enumerate(followed[0]):
        versions = [phases[index] for phases in followed]
        for field in ("nodes", "grads"):
            phase[field] = {c: [v[field].get(c) for v in versions] for c in phase[field]}
        equations = phase.get("eq") or {}
        for key in equations:
            texts = [v["eq"].get(key) for v in versions]
            equations[key] = texts[0] if len(set(texts)) == 1 else texts
        merged.append(phase)
    return merged


class _Phases:
    def __init__(
        self,
        stage: _Stage,
        records: list[dict],
        activations: dict,
        loss: dict,
        n: int = 0,
        optimizers: dict | None = None,
    ):
        self.stage, self.records, self.optimizers = stage, records, optimizers or {}
        self.activations = {name: activation_spec(a) for name, a in activations.items()}
        self.loss, self.n = loss, n
        self.weights: dict[str, object] = {}
        for record in records:  # the weights forward passes use: before the step's update
            if record["type"] == "update":
                self.weights.setdefault(record["param"], record["before"])
        self.nodes: dict[int, list] = {}
        self.grads: dict[int, list] = {}
        self.note = ""
        self.frozen: set[str] = set()
        self.forward_values: dict[str, dict] = {}
        # a network whose backward pass is marked frozen is frozen for its whole phase
        self.frozen_in: dict[object, set[str]] = {}
        for record in records:
            if record["type"] == "backward" and record.get("frozen"):
                self.frozen_in.setdefault(record.get("phase"), set()).add(record.get("network"))

    def row(self, value):
        """The followed sample's numbers of a (batch, units) value."""
        return sample_row(value, self.n)

    def build(self) -> list[dict]:
        phases, updates = [], []
        for record in self.records:
            kind = record["type"]
            self.frozen = self.frozen_in.get(record.get("phase"), set())
            if kind != "update" and updates:
                phases.append(self._update(updates))
                updates = []
            if kind == "gan_phase":
                self.note = record.get("text", "")
            elif kind == "forward":
                phases.append(self._forward(record))
            elif kind == "loss":
                phases.append(self._loss(record))
            elif kind == "backward":
                phases.append(self._backward(record))
            elif kind == "handoff":
                phases.append(self._handoff(record))
            elif kind == "update":
                updates.append(record)
        if updates:
            phases.append(self._update(updates))
        return phases

    def _phase(self, title: str, mode: str, active: list[int], **extra) -> dict:
        return {
            "title": title,
            "note": self.note,
            "mode": mode,
            "active": active,
            "frozen": sorted(n for n in self.frozen if n),
            "nodes": {str(c): v for c, v in self.nodes.items()},
            "grads": {str(c): v for c, v in self.grads.items()},
            **extra,
        }

    # --- forward -----------------------------------------------------------------------

    def _forward(self, record: dict) -> dict:
        layer = self.stage.layers[record["layer"]]
        source, target = layer["source"], layer["target"]
        if self.nodes and target <= max(self.nodes):  # a new pass over the diagram
            self.nodes, self.grads = {}, {}
        values = record["values"]
        self.forward_values[record["layer"]] = values
        output = values.get("a", values.get("z"))
        self.nodes[source] = self.row(values["x"])
        self.nodes[target] = self.row(output)
        name = record["layer"]
        W, b = self.weights.get(f"{name}.W"), self.weights.get(f"{name}.b")
        equations = self._forward_equations(name, target, values, W, b)
        for i, w_row in enumerate(grid(W) or []):
            for j, w in enumerate(w_row):
                x = _at(self.nodes[source], i)
                text = f"{name}: W{sub(i, j)} = {_num(w)}"
                if x is not None and w is not None:
                    text += f"\nx{sub(i)}·W{sub(i, j)} = {fmt(x)} × {factor(w)} = {fmt(x * w)}"
                equations[f"e:{name}:{i}:{j}"] = text
        for j, bias in enumerate(self.row(b) or []):
            equations[f"b:{name}:{j}"] = f"{name}: b{sub(j)} = {_num(bias)}"
        return self._phase(
            _titled(record, _("forward through {name}").format(name=name)),
            "weight",
            [source, target],
            layer=name,
            edges={name: grid(W)},
            bias={name: self.row(b)},
            eq=equations,
        )

    def _forward_equations(self, name, target, values, W, b) -> dict:
        n = self.n
        equations = {}
        x, z, a = _whole(values["x"]), _whole(values.get("z")), _whole(values.get("a"))
        W, b = _whole(W), _whole(b)
        activation = self.activations.get(name) or {}
        f = activation.get("type") or "identity"
        for j, shown in enumerate(self.row(values.get("z")) or []):
            lines = []
            if x is not None and W is not None and z is not None:
                terms = " + ".join(f"x{sub(i)}·W{sub(i, j)}" for i in range(W.shape[0]))
                numbers = " + ".join(
                    f"{fmt(x[n, i])} × {factor(W[i, j])}" for i in range(W.shape[0])
                )
                if b is not None:
                    terms += f" + b{sub(j)}"
                    numbers += f" + {factor(b[j])}"
                lines.append(f"z{sub(j)} = {terms}\n   = {numbers}\n   = {fmt(z[n, j])}")
            else:
                lines.append(
                    _(
                        "z{sub} = Σᵢ xᵢ·Wᵢ{sub} + b{sub} = {num}  (the trace keeps only the first "
                        "numbers of this layer's weights)"
                    ).format(sub=sub(j), num=_num(shown))
                )
            if a is not None and z is not None:
                lines.append(f"a{sub(j)} = {f}(z{sub(j)}) = {f}({fmt(z[n, j])}) = {fmt(a[n, j])}")
            elif "a" not in values:
                lines.append(_("no activation: the output is z{sub}").format(sub=sub(j)))
            equations[f"n:{target}:{j}"] = f"{name}: " + "\n".join(lines)
        return equations

    # --- loss --------------------------------------------------------------------------

    def _loss(self, record: dict) -> dict:
        n = self.n
        target = max(self.nodes) if self.nodes else len(self.stage.columns) - 1
        gradient = record.get("dL/dprediction")
        if gradient is not None:
            self.grads[target] = self.row(gradient)
        equations = {"loss": f"{record.get('formula', 'L')}\nL = {fmt(record['value'])}"}
        term = record.get("term")
        if term:
            equations["loss"] = f"{term}\n{equations['loss']}"
        prediction, truth = _whole(record.get("prediction")), _whole(record.get("target"))
        dL = _whole(gradient)
        if dL is not None and prediction is not None and truth is not None:
            squared = squared_error(self.loss, record, prediction, truth, dL)
            if squared:
                equations["loss"] = squared["loss"]
            for j in range(min(prediction.shape[-1], SHOWN)):
                y_hat, y = prediction[n, j], truth[n, j]
                derived = squared["derivative"](j, n) if squared else ""
                equations[f"n:{target}:{j}"] = (
                    f"ŷ{sub(j)} = {fmt(y_hat)},  y{sub(j)} = {fmt(y)}\n"
                    f"∂L/∂ŷ{sub(j)} = {derived}{fmt(dL[n, j])}"
                )
        return self._phase(
            _titled(record, _("loss")),
            "grad",
            [target],
            loss=record["value"],
            eq=equations,
        )

    # --- backward ----------------------------------------------------------------------

    def _backward(self, record: dict) -> dict:
        name = record["layer"]
        layer = self.stage.layers[name]
        source, target = layer["source"], layer["target"]
        values = record["values"]
        if "dL/da" in values:
            self.grads[target] = self.row(values["dL/da"])
        elif "dL/dz" in values:
            self.grads[target] = self.row(values["dL/dz"])
        self.grads[source] = self.row(values.get("dL/dx"))
        equations = self._backward_equations(name, source, target, values)
        title = _("backward through {name}").format(name=name)
        if record.get("frozen"):
            title = _("{title} (D frozen: its gradients are not applied)").format(title=title)
        return self._phase(
            _titled(record, title, batch=False),
            "grad",
            [source, target],
            layer=name,
            edges={name: grid(values.get("dL/dW"))},
            bias={name: self.row(values.get("dL/db"))},
            eq=equations,
        )

    def _backward_equations(self, name, source, target, values) -> dict:
        n = self.n
        equations = {}
        dz, da = _whole(values.get("dL/dz")), _whole(values.get("dL/da"))
        fprime, dW = _whole(values.get("f'(z)")), _whole(values.get("dL/dW"))
        dx = _whole(values.get("dL/dx"))
        x = _whole(self._forward_value(name, "x"))
        z, a = _whole(self._forward_value(name, "z")), _whole(self._forward_value(name, "a"))
        W = _whole(self.weights.get(f"{name}.W"))
        activation = self.activations.get(name) or {}
        f = activation.get("type") or "identity"
        single = dz is not None and dz.shape[0] == 1
        for j, shown in enumerate(self.row(values.get("dL/dz")) or []):
            if dz is None:
                equations[f"n:{target}:{j}"] = f"{name}: ∂L/∂z{sub(j)} = {_num(shown)}"
                continue
            lines = []
            if da is not None and fprime is not None:
                derived = None
                if z is not None and a is not None:
                    derived = derivative(activation, j, z[n, j], a[n, j], fprime[n, j])
                if derived:
                    lines.append(f"f'(z{sub(j)}) = {derived}")
                else:
                    lines.append(f"f'(z{sub(j)}) = {f}'({_z(z, j, n)}) = {fmt(fprime[n, j])}")
                lines.append(
                    f"∂L/∂z{sub(j)} = ∂L/∂a{sub(j)} · f'(z{sub(j)}) = {fmt(da[n, j])} × "
                    f"{factor(fprime[n, j])} = {fmt(dz[n, j])}"
                )
            else:
                lines.append(
                    _("∂L/∂z{sub} = {fmt}  (no activation: ∂L/∂z = ∂L/∂a)").format(
                        sub=sub(j), fmt=fmt(dz[n, j])
                    )
                )
            equations[f"n:{target}:{j}"] = f"{name}: " + "\n".join(lines)
        if dW is not None and dz is not None and x is not None:
            for i in range(min(dW.shape[0], SHOWN)):
                for j in range(min(dW.shape[1], SHOWN)):
                    if single and da is not None and fprime is not None:
                        text = (
                            f"∂L/∂W{sub(i, j)} = ∂L/∂a{sub(j)} · f'(z{sub(j)}) · x{sub(i)}\n"
                            f"   = {fmt(da[n, j])} × {factor(fprime[n, j])} × {factor(x[n, i])}"
                            f" = {fmt(dW[i, j])}"
                        )
                    elif single:
                        text = (
                            f"∂L/∂W{sub(i, j)} = ∂L/∂z{sub(j)} · x{sub(i)} = {fmt(dz[n, j])} × "
                            f"{factor(x[n, i])} = {fmt(dW[i, j])}"
                        )
                    else:
                        text = (
                            f"∂L/∂W{sub(i, j)} = Σₙ ∂L/∂zₙ{sub(j)} · xₙ{sub(i)} over "
                            f"{dz.shape[0]} samples = {fmt(dW[i, j])}\n"
                            f"   sample {n + 1}'s term: {fmt(dz[n, j])} × {factor(x[n, i])} = "
                            f"{fmt(dz[n, j] * x[n, i])}"
                        )
                    equations[f"e:{name}:{i}:{j}"] = f"{name}: {text}"
        else:
            for i, row in enumerate(grid(values.get("dL/dW")) or []):
                for j, g in enumerate(row):
                    equations[f"e:{name}:{i}:{j}"] = f"{name}: ∂L/∂W{sub(i, j)} = {_num(g)}"
        for j, g in enumerate(self.row(values.get("dL/db")) or []):
            text = f"{name}: ∂L/∂b{sub(j)} = "
            text += "∂L/∂z" + sub(j) if single else "Σₙ ∂L/∂zₙ" + sub(j)
            equations[f"b:{name}:{j}"] = f"{text} = {_num(g)}"
        if dx is not None and dz is not None and W is not None:
            for i in range(min(dx.shape[1], SHOWN)):
                terms = " + ".join(f"∂L/∂z{sub(j)}·W{sub(i, j)}" for j in range(W.shape[1]))
                numbers = " + ".join(
                    f"{fmt(dz[n, j])} × {factor(W[i, j])}" for j in range(W.shape[1])
                )
                text = f"∂L/∂x{sub(i)} = {terms}"
                if W.shape[1] <= 8:
                    text += f"\n   = {numbers}"
                equations[f"n:{source}:{i}"] = f"{name}: {text}\n   = {fmt(dx[n, i])}"
        else:
            for i, g in enumerate(self.row(values.get("dL/dx")) or []):
                equations[f"n:{source}:{i}"] = f"{name}: ∂L/∂x{sub(i)} = {_num(g)}"
        return equations

    def _forward_value(self, layer: str, name: str):
        """The value ``name`` of the last forward pass through ``layer`` (the one a
        backward record undoes)."""
        return self.forward_values.get(layer, {}).get(name)

    # --- hand-off and updates ------------------------------------------------------------

    def _handoff(self, record: dict) -> dict:
        column = next(
            c["target"]
            for c in reversed(list(self.stage.layers.values()))
            if c["network"] == record["to"]
        )
        gradient = record.get("dL/dG(z)")
        self.grads[column] = self.row(gradient)
        return self._phase(
            _("hand-off: {source}'s ∂L/∂x becomes {target}'s ∂L/∂a").format(
                source=record["from"], target=record["to"]
            ),
            "grad",
            [column],
            eq={
                f"n:{column}:{j}": f"∂L/∂G(z){sub(j)} = {_num(g)}"
                for j, g in enumerate(self.row(gradient) or [])
            },
            text=_(record["text"]) if record.get("text") else "",
        )

    def _update(self, updates: list[dict]) -> dict:
        edges, bias, equations, active = {}, {}, {}, set()
        for record in updates:
            layer, _unused, param = record["param"].rpartition(".")
            if layer not in self.stage.layers:
                continue
            spec = self.stage.layers[layer]
            active.update((spec["source"], spec["target"]))
            rule = _rule(record, self.optimizers.get(record.get("network")))
            before, after = grid(record["before"]), grid(record["after"])
            grads = grid(record.get("grad"))
            letter = "W" if param == "W" else "b"
            shown = edges if param == "W" else bias
            shown[layer] = self.row(record["after"]) if param == "b" else after
            for i, row in enumerate(before or []):
                for j, old in enumerate(row):
                    new = after[i][j]
                    g = grads[i][j] if grads else None
                    index = sub(i, j) if param == "W" else sub(j)
                    key = f"e:{layer}:{i}:{j}" if param == "W" else f"b:{layer}:{j}"
                    at = (i, j) if param == "W" else (j,)
                    equations[key] = f"{layer}: " + rule(f"{letter}{index}", old, g, new, at)
            self.weights[record["param"]] = record["after"]
        optimizer = updates[0].get("optimizer", "")
        title = _("updates ({optimizer}, lr = {lr})").format(
            optimizer=optimizer, lr=fmt(updates[0].get("lr", float("nan")))
        )
        return self._phase(
            _titled(updates[0], title, batch=False),
            "update",
            sorted(active),
            edges=edges,
            bias=bias,
            eq=equations,
        )


def _titled(record: dict, title: str, batch: bool = True) -> str:
    """A phase's title with its network ("D: ...") and batch ("... (real batch)")."""
    if batch and record.get("batch"):
        title = _("{title} ({batch} batch)").format(title=title, batch=_(record["batch"]))
    if record.get("network"):
        title = _("{network}: {title}").format(network=record["network"], title=title)
    return title


#: The step player's words (player.js shows them; {names} are filled in there).
WORDS = {
    "prev": N_("◀ Previous"),
    "prev_label": N_("Previous phase"),
    "play": N_("▶ Play"),
    "play_label": N_("Play"),
    "pause": N_("❚❚ Pause"),
    "pause_label": N_("Pause"),
    "next": N_("Next ▶"),
    "next_label": N_("Next phase"),
    "step": N_("Step"),
    "slider_label": N_("Traced step"),
    "follow": N_("Follow"),
    "follow_label": N_("Sample of the batch to follow"),
    "sample_option": N_("sample {index} of {count}"),
    "equation_label": N_("Equation"),
    "network_label": N_("The network: units, weights and biases"),
    "input": N_("input"),
    "network_input": N_("{network} input"),
    "more_units": N_("+ {count} more units"),
    "weight": N_("{layer} weight W{index}"),
    "bias": N_("{layer} bias b{index}"),
    "input_unit": N_("input {label}"),
    "unit": N_("{layer} unit {label}"),
    "step_status": N_("step {step} ({index} of {count} traced)"),
    "phase_status": N_("Phase {index} of {count}: {title}"),
    "hint": N_(
        "Click or focus a unit, an edge or a bias to see its equation with this step's numbers."
    ),
    "not_part": N_(": not part of this phase"),
}


def words() -> dict[str, str]:
    """The player's words in the current language."""
    return {key: _(text) for key, text in WORDS.items()}


def _rule(record: dict, optimizer=None):
    """How one number of an update is written: the optimizer's ``worked_update`` with the
    trace's numbers (Adam's m, v and bias corrections, momentum's buffer, ...) and before →
    after; SGD's rule with numbers; else before ← after."""
    lr = record.get("lr")
    plain_sgd = record.get("optimizer") == "sgd" and not record.get("state")

    def write(name, old, g, new, index=()):
        if old is None or new is None:
            return _("{name}: the trace keeps only the first numbers of this parameter").format(
                name=name
            )
        worked = None if plain_sgd else worked_entry(optimizer, record, name, index, old, g, new)
        if worked is not None:
            gradient = f"∂L/∂{name} = {fmt(g)}\n"
            return gradient + worked + "\n" + f"{name}: {fmt(old)} → {fmt(new)}"
        if plain_sgd and g is not None and lr is not None:
            return (
                f"{name} ← {name} − lr·∂L/∂{name}\n   = {fmt(old)} − {fmt(lr)} × {factor(g)}"
                f" = {fmt(new)}"
            )
        gradient = f"∂L/∂{name} = {fmt(g)}\n" if g is not None else ""
        return gradient + _("{name} ← {new} by {optimizer} (before {old}, change {change})").format(
            name=name,
            new=fmt(new),
            optimizer=record.get("optimizer"),
            old=fmt(old),
            change=fmt(new - old),
        )

    return write


def _at(values, i):
    return values[i] if values is not None and i < len(values) else None


def activation_spec(activation) -> dict:
    """A layer's activation as the scenario gives it, a name or a mapping with its options
    (``{type: leaky_relu, negative_slope: 0.2}``), as a mapping."""
    if isinstance(activation, dict):
        return activation
    return {"type": activation} if activation else {}


def _num(value) -> str:
    return _("not kept in the trace") if value is None else fmt(value)


def _z(z, j, n=0) -> str:
    return f"z{sub(j)}" if z is None else fmt(z[n, j])


def _undrawable(records: list[dict]) -> dict | None:
    """The first forward record of a layer the player cannot draw: only dense layers have
    edges (not dropout, batch_norm, conv2d, ...)."""
    return next((r for r in records if r["type"] == "forward" and r.get("kind") != "dense"), None)


def undrawable_layer(trace: Trace) -> dict | None:
    """The first layer record ``step_phases`` cannot draw, when it can draw no traced step;
    else None (a step it can draw, or no traced step with a forward pass at all)."""
    first = None
    for step in trace.traced_steps:
        records = trace.step_records(step)
        other = _undrawable(records)
        if other is None and any(r["type"] == "forward" for r in records):
            return None
        first = first or other
    return first


def player(
    report, activations: dict[str, dict | str | None], max_steps: int = 6, loss: dict | None = None
):
    """The ``Player`` block of a report: up to ``max_steps`` traced steps (the first, the
    last, and evenly between), or None when no traced step can be drawn."""
    from engine.report.document import Player

    traced = report.trace.traced_steps
    if len(traced) > max_steps:
        picks = np.linspace(0, len(traced) - 1, max_steps).round().astype(int)
        traced = [traced[i] for i in dict.fromkeys(picks.tolist())]
    stage, steps = None, []
    for step in traced:
        built = step_phases(report.trace, step, activations, loss)
        if built is None or (stage is not None and built[0] != stage):
            continue
        stage = built[0]
        samples = sample_count(report.trace.step_records(step))
        steps.append({"step": step, "samples": samples, "phases": built[1]})
    if not steps:
        return None
    skipped = len(report.trace.traced_steps) - len(steps)
    return Player({"stage": stage, "steps": steps, "words": words()}, skipped=skipped)
