"""A Twilio Messages simulator on the ``World`` (see ``docs/twilio.md``)."""

from adapters.twilio.simulator.lossy import LossyTransport
from adapters.twilio.simulator.simulator import IN_PROCESS_BASE_URL, TwilioSimulator

__all__ = ["IN_PROCESS_BASE_URL", "LossyTransport", "TwilioSimulator"]
