"""`.overmind.yml`: the original format unchanged, the extensions, and one `file:line` error per problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from overmind.errors import OvermindError
from overmind.isolation import env
from overmind.isolation.cache import contract_of
from overmind.isolation.contract import read
from overmind.isolation.model import Contract
from overmind.store.worktrees import WorktreeRecord
from tests.helpers import EXAMPLES

FULL = """\
services:
  web:
    command: npm run dev -- --port $PORT
    env:
      API_URL: http://127.0.0.1:${API_PORT}/v1
  api:
    command: ./bin/api
    ready: curl -fs http://127.0.0.1:$API_PORT/health
  db:
    docker: postgres:16
    port: 5432
    env:
      POSTGRES_PASSWORD: secret
      POSTGRES_DB: app
    volumes:
      - pgdata:/var/lib/postgresql/data
      - ./db/init:/docker-entrypoint-initdb.d:ro
    ready:
      timeout: 2min
    stop_timeout: 30s
  worker:
    docker: localhost/worker:1
    command: [worker, --queue, "${QUEUE}"]
    ready: false
    restart: always
ports: [debugger]
isolation:
  port_range: 4000-4099
copy: [.env, "config/*.local.yml"]
link: [node_modules]
env:
  DATABASE_URL: postgres://app:secret@127.0.0.1:${DB_PORT}/app
  QUEUE: default
