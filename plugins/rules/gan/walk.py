"""A GAN trace: D's and G's updates, each checked as a supervised step is (``steps``), and
what ties the two networks together:

D's update u at step t (records tagged phase "d"):
- D's x on the fake batch is G(z) of the samples record, recomputed through G as it stood
  (detached: no gradient flows back), unless instance noise was added;
- the labels lie in the set the loss and the tricks allow (``gan_rules``); the loss terms
  use them; L_D = real term + fake term (+ penalties);
- D's gradient is the sum of the real and the fake batch's dL/dθ.
G's update (phase "g"):
- G's x is the latent z; D's x is G's output; D's parameters are those D's last update
  left (D is frozen); G's loss is computed on D's output with G's target;
- the gradient G's last layer receives is D's dL/dx at G's samples (the handoff);
- D's parameters are unchanged by G's phase: D's next update starts from the value its last
  update left (after its ``after_update`` hooks: weight clipping, a plugin's rescaling), and
  the frozen record says so.
Tricks: how each changes labels, inputs, gradients and parameters is its rule's
(``tricks``); a change with no rule is counted unchecked, and every other claim is checked
against the values the trace recorded after the hook.
Both: before = the previous update's after, the optimizer state carried over, lr per
network, and the per-step scalars (losses, D(x), D(G(z)), gradient norms, lr, d_steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.trace.reader import Trace, require_sections
from engine.trace.tensors import decode
from engine.verify import layers, steps
from engine.verify.activations import FORMULAS, formula
from engine.verify.report import SUMMARIZED, Checker, Place
from plugins.rules.gan.conditional import ConditionRule
from plugins.rules.gan.losses import USES_LABELS, LabelSet, base_labels, term
from plugins.rules.gan.scalars import check_step
from plugins.rules.gan.tricks import RANDOM, TrickRules
from plugins.rules.supervised import check_end

NETWORKS = {"G": "generator", "D": "discriminator"}


@dataclass
class GanUpdate:
    """The records of one update of one network: D's update ``update`` at ``step`` (phase
    "d") or G's (phase "g")."""

    step: int
    phase: str
    update: int
    passes: dict = field(default_factory=dict)  # (network, batch) -> StepRecords
    updates: dict = field(default_factory=dict)  # key -> steps.Update
    other: dict = field(default_factory=dict)  # labels, samples, latent, gan_loss, ...
    left: dict = field(default_factory=dict)  # key -> the value after the update's hooks

    @property
    def network(self) -> str:
        return "D" if self.phase == "d" else "G"

    def label(self, batch: str | None = None) -> str:
        text = f"{self.network} update {self.update}"
        return f"{text}, {batch} batch" if batch else text

    def add(self, record: dict) -> None:
        kind = record["type"]
        if kind == "update":
            self.updates[record["param"]] = steps.Update.from_record(record)
        elif kind in ("forward", "backward", "loss"):
            network, batch = record.get("network"), record.get("batch")
            if self.phase == "g" and (kind == "loss" or network == "D"):
                # G's loss is computed on D's output, and D only ever sees G's samples here
                network, batch = "D", "fake"
            key = (network, batch)
            self.passes.setdefault(key, steps.StepRecords(self.step)).add(record)
        elif kind == "trick":
            self.other.setdefault("tricks", []).append(record)
        elif kind == "term":
            self.other.setdefault("terms", []).append(record)
        elif kind == "condition_term":
            self.other.setdefault("condition_terms", {})[record.get("batch")] = record
        else:
            self.other[kind] = record


def group_updates(records: list[dict]) -> tuple[list[GanUpdate], dict[int, dict]]:
    """Each network's updates in file order, and each traced step's ``step`` record."""
    groups: dict[tuple, GanUpdate] = {}
    infos = {}
    for record in records:
        if "step" not in record or record["type"] == "scalars":
            continue
        if record["type"] == "step":
            infos[record["step"]] = record
            continue
        phase = record.get("phase")
        if phase not in ("d", "g"):
            continue
        key = (record["step"], phase, record.get("update", 0))
        if key not in groups:
            groups[key] = GanUpdate(*key)
        groups[key].add(record)
    return list(groups.values()), infos


