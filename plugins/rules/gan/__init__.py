"""The GAN kind's trace checks: both networks' passes, the GAN losses and label tricks
(``losses``), and the per-step claims (``scalars``); ``walk`` goes through a trace;
``conditional`` checks conditional GANs, ``minibatch`` the minibatch_discrimination layer."""

from __future__ import annotations

import engine


@engine.hookimpl
def tracegrad_register_trace_checks(register):
    from plugins.rules.gan.walk import verify_gan

    register("gan", verify_gan)


@engine.hookimpl
def tracegrad_register_rules(register):
    from plugins.rules.gan import minibatch

    register("layers", "minibatch_discrimination", (minibatch.forward, minibatch.backward))
