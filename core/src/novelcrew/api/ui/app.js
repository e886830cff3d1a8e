// novelcrew's web UI: a page per hash route, built from the JSON API with the browser's own
// fetch and DOM (no framework, no build step, nothing loaded from the internet). Every text
// from a story or a model goes into the page as text, never as HTML.
import { drawGraph } from "./graph.js";

const KEY = "novelcrew-key";
// the API's root: where /ui is served from (so a proxy may put the whole server under a prefix)
const BASE = location.pathname.replace(/\/ui(\/.*)?$/, "");
const main = document.getElementById("main");
let stopLive = () => {};

// --- DOM ------------------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const text = (v) => v === null || v === undefined ? "" : Array.isArray(v) ? v.map(text).filter(Boolean).join("; ")
  : typeof v === "object" ? (v.name || v.item || v.id || Object.entries(v).map(([k, x]) => `${k}: ${text(x)}`).join("; ")) : String(v);
const badge = (status) => h("span", { class: `badge s-${status}` }, status);
const bar = (fraction, label = "progress") => {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return h("div", { class: "bar", title: `${pct}%`, role: "progressbar", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct) }, h("span", { style: `width:${pct}%` }));
};
function table(head, rows, rowAttrs = () => ({})) {
  return scroller(h("table", {}, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r, i) => h("tr", rowAttrs(r, i), r.map((c) => h("td", {}, c instanceof Node ? c : text(c))))))));
}
// a wide table scrolls inside its own box, so a phone never scrolls the whole page sideways
const scroller = (el) => h("div", { class: "scroll" }, el);
function age(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  return s < 60 ? `${Math.round(s)} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago`
    : s < 86400 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} d ago`;
}

// --- API ------------------------------------------------------------------------------------
// the API's message, and for invalid input which field and why ("scenes: Field required")
function errorText(status, body) {
  const e = body?.error;
  const message = (typeof e === "string" ? e : e?.message) || `HTTP ${status}`;
  const fields = (e?.details?.errors || []).map((x) => `${(x.loc || []).join(".")}: ${x.msg}`).filter(Boolean);
  return fields.length && !fields.every((f) => message.includes(f)) ? `${message} (${fields.join("; ")})` : message;
}
class ApiError extends Error {
  constructor(status, body) {
    super(errorText(status, body));
    this.status = status;
    this.body = body;
  }
}
function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...extra, "X-API-Key": key } : extra;
}
class Unreachable extends Error {}
async function reach(path, opts = {}) {
  try {
    return await fetch(BASE + path, { ...opts, headers: headers(opts.headers || {}) });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Unreachable("The server did not answer. Is novelcrew serve running, and is this page's address right? Reload to try again.");
  }
}
async function api(path, opts = {}) {
  const res = await reach(path, opts);
  if (res.status === 401) {
    await login(true);
    return api(path, opts);
  }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}
let loginWaiters = null;
function login(failed = false) {
  if (loginWaiters) return loginWaiters.promise;
  const dialog = document.getElementById("login");
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  loginWaiters = { promise };
  document.getElementById("login-error").textContent =
    failed && sessionStorage.getItem(KEY) ? "That key was not accepted." : "";
  sessionStorage.removeItem(KEY);
  document.getElementById("login-key").value = "";
  document.getElementById("login-form").onsubmit = (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("login-key").value.trim());
    dialog.close();
    loginWaiters = null;
    showWho();
    resolve();
  };
  dialog.showModal();
  return promise;
}
function showWho() {
  const who = document.getElementById("who");
  who.replaceChildren();
  if (sessionStorage.getItem(KEY)) {
    who.append("signed in with a key",
      h("button", { onclick: () => { sessionStorage.removeItem(KEY); location.reload(); } }, "Sign out"));
  }
}

// Server-Sent Events over fetch, so the key travels in a header (EventSource cannot send one);
// resumes after a dropped connection from the last event id it saw, and tells onState whether
// it is connected ("live") or trying again ("lost"), so the page never shows a frozen job as live.
function follow(path, onEvent, onEnd, onState = () => {}) {
  const ctrl = new AbortController();
  let last = 0;
  let stopped = false;
  (async () => {
    while (!stopped) {
      try {
        const res = await fetch(BASE + path, { headers: headers(last ? { "Last-Event-ID": String(last) } : {}), signal: ctrl.signal });
        if (res.status === 401) { await login(true); continue; }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        onState("live");
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true }).replace(/\r\n/g, "\n");
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let data = "", id = null;
            for (const line of block.split("\n")) {
              if (line.startsWith("data:")) data += line.slice(5).trimStart();
              else if (line.startsWith("id:")) id = line.slice(3).trim();
            }
            if (!data) continue;
            if (id) last = Number(id);
            const event = JSON.parse(data);
            onEvent(event);
            if (["succeeded", "failed", "cancelled"].includes(event.type)) { stopped = true; onEnd(); return; }
          }
        }
        if (!stopped) { onState("lost"); await new Promise((r) => setTimeout(r, 1000)); }
      } catch (err) {
        if (stopped || err.name === "AbortError") return;
        onState("lost");
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
  return () => { stopped = true; ctrl.abort(); };
}

async function download(path, filename) {
  const res = await reach(path);
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try { message = (await res.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function failure(err) {
  return h("div", { class: "card error", role: "alert" }, `Error: ${err.message}`);
}

// --- jobs -----------------------------------------------------------------------------------
async function jobsPage(params) {
  const status = params.get("status") || "";
  const project = params.get("project") || "";
  const statusSel = h("select", { id: "filter-status", "aria-label": "Status" }, ["", "queued", "running", "succeeded", "failed", "cancelled"]
    .map((s) => h("option", { value: s, selected: s === status }, s || "any status")));
  const projectIn = h("input", { id: "filter-project", placeholder: "project id", value: project, "aria-label": "Project id" });
  const apply = () => { location.hash = `#/jobs?status=${encodeURIComponent(statusSel.value)}&project=${encodeURIComponent(projectIn.value)}`; };
  statusSel.onchange = apply;
  projectIn.onchange = apply;
  const holder = h("div", { id: "jobs-table" });
  main.replaceChildren(h("h1", {}, "Jobs"),
    h("div", { class: "filters" }, statusSel, projectIn, h("a", { class: "button primary", href: "#/new" }, "New job")), holder);
  let drawn = null;
  const load = async () => {
    const q = new URLSearchParams({ limit: "100", results: "false" });  // rows, not plans
    if (status) q.set("status", status);
    if (project) q.set("project_id", project);
    const page = await api(`/jobs?${q}`);
    // the table is drawn again only when a row changed, and then the focus stays on the same
    // job's link or button: a redraw every few seconds took a keyboard user's place away
    const rows = JSON.stringify([page.count, page.data.map((j) => [j.id, j.status, j.progress, j.crews, j.project_id])]);
    if (rows === drawn) {
      holder.querySelectorAll(".age").forEach((el) => { el.textContent = age(el.dataset.at); });
      return;
    }
    drawn = rows;
    const was = document.activeElement;
    const place = holder.contains(was) && was.closest("tr[data-job]")
      ? { job: was.closest("tr[data-job]").dataset.job, cancel: was.matches("button.cancel") } : null;
    holder.replaceChildren(h("p", { class: "muted" }, `${page.count} job(s)`,
      page.count ? "" : status || project ? " match these filters." : ". Start one with New job: paste a story and press Run."),
      table(["Status", "Crews", "Project", "Created", "Progress", ""], page.data.map((j) => [
        // a link as well as a clickable row: reached with Tab, opened with Enter, named by a reader
        badge(j.status), h("a", { href: `#/jobs/${j.id}`, class: "job-link" }, j.crews.join(" → ")), j.project_id || "",
        h("span", { class: "age", "data-at": j.created_at }, age(j.created_at)),
        bar(j.status === "succeeded" ? 1 : (j.progress.total_tasks ? j.progress.completed_tasks / j.progress.total_tasks : 0)),
        ["queued", "running"].includes(j.status) ? h("button", {
          class: "cancel", "aria-label": `Cancel job ${j.id.slice(0, 12)}`, onclick: async (ev) => { ev.stopPropagation(); await api(`/jobs/${j.id}/cancel`, { method: "POST" }); load(); },
        }, "Cancel") : "",
      ]), (r, i) => ({ class: "clickable", "data-job": page.data[i].id, onclick: () => { location.hash = `#/jobs/${page.data[i].id}`; } })));
    if (place) {
      const row = [...holder.querySelectorAll("tr[data-job]")].find((tr) => tr.dataset.job === place.job);
      // a job that ended has no Cancel button left: its link takes the focus
      const target = row && ((place.cancel && row.querySelector("button.cancel")) || row.querySelector("a.job-link"));
      if (target) target.focus();
    }
  };
  await load();
  // asked again every few seconds while the tab is in sight; a failed ask says so on the page
  const timer = setInterval(() => {
    if (!document.hidden) load().catch((err) => { drawn = null; holder.replaceChildren(failure(err)); });
  }, 3000);
  stopLive = () => clearInterval(timer);
}

