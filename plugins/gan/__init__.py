"""The GAN scenario kind (``kind: gan``): a generator G and a discriminator D trained against
each other (Goodfellow et al. 2014). Registered exactly as an outside plugin would register a
kind; it brings three kinds of component of its own: GAN losses, GAN tricks and
conditionings (conditional GANs).

    scenario.py    its fields (latent, generator, discriminator, loss, optimizer, tricks, ...)
    hookspecs.py   the registration hooks of GAN losses and tricks, and the step hooks
    components.py  the contracts: GanLoss, GanTrick, GanBatch, TrickSetup
    build.py       G, D, the loss, both optimizers, the tricks
    loop.py        one step: D's updates, then G's through the frozen D
    result.py      the trace header, GanRunResult (generate, discriminate)
    gradcheck.py   G's and D's gradients against finite differences
    metrics.py     modes, high-quality samples, W1, MMD², collapse warnings
    conditional.py the conditionings: G and D told each sample's class (concat, projection, acgan)
    losses.py  tricks.py  report.py  reporters.py   the built-in losses, tricks, report

Its trace checks live apart, in ``plugins/rules/gan/``.
"""

from __future__ import annotations

import engine
from engine.components import ScenarioKind
from plugins.gan import hookspecs
from plugins.gan.build import build_gan
from plugins.gan.components import GanLoss, GanTrick
from plugins.gan.conditional import Conditioning
from plugins.gan.loop import GanLoop
from plugins.gan.result import gan_header, gan_result, load_gan_run
from plugins.gan.scenario import GanScenarioBase, gan_scenario_model


class GanKind(ScenarioKind):
    """A generator G and a discriminator D, trained against each other."""

    component_kinds = {
        "gan_losses": ("tracegrad_register_gan_losses", GanLoss),
        "gan_tricks": ("tracegrad_register_gan_tricks", GanTrick),
        "gan_conditionings": ("tracegrad_register_gan_conditionings", Conditioning),
    }
    hookspecs = hookspecs
    step_specs = hookspecs.GanStepSpecs
    watched = ("d_loss", "g_loss")

    def scenario_model(self, registry):
        return gan_scenario_model(registry)

    def build(self, scenario, limits=None, precision=None, with_data=True):
        return build_gan(scenario, with_data=with_data, limits=limits, precision=precision)

    def header(self, built) -> dict:
        return gan_header(built)

    def loop(self, built, run) -> GanLoop:
        return GanLoop(built, run)

    def result(self, built, run, status, message):
        return gan_result(built, run, status, message)

    def load(self, scenario, params, loaded):
        return load_gan_run(scenario, params, loaded)

    def gradcheck(self, scenario, max_entries: int = 200, precision="float64"):
        from plugins.gan.gradcheck import check_gan

        return check_gan(scenario, max_entries=max_entries, precision=precision)


@engine.hookimpl
def tracegrad_register_scenario_kinds(register):
    register("gan", GanKind, GanScenarioBase)