setup: [npm ci, ./bin/migrate]
setup_timeout: 15min
teardown: ./bin/drop-db
"""


def error(text: str) -> str:
    with pytest.raises(OvermindError) as caught:
        read("/repo/.overmind.yml", textwrap.dedent(text))
    return caught.value.message


def test_the_original_prd_example_is_accepted_unchanged() -> None:
    contract = read("prd.yml", (EXAMPLES / "overmind_prd.yml").read_text())
    assert [(s.name, s.kind, s.port) for s in contract.services] == [
        ("web", "command", 3000), ("db", "docker", 5432), ("cache", "docker", 6379)]
    assert contract.services[0].command == "bundle exec rails s -p $PORT"
    assert [s.image for s in contract.services[1:]] == ["postgres:16", "redis:7"]
    assert contract.port_range == (3100, 3999)
    assert contract.port_variables == ["WEB_PORT", "DB_PORT", "CACHE_PORT"]
    assert contract.port_owner is not None and contract.port_owner.name == "web"


def test_every_extension_is_read_into_the_contract() -> None:
    contract = read(".overmind.yml", FULL)
    web, api, db, worker = contract.services
    assert api.ready.kind == "command" and api.ready.command.startswith("curl")
    assert (db.ready.kind, db.ready.timeout, db.stop_timeout) == ("tcp", 120.0, 30.0)
    assert [(v.source, v.target, v.read_only, v.named) for v in db.volumes] == [
        ("pgdata", "/var/lib/postgresql/data", False, True), ("db/init", "/docker-entrypoint-initdb.d", True, False)]
    assert (worker.args, worker.ready.kind, worker.restart, worker.port) == (
        ("worker", "--queue", "${QUEUE}"), "none", "always", None)
    assert contract.port_variables == ["WEB_PORT", "API_PORT", "DB_PORT", "DEBUGGER_PORT"]
    assert contract.setup == ("npm ci", "./bin/migrate") and contract.teardown == ("./bin/drop-db",)
    assert (contract.setup_timeout, contract.port_range) == (900.0, (4000, 4099))
    assert contract.environment_paths == [".env", "config/*.local.yml", "node_modules", "db/init"]
    assert Contract.from_json(contract.to_json()) == contract


def test_ports_are_injected_as_variables_and_templated_into_env() -> None:
    contract = read(".overmind.yml", FULL)
    leases = {"WEB_PORT": 4000, "API_PORT": 4001, "DB_PORT": 4002, "DEBUGGER_PORT": 4003}
    record = WorktreeRecord("fix", "/repo", "/repo/.overmind/worktrees/fix", "overmind/fix", "main", "abc", 0.0)
    mission = env.mission(contract, leases, record)
    assert mission["PORT"] == "4000"  # the first command service lends PORT its port
    assert mission["DATABASE_URL"] == "postgres://app:secret@127.0.0.1:4002/app"
    assert mission["OVERMIND_WORKTREE"] == record.path
    web, api, db, worker = contract.services
    assert env.service(contract, api, leases, record)["PORT"] == "4001"
    assert env.service(contract, web, leases, record)["API_URL"] == "http://127.0.0.1:4001/v1"
    assert env.service(contract, db, leases, record) == {"POSTGRES_PASSWORD": "secret", "POSTGRES_DB": "app"}


def test_without_a_command_service_port_gets_a_lease_of_its_own(tmp_path: Path) -> None:
    assert contract_of(str(tmp_path)).port_variables == ["PORT"]  # no .overmind.yml at all
    contract = read(".overmind.yml", "services:\n  db:\n    docker: postgres:16\n    port: 5432\n")
    assert contract.port_variables == ["DB_PORT", "PORT"]


@pytest.mark.parametrize(("text", "expected"), [
    ("services:\n  web: [\n", "/repo/.overmind.yml:3: invalid YAML"),
    ("services:\n  web:\n    command: x\n    prot: 3000\n", "/repo/.overmind.yml:4: services.web.prot: unknown key"),
    ("servces: {}\n", ":1: servces: unknown key"),
    ("isolation:\n  port_range: 3999-3100\n", ":2: isolation.port_range: port range 3999-3100 is empty"),
    ("isolation:\n  port_range: 80-90\n", ":2: isolation.port_range: port range 80-90 is outside 1024-65535"),
    ("isolation:\n  port_range: lots\n", ":2: isolation.port_range: invalid port range"),
    ("isolation:\n  strategy: vlans\n", ":2: isolation.strategy: must be 'ports'"),
    ("copy:\n  - .env\n  - ../secrets\n", ":3: copy: '../secrets' must not contain '..'"),
    ("copy: [/etc/passwd]\n", ":1: copy: '/etc/passwd' must be relative to the repository"),
    ("link: [.git/hooks]\n", ":1: link: '.git/hooks' is overmind's or git's own folder"),
    ("services:\n  my-db:\n    docker: pg\n    port: 5432\nports: [my_db]\n",
     ":5: ports: duplicate port name: MY_DB_PORT is already given to services.my-db"),
    ("services:\n  web:\n    port: 3000\n", ":2: services.web: give a command"),
    ("services:\n  Web:\n    command: x\n", ":2: services.Web: a service name is lower-case"),
    ("services:\n  web:\n    command: x\n    ready: 5\n", ":4: services.web.ready: must be false, a command"),
    ("services:\n  db:\n    docker: pg\n    volumes: [data]\n", ":4: services.db.volumes: invalid volume"),
    ("services:\n  db:\n    docker: pg\n    volumes: ['../x:/data']\n", "must not contain '..'"),
    ("services:\n  db:\n    docker: 'pg; rm -rf /'\n", ":3: services.db.docker: invalid image name"),
    ("env:\n  URL: http://x:${DB_PORT}/\n", ":2: env.URL: unknown variable ${DB_PORT}"),
    ("env:\n  A: 1\n  A: 2\n", ":3: duplicate key 'A'"),
    ("env:\n  OVERMIND_X: 1\n", ":2: env.OVERMIND_X: invalid variable name"),
    ("setup: 5\n", ":1: setup: must be a command or a list of commands"),
    ("setup_timeout: forever\n", ":1: setup_timeout: invalid duration"),
    ("- a\n- b\n", ":1: the file must be a mapping"),
])
def test_each_mistake_is_one_line_naming_the_file_and_line(text: str, expected: str) -> None:
    message = error(text)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(("text", "expected"), [
    ("services:\n  web:\n    command: x\n    prot: 3000\n", ':4: services.web.prot: unknown key; did you mean "port"?'),
    ("servces: {}\n", ':1: servces: unknown key; did you mean "services"?'),
    ("isolation:\n  stratgy: ports\n", ':2: isolation.stratgy: unknown key; did you mean "strategy"?'),
    ("services:\n  web:\n    command: x\n    ready:\n      timout: 5\n",
     ':5: services.web.ready.timout: unknown key; did you mean "timeout"?'),
    ("cpy: [.env]\n", ':1: cpy: unknown key; did you mean "copy"?'),
    ('env:\n  A: "x\n', ":2: invalid YAML: unclosed string: the quote opened on this line is never closed"),
    ("env: {A: 1\n", ":1: invalid YAML: unclosed mapping: the { opened on this line has no closing }"),
    ("env:\n\tA: 1\n", ":2: invalid YAML: a tab indents this line: YAML indents with spaces"),
])
def test_a_wrong_key_gets_did_you_mean_and_syntax_errors_plain_words(text: str, expected: str) -> None:
    assert error(text) == f"/repo/.overmind.yml{expected}"


def test_a_changed_file_is_validated_again_an_unchanged_one_comes_from_the_cache(tmp_path: Path) -> None:
    contract_file = tmp_path / ".overmind.yml"
    contract_file.write_text("ports: [api]\n")
    assert contract_of(str(tmp_path)).ports == ("api",)
    contract_file.write_text("ports: [api, debugger]\n")
    assert contract_of(str(tmp_path)).ports == ("api", "debugger")
    contract_file.write_text("ports: [api, debugger]\nbogus: 1\n")
    with pytest.raises(OvermindError, match=r"\.overmind\.yml:2: bogus: unknown key"):
        contract_of(str(tmp_path))