async function jobPage(id) {
  let job = await api(`/jobs/${encodeURIComponent(id)}`);
  const head = h("div");
  const events = h("div", { class: "events", id: "events", tabindex: "0", "aria-label": "Events" });
  const results = h("div", { id: "results" });
  const partial = h("div", { id: "partial" });
  // said once, not on every redraw: a screen reader hears the job's state change, not each tick
  const live = h("p", { id: "live-state", class: "muted", "aria-live": "polite" });
  const eventLog = h("details", { id: "event-log", open: !["succeeded", "failed", "cancelled"].includes(job.status) },
    h("summary", {}, h("h2", { class: "inline" }, "Events")), events);
  main.replaceChildren(head, live, partial, results, eventLog);
  const progress = { done: job.progress.completed_tasks, total: job.progress.total_tasks, task: job.progress.current_task,
    crew: job.progress.current_crew };
  let offline = isOffline(job);
  const scenesDone = [];
  const drawHead = () => {
    const fraction = job.status === "succeeded" ? 1 : progress.total ? progress.done / progress.total : 0;
    const at = job.crews.indexOf(progress.crew);
    const crewNote = job.crews.length > 1 && at >= 0 && !["succeeded", "failed", "cancelled"].includes(job.status)
      ? `${progress.crew} (crew ${at + 1} of ${job.crews.length})` : "";
    // a writer knows a job by its story: the analysis's title once there is one
    const title = ((job.result || {}).architect || {}).title;
    document.title = `${title || `Job ${job.id.slice(0, 12)}`} (${job.status}) · novelcrew`;
    head.replaceChildren(...[
      h("h1", {}, title ? `${title} ` : `Job ${job.id.slice(0, 12)}… `, badge(job.status)),
      // before anything the stand-in made, and while it is still making it
      offline ? h("div", { class: "banner", id: "offline-banner", role: "note" }, h("b", {}, "Offline stand-in. "),
        "This job is answered by the offline stand-in: plain extraction from the text, no language model. A preview of the pipeline, not an analysis.") : null,
      h("div", { class: "card" },
        h("dl", { class: "kv" },
          h("dt", {}, "Job"), h("dd", {}, job.id),
          h("dt", {}, "Crews"), h("dd", {}, job.crews.join(" → ")),
          h("dt", {}, "Project"), h("dd", {}, job.project_id || "—"),
          h("dt", {}, "Created"), h("dd", {}, `${new Date(job.created_at).toLocaleString()} (${age(job.created_at)})`),
          h("dt", {}, "Progress"), h("dd", {}, bar(fraction, "job progress"), h("span", { id: "progress-text", class: "muted" },
            [`${progress.done}/${progress.total} tasks`, crewNote, progress.task].filter(Boolean).join(" · "))),
        ),
        job.error ? h("p", { class: "error", id: "job-error", role: "alert" }, h("b", {}, `This job ${job.status === "cancelled" ? "was cancelled" : "failed"}: `),
          job.error.message, h("span", { class: "muted" }, ` (${[job.error.crew, job.error.type].filter(Boolean).join(", ")})`)) : null,
        ["queued", "running"].includes(job.status) ? h("button", { id: "cancel", onclick: async () => { job = await api(`/jobs/${job.id}/cancel`, { method: "POST" }); drawHead(); } }, "Cancel job") : null,
      ),
      usageTable(job.usage),
    ].filter(Boolean));  // replaceChildren would write a null as the word "null"
  };
  drawHead();
  const logLine = (ev) => {
    events.append(h("div", { class: `ev-${ev.type}` }, `#${ev.seq} ${new Date(ev.at).toLocaleTimeString()} ${ev.type}${ev.crew ? ` [${ev.crew}]` : ""} ${ev.message || ""}`));
    events.scrollTop = events.scrollHeight;
  };
  const addEvent = (ev) => {
    logLine(ev);
    if (ev.type === "llm_call" && ev.data && ev.data.model === "offline" && !offline) { offline = true; drawHead(); }
    // each model call carries the job's usage of its model so far: the table grows as the job
    // runs (the larger figure wins, so an event read twice or late never takes usage back)
    if (ev.type === "llm_call" && ev.data && ev.data.job_usage && typeof ev.data.model === "string") {
      const was = (job.usage = job.usage || {})[ev.data.model] || {};
      const now = { ...was };
      for (const [k, v] of Object.entries(ev.data.job_usage)) {
        if (typeof v === "number") now[k] = Math.max(v, typeof was[k] === "number" ? was[k] : 0);
        else if (!(k in now)) now[k] = v;
      }
      job.usage[ev.data.model] = now;
      drawHead();
    }
    if (ev.crew && ev.crew !== progress.crew && ["crew_started", "task_started"].includes(ev.type)) { progress.crew = ev.crew; drawHead(); }
    if (ev.type === "progress" || ev.type === "task_finished" || ev.type === "task_started") {
      const d = ev.data || {};
      if (typeof d.completed_tasks === "number") progress.done = d.completed_tasks;
      else if (ev.type === "task_finished") progress.done += 1;
      if (typeof d.total_tasks === "number") progress.total = d.total_tasks;
      if (ev.type === "task_started") progress.task = ev.message || d.task;
      progress.total = Math.max(progress.total, progress.done);
      if (job.status === "queued") job.status = "running";
      drawHead();
    }
    if (ev.type === "started" || ev.type === "crew_started") { job.status = "running"; drawHead(); }
    // what has finished while the job runs; once it has ended, its result says it all
    const running = !["succeeded", "failed", "cancelled"].includes(job.status);
    if (running && (ev.type === "partial" || (ev.data && (ev.data.scene !== undefined || ev.data.scene_number !== undefined) && ev.type === "task_finished"))) {
      scenesDone.push(ev);
      const n = scenesDone.length;
      // per crew and kind, how many of how many (the director's "12 of 46 scenes"), and the last few
      const tally = new Map();
      for (const e of scenesDone) {
        const d = e.data || {};
        const key = `${e.crew || ""}|${d.kind || "part"}`;
        const kind = d.kind === "chunk" ? "part" : d.kind || "part";  // a writer's word for a chunk
        const t = tally.get(key) || { crew: e.crew, kind, done: 0, total: null };
        t.done = Math.max(t.done + 1, typeof d.done === "number" ? d.done : 0);
        if (typeof d.total === "number") t.total = d.total;
        tally.set(key, t);
      }
      partial.replaceChildren(h("h2", {}, "Finished so far"),
        h("p", { class: "muted", id: "partial-count" }, `${n} part${n === 1 ? "" : "s"} finished`),
        h("ul", { id: "partial-tally" }, [...tally.values()].map((t) => h("li", {},
          `${t.crew ? `${t.crew}: ` : ""}${t.done}${t.total ? ` of ${t.total}` : ""} ${t.kind}${(t.total || t.done) === 1 ? "" : "s"}`,
          t.total ? bar(t.done / t.total, `${t.crew} ${t.kind}s`) : null))),
        h("p", { class: "muted" }, `Latest: ${scenesDone.slice(-3).map((e) => e.message).filter(Boolean).join(" · ")}`));
    }
  };
  const finish = async () => {
    live.textContent = "";
    job = await api(`/jobs/${encodeURIComponent(id)}`);
    offline = offline || isOffline(job);
    drawHead();
    partial.replaceChildren();
    renderResults(job, results);
  };
  // the stream's state, in words: a job whose updates stopped arriving must not look live
  const connection = (state) => {
    live.className = state === "lost" ? "warn" : "muted";
    live.textContent = state === "lost" ? "Lost the connection to the server: trying again… (what is shown may be out of date)"
      : "Live: this page updates as the job runs.";
  };
  if (["succeeded", "failed", "cancelled"].includes(job.status)) {
    // the log of a job that has ended is history: it fills the event log and redraws nothing.
    // The head is the final record's (status, progress, usage, error); a redraw would replace
    // the h1 a screen reader is on and shift the result tabs under a click, and its "started"
    // would make the job look running again
    stopLive = follow(`/jobs/${encodeURIComponent(id)}/events`, logLine, () => {});
    renderResults(job, results);
  } else {
    stopLive = follow(`/jobs/${encodeURIComponent(id)}/events`, addEvent, finish, connection);
  }
}

