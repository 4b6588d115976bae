"""The worktree pages and their API, through aiohttp's test client, on real git repositories
with real missions working in them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from tests.dashboard.conftest import Events, eventually
from tests.helpers import Overmind, must
from tests.isolation.conftest import commit, containers_cleaned, port_range, repository  # noqa: F401
from tests.isolation.conftest import git as run_git
from tests.isolation.test_missions import contract

pytestmark = [pytest.mark.asyncio(loop_scope="package"), pytest.mark.systemd]
Client = TestClient[Any, Any]
HOSTILE = "<img src=x onerror=alert(1)>.txt"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return repository(tmp_path / "app")


def worktree(om: Overmind, repo: Path, name: str) -> Path:
    om("worktree", "add", name, "--cwd", str(repo))
    return repo / ".overmind" / "worktrees" / name


async def text_of(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text[:500]
    return text


async def test_the_worktrees_page_groups_them_by_repository_with_their_missions_live(
        client: Client, om: Overmind, name: str, repo: Path) -> None:
    started = om.run("sleep 300", "--worktree", "--name", name, "--cwd", str(repo))
    worktree(om, repo, f"{name}-spare")

    async def listed() -> str | None:
        html = await text_of(client, "/worktrees")
        return html if f'data-name="{name}"' in html and "s-running" in html else None

    html = await eventually(listed, what="the worktree with its running mission")
    group = html.split(f'data-repo="{repo}"')[1].split("</section>")[0]
    row = group.split(f'data-name="{name}"')[1].split("</tr>")[0]
    assert f'href="/worktrees/{name}"' in row and f"overmind/{name}" in row and "s-running" in row
    assert f'data-name="{name}-spare"' in group and "2 worktrees" in group
    rows = {row["name"]: row for row in await (await client.get("/api/v1/worktrees")).json()}
    cli = {row["name"]: row for row in om.json("worktree", "ls")}
    for key in (name, f"{name}-spare"):  # the JSON of `worktree ls --json`
        assert rows[key] == cli[key]
    # The mission's page links to its worktree, the worktree's page to its missions.
    assert f'href="/worktrees/{name}"' in await text_of(client, f"/missions/{name}")
    assert f'href="/missions/{started["id"]}"' in await text_of(client, f"/worktrees/{name}")
    om("stop", name)
    table = await eventually(lambda: _having(client, "/worktrees/table", "s-stopped"), what="the mission stopped")
    assert "<html" not in table


@pytest.mark.usefixtures("containers_cleaned")
async def test_a_service_going_down_shows_on_the_open_page(client: Client, om: Overmind, name: str, repo: Path,
                                                         port_range: tuple[int, int]) -> None:  # noqa: F811
    contract(repo, port_range, "  web:\n    command: exec sleep 300\n    ready: false\n")
    om.run("sleep 300", "--worktree", "--name", name, "--cwd", str(repo))
    unit = next(row for row in om.json("ps") if row["name"] == name)["services"][0]["unit"]

    async def services(state: str) -> str | None:
        html = await text_of(client, "/worktrees/table")
        row = html.split(f'data-name="{name}"')[1].split("</tr>")[0] if f'data-name="{name}"' in html else ""
        return row if 'class="service">web' in row and f">{state}<" in row else None

    await eventually(lambda: services("active"), what="its service running")
    async with client.get("/worktrees-stream") as response:
        events = Events(response)
        assert (await events.next())["event"] == "hello"
        subprocess.run(["systemctl", "--user", "stop", unit], env=om.env, check=True, capture_output=True)
        await events.until(lambda frame: frame["event"] == "worktrees" and name in frame["data"]["names"])
    await eventually(lambda: services("inactive"), what="its service stopped")
    om("stop", name)


async def _having(client: Client, path: str, needle: str) -> str | None:
    text = await text_of(client, path)
    return text if needle in text else None


async def test_a_worktrees_diff_is_escaped_per_file_and_a_long_file_is_paged(client: Client, om: Overmind,
                                                                           name: str, repo: Path) -> None:
    path = worktree(om, repo, name)
    commit(path, {HOSTILE: "x\n", "README.md": "hello\n<script>alert('diff')</script>\n\x1b[31mred\n"},
           "a <b>bold</b> commit")
    (path / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 5001)))  # uncommitted, untracked
    html = await text_of(client, f"/worktrees/{name}")
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;diff&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.txt" in html
    assert "^[[31mred" in html and "\x1b" not in html
    assert "a &lt;b&gt;bold&lt;/b&gt; commit" in html
    start = html.index('data-path="long.txt"')
    long = html[start:html.index("</details>", start)]
    # The first page: the hunk's header and 499 lines, then a button for the next page.
    assert long.count('class="d-add"') == 499 and ">line 499<" in long and 'data-from="500"' in long
    more = await text_of(client, f"/worktrees/{name}/file?path=long.txt&from=500")
    assert more.count('class="d-add"') == 500 and ">line 500<" in more and 'data-from="1000"' in more
    last = await text_of(client, f"/worktrees/{name}/file?path=long.txt&from=4501")
    assert ">line 5000<" in last and "data-from" not in last
    api = await (await client.get(f"/api/v1/worktrees/{name}")).json()
    assert {f["path"]: f["added"] for f in api["files"]} == {HOSTILE: 1, "README.md": 2, "long.txt": 5000}
    assert api["commits"][0]["subject"] == "a <b>bold</b> commit" and api["ahead"] == 1
    assert (await client.get("/worktrees/no-such-worktree")).status == 404
    assert (await client.get(f"/worktrees/{name}/file?path=nowhere.txt")).status == 404


async def test_merge_from_the_page_lands_on_the_base_and_a_conflict_changes_nothing(
        client: Client, om: Overmind, name: str, repo: Path, csrf: str) -> None:
    done = worktree(om, repo, f"{name}-done")
    commit(done, {"feature.txt": "ready\n"}, "the feature")
    form = (await text_of(client, f"/worktrees/{name}-done")).split(f'action="/worktrees/{name}-done/merge"')[1]
    assert f'name="csrf" value="{csrf}"' in form.split("</form>")[0]  # what the button posts
    response = await client.post(f"/worktrees/{name}-done/merge", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith(f"/worktrees/{name}-done?merged=")
    assert run_git(repo, "show", "main:feature.txt") == "ready"
    said = await text_of(client, response.headers["Location"])
    assert f"merged overmind/{name}-done into main" in said

    clash = worktree(om, repo, f"{name}-clash")
    commit(clash, {"README.md": "theirs\n"}, "one way")
    commit(repo, {"README.md": "ours\n"}, "the other way")
    before = run_git(repo, "rev-parse", "main")
    refused = await client.post(f"/worktrees/{name}-clash/merge", data={"csrf": csrf}, allow_redirects=False)
    text = await refused.text()
    assert refused.status == 400 and "conflicts in: README.md" in text and "nothing was changed" in text
    assert run_git(repo, "rev-parse", "main") == before and (repo / "README.md").read_text() == "ours\n"
    assert run_git(repo, "status", "--porcelain") == ""
    api = await client.post(f"/api/v1/worktrees/{name}-clash/merge", headers={"X-CSRF-Token": csrf})
    assert api.status == 409 and (await api.json())["conflicts"] == ["README.md"]
    unsigned = await client.post(f"/worktrees/{name}-done/merge", allow_redirects=False)
    assert unsigned.status == 403  # no CSRF token: refused


async def test_remove_refuses_unsaved_work_and_with_force_keeps_it_as_a_ref(client: Client, om: Overmind,
                                                                          name: str, repo: Path, csrf: str) -> None:
    path = worktree(om, repo, name)
    (path / "draft.txt").write_text("not committed yet\n")
    refused = await client.post(f"/worktrees/{name}/remove", data={"csrf": csrf}, allow_redirects=False)
    text = await refused.text()
    assert refused.status == 400 and "has 1 uncommitted change" in text and path.exists()
    forced = await client.post(f"/worktrees/{name}/remove", data={"csrf": csrf, "force": "1"}, allow_redirects=False)
    assert forced.status == 303 and not path.exists()
    location = forced.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    saved = query["saved"][0]
    assert query["removed"] == [name] and saved.startswith(f"refs/overmind/saved/{name}/")
    assert run_git(repo, "show", f"{saved}:draft.txt") == "not committed yet"
    notice = await text_of(client, location)
    assert f"removed worktree {name}; its work is saved as {saved}" in notice
    assert name not in {row["name"] for row in om.json("worktree", "ls")}


async def test_an_open_page_is_told_when_a_mission_commits_in_its_worktree(client: Client, om: Overmind,
                                                                          name: str, repo: Path) -> None:
    gate = repo.parent / "gate"
    script = (f"while [ ! -e {gate} ]; do sleep 0.1; done; echo done > result.txt; git add -A; "
              "git -c user.name=agent -c user.email=agent@example.com commit -q -m 'the result'; sleep 300")
    om.run(script, "--worktree", "--name", name, "--cwd", str(repo))
    must(lambda: name in {row["name"] for row in om.json("worktree", "ls")}, what="the worktree")
    async with client.get(f"/worktrees/{name}/stream") as response:
        events = Events(response)
        assert (await events.next())["event"] == "hello"
        gate.touch()
        await events.until(lambda frame: frame["event"] == "worktrees" and name in frame["data"]["names"]
                           and _committed(repo, name))
    html = await eventually(lambda: _having(client, f"/worktrees/{name}/summary", "the result"), what="the commit")
    assert "result.txt" in html and "<html" not in html
    om("stop", name)


def _committed(repo: Path, name: str) -> bool:
    found = subprocess.run(["git", "log", "--oneline", f"overmind/{name}"], cwd=repo, capture_output=True, text=True)
    return "the result" in found.stdout
