"""The GAN kind's trace checks: both networks' passes, the GAN losses and label tricks
(``losses``), and the per-step claims (``scalars``); ``walk`` goes through a trace."""

from __future__ import annotations

import engine


@engine.hookimpl
def tracegrad_register_trace_checks(register):
    from plugins.rules.gan.walk import verify_gan

    register("gan", verify_gan)