function usageTable(usage) {
  const rows = Object.entries(usage || {});
  if (!rows.length) return null;
  return h("div", { class: "card", id: "usage" }, h("h2", {}, "Usage"), table(["Model", "Calls", "Failed", "Prompt tokens", "Completion tokens", "Cost (USD)"],
    rows.map(([model, u]) => [model, u.calls, u.failed_calls, u.prompt_tokens, u.completion_tokens, u.cost === null || u.cost === undefined ? "—" : u.cost.toFixed(4)])));
}

// --- results --------------------------------------------------------------------------------
// the export formats the server's plugins register (GET /exports), asked once per page load;
// a failed request is asked again next time, and shown as such (not as "none installed")
let exportFormats = null;
function formats() {
  exportFormats ||= api("/exports").catch((err) => { exportFormats = null; return { error: err.message }; });
  return exportFormats;
}

function noExports(found, tag, id) {
  return found.error ? h(tag, { class: "error", id }, `Export formats could not be listed: ${found.error}`)
    : h(tag, { class: "muted", id }, "No export formats are installed (novelcrew-exports adds the screenplay, CSV sheets and report).");
}

function exportButtons(job) {
  const holder = h("div", { class: "filters", id: "exports" }, h("b", {}, "Export: "));
  const note = h("span", { class: "error", id: "export-error", role: "alert" });
  formats().then((found) => holder.append(...(Array.isArray(found) && found.length ? found.map((f) => h("button", {
    "data-export": f.name, title: f.description,
    onclick: async (ev) => {
      ev.target.disabled = true;
      note.textContent = "";
      try { await download(`/jobs/${job.id}/export/${encodeURIComponent(f.name)}`, `${job.id}${f.suffix}`); }
      catch (err) { note.textContent = `${f.label || f.name} failed: ${err.message}`; }
      finally { ev.target.disabled = false; }
    },
  }, f.label || f.name)) : [noExports(found, "span", "no-exports")]), note));
  return holder;
}

// the offline stand-in made (or is making) this job: a crew's result says so, or a call went to it
function isOffline(job) {
  return Object.values(job.result || {}).some((r) => r && ((r.model && r.model.offline) || r.offline === true))
    || (job.models_used || []).includes("offline") || Object.keys(job.usage || {}).includes("offline");
}

