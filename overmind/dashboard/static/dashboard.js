// overmind dashboard: live updates over Server-Sent Events, confirmations, the message box.
// Pages are drawn on the server; this only swaps in what the server drew (already escaped) or
// sets text (never HTML) from JSON.
"use strict";

(() => {
  const body = document.body;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const page = body.dataset.page;
  const liveDot = document.getElementById("live");

  // Every form with data-confirm asks first (stop, kill, restart, run now...).
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  const fromHTML = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  };
  const byId = (id) => `[data-id="${CSS.escape(id)}"]`;
  const live = (on) => { if (liveDot) liveDot.classList.toggle("on", on); };

  async function fetchText(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    return response.ok ? response.text() : null;
  }

  function setBadge(state, label) {
    const badge = document.getElementById("badge");
    if (!badge) return;
    const span = document.createElement("span");
    span.className = "status s-" + state;
    span.textContent = label;
    badge.replaceChildren(span);
  }

  function applyUsage(moved) {
    for (const [id, cells] of Object.entries(moved)) {
      document.querySelectorAll(`[data-usage="${CSS.escape(id)}"]`).forEach((el) => {
        const field = el.dataset.field;
        if (field === "memory_pct") {
          if (cells.memory_pct !== null) el.value = cells.memory_pct;
        } else if (field in cells) {
          el.textContent = cells[field];
        }
      });
    }
  }

  // The change feed: one EventSource per page, fed by the dashboard's one subscription.
  function followChanges(onChange, onReconnect) {
    let opened = false;
    const source = new EventSource("/events");
    source.addEventListener("hello", () => {
      live(true);
      if (opened && onReconnect) onReconnect(); // changes may have been missed meanwhile
      opened = true;
    });
    source.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
    source.addEventListener("usage", (event) => applyUsage(JSON.parse(event.data)));
    source.addEventListener("error", () => live(false));
    return source;
  }

  // What agents wait on: the panel is drawn again when a request is asked or answered.
  function followPermissions() {
    const section = document.getElementById("permissions");
    if (!section) return () => {};
    const mission = section.dataset.mission;
    let pending = null;
    return (change) => {
      if (change.type !== "permission" || (mission && change.id !== mission)) return;
      clearTimeout(pending);
      pending = setTimeout(async () => {
        const html = await fetchText("/permissions/panel" + (mission ? "?mission=" + encodeURIComponent(mission) : ""));
        if (html !== null) section.replaceChildren(fromHTML(html));
      }, 30);
    };
  }

  // -- the missions table ------------------------------------------------------------------
  function missionsPage() {
    const rows = document.getElementById("rows");
    const filter = document.getElementById("filter");
    const empty = document.getElementById("empty");
    let pending = null;

    const applyFilter = () => {
      const needle = filter.value.trim().toLowerCase();
      rows.querySelectorAll("tr").forEach((tr) => {
        tr.hidden = needle !== "" && !(tr.dataset.search || "").includes(needle);
      });
      empty.hidden = rows.querySelector("tr") !== null;
    };
    const reload = () => {
      clearTimeout(pending);
      pending = setTimeout(async () => {
        const query = new URLSearchParams({ tree: body.dataset.tree, all: body.dataset.all });
        const html = await fetchText("/missions/table?" + query);
        if (html !== null) {
          rows.replaceChildren(fromHTML(html));
          applyFilter();
        }
      }, 30);
    };
    filter.addEventListener("input", applyFilter);
    const permissions = followPermissions();
    followChanges((change) => {
      permissions(change);
      if (change.type === "ritual" || change.type === "permission") return;
      const row = rows.querySelector("tr" + byId(change.id));
      if (change.event === "changed" && row && change.html) {
        const fresh = fromHTML(change.html).firstElementChild;
        fresh.querySelector(".lead").textContent = row.querySelector(".lead").textContent;
        const moved = fresh.classList.contains("needs-you") !== row.classList.contains("needs-you");
        row.replaceWith(fresh);
        applyFilter();
        if (moved && body.dataset.tree !== "1") reload(); // what needs you goes first
      } else {
        reload(); // a row came, went or changed places
      }
    }, reload);
    applyFilter();
  }

  // -- one mission -----------------------------------------------------------------------------
  function missionPage() {
    const id = body.dataset.id;
    const facts = document.getElementById("facts");
    const permissions = followPermissions();
    const memories = missionMemories();
    followChanges(async (change) => {
      permissions(change);
      if (change.id !== id || !change.mission) return;
      if (memories && change.event === "finished") setTimeout(memories, 1500); // what it fed, once stored
      setBadge(change.mission.status, change.mission.reason ? `${change.mission.status} (${change.mission.reason})` : change.mission.status);
      const html = await fetchText(`/missions/${encodeURIComponent(id)}/facts`);
      if (html !== null) facts.replaceChildren(fromHTML(html));
    });
    followLogs(id);
    if (body.dataset.agent === "1") followTimeline(id);
    messageBox();
  }

  function followLogs(id) {
    const log = document.getElementById("log");
    const follow = document.getElementById("follow");
    const empty = document.getElementById("log-empty");
    const needle = (body.dataset.query || "").toLowerCase();
    const cursor = body.dataset.cursor;
    const start = cursor ? "after=" + encodeURIComponent(cursor) : "since=" + encodeURIComponent(body.dataset.opened);
    const source = new EventSource(`/missions/${encodeURIComponent(id)}/logs/stream?${start}`);
    source.addEventListener("line", (event) => {
      const line = JSON.parse(event.data);
      if (needle && !line.message.toLowerCase().includes(needle)) return;
      const row = document.createElement("div");
      row.className = "line new";
      const time = document.createElement("time");
      time.textContent = line.time;
      const message = document.createElement("span");
      message.className = "msg";
      message.textContent = line.message;
      row.append(time, message);
      log.append(row);
      empty.hidden = true;
      while (log.childElementCount > 5000) log.firstElementChild.remove();
      if (follow.checked) log.scrollTop = log.scrollHeight;
    });
    log.scrollTop = log.scrollHeight;
  }

  function followTimeline(id) {
    const list = document.getElementById("timeline");
    const source = new EventSource(`/missions/${encodeURIComponent(id)}/timeline/stream?after=${body.dataset.seq || 0}`);
    const add = (event) => {
      const data = JSON.parse(event.data);
      list.append(fromHTML(data.html));
      list.lastElementChild.scrollIntoView({ block: "nearest" });
    };
    source.addEventListener("step", add);
    source.addEventListener("end", (event) => { add(event); source.close(); });
  }

  function messageBox() {
    const form = document.getElementById("message");
    if (!form) return;
    const text = form.querySelector("textarea");
    const said = document.getElementById("sent");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      said.textContent = "sending…";
      const response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        text.value = "";
        said.textContent = "sent: the reply streams into the timeline";
      } else {
        said.textContent = answer.error || `failed (${response.status})`;
      }
    });
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
  }

  // -- blueprints and rituals ------------------------------------------------------------------
  function blueprintPage() {
    const id = body.dataset.id;
    const graph = document.getElementById("graph");
    followChanges(async (change) => {
      if (change.id !== id || !change.blueprint) return;
      setBadge(change.blueprint.status, change.blueprint.status);
      const html = await fetchText(`/blueprints/${encodeURIComponent(id)}/graph`);
      if (html !== null) graph.replaceChildren(fromHTML(html));
    });
  }

  function ritualsPage() {
    followChanges((change) => {
      if (change.type !== "ritual") return;
      const row = document.querySelector(`tr[data-name="${CSS.escape(change.id)}"]`);
      if (row && change.html) row.replaceWith(fromHTML(change.html).firstElementChild);
      else window.location.reload(); // a ritual came or went
    });
  }

  function blueprintsPage() {
    followChanges((change) => { if (change.type === "blueprint") window.location.reload(); });
  }

  // -- worktrees --------------------------------------------------------------------------------
  // A stream says which worktrees' rows changed (their missions, services, commits or edits); the
  // page fetches what it shows again, drawn on the server.
  function followTowers(url, event, onChange) {
    let opened = false;
    const source = new EventSource(url);
    source.addEventListener("hello", () => {
      live(true);
      if (opened) onChange({ all: true }); // reconnected: changes may have been missed meanwhile
      opened = true;
    });
    source.addEventListener(event, (e) => onChange(JSON.parse(e.data)));
    source.addEventListener("error", () => live(false));
    return source;
  }

  const debounced = (action, ms) => {
    let pending = null;
    return (...args) => { clearTimeout(pending); pending = setTimeout(() => action(...args), ms); };
  };

  function tableFilter(input, rowsSelector) {
    const apply = () => {
      const needle = input.value.trim().toLowerCase();
      document.querySelectorAll(rowsSelector).forEach((tr) => {
        tr.hidden = needle !== "" && !(tr.dataset.search || "").includes(needle);
      });
    };
    input.addEventListener("input", apply);
    return apply;
  }

  function worktreesPage() {
    const groups = document.getElementById("worktree-groups");
    const applyFilter = tableFilter(document.getElementById("filter"), "tr[data-name]");
    const reload = debounced(async () => {
      const html = await fetchText("/worktrees/table");
      if (html !== null) {
        groups.replaceChildren(fromHTML(html));
        applyFilter();
      }
    }, 50);
    followTowers("/worktrees-stream", "worktrees", reload);
  }

  function worktreePage() {
    const name = body.dataset.name;
    const holder = document.getElementById("worktree-body");
    const base = `/worktrees/${encodeURIComponent(name)}`;
    const reload = debounced(async () => {
      const response = await fetch(`${base}/summary`, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.status === 404) {
        document.getElementById("gone").hidden = false;
        return;
      }
      if (!response.ok) return;
      // The files a person opened or closed stay so, and the page stays where it was.
      const open = new Map([...holder.querySelectorAll("details.file")].map((d) => [d.dataset.path, d.open]));
      const y = window.scrollY;
      holder.replaceChildren(fromHTML(await response.text()));
      holder.querySelectorAll("details.file").forEach((d) => {
        if (open.has(d.dataset.path) && open.get(d.dataset.path) !== d.open) d.open = open.get(d.dataset.path);
      });
      window.scrollTo(0, y);
    }, 50);
    followTowers(`${base}/stream`, "worktrees", reload);

    // A file beyond what the page drew is drawn when opened; "more" draws its next lines.
    const lines = async (path, from) =>
      fetchText(`${base}/file?path=${encodeURIComponent(path)}&from=${from}`);
    holder.addEventListener("toggle", async (event) => {
      const file = event.target;
      if (!(file instanceof HTMLDetailsElement) || !file.open || file.dataset.loaded === "1") return;
      file.dataset.loaded = "1";
      const html = await lines(file.dataset.path, 0);
      if (html !== null) file.querySelector(".diff-body").replaceChildren(fromHTML(html));
    }, true);
    holder.addEventListener("click", async (event) => {
      const more = event.target.closest("button.more");
      if (!more) return;
      more.disabled = true;
      const html = await lines(more.dataset.path, more.dataset.from);
      if (html !== null) more.replaceWith(fromHTML(html));
    });
  }

  // -- memory -----------------------------------------------------------------------------------
  function memoryPage() {
    const form = document.getElementById("memory-search");
    const holder = document.getElementById("memory-rows");
    const address = () => {
      const query = new URLSearchParams();
      for (const [key, value] of new FormData(form)) if (value) query.set(key, value);
      return query.toString();
    };
    let asked = 0;
    const reload = async () => {
      const mine = ++asked;
      const query = address();
      const html = await fetchText("/memory/rows" + (query ? "?" + query : ""));
      if (html !== null && mine === asked) { // an older answer never replaces a newer one
        holder.replaceChildren(fromHTML(html));
        window.history.replaceState(null, "", "/memory" + (query ? "?" + query : ""));
      }
    };
    const typed = debounced(reload, 250);
    document.getElementById("q").addEventListener("input", typed);
    form.querySelectorAll("select").forEach((select) => select.addEventListener("change", reload));
    form.addEventListener("submit", (event) => { event.preventDefault(); reload(); });
    const statsLine = document.getElementById("memory-stats");
    const restat = async () => {
      const html = statsLine && await fetchText("/memory/stats");
      if (html) statsLine.replaceChildren(fromHTML(html));
    };
    followTowers("/memory/stream", "memory", () => { reload(); restat(); });
  }

  function missionMemories() {
    const section = document.getElementById("memories");
    if (!section) return;
    const load = async () => {
      const html = await fetchText(section.dataset.src);
      if (html !== null) section.replaceChildren(fromHTML(html));
    };
    load();
    return load;
  }

  const pages = { missions: missionsPage, mission: missionPage, blueprint: blueprintPage,
                  blueprints: blueprintsPage, rituals: ritualsPage, worktrees: worktreesPage,
                  worktree: worktreePage, memory: memoryPage };
  if (pages[page]) pages[page]();
})();