class GanVerifier:
    def __init__(self, trace: Trace, check: Checker):
        self.check = check
        header = trace.header
        self.scenario = scenario = header.get("scenario") or {}
        self.loss = scenario.get("loss") or {}
        self.tricks = scenario.get("tricks") or []
        self.train = scenario.get("train") or {}
        self.total = self.train.get("steps", 1)
        self.rules = TrickRules(self.tricks, check, self.total)
        self.networks = {}
        for short, long in NETWORKS.items():
            entries = [e for e in header["network"] if e.get("network") == short]
            configs = (scenario.get(long) or {}).get("layers") or []
            self.networks[short] = steps.Network.from_header(entries, configs)
        optimizers = scenario.get("optimizer") or {}
        self.optimizers = {s: optimizers.get(long) or {} for s, long in NETWORKS.items()}
        # what each network's last traced update and D's last forward pass left
        self.last: dict[str, GanUpdate | None] = {"D": None, "G": None}
        self.d_forward: tuple[int, dict] | None = None
        conditional = scenario.get("conditional")
        self.cond = None
        if conditional:
            self.cond = ConditionRule(check, conditional, header.get("conditional"))

    # --- helpers ------------------------------------------------------------------------

    def checker(self, network: str, which: str | None = None) -> steps.StepChecker:
        rule = None
        if which is not None:

            def rule(record, prediction, target):
                return term(self.loss, which, prediction, target)

        return steps.StepChecker(
            self.check,
            self.networks[network],
            self.optimizers[network],
            self.total,
            rule,
            f"{network} loss ({which} term)" if which != "generator" else "G loss",
        )

    def adjacent(self, network: str, group: GanUpdate) -> GanUpdate | None:
        """The network's previous update when it is traced (same step or the step before)."""
        last = self.last[network]
        if last is not None and last.step in (group.step, group.step - 1):
            return last
        return None

    def start(self, network: str, group: GanUpdate):
        """Continuity, the parameters used and the optimizer states for an update."""
        checker = self.checker(network)
        previous = self.adjacent(network, group)
        keys = self.networks[network].all_keys()
        if network == "D" and self.cond is not None:  # a conditioning's parameters are D's
            keys += self.cond.param_keys
        if previous is not None:
            crossing = previous.step != group.step
            if network == "D" and crossing:
                how = (
                    f"D is unchanged by G's phase of step {previous.step}: before = the "
                    f"after of D's last update"
                )
            else:
                how = f"before = the after of {network}'s update {previous.update}"
                how += f" at step {previous.step}" if crossing else ""
            earlier = {k: v for k, v in previous.left.items() if v is not None}
            checker.check_continuity(group.updates, earlier, how, group.label())
            states = {key: u.state for key, u in previous.updates.items()}
        elif group.step == 0 and group.update == 0:
            states = {key: {} for key in keys}
        else:
            states = None
            self.check.skip("continuity and optimizer state: the update before is not traced")
        used = {key: u.before for key, u in group.updates.items()}
        return used, states

    def forward_before(self, group: GanUpdate) -> dict | None:
        """D's forward values of its previous pass (running estimates)."""
        if self.d_forward is None:
            return {} if group.step == 0 and group.update == 0 else None
        step, forward = self.d_forward
        return forward if step in (group.step, group.step - 1) else None

    # --- D's update ---------------------------------------------------------------------

    def verify_d(self, group: GanUpdate, generator_params: dict | None) -> None:
        self.check_labels(group)
        used, states = self.start("D", group)
        grads, logits = {}, {}
        for batch in ("real", "fake"):
            records = group.passes.get(("D", batch))
            if records is None:
                continue
            checker = self.checker("D", batch)
            passes = checker.layer_passes(
                records, used, self.forward_before(group), group.label(batch)
            )
            x, how = None, ""
            if batch == "fake":
                x, how = self.fake_input(group, generator_params)
            checker.check_forward(passes, x, how)
            self.check_target(group, batch, records)
            grads[batch] = self.check_d_pass(checker, group, batch, records, passes, used)
            logits[batch] = decode(records.loss.get("prediction")) if records.loss else None
            self.d_forward = (group.step, records.forward)
        self.check_d_loss(group)
        if self.cond is not None:
            record = group.other.get("gan_loss")
            names = {"real": "class_real", "fake": "class_fake"}
            self.cond.check_class_terms(group, record, names)
        expected = self.rules.edited_gradients(group, "d_gradients", self.d_gradients(grads))
        expected = self.with_terms(group, expected)
        info = self.infos.get(group.step) or {}
        checker = self.checker("D")
        checker.check_updates(group.updates, states, expected, info.get("lr.D"), group.label())
        group.other["logits"] = logits
        self.finish(group)

    def finish(self, group: GanUpdate) -> None:
        """What the update left once its ``after_update`` hooks ran (``TrickRules``)."""
        after = {key: u.after for key, u in group.updates.items()}
        group.left = self.rules.left_parameters(group, after)
        self.last[group.network] = group

    def check_d_pass(self, checker, group, batch, records, passes, params) -> dict:
        """A pass's loss and backward chain; returns its dL/dθ (the conditioning's too)."""
        cond = self.cond
        if cond is not None:
            if batch == "real":
                cond.check_real_labels(group, passes)
            if cond.uses_features:
                labels = cond.labels(group, "real_labels" if batch == "real" else "labels")
                extra = cond.check_pass(checker, group, batch, records, passes, params, labels)
                return {**checker.gradients(passes), **extra}
        grad = checker.check_loss(records, passes, group.label(batch))
        checker.check_backward(passes, grad)
        return checker.gradients(passes)

    def fake_input(self, group: GanUpdate, generator_params: dict | None):
        """What D's x on the fake batch must be: G(z) of the samples record, itself
        recomputed through G (when G is made of dense layers and activations)."""
        samples = group.other.get("samples")
        if samples is None:
            return None, ""
        g_of_z, z = decode(samples.get("G(z)")), decode(samples.get("z"))
        if self.cond is not None:
            z = self.cond.g_input(group, z)
        if generator_params is not None and self.check.whole("G(z)", z, *generator_params.values()):
            recomputed = replay(self.networks["G"], generator_params, z)
            if recomputed is None:
                self.check.skip("G(z) in D's phase: G has layers the replay does not cover")
            else:
                self.check.compare(
                    Place(group.step, "samples", group.label()),
                    "G(z)",
                    g_of_z,
                    recomputed,
                    "G(z) through G with the parameters its next update starts from",
                )
        return self.into_d(group, g_of_z, "x = G(z) of the samples record (detached)")

    def into_d(self, group: GanUpdate, x, how: str):
        """D's input for G's samples ``x``, after the tricks' rules (None: not checked)."""
        changed = self.rules.d_input(group, x, group.step)
        if changed is RANDOM:
            self.check.skip("D's input: a trick adds a random draw (instance noise)")
            return None, ""
        if changed is not x and changed is not None:
            how += ", as the tricks change D's input"
        if self.cond is not None and not self.cond.known:
            return self.cond.d_input(group, changed), how
        if self.cond is not None and self.cond.on_input:  # after the tricks, as the loop
            changed = self.cond.d_input(group, changed)
            how += f", with {self.cond.rule.joined}"
        return changed, how

    def d_gradients(self, grads: dict) -> dict:
        """dL_D/dθ = the real batch's + the fake batch's."""
        real, fake = grads.get("real", {}), grads.get("fake", {})
        total = {}
        for key in real.keys() & fake.keys():
            a, b = real[key], fake[key]
            if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
                total[key] = a + b
            else:
                self.check.skip(SUMMARIZED, quantity="grad")
        return total

    def with_terms(self, group: GanUpdate, grads: dict) -> dict:
        """The gradients plus those of the loss terms tricks added (``term`` records). Each
        term's value and gradient are taken as recorded: the rules of a plugin's term are
        its own, so they are counted as skipped here."""
        for added in group.other.get("terms", []):
            self.check.unchecked(
                f"the value and gradient of the {added.get('name')} term (recorded by the "
                "trick; the verifier checks their effect on the update, not their formula)"
            )
            for key, grad in (added.get("grads") or {}).items():
                if key in grads:
                    grads[key] = plus(grads[key], decode(grad))
                    if grads[key] is None:
                        self.check.skip(SUMMARIZED, quantity="grad")
        return grads

    def check_g_loss(self, group: GanUpdate, d_records) -> None:
        """When tricks add terms to G's loss: L_G = Σ terms, and its own term is the loss
        record's."""
        record = group.other.get("gan_loss")
        if record is None:
            return
        check, place = self.check, Place(group.step, "G loss", group.label())
        terms = {name: steps.number(v) for name, v in (record.get("terms") or {}).items()}
        value = steps.number(record.get("value"))
        check.compare(place, "L_G", value, sum(terms.values()), "L_G = Σ terms")
        if d_records is not None and d_records.loss is not None and "generator" in terms:
            check.compare(
                place,
                "L_G generator term",
                terms["generator"],
                steps.number(d_records.loss.get("value")),
                "the loss record of G's samples",
            )

    def check_d_loss(self, group: GanUpdate) -> None:
        record = group.other.get("gan_loss")
        if record is None:
            return
        check, place = self.check, Place(group.step, "D loss", group.label())
        terms = {name: steps.number(v) for name, v in (record.get("terms") or {}).items()}
        check.compare(
            place, "L_D", steps.number(record.get("value")), sum(terms.values()), "L_D = Σ terms"
        )
        for batch in ("real", "fake"):
            records = group.passes.get(("D", batch))
            if records is not None and records.loss is not None and batch in terms:
                check.compare(
                    place,
                    f"L_D {batch} term",
                    terms[batch],
                    steps.number(records.loss.get("value")),
                    f"the {batch} batch's loss record",
                )

    # --- labels -------------------------------------------------------------------------

    def check_target(self, group: GanUpdate, batch: str, records) -> None:
        labels = group.other.get("labels")
        if labels is None or records.loss is None:
            return
        self.check.compare(
            Place(group.step, "labels", group.label(batch)),
            "target",
            decode(records.loss.get("target")),
            decode(labels.get(batch)),
            f"the loss's target is the labels record's {batch} labels",
        )

    def check_labels(self, group: GanUpdate) -> None:
        labels, check = group.other.get("labels"), self.check
        if self.loss.get("type") not in USES_LABELS:
            return
        if labels is None:
            check.skip("D's labels: no labels record")
            return
        real = decode(labels.get("real"))
        n = len(real) if isinstance(real, np.ndarray) else 0
        base = base_labels(self.loss)
        sets = {batch: LabelSet([(base[batch], base[batch])]) for batch in ("real", "fake")}
        sets = self.rules.d_label_sets(group, sets, base, n)
        if sets is None:
            return
        place = Place(group.step, "labels", group.label())
        for batch, allowed in sets.items():
            values = decode(labels.get(batch))
            if not check.whole("labels", values):
                continue
            inside = allowed.contains(values, check.tolerance.atol)
            bad = values[~inside]
            check.holds(
                place,
                f"{batch} labels",
                bool(inside.all()),
                float(bad[0]) if bad.size else None,
                allowed.describe(),
                "the labels the loss and the tricks allow",
            )
            for count, value in allowed.flips:
                flipped = int(np.sum(np.abs(values - value) <= check.tolerance.atol))
                check.holds(
                    place,
                    f"{batch} labels flipped",
                    flipped == count,
                    flipped,
                    count,
                    f"noisy_labels flips round(fraction·N) labels to {value:g}",
                )

    # --- G's update ---------------------------------------------------------------------

    def verify_g(self, group: GanUpdate) -> None:
        check, phase = self.check, group.label()
        used, states = self.start("G", group)
        g_records = group.passes.get(("G", None))
        d_records = group.passes.get(("D", "fake"))
        g_checker, d_checker = self.checker("G"), self.checker("D", "generator")
        g_passes = []
        if g_records is not None:
            latent = group.other.get("latent")
            z = decode(latent.get("z")) if latent else None
            how = "x = the latent z"
            if self.cond is not None:
                z, how = self.cond.g_input(group, z), "x = [z, one-hot(y)]"
            g_passes = g_checker.layer_passes(g_records, used, None, phase)
            g_checker.check_forward(g_passes, z, how)
        handoff = group.other.get("handoff")
        if d_records is not None:
            frozen = self.frozen_d(group)
            x, how = None, ""
            if g_passes:
                name, out = layers.output_of(g_passes[-1].forward)
                x, how = self.into_d(group, out, f"x = G's output {name}")
            d_passes = d_checker.layer_passes(d_records, frozen, self.forward_before(group), phase)
            d_checker.check_forward(d_passes, x, how)
            self.check_g_target(group, d_records)
            if self.cond is not None and self.cond.uses_features:
                labels = self.cond.labels(group)
                self.cond.check_pass(d_checker, group, "fake", d_records, d_passes, frozen, labels)
                self.cond.check_class_terms(group, group.other.get("gan_loss"), {"fake": "class"})
            else:
                grad = d_checker.check_loss(d_records, d_passes, phase)
                d_checker.check_backward(d_passes, grad)
            self.d_forward = (group.step, d_records.forward)
            if handoff is not None and d_passes and d_passes[0].backward is not None:
                into_g, how = d_passes[0].backward.get("dL/dx"), "D's dL/dx at G's samples"
                if self.cond is not None and (self.cond.on_input or not self.cond.known):
                    into_g, how = self.cond.x_gradient(into_g), how + ", without the label columns"
                for added in group.other.get("terms", []):
                    if "dL/dG(z)" in added:
                        into_g = plus(into_g, decode(added["dL/dG(z)"]))
                        how += f" + the {added.get('name')} term's"
                shape = getattr(decode(handoff.get("dL/dG(z)")), "shape", None)
                into_g = self.rules.input_gradient(into_g, shape)
                if self.rules.unknown_in(group, "d_input"):
                    pass  # a trick with no rule changed D's input: counted unchecked above
                elif self.cond is not None and not self.cond.known:
                    pass  # a conditioning with no rule: counted unchecked by x_gradient
                elif into_g is None:
                    check.skip(SUMMARIZED, quantity="dL/dG(z)")
                else:
                    check.compare(
                        Place(group.step, "handoff", phase),
                        "dL/dG(z)",
                        decode(handoff.get("dL/dG(z)")),
                        into_g,
                        f"dL/dG(z) = {how}",
                    )
        if g_passes:
            into_g = decode(handoff.get("dL/dG(z)")) if handoff else None
            g_checker.check_backward(g_passes, into_g, "dL/dG(z), D's dL/dx (the handoff)")
        info = self.infos.get(group.step) or {}
        grads = self.rules.edited_gradients(group, "g_gradients", g_checker.gradients(g_passes))
        grads = self.with_terms(group, grads)
        self.check_g_loss(group, d_records)
        g_checker.check_updates(group.updates, states, grads, info.get("lr.G"), phase)
        self.check_frozen(group)
        group.other["g_passes"] = g_passes
        self.finish(group)

    def frozen_d(self, group: GanUpdate) -> dict:
        """D's parameters in G's phase: what D's last update of this step left."""
        last = self.last["D"]
        if last is None or last.step != group.step:
            return {}
        return dict(last.left)

    def check_g_target(self, group: GanUpdate, d_records) -> None:
        if self.loss.get("type") not in USES_LABELS or d_records.loss is None:
            return
        target = decode(d_records.loss.get("target"))
        labels = group.other.get("labels")
        place = Place(group.step, "labels", group.label())
        if labels is not None:
            self.check.compare(
                place, "target", target, decode(labels.get("target")), "the labels record"
            )
        wanted = self.rules.g_target(group, base_labels(self.loss)["generator"])
        if wanted is not None and isinstance(target, np.ndarray):
            self.check.compare(
                place, "G target", target, np.full(target.shape, wanted), "the tricks' rules"
            )

    def check_frozen(self, group: GanUpdate) -> None:
        record = group.other.get("frozen")
        if record is None:
            return
        place = Place(group.step, "D", group.label())
        self.check.holds(
            place,
            "frozen",
            bool(record.get("unchanged")) and steps.number(record.get("max_abs_change")) == 0,
            record.get("max_abs_change"),
            0.0,
            "D's parameters do not change during G's phase",
        )

    # --- the whole trace ----------------------------------------------------------------

    def run(self, trace: Trace) -> list[int]:
        groups, self.infos = group_updates(trace.records)
        rows = {row["step"]: row for row in trace.history() if "step" in row}
        for index, group in enumerate(groups):
            if group.phase == "d":
                self.verify_d(group, self.generator_params(groups, index))
            else:
                self.verify_g(group)
        for step in sorted(self.infos):
            at_step = [g for g in groups if g.step == step]
            check_step(self, step, at_step, rows.get(step), trace.end is not None)
        check_end(self.check, trace, rows, self.train, loss="g_loss")
        if trace.end is not None and rows and "d_loss" in trace.end:
            self.check.compare(
                Place(None, "end record"),
                "d_loss",
                steps.number(trace.end["d_loss"]),
                steps.number(rows[max(rows)].get("d_loss")),
                "the last step's d_loss",
            )
        return sorted(self.infos)

    def generator_params(self, groups: list[GanUpdate], index: int) -> dict | None:
        """G's parameters during D's update ``index``: the before of G's next update in the
        same step (G does not change during D's phase)."""
        step = groups[index].step
        for group in groups[index:]:
            if group.step != step:
                return None
            if group.phase == "g":
                return {key: u.before for key, u in group.updates.items()}
        return None


def plus(a, b):
    """a + b for whole arrays; None when either is summarized (or missing)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a + b
    return None


def replay(network: steps.Network, params: dict, x: np.ndarray) -> np.ndarray | None:
    """x through a network of dense layers and activations (None for other layers)."""
    for index, kind in enumerate(network.kinds):
        config = network.configs[index]
        if kind == "dense":
            values = {short: params.get(key) for short, key in network.keys(index)}
            if values.get("W") is None:
                return None
            x = x @ values["W"] + (values["b"] if values.get("b") is not None else 0.0)
            activation = config.get("activation")
        elif kind in FORMULAS:
            activation = config
        else:
            return None
        if activation is not None:
            f = formula(activation)
            if f is None:
                return None
            x = f.f(x)
    return x


def verify_gan(trace: Trace, check: Checker) -> list[int]:
    """Check every traced update of a GAN trace; returns the traced step numbers."""
    require_sections(trace, "gan", ("generator", "discriminator", "loss", "train"))
    pictures = sum(record["type"] == "gan_samples" for record in trace.records)
    if pictures:
        check.skip(
            "pictures for reports (gan_samples): G(z) for a z the trace does not hold",
            count=pictures,
        )
    return GanVerifier(trace, check).run(trace)