// who a character id is: the day out of days numbers and names the cast (as a call sheet
// does), the analysis names everyone else; a page shows people by name, never by id
function castOf(job) {
  const cast = new Map();
  for (const c of (job.result.architect || {}).characters || []) if (c.id) cast.set(c.id, { name: c.name || c.id });
  for (const r of ((job.result.director || {}).schedule || {}).day_out_of_days || []) {
    if (r.character_id) cast.set(r.character_id, { name: r.name || r.character_id, number: r.cast_number });
  }
  const who = (id) => (cast.get(id) || { name: id }).name;
  const item = (i) => typeof i === "object" && i !== null && i.item !== undefined
    ? `${i.character ? `${who(i.character)}: ` : ""}${i.item}${i.suggested ? "*" : ""}` : i;
  const byNumber = (ids) => [].concat(ids || []).sort((a, b) => ((cast.get(a) || {}).number ?? 1e9) - ((cast.get(b) || {}).number ?? 1e9));
  return { who, item, byNumber, number: (id) => (cast.get(id) || {}).number };
}

function mergedScenes(job) {
  const a = (job.result.architect || {}).scenes || [];
  const d = (job.result.director || {}).scenes || [];
  const plan = new Map(d.map((s) => [s.number, s]));
  const out = a.map((s, i) => ({ ...s, ...(plan.get(s.number || i + 1) || {}) }));
  for (const s of d) if (!a.some((x) => x.number === s.number)) out.push(s);
  return out;
}

