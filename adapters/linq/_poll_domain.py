"""Linq's poll shapes (REST envelope and webhook ``poll`` objects) read into domain polls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.linq._fields import optional_datetime, require_list, require_str
from adapters.linq._to_domain import handle_from_wire
from adapters.linq.wire_polls import PollEnvelope
from caresupport_transport.errors import ProtocolError
from caresupport_transport.handles import Handle
from caresupport_transport.polls import Poll, PollOption, PollVote

__all__ = ["poll_from_envelope", "poll_from_json", "poll_options_from_json"]


def poll_from_envelope(envelope: PollEnvelope) -> Poll:
    """A REST poll envelope as a domain ``Poll`` (its creator: the first option's creator).

    Raises:
        ProtocolError: a voter or creator that is not a valid handle.
    """
    options = tuple(
        PollOption(
            option.option_id,
            option.text,
            tuple(
                PollVote(
                    handle_from_wire(v.handle, field=f"poll.options[{i}].voters[{j}].handle"),
                    v.voted_at,
                )
                for j, v in enumerate(option.voters)
            ),
            creator=_creator(option.creator_handle, f"poll.options[{i}].creator_handle"),
        )
        for i, option in enumerate(envelope.poll.options)
    )
    return Poll(
        envelope.message_id,
        envelope.chat_id,
        options,
        creator=options[0].creator if options else None,
    )


def poll_options_from_json(values: Sequence[Any], *, path: str) -> tuple[PollOption, ...]:
    """Webhook option objects (``{option_id, text, creator_handle?, voters?}``) as options.

    Raises:
        ProtocolError: naming the field that is missing or malformed.
    """
    options: list[PollOption] = []
    for index, raw in enumerate(values):
        where = f"{path}[{index}]"
        if not isinstance(raw, Mapping):
            raise ProtocolError(f"{where}: must be an object")
        votes: list[PollVote] = []
        raw_voters = raw.get("voters") or []
        if not isinstance(raw_voters, list):
            raise ProtocolError(f"{where}.voters: must be an array")
        for number, voter in enumerate(raw_voters):
            if not isinstance(voter, Mapping):
                raise ProtocolError(f"{where}.voters[{number}]: must be an object")
            votes.append(
                PollVote(
                    handle_from_wire(voter.get("handle"), field=f"{where}.voters[{number}].handle"),
                    optional_datetime(voter, "voted_at", path=f"{where}.voters[{number}]"),
                )
            )
        text = raw.get("text")
        if not isinstance(text, str):
            raise ProtocolError(f"{where}.text: must be a string")
        options.append(
            PollOption(
                require_str(raw, "option_id", path=where),
                text,
                votes,
                creator=_creator(raw.get("creator_handle"), f"{where}.creator_handle"),
            )
        )
    return tuple(options)


def poll_from_json(data: Mapping[str, Any], *, path: str) -> tuple[PollOption, ...]:
    """The options of a webhook's ``poll`` object (``{options[], total_voters}``)."""
    return poll_options_from_json(require_list(data, "options", path=path), path=f"{path}.options")


def _creator(value: object, field: str) -> Handle | None:
    return None if value is None else handle_from_wire(value, field=field)
