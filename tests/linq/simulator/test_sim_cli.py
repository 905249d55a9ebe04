"""``caresupport-transport simulate``: building, announcing, serving on loopback, injecting."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.cli.main import build_parser, main
from adapters.cli.simulate import DEMO_RECIPIENTS, build_simulator, post_control, print_banner
from adapters.linq.simulator import Simulator
from caresupport_transport.errors import ConfigurationError

from .support import create_chat


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["simulate", *argv])


def test_the_simulator_is_built_with_the_given_token_phone_and_demo_recipients() -> None:
    simulator = build_simulator(_args("--token", "tok", "--phone", "+15550109999"))
    assert ("tok", "+15550109999") == (simulator.token, simulator.phone)
    assert all(handle in simulator.world for handle, _, _ in DEMO_RECIPIENTS)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_the_simulator_refuses_to_listen_off_loopback(host: str) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        build_simulator(_args("--host", host))


def test_a_webhook_off_loopback_is_refused_at_start() -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        build_simulator(_args("--webhook", "https://hooks.example.org/linq"))


def test_a_webhook_gets_the_given_secret_and_a_bad_secret_is_refused() -> None:
    simulator = build_simulator(
        _args("--webhook", "http://127.0.0.1:9000/hooks", "--secret", "whsec_c2VjcmV0LWtleQ==")
    )
    [subscription] = simulator.backend.subscriptions.values()
    assert "whsec_c2VjcmV0LWtleQ==" == subscription.secret
    with pytest.raises(ConfigurationError):
        build_simulator(_args("--webhook", "http://127.0.0.1:9000/h", "--secret", "whsec_%%%"))


def test_fault_rates_come_from_the_command_line() -> None:
    simulator = build_simulator(_args("--rate-429", "0.25", "--rate-drop", "0.1", "--seed", "3"))
    faults = simulator.faults.faults
    assert (0.25, 0.1, 3) == (faults.rate_429, faults.rate_drop, faults.seed)
    with pytest.raises(ConfigurationError, match="rate_500"):
        build_simulator(_args("--rate-500", "2"))


def test_the_banner_tells_how_to_point_the_linq_commands_at_it() -> None:
    simulator = build_simulator(_args("--token", "tok", "--port", "8787"))
    out = io.StringIO()
    print_banner(simulator, "127.0.0.1", 8787, out)
    text = out.getvalue()
    assert "export LINQ_BASE_URL=http://127.0.0.1:8787/api/partner" in text
    assert "export LINQ_API_TOKEN=tok" in text
    assert f"export LINQ_PHONE_NUMBER={simulator.phone}" in text
    assert all(handle in text for handle, _, _ in DEMO_RECIPIENTS)


async def test_inbound_and_react_reach_a_simulator_through_its_control_endpoints(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    environ = {"LINQ_BASE_URL": "http://sim.test/api/partner", "LINQ_API_TOKEN": sim.token}
    chat = await create_chat(api, sim.phone, "+16515550101")
    answer = await post_control(
        "inbound",
        {"from": "+16515550101", "text": "Is the nurse coming?"},
        url=None,
        token=None,
        environ=environ,
        transport=sim.transport(),
    )
    assert chat["id"] == answer["chat_id"]
    assert "Is the nurse coming?" == sim.world.messages[answer["message_id"]].text
    await post_control(
        "reaction",
        {"from": "+16515550101", "message_id": chat["message"]["id"], "type": "love"},
        url=None,
        token=None,
        environ=environ,
        transport=sim.transport(),
    )
    assert 1 == len(sim.world.reactions_on(chat["message"]["id"]))


async def test_a_poll_and_a_vote_reach_a_simulator_through_its_control_endpoints(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    environ = {"LINQ_BASE_URL": "http://sim.test/api/partner", "LINQ_API_TOKEN": sim.token}
    chat = await create_chat(api, sim.phone, "+16515550101")
    ours = await api.post(
        f"/v3/chats/{chat['id']}/polls", json={"poll": {"options": [{"text": "a"}, {"text": "b"}]}}
    )
    poll_id, option_id = ours.json()["message_id"], ours.json()["poll"]["options"][1]["option_id"]
    voted = await post_control(
        "vote",
        {"from": "+16515550101", "poll_id": poll_id, "option_id": option_id},
        url=None,
        token=None,
        environ=environ,
        transport=sim.transport(),
    )
    theirs = await post_control(
        "poll",
        {"from": "+16515550101", "options": ["Pizza", "Soup"]},
        url=None,
        token=None,
        environ=environ,
        transport=sim.transport(),
    )
    assert (poll_id, option_id) == (voted["poll_id"], voted["option_id"])
    assert [(), ("+16515550101",)] == [
        tuple(v.value for v in o.voters) for o in sim.world.poll(poll_id).options
    ]
    assert (chat["id"], ["Pizza", "Soup"]) == (
        theirs["chat_id"],
        [o.text for o in sim.world.poll(theirs["poll_id"]).options],
    )


def test_simulate_vote_parses_into_a_vote_body() -> None:
    args = _args(
        "vote", "--from", "+16515550101", "--poll-id", "p-1", "--option-id", "o-2", "--remove"
    )
    assert ("+16515550101", "p-1", "o-2", True) == (
        args.sender,
        args.poll_id,
        args.option_id,
        args.remove,
    )


async def test_control_endpoints_need_the_token(sim: Simulator) -> None:
    with pytest.raises(ConfigurationError, match="refused"):
        await post_control(
            "inbound",
            {"from": "+16515550101", "text": "hi"},
            url="http://sim.test/api/partner",
            token="wrong",
            environ={},
            transport=sim.transport(),
        )
    assert {} == sim.world.messages


@pytest.fixture
async def served(sim: Simulator) -> AsyncIterator[str]:
    """The simulator served by uvicorn on a free loopback port; yields its base URL."""
    uvicorn = pytest.importorskip("uvicorn")
    # Listening before uvicorn starts: early requests wait in the backlog, no polling needed.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = uvicorn.Server(uvicorn.Config(sim.app, log_level="warning", ws="none"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/partner"
    server.should_exit = True
    await task
    listener.close()


async def test_served_on_a_loopback_socket_the_api_and_control_answer_over_http(
    sim: Simulator, served: str
) -> None:
    async with httpx.AsyncClient(
        base_url=served, headers={"Authorization": f"Bearer {sim.token}"}
    ) as http:
        chat = await create_chat(http, sim.phone, "+16515550101")
        await post_control(
            "inbound",
            {"from": "+16515550101", "text": "Thanks!"},
            url=served,
            token=sim.token,
            environ={},
        )
        listed = (await http.get(f"/v3/chats/{chat['id']}/messages")).json()["messages"]
    assert ["Thanks!", "Hello"] == [m["parts"][0]["value"] for m in listed]


def test_the_banner_prints_the_web_console_url() -> None:
    simulator = build_simulator(_args("--token", "tok"))
    out = io.StringIO()
    print_banner(simulator, "127.0.0.1", 8787, out)
    assert "Web console (a phone per person): http://127.0.0.1:8787/console" in out.getvalue()


def test_allow_remote_lets_the_simulator_and_its_console_serve_off_loopback() -> None:
    simulator = build_simulator(_args("--host", "0.0.0.0", "--allow-remote"))
    assert simulator.console.allow_remote
    assert not build_simulator(_args()).console.allow_remote


def test_demo_and_webhook_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="--demo"):
        build_simulator(_args("--demo", "--webhook", "http://127.0.0.1:9000/hooks"))


def test_a_console_store_that_does_not_exist_is_refused_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite:///{tmp_path / 'nope.sqlite'}"
    assert main(["simulate", "--inbox-store", missing]) == 1
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "nope.sqlite").exists()