function renderResults(job, holder) {
  const r = job.result || {};
  if (!Object.keys(r).length) { holder.replaceChildren(); return; }
  const views = [];
  if (r.architect) views.push(["Analysis", () => analysisView(r.architect)]);
  if (r.architect || r.director) views.push(["Scenes", () => scenesView(job)]);
  if (r.director) views.push(["Stripboard", () => stripboardView(job)], ["Shots", () => shotsView(job)]);
  if (r.storyboard) views.push(["Storyboard", () => storyboardView(r.storyboard)]);
  views.push(["JSON", () => h("pre", { class: "prompt" }, JSON.stringify(r, null, 2))]);
  const body = h("div", { id: "view" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const show = (i) => {
    [...tabs.children].forEach((b, j) => { b.classList.toggle("active", i === j); b.setAttribute("aria-selected", String(i === j)); });
    try { body.replaceChildren(views[i][1]()); } catch (err) { body.replaceChildren(failure(err)); }
  };
  views.forEach(([name], i) => tabs.append(h("button", { role: "tab", "data-view": name.toLowerCase(), onclick: () => show(i) }, name)));
  const exports = exportButtons(job);
  holder.replaceChildren(exports, tabs, body);
  show(0);
}

function analysisView(a) {
  const chars = a.characters || [];
  const locs = a.locations || [];
  return h("div", { id: "analysis" },
    h("div", { class: "card" }, h("h2", {}, a.title || "Untitled"), a.logline ? h("p", {}, a.logline) : null,
      h("dl", { class: "kv" }, h("dt", {}, "Genre"), h("dd", {}, a.genre || "—"), h("dt", {}, "Tone"), h("dd", {}, a.tone || "—"),
        h("dt", {}, "Themes"), h("dd", {}, text(a.themes) || "—"))),
    h("h2", {}, `Characters (${chars.length})`),
    h("div", { class: "grid" }, chars.map((c) => h("div", { class: "card character" },
      h("b", {}, c.name), " ", h("span", { class: "badge" }, c.role || ""),
      c.aliases && c.aliases.length ? h("div", { class: "muted" }, `also: ${c.aliases.join(", ")}`) : null,
      c.description ? h("p", {}, c.description) : null,
      c.arc ? h("p", {}, h("i", {}, "Arc: "), c.arc) : null,
      (c.relationships || []).length ? h("ul", {}, c.relationships.map((rel) => h("li", {}, `${rel.kind || ""} — ${rel.to || ""}${rel.description ? `: ${rel.description}` : ""}`))) : null))),
    h("h2", {}, `Locations (${locs.length})`),
    table(["Name", "Description", "Atmosphere"], locs.map((l) => [l.name, l.description, l.atmosphere])));
}

const CATS = [["cast", ["cast"]], ["extras", ["extras", "background", "background_extras"]], ["props", ["props"]],
  ["set dressing", ["set_dressing"]], ["wardrobe", ["wardrobe", "costume"]], ["makeup/hair", ["makeup_hair", "makeup"]],
  ["vehicles", ["vehicles"]], ["animals", ["animals"]], ["special effects", ["special_effects", "sfx"]],
  ["visual effects", ["visual_effects", "vfx"]], ["stunts", ["stunts"]], ["sound", ["sound", "sound_music"]],
  ["special equipment", ["special_equipment", "equipment"]], ["continuity", ["continuity"]]];

function headingOf(s) {
  if (s.heading) return s.heading;
  const ie = s.int_ext || "INT";
  return `${ie}. ${(s.location || "").toUpperCase()}${s.day_night || s.time_of_day ? ` - ${s.day_night || s.time_of_day}` : ""}`;
}

// "Go to scene": a long story's scenes, shots or boards are one choice away, on a phone too
function sceneJump(scenes, prefix) {
  if (scenes.length < 2) return null;
  const pick = h("select", { class: "scene-jump", onchange: () => {
    const card = document.getElementById(`${prefix}-${pick.value}`);
    if (card) { card.scrollIntoView({ block: "start" }); card.focus({ preventScroll: true }); }
  } }, h("option", { value: "" }, `${scenes.length} scenes`),
  scenes.map((s) => h("option", { value: String(s.number) }, `${s.number}. ${s.heading || headingOf(s)}`)));
  return h("div", { class: "filters jump" }, h("label", {}, "Go to scene ", pick));
}

// a director's plan warning's kind (warning_details[].kind, a scene's or shot's warning_kinds) in words
const PLAN_KINDS = {
  scenes_not_planned: "not planned", location_unavailable: "location not available",
  scene_text_trimmed: "text trimmed for the prompts", entries_cut: "entries cut for the prompts",
  framing: "framing", screen_time_off_pages: "screen time against the pages",
  runtime_off_target: "runtime against the project's target",
  schedule_over_days: "more shooting days than available", graph_write_failed: "graph not written",
};
const planKind = (k) => PLAN_KINDS[k] || String(k).replace(/_/g, " ");

// the plan's warnings, each led by its kind when the plan gives them as data (one per message,
// same order; an older plan has words only)
function planWarnings(job) {
  const d = job.result.director || {};
  const warnings = [].concat(d.warnings || []);
  if (!warnings.length) return null;
  const details = Array.isArray(d.warning_details) && d.warning_details.length === warnings.length ? d.warning_details : [];
  return h("ul", { class: "warnings", id: "plan-warnings" }, warnings.map((w, i) => h("li", { "data-kind": details[i] && details[i].kind },
    details[i] ? h("b", {}, `${planKind(details[i].kind)}: `) : null, text(w))));
}

// what to check in a planned scene, and in which shots: "Check: framing (shot 2)"
function planCheck(s) {
  const kinds = [].concat(s.warning_kinds || []);
  if (!kinds.length) return null;
  return h("div", { class: "warnings plan-check" }, `Check: ${kinds.map((k) => {
    const shots = (s.shots || []).filter((x) => [].concat(x.warning_kinds || []).includes(k)).map((x) => x.number);
    return shots.length ? `${planKind(k)} (shot${shots.length > 1 ? "s" : ""} ${shots.join(", ")})` : planKind(k);
  }).join(", ")}`);
}

function scenesView(job) {
  const cast = castOf(job);
  let suggested = false;
  const all = mergedScenes(job);
  const view = h("div", { id: "scenes" }, planWarnings(job), sceneJump(all, "scene"), all.map((s) => {
    const sheet = s.breakdown || {};
    const rows = [];
    for (const [label, keys] of CATS) {
      const key = keys.find((k) => k in sheet);
      let value = key ? sheet[key] : label === "cast" ? s.characters : label === "props" ? (s.props || s.objects) : null;
      if (key === "cast" && Array.isArray(value)) value = cast.byNumber(value).map(cast.who);
      else if (Array.isArray(value)) value = value.map(cast.item);
      else if (value && typeof value === "object") value = Object.entries(value).map(([id, x]) => `${cast.who(id)}: ${text(x)}`);  // {id: item}
      if (Array.isArray(value) && value.some((v) => typeof v === "string" && v.endsWith("*"))) suggested = true;
      if (value && text(value)) rows.push([label, text(value)]);
    }
    const pages = sheet.pages || (s.page_eighths ? `${s.page_eighths}/8` : "");
    // a line as a script has it: its speaker outside the quotation, the prose's comma before a
    // tag made a full stop
    const spoken = (line) => `\u201c${String(line || "").trim().replace(/^["\u201c]|["\u201d]$/g, "").replace(/,$/, ".")}\u201d`;
    const dialogue = (s.dialogue || []).map((d) => typeof d === "string" ? d : d.speaker ? `${d.speaker}: ${spoken(d.line)}` : spoken(d.line));
    return h("div", { class: "card scene", "data-scene": s.number, id: `scene-${s.number}`, tabindex: "-1",
      "data-warnings": [].concat(s.warning_kinds || []).join(" ") || null },
      h("h3", {}, `${s.number}. ${headingOf(s)}`), planCheck(s),
      h("div", { class: "muted scene-meta" }, [pages ? `${pages} pg` : "", s.story_day ? `story day ${s.story_day}` : "", s.mood || s.emotional_beat || ""].filter(Boolean).join(" · ")),
      s.summary ? h("p", {}, s.summary) : null,
      dialogue.length ? h("ul", {}, dialogue.map((d) => h("li", {}, d))) : null,
      rows.length ? table(["Breakdown", ""], rows) : null);
  }));
  if (suggested) view.append(h("p", { class: "muted" }, "* suggested by the model; the scene's text does not say it"));
  return view;
}

function stripsOf(job) {
  const d = job.result.director || {};
  const sched = d.schedule || {};
  const board = sched.stripboard || d.stripboard;
  if (Array.isArray(board)) return board.map((s) => [{ day: s.day ?? s.shooting_day }, s]);
  const out = [];
  for (const day of sched.days || []) for (const item of day.scenes || day.strips || []) out.push([{ ...day, day: day.day ?? day.number }, typeof item === "object" ? item : { scene: item }]);
  return out;
}

function dayLine(day) {
  const moves = day.company_moves || 0;
  return [`Shooting day ${day.day}`, day.pages ? `${day.pages} pages` : "", typeof day.hours === "number" ? `${day.hours.toFixed(1)} h` : "",
    moves ? `${moves} company move${moves === 1 ? "" : "s"}` : ""].filter(Boolean).join(" · ");
}

function stripboardView(job) {
  const strips = stripsOf(job);
  if (!strips.length) return h("p", { class: "muted", id: "stripboard" }, "No schedule in this result.");
  const scenes = new Map(mergedScenes(job).map((s) => [s.number, s]));
  const cast = castOf(job);
  let lastDay = null;
  const tbody = h("tbody");
  for (const [day, strip] of strips) {
    const num = strip.scene ?? strip.scene_number ?? strip.number;
    const s = { ...(scenes.get(num) || {}), ...strip };
    if (day.day !== lastDay) { tbody.append(h("tr", { class: "dayrow" }, h("td", { colspan: 6 }, dayLine(day)))); lastDay = day.day; }
    const ie = String(s.int_ext || "INT").split("/")[0].toLowerCase();
    const dn = String(s.day_night || s.time_of_day || "").toLowerCase();
    const pages = strip.pages || (s.breakdown || {}).pages || (s.page_eighths ? `${s.page_eighths}/8` : "");
    const people = cast.byNumber(strip.cast || (s.breakdown || {}).cast || s.characters || [])
      .map((id) => { const n = cast.number(id); return n ? `${n} ${cast.who(id)}` : cast.who(id); });
    tbody.append(h("tr", { class: `strip strip-${ie} strip-${dn}` }, h("td", {}, strip.part ? `${num} (${strip.part})` : num),
      h("td", {}, headingOf(s)), h("td", { class: "num" }, pages),
      h("td", { class: "num" }, typeof strip.hours === "number" ? strip.hours.toFixed(1) : ""),
      h("td", { class: "cast" }, people.join(", ")), h("td", {}, s.story_day || "")));
  }
  const d = job.result.director || {};
  const dood = (d.schedule || {}).day_out_of_days;
  return h("div", { id: "stripboard" },
    scroller(h("table", {}, h("thead", {}, h("tr", {}, ["Scene", "Heading", "Pages", "Hours", "Cast", "Story day"].map((c) => h("th", {}, c)))), tbody)),
    Array.isArray(dood) && dood.length ? h("div", { id: "dood" }, h("h2", {}, "Day out of days"),
      table(["#", "Cast", ...(dood[0].codes || []).map((_, i) => `Day ${i + 1}`), "Work", "Hold"],
        dood.map((r) => [r.cast_number, r.name || r.character_id, ...(r.codes || []), r.work_days, r.hold_days]))) : null,
    (d.schedule || {}).method ? h("p", { class: "muted" }, d.schedule.method) : null);
}

function shotsView(job) {
  const cast = castOf(job);
  const shot = mergedScenes(job).filter((s) => (s.shots || []).length);
  return h("div", { id: "shots" }, planWarnings(job), sceneJump(shot, "shots"), shot.map((s) => {
    // a Check column only where a plan warning names a shot of the scene
    const flagged = s.shots.some((x) => [].concat(x.warning_kinds || []).length);
    return h("div", { class: "card", id: `shots-${s.number}`, tabindex: "-1", "data-warnings": [].concat(s.warning_kinds || []).join(" ") || null },
      h("h3", {}, `${s.number}. ${headingOf(s)}`), planCheck(s),
      table(["#", "Size", "Angle", "Movement", "Support", "Lens", "Coverage", "Subjects", "Sec", "Notes", ...(flagged ? ["Check"] : [])], s.shots.map((x, i) => [
        x.number || i + 1, x.size || x.shot_size || x.shot_type, x.angle, x.movement, x.support || x.camera_support,
        x.lens_mm ? `${x.lens_mm} mm` : x.lens, x.coverage === "over-the-shoulder" ? "OTS" : x.coverage,
        [].concat(x.subjects || x.characters || []).map(cast.who).join(", "), x.estimated_duration_seconds || x.duration_seconds, x.description || x.notes,
        ...(flagged ? [[].concat(x.warning_kinds || []).map(planKind).join(", ")] : [])]),
      (r, i) => ({ "data-shot": s.shots[i].number || i + 1, "data-warnings": [].concat(s.shots[i].warning_kinds || []).join(" ") || null })));
  }));
}

// the usual outfit, then the story days that differ from it (the bible keys days by number
// and "default"; a day that repeats the usual outfit says nothing)
function wardrobeOf(wardrobe) {
  const w = wardrobe || {};
  const usual = w.default;
  const days = Object.entries(w).filter(([day, outfit]) => day !== "default" && text(outfit) !== text(usual))
    .sort(([a], [b]) => Number(a) - Number(b)).map(([day, outfit]) => `story day ${day}: ${text(outfit)}`);
  return [usual ? text(usual) : "", ...days].filter(Boolean).join("; ");
}

// a storyboard warning's kind (warning_details[].kind, a shot's warning_kinds) in words
const WARNING_KINDS = {
  not_in_frame: "someone named is not in frame", time_of_day_clash: "time of day clash",
  no_usable_answer: "from the plan's words only", graph_read_failed: "graph not read",
  graph_write_failed: "graph not written", payload_read_failed: "Payload not read",
};
const kindLabel = (k) => WARNING_KINDS[k] || String(k).replace(/_/g, " ");

function storyboardView(sb) {
  // as the terminal's storyboard reads: may it go to media generation, the words every prompt
  // repeats for each person and place, the style, then per scene each shot and its prompts
  const bible = sb.bible || sb.visual_bible || {};
  const offline = sb.offline === true || (sb.model && sb.model.offline === true);
  const flag = offline
    ? h("div", { class: "banner", id: "storyboard-flag" }, "Offline stand-in: not a real storyboard, not ready for media generation.",
      sb.note ? h("div", { class: "muted" }, sb.note) : null)
    : h("p", { class: sb.ready_for_media_generation === true ? "ok" : "error", id: "storyboard-flag" },
      sb.ready_for_media_generation === true ? "Ready for media generation" : "Not ready for media generation");
  const people = new Map((bible.characters || []).map((c) => [c.id, c.name || c.id]));
  const value = (t) => t && typeof t === "object" ? t.value || "" : t || "";
  const chars = bible.characters || [];
  const locs = bible.locations || [];
  const style = bible.style || {};
  const scenes = [...(sb.scenes || [])];
  if ((sb.shots || []).length) scenes.push({ heading: "", shots: sb.shots });  // an older, flat result
  const negatives = new Set(scenes.flatMap((sc) => (sc.shots || []).map((x) => x.negative_prompt || "")));
  const shared = negatives.size === 1 ? [...negatives][0] : null;
  // the warnings as data (one per message, same order; an older result has none): each with
  // its kind, and on every shot it concerns, so a person sees what to check before generating
  const warnings = [].concat(sb.warnings || []);
  const details = Array.isArray(sb.warning_details) && sb.warning_details.length === warnings.length
    ? sb.warning_details : [];
  const styleRows = [["aspect ratio", style.aspect_ratio], ["era", style.era], ["palette", text(style.palette)],
    ["lighting", style.lighting_style], ["film look", style.film_look], ["every prompt ends", (style.fragments || []).join(", ")]]
    .filter(([, v]) => v);
  return h("div", { id: "storyboard" }, flag,
    warnings.length ? h("ul", { class: "warnings", id: "storyboard-warnings" }, warnings.map((w, i) => h("li", { "data-kind": details[i] && details[i].kind },
      details[i] ? h("b", {}, `${kindLabel(details[i].kind)}: `) : null, text(w)))) : null,
    chars.length ? [h("h2", {}, `Characters (${chars.length}): the words every prompt uses`),
      table(["Name", "Look in every prompt", "Wardrobe", "Voice"], chars.map((c) => [c.name || c.id, c.phrase || "",
        wardrobeOf(c.wardrobe),
        value(c.voice)]))] : null,
    locs.length ? [h("h2", {}, `Locations (${locs.length})`),
      table(["Name", "Look in every prompt", "Atmosphere"], locs.map((l) => [l.name || l.id, l.phrase || l.look || "", l.atmosphere]))] : null,
    styleRows.length ? [h("h2", {}, "Style guide"), h("dl", { class: "kv", id: "style-guide" }, styleRows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))] : null,
    shared ? h("p", { class: "muted" }, `Negative prompt of every shot: ${shared}`) : null,
    h("h2", {}, `Shots (${scenes.reduce((n, sc) => n + (sc.shots || []).length, 0)})`),
    sceneJump(scenes.filter((sc) => sc.number !== undefined), "board"),
    scenes.map((sc) => h("div", { class: "card sb-scene", "data-scene": sc.number ?? "", id: sc.number !== undefined ? `board-${sc.number}` : null, tabindex: "-1" },
      sc.heading || sc.number ? h("h3", {}, `Scene ${sc.number ?? ""}. ${sc.heading || ""}`,
        sc.story_day ? h("span", { class: "muted" }, ` · story day ${sc.story_day}`) : null) : null,
      (sc.shots || []).map((x) => {
        const lens = typeof x.lens_mm === "number" ? `${x.lens_mm}mm` : x.lens;
        const moves = [...new Set([x.movement, x.support].filter(Boolean))].join(" / ");
        const inFrame = [].concat(x.subjects || []).map((id) => people.get(id) || id).join(", ");
        const kinds = [].concat(x.warning_kinds || []);
        const notes = details.filter((d) => [].concat(d.shot_ids || []).includes(x.id));
        return h("div", { class: "sb-shot", "data-shot": x.id || x.number, "data-warnings": kinds.join(" ") || null },
          h("b", {}, `${x.id || x.shot_id || x.number || ""} `), [x.size, x.angle, moves, lens].filter(Boolean).join(" · "),
          x.duration_seconds ? ` · ${x.duration_seconds} s` : "",
          inFrame ? h("span", { class: "muted" }, ` · in frame: ${inFrame}`) : null,
          h("div", { class: "prompt" }, x.image_prompt || x.prompt || ""),
          x.motion_prompt ? h("div", { class: "prompt" }, `motion: ${x.motion_prompt}`) : null,
          !shared && x.negative_prompt ? h("div", { class: "prompt" }, `negative: ${x.negative_prompt}`) : null,
          kinds.length ? h("div", { class: "warnings sb-check" }, `Check before generating: ${kinds.map(kindLabel).join(", ")}`,
            notes.map((d) => h("div", { class: "muted" }, text(d.message)))) : null);
      }))));
}

// --- new job --------------------------------------------------------------------------------
async function newPage() {
  const crews = await api("/crews");
  const list = Array.isArray(crews) ? crews : crews.data || [];
  const order = ["architect", "director", "storyboard"];
  list.sort((a, b) => (order.indexOf(a.name) + 1 || 99) - (order.indexOf(b.name) + 1 || 99));
  // a crew that needs inputs this form does not ask for (eval-judge's scenes) is shown, not offered
  const FORM = new Set(["story_text", "title", "project_id"]);
  const needs = await Promise.all(list.map((c) => api(`/crews/${encodeURIComponent(c.name)}`)
    .then((d) => ((d.input_schema || {}).required || []).filter((f) => !FORM.has(f))).catch(() => [])));
  const boxes = list.map((c, i) => h("label", { class: "crew-choice" },
    h("input", { type: "checkbox", name: "crew", value: c.name, disabled: needs[i].length > 0,
      checked: !needs[i].length && ["architect", "director"].includes(c.name) }), ` ${c.name} `,
    h("span", { class: "muted" }, c.description),
    needs[i].length ? h("span", { class: "warn" }, ` Needs ${needs[i].join(", ")}: run it with the API or the novelcrew command.`) : null));
  const story = h("textarea", { id: "story", name: "story", required: true, "aria-describedby": "story-help",
    placeholder: "Paste a story, or choose a file below." });
  const count = h("span", { id: "story-count" });
  const counted = () => { const n = story.value.trim().length; count.textContent = n ? ` · ${n.toLocaleString()} characters` : ""; };
  story.oninput = counted;
  const file = h("input", { type: "file", id: "story-file", accept: ".txt,.md,text/plain,text/markdown" });
  file.onchange = async () => { if (file.files[0]) { story.value = await file.files[0].text(); counted(); } };
  const project = h("input", { id: "project", placeholder: "optional" });
  const title = h("input", { id: "title", placeholder: "optional" });
  const message = h("p", { id: "submit-message", role: "alert" });
  // which model answers is the server's setting; the stand-in is said before a story is sent to it
  const health = await reach("/health").then((r) => r.json()).catch(() => ({}));
  const standIn = ((health.dependencies || {})["model:offline"] || {}).status === "ok";
  const form = h("form", { id: "new-job", class: "card", onsubmit: async (ev) => {
    ev.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=crew]:checked")].map((b) => b.value);
    chosen.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    if (!chosen.length) { message.textContent = "Choose at least one crew."; message.className = "error"; return; }
    if (!story.value.trim()) { message.textContent = "The story is empty: paste it, or choose a text file."; message.className = "error"; story.focus(); return; }
    const inputs = { story_text: story.value };
    if (title.value) inputs.title = title.value;
    try {
      const job = await api("/jobs", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ crews: chosen, project_id: project.value || null, inputs }) });
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      message.textContent = err.status === 413 ? `The story is too long for this server: ${err.message}`
        : `The job was not started: ${err.message}`;
      message.className = "error";
    }
  }, novalidate: true },
  h("fieldset", {}, h("legend", {}, "Crews (run in this order)"), boxes.map((b) => h("div", {}, b))),
  h("label", { for: "story", class: "field" }, "Story"),
  h("p", { class: "muted", id: "story-help" }, "Plain text or Markdown. A long story is split at its chapters and read in parallel.", count),
  story, h("div", {}, h("label", {}, "…or a text file: ", file)),
  h("div", { class: "filters" }, h("label", {}, "Project id ", project), h("label", {}, "Title ", title)),
  h("button", { class: "primary", type: "submit", id: "submit" }, "Run"), message);
  main.replaceChildren(h("h1", {}, "New job"),
    standIn ? h("div", { class: "banner", id: "offline-notice", role: "note" }, h("b", {}, "Offline stand-in. "),
      "This server answers with the offline stand-in (no language model): its results are plain extraction from the text, a preview of the pipeline, not an analysis.") : null,
    form);
}

