"""The GAN kind's trace checks: both networks' passes, the GAN losses (``losses``), the
tricks' rules (``tricks``, ``trick_rules``), and the per-step claims (``scalars``); ``walk``
goes through a trace; ``conditional`` checks conditional GANs, ``minibatch`` the
minibatch_discrimination layer."""

from __future__ import annotations

import engine


@engine.hookimpl
def tracegrad_register_trace_checks(register):
    from plugins.rules.gan.walk import verify_gan

    register("gan", verify_gan)


@engine.hookimpl
def tracegrad_register_rules(register):
    from plugins.rules.gan import minibatch
    from plugins.rules.gan.conditional import ConcatRule
    from plugins.rules.gan.order import RECORD_ORDER
    from plugins.rules.gan.trick_rules import BUILTIN

    register("record_order", "gan", RECORD_ORDER)
    for name, rule in BUILTIN.items():
        register("tricks", name, rule)
    register("conditionings", "concat", ConcatRule())
    register("layers", "minibatch_discrimination", (minibatch.forward, minibatch.backward))