// --- system ---------------------------------------------------------------------------------
async function systemPage() {
  const [health, plugins, crews, tools, models, exports] = await Promise.all([
    reach("/health").then((r) => r.json()), api("/plugins"), api("/crews"), api("/tools"), api("/models").catch(() => []),
    formats()]);
  const list = (x) => Array.isArray(x) ? x : x.data || [];
  const deps = Object.entries(health.dependencies || {});
  main.replaceChildren(h("h1", {}, "Plugins & health"),
    h("div", { class: "card", id: "health" }, h("h2", {}, "Health ", badge(health.status === "healthy" ? "ok" : health.status)),
      table(["Dependency", "Status", "Required", "Detail"], deps.map(([name, d]) => [name, badge(d.status), d.required ? "yes" : "no", d.detail]))),
    h("h2", {}, "Plugins"),
    table(["Plugin", "Version", "Crews", "Tools", "Models", "Exports", "Problem"], list(plugins).map((p) => [p.name, p.version || "", p.crews, p.tools, p.models, p.exports || [],
      p.error ? h("span", { class: "error" }, p.error) : ""]), (p, i) => ({ "data-plugin": list(plugins)[i].name })),
    h("h2", {}, "Crews"),
    table(["Crew", "Version", "Plugin", "Description", "Missing tools"], list(crews).map((c) => [c.name, c.version, c.plugin, c.description,
      (c.missing_tools || []).length ? h("span", { class: "error" }, c.missing_tools.join(", ")) : ""])),
    h("h2", {}, "Tools"), table(["Tool", "Plugin", "Description"], list(tools).map((t) => [t.name, t.plugin, t.description])),
    h("h2", {}, "Models"), table(["Provider", "Plugin", "Examples"], list(models).map((m) => [m.provider, m.plugin, m.examples])),
    h("h2", {}, "Exports"), Array.isArray(exports) && exports.length
      ? table(["Format", "Plugin", "File", "Description"], exports.map((f) => [f.name, f.plugin, f.suffix, f.description]))
      : noExports(exports, "p", "no-exports"));
}

// --- graph ----------------------------------------------------------------------------------
async function graphPage(project, query) {
  const input = h("input", { id: "graph-project", placeholder: "project id", value: project || "", required: true });
  const form = h("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/graph/${encodeURIComponent(input.value.trim())}`; } },
    h("label", {}, "Project ", input), h("button", { type: "submit" }, "Show"));
  const holder = h("div", { id: "graph-holder" });
  main.replaceChildren(h("h1", {}, "Knowledge graph"), form, holder);
  if (!project) { holder.append(h("p", { class: "muted" }, "Enter a project id to see its story graph.")); return; }
  // the graph carries no model of its own: the project's latest finished job wrote it
  // the graph plugin lists the most-linked entities up to a cap (pathrag: 300): "more" asks
  // for a bigger cap, kept in the address so a reload or a shared link shows the same graph
  const caps = new URLSearchParams([...query].filter(([k]) => k === "max_entities" || k === "max_links"));
  const [graph, latest] = await Promise.all([api(`/projects/${encodeURIComponent(project)}/graph${caps.toString() ? `?${caps}` : ""}`),
    api(`/jobs?${new URLSearchParams({ project_id: project, status: "succeeded", limit: "1", results: "false" })}`).catch(() => ({ data: [] }))]);
  const writer = (latest.data || [])[0];
  const standIn = writer && isOffline(writer)
    ? h("div", { class: "banner", id: "graph-offline", role: "note" }, h("b", {}, "Offline stand-in. "),
      "This graph was written by the offline stand-in (plain extraction from the text, no language model) in job ",
      h("a", { href: `#/jobs/${writer.id}` }, writer.id.slice(0, 12)), ": a preview of the pipeline, not an analysis.") : null;
  if (!graph.entities.length) {
    holder.replaceChildren(h("p", { class: "muted", id: "graph-empty" }, `Project ${project} has no knowledge graph yet: run the architect crew on its story.`));
    return;
  }
  const types = [...new Set(graph.entities.map((e) => e.type || "other"))].sort();
  // a novel's graph drawn whole is a hairball: past a size, the story's people, places, things,
  // scenes and themes come first, and the shots and looks wait for a tick
  const BULK = ["shot", "storyboard_shot", "character_look", "location_look", "style_guide"];
  const big = graph.entities.length > 150;
  const shown = new Set(types.filter((t) => !(big && BULK.includes(t))));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const details = h("aside", { id: "graph-details", class: "card" }, h("p", { class: "muted" }, "Click a node (or Tab to it and press Enter) for its details."));
  const filters = h("div", { class: "filters", id: "graph-filters" }, types.map((t) => h("label", {},
    h("input", { type: "checkbox", checked: shown.has(t), "data-type": t, onchange: (ev) => { ev.target.checked ? shown.add(t) : shown.delete(t); redraw(); } }), ` ${t}`)));
  const degree = new Map();
  for (const l of graph.relationships) for (const end of [l.source, l.target]) degree.set(end, (degree.get(end) || 0) + 1);
  // the same graph as text: for a screen reader, a phone, or a name the drawing hides
  const listed = h("details", { id: "graph-list" }, h("summary", {}, `All ${graph.entities.length} entities as a list`),
    table(["Name", "Type", "Relations", "Description"], [...graph.entities].sort((a, b) => (a.type || "").localeCompare(b.type || "") || a.name.localeCompare(b.name))
      .map((e) => [e.name, e.type || "other", degree.get(e.name) || 0, e.description || ""])));
  holder.replaceChildren(...[standIn, h("p", { class: "muted", id: "graph-count" }, graphCount(graph),
    shown.size < types.length ? ". Shots and looks are not drawn in a graph this size: tick them to draw them." : ""),
    graph.truncated ? graphMore(project, graph) : null, filters,
    h("div", { id: "graph" }, svg, details), listed].filter(Boolean));  // a null would show as "null"
  const redraw = () => drawGraph(svg, graph, shown, (entity, links) => {
    details.replaceChildren(h("h2", {}, entity.name), h("span", { class: "badge" }, entity.type || ""),
      h("p", {}, entity.description || ""), h("h2", {}, "Relations"),
      h("ul", {}, links.map((l) => h("li", {}, `${l.source} → ${l.target}${l.description ? `: ${l.description}` : ""}`))));
  });
  redraw();
}

// "300 of 1,234 entities (the most linked)" when the listing was cut, never a part as the whole
function graphCount(graph) {
  const n = (x) => x.toLocaleString("en");
  const of = (shown, total) => (total != null && total > shown ? `${n(shown)} of ${n(total)}` : n(shown));
  const entities = `${of(graph.entities.length, graph.total_entities)} entities${graph.truncated ? " (the most linked)" : ""}`;
  const links = `${of(graph.relationships.length, graph.total_relationships)} relationships`;
  return `${entities}, ${links}${graph.truncated && graph.total_entities == null ? ": the graph was cut to its most-linked entities" : ""}`;
}

function graphMore(project, graph) {
  const wanted = h("input", { id: "graph-max", type: "number", min: "1", required: true,
    value: String(graph.total_entities ?? graph.entities.length * 2) });
  return h("form", { class: "filters", id: "graph-more", onsubmit: (ev) => {
    ev.preventDefault();
    const caps = new URLSearchParams({ max_entities: wanted.value });
    // the relationships among more entities: all of them, unless the graph plugin does not say
    if (graph.total_relationships != null) caps.set("max_links", String(Math.max(graph.total_relationships, 1)));
    location.hash = `#/graph/${encodeURIComponent(project)}?${caps}`;
  } }, h("label", {}, "Show up to ", wanted, " entities"), h("button", { type: "submit" }, "Show more"));
}

// --- router ---------------------------------------------------------------------------------
async function route() {
  stopLive();
  stopLive = () => {};
  const [path, query] = (location.hash.slice(1) || "/jobs").split("?");
  const parts = path.split("/").filter(Boolean);
  document.querySelectorAll("nav a").forEach((a) => {
    const here = a.dataset.nav === (parts[0] === "jobs" && parts[1] ? "" : parts[0] || "jobs");
    a.classList.toggle("active", here);
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  document.title = `${{ new: "New job", graph: "Knowledge graph", system: "Plugins & health" }[parts[0]] || "Jobs"} · novelcrew`;
  try {
    if (parts[0] === "jobs" && parts[1]) await jobPage(decodeURIComponent(parts[1]));
    else if (parts[0] === "new") await newPage();
    else if (parts[0] === "system") await systemPage();
    else if (parts[0] === "graph") await graphPage(parts[1] ? decodeURIComponent(parts[1]) : "", new URLSearchParams(query || ""));
    else await jobsPage(new URLSearchParams(query || ""));
  } catch (err) {
    main.replaceChildren(failure(err));
  }
}
window.addEventListener("hashchange", route);
showWho();
route();
