// The agent console: queues with counts and SLA countdowns, the structured handoff of a ticket above its transcript,
// and the agent's actions. New tickets appear by polling. Text is only ever put on the page with textContent.
"use strict";

const POLL_MS = 5000;
const ACTIVE = ["new", "open"];
const REASONS = {
  no_answer: "The bot found no answer",
  asked_for_person: "The customer asked for a person",
  needs_agent: "Needs an agent's authority",
};
const INTENTS = {
  asked_for_person: "a person",
  supervisor: "someone senior (a supervisor or manager)",
  complaint: "to complain",
};
const SENDERS = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System", note: "Internal note" };

const state = {
  session: null,
  queue: "", // "" = every queue
  tickets: [],
  queues: null, // from GET /api/v1/queues when the server has it
  known: null, // ticket ids seen so far (null until the first load)
  fresh: new Set(),
  selected: null, // the open ticket's JSON
  timer: null,
};

const $ = (id) => document.getElementById(id);

function dueOf(ticket, deadline) {
  const sla = ticket.sla || {};
  const value = sla[`${deadline}_due`] ?? (sla[deadline] && sla[deadline].due) ?? ticket[`${deadline}_due`];
  return typeof value === "string" ? value : null;
}

function pausedOf(ticket) {
  const sla = ticket.sla || {};
  return Boolean(sla.paused_since || ticket.sla_paused_at || ticket.status === "pending_customer");
}

/** A countdown pill for a deadline; its text and colour are refreshed by tick(). */
function deadlinePill(ticket, deadline) {
  const due = dueOf(ticket, deadline);
  const done = deadline === "first_response" && (ticket.first_responded_at || (ticket.sla || {}).first_responded_at);
  if (!due || done || ["resolved", "closed"].includes(ticket.status)) {
    return el("span", { className: "pill none", textContent: done ? "answered" : "—" });
  }
  const pill = el("span", { className: "pill", "data-due": due, "data-created": ticket.created_at });
  if (pausedOf(ticket)) pill.dataset.paused = "true";
  paintDeadline(pill);
  return pill;
}

function paintDeadline(pill) {
  const paused = pill.dataset.paused === "true";
  const level = paused ? "paused" : urgency(pill.dataset.created, pill.dataset.due);
  pill.className = "pill " + level;
  const ms = Date.parse(pill.dataset.due) - Date.now();
  pill.textContent = paused ? "paused" : countdown(ms);
  pill.title = "Due " + when(pill.dataset.due);
}

function tick() {
  document.querySelectorAll("[data-due]").forEach(paintDeadline);
}

// ---- queues and the ticket list ----
function visibleTickets() {
  const filter = $("status-filter").value;
  return state.tickets
    .filter((t) => !state.queue || t.queue === state.queue)
    .filter((t) => filter === "all" || (filter === "active" ? ACTIVE.includes(t.status) : t.status === filter))
    .sort((a, b) => {
      const da = Date.parse(dueOf(a, "first_response")) || Infinity;
      const db = Date.parse(dueOf(b, "first_response")) || Infinity;
      return da - db || b.id - a.id;
    });
}

function queueSummaries() {
  const byName = new Map();
  for (const ticket of state.tickets) {
    if (!byName.has(ticket.queue)) byName.set(ticket.queue, { name: ticket.queue, count: 0, nearest: null });
    const entry = byName.get(ticket.queue);
    if (!ACTIVE.includes(ticket.status)) continue;
    entry.count += 1;
    const due = dueOf(ticket, "first_response");
    if (due && !ticket.first_responded_at && (!entry.nearest || Date.parse(due) < Date.parse(entry.nearest))) entry.nearest = due;
  }
  for (const queue of state.queues || []) { // the server's own numbers win where it has them
    const name = queue.queue || queue.name || queue.id;
    if (!name) continue;
    const counts = queue.counts && typeof queue.counts === "object" ? queue.counts : null;
    const count = queue.open ?? queue.waiting ?? queue.count ??
      (counts ? ACTIVE.reduce((sum, status) => sum + (counts[status] || 0), 0) : null);
    const entry = byName.get(name) || { name, count: 0, nearest: null };
    if (typeof count === "number") entry.count = count;
    entry.nearest = queue.nearest_deadline || entry.nearest;
    entry.tier = queue.tier;
    entry.breached = queue.breached || 0;
    entry.closed = queue.open_now === false;
    byName.set(name, entry);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function renderQueues() {
  const list = $("queues");
  const summaries = queueSummaries();
  const total = state.tickets.filter((t) => ACTIVE.includes(t.status)).length;
  const item = (name, label, count, nearest, extra) => {
    const button = el("button", { type: "button", "aria-current": String(state.queue === name),
      onclick: () => { state.queue = name; renderQueues(); renderTickets(); } },
    el("span", {}, label, nearest ? el("span", { className: "sr" }, ", next deadline ") : null,
      nearest ? el("br") : null,
      nearest ? el("span", { className: "pill", "data-due": nearest, "data-created": "" }) : null,
      extra ? el("span", { className: "muted queue-extra", textContent: extra }) : null),
    el("span", { className: "count", textContent: String(count), "aria-label": `${count} waiting` }));
    return el("li", {}, button);
  };
  list.replaceChildren(item("", "All queues", total, null),
    ...summaries.map((q) => item(q.name, q.tier ? `${q.name} (tier ${q.tier})` : q.name, q.count, q.nearest,
      [q.breached ? `${q.breached} overdue` : "", q.closed ? "out of hours" : ""].filter(Boolean).join(" · "))));
  tick();
}

function renderTickets() {
  const body = $("tickets");
  const rows = visibleTickets().map((ticket) => {
    const open = () => selectTicket(ticket.id);
    const row = el("tr", { "aria-selected": String(state.selected && state.selected.id === ticket.id),
      className: state.fresh.has(ticket.id) ? "fresh" : "", onclick: open },
    el("td", {}, el("button", { type: "button", textContent: ticket.reference, onclick: (e) => { e.stopPropagation(); open(); } }),
      el("div", { className: "muted", textContent: ticket.subject }),
      el("div", { className: "muted", textContent: `${ticket.queue} · ${ticket.status}` })),
    el("td", {}, el("span", { className: "pill " + ticket.priority, textContent: ticket.priority })),
    el("td", {}, deadlinePill(ticket, "first_response")),
    el("td", { textContent: ticket.assignee || "—" }));
    row.dataset.ticket = String(ticket.id);
    return row;
  });
  body.replaceChildren(...rows);
  $("tickets-empty").hidden = rows.length > 0;
}

async function refreshLists() {
  const tickets = await state.session.api("GET", "/api/v1/tickets?limit=200");
  if (state.queues !== false) {
    try {
      const queues = await state.session.api("GET", "/api/v1/queues");
      state.queues = Array.isArray(queues) ? queues : Array.isArray(queues && queues.queues) ? queues.queues : [];
    } catch (error) {
      if (error.status === 404 || error.status === 405) state.queues = false; // not on this server (yet)
      else throw error;
    }
  }
  if (state.known) {
    const arrived = tickets.filter((t) => !state.known.has(t.id));
    arrived.forEach((t) => state.fresh.add(t.id));
    if (arrived.length) {
      $("arrivals").textContent = arrived.map((t) => `New ticket ${t.reference} in ${t.queue}: ${t.subject}`).join(". ");
    }
  }
  state.known = new Set(tickets.map((t) => t.id));
  state.tickets = tickets;
  renderQueues();
  renderTickets();
  $("refreshed").textContent = "Updated " + new Date().toLocaleTimeString();
}

// ---- one ticket ----
function fact(label, ...value) {
  return [el("dt", { textContent: label }), el("dd", {}, ...value)];
}

function renderHandoff(ticket) {
  const customer = ticket.customer || {};
  const sla = (d) => (dueOf(ticket, d) ? [deadlinePill(ticket, d), " ", el("span", { className: "muted", textContent: when(dueOf(ticket, d)) })] : ["—"]);
  const topic = ticket.topic
    ? `${ticket.topic}${ticket.topic_confidence != null ? ` (${Math.round(ticket.topic_confidence * 100)} %)` : ""}`
    : "—";
  const tried = (ticket.articles_tried || []).map((a) => el("tr", {},
    el("td", { textContent: a.title || a.article_id }), el("td", { className: "muted", textContent: a.article_id }),
    el("td", { textContent: typeof a.score === "number" ? a.score.toFixed(2) : "" })));
  return el("div", { className: "panel handoff" },
    el("h2", { id: "ticket-title", textContent: `${ticket.reference} · ${ticket.subject}` }),
    el("div", { className: "actions" },
      el("span", { className: "pill", textContent: ticket.status }),
      el("span", { className: "pill " + ticket.priority, textContent: `priority ${ticket.priority}` }),
      el("span", { className: "pill", textContent: `${ticket.queue} · tier ${ticket.tier}` }),
      ticket.escalation_level ? el("span", { className: "pill high", textContent: `escalation level ${ticket.escalation_level}` }) : null,
      ((ticket.sla || {}).breached || []).map((d) => el("span", { className: "pill late", textContent: `${d.replace("_", " ")} overdue` }))),
    el("p", { className: "summary", textContent: ticket.summary }),
    el("dl", { className: "facts" },
      fact("Customer", [customer.name || "(no name)", customer.email ? ` <${customer.email}>` : "",
        ticket.customer_id ? ` · known customer ${ticket.customer_id}` : ""].join("")),
      Object.keys(ticket.customer_attributes || {}).length
        ? fact("Customer attributes", Object.entries(ticket.customer_attributes).map(([k, v]) => `${k}: ${v}`).join(", "))
        : [],
      fact("Reason", REASONS[ticket.reason] || ticket.reason),
      fact("Language · channel", `${ticket.lang} · ${ticket.channel}`),
      fact("Topic", topic),
      ticket.intent ? fact("Customer wants", `${INTENTS[ticket.intent] || ticket.intent}${ticket.intent_confidence != null ? ` (${Math.round(ticket.intent_confidence * 100)} %)` : ""}`) : [],
      fact("Routed by", `${ticket.routed_by}${ticket.routing_confidence != null ? ` (${Math.round(ticket.routing_confidence * 100)} %)` : ""}`),
      ticket.question ? fact("Question", ticket.question) : [],
      fact("Description", ticket.description || "—"),
      fact("First reply due", ...sla("first_response")),
      fact("Resolution due", ...sla("resolution")),
      fact("Assignee", ticket.assignee || "unassigned"),
      fact("Created", when(ticket.created_at)),
      (ticket.tags || []).length ? fact("Tags", ticket.tags.join(", ")) : [],
      ticket.resolution ? fact("Resolution", ticket.resolution) : []),
    el("h3", { textContent: "Articles the bot tried" }),
    tried.length
      ? el("table", {}, el("thead", {}, el("tr", {}, el("th", { textContent: "Title" }), el("th", { textContent: "Id" }),
        el("th", { textContent: "Score" }))), el("tbody", {}, tried))
      : el("p", { className: "muted", textContent: "None." }),
    renderCustomerHistory(ticket.customer_history));
}

/** The customer's other tickets and conversations (known customers by their id, others by the email given). */
function renderCustomerHistory(history) {
  if (!history) return null;
  const how = history.matched_by === "email" ? "same email address, as typed: it may be someone else" : "same customer id";
  const rows = history.tickets.map((t) => el("tr", {},
    el("td", { textContent: t.reference }), el("td", { textContent: t.status }), el("td", { textContent: t.queue }),
    el("td", { textContent: t.subject }), el("td", { className: "muted", textContent: when(t.created_at) })));
  const more = history.tickets_total > rows.length ? ` (the latest ${rows.length} of ${history.tickets_total})` : "";
  return el("section", { "aria-labelledby": "customer-history" },
    el("h3", { id: "customer-history", textContent: "The customer's other tickets" + more }),
    el("p", { className: "muted", textContent: `${history.conversations} other conversation(s); matched by ${how}.` }),
    rows.length
      ? el("table", {}, el("thead", {}, el("tr", {}, ...["Ticket", "Status", "Queue", "Subject", "Created"]
        .map((h) => el("th", { textContent: h })))), el("tbody", {}, rows))
      : el("p", { className: "muted", textContent: "None." }));
}

function messageText(entry) {
  const text = String(entry.text || "");
  if (entry.sender === "customer" && text.startsWith("/ask_human")) return "[pressed “Talk to a person”]";
  if (entry.sender === "customer" && text.startsWith("/")) return `[pressed a button: ${text}]`;
  return text;
}

function renderTranscript(ticket) {
  const lines = (ticket.transcript || []).map((entry) => {
    const sender = SENDERS[entry.sender] ? entry.sender : "system";
    const line = el("div", { className: "line " + sender },
      el("span", { className: "who", textContent: `${SENDERS[sender]}${entry.agent ? ` (${entry.agent})` : ""} · ${when(entry.at)}` }),
      messageText(entry));
    for (const article of entry.articles || []) line.append(el("div", { className: "muted", textContent: `📄 ${article.title}` }));
    if ((entry.buttons || []).length) {
      line.append(el("div", { className: "muted", textContent: "Offered: " + entry.buttons.map((b) => b.title).join(" · ") }));
    }
    return line;
  });
  const notes = (ticket.history || []).filter((event) => event.action === "note").map((note) => {
    const line = el("div", { className: "line note" },
      el("span", { className: "who", textContent: `Internal note · ${note.actor} · ${when(note.at)}` }), String(note.text || ""));
    line.dataset.at = note.at;
    return line;
  });
  (ticket.transcript || []).forEach((entry, index) => { lines[index].dataset.at = entry.at; });
  const timeline = [...lines, ...notes].sort((a, b) => Date.parse(a.dataset.at) - Date.parse(b.dataset.at));
  const box = el("div", { className: "transcript", role: "log", "aria-label": "Conversation with the customer" }, timeline);
  return el("div", { className: "panel" }, el("h2", { textContent: "Conversation" }), box);
}

function renderHistory(ticket) {
  const items = (ticket.history || []).map((event) => {
    const { at, actor, action, ...detail } = event;
    const extra = Object.entries(detail).filter(([, v]) => v != null && v !== "")
      .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
    return el("li", {}, el("span", { className: "muted", textContent: when(at) + " " }),
      el("strong", { textContent: action }), ` by ${actor}`, extra ? el("span", { className: "muted", textContent: ` — ${extra}` }) : null);
  });
  return el("details", { className: "panel" }, el("summary", { textContent: `History (${items.length})` }), el("ul", {}, items));
}

const ACTIONS = [
  { id: "reply", label: "Reply", hint: "Goes to the customer's chat.", button: "Send reply", field: "text", required: true },
  { id: "notes", label: "Internal note", hint: "Only agents see it.", button: "Add note", field: "text", required: true },
  { id: "escalate", label: "Escalate", hint: "Why it needs another team or a higher tier.", button: "Escalate", field: "reason", required: true },
  { id: "resolve", label: "Resolve", hint: "The resolution: what solved it (it may become an article).", button: "Resolve", field: "resolution", required: true },
];

function renderActions(ticket) {
  const tablist = el("div", { className: "tabs", role: "tablist", "aria-label": "What to do" });
  const panels = [];
  const tabs = ACTIONS.map((action, index) => {
    const tab = el("button", { type: "button", role: "tab", id: `tab-${action.id}`, "aria-controls": `panel-${action.id}`,
      "aria-selected": String(index === 0), tabIndex: index === 0 ? 0 : -1, textContent: action.label });
    const textarea = el("textarea", { id: `field-${action.id}`, rows: 4, maxLength: 5000, required: action.required });
    const extra = [];
    if (action.id === "escalate") {
      const queues = [...new Set([...state.tickets.map((t) => t.queue), ...(state.queues || []).map((q) => q.queue || q.name)])].filter(Boolean);
      extra.push(el("label", { className: "muted" }, "To queue ",
        el("select", { id: "escalate-queue" }, el("option", { value: "", textContent: "(same queue, next tier)" }),
          queues.map((q) => el("option", { value: q, textContent: q })))));
    }
    if (action.id === "reply") {
      extra.push(el("label", { className: "muted" }, el("input", { id: "reply-wait", type: "checkbox" }),
        " wait for the customer's answer (pauses the SLA clock)"));
    }
    if (action.id === "resolve") {
      extra.push(el("label", { className: "muted" }, "Article that answers it (optional id) ",
        el("input", { id: "resolve-article", type: "text", maxLength: 120 })));
    }
    const form = el("form", { id: `panel-${action.id}`, role: "tabpanel", "aria-labelledby": `tab-${action.id}`, hidden: index !== 0,
      onsubmit: (event) => { event.preventDefault(); act(ticket, action, textarea); } },
    el("label", { htmlFor: `field-${action.id}`, className: "muted", textContent: action.hint }), textarea,
    el("div", { className: "actions" }, ...extra, el("button", { type: "submit", className: action.id === "escalate" ? "danger" : "primary", textContent: action.button })));
    panels.push(form);
    tab.addEventListener("click", () => selectTab(tabs, panels, index));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = (index + step + tabs.length) % tabs.length;
      selectTab(tabs, panels, next);
      tabs[next].focus();
    });
    return tab;
  });
  tablist.append(...tabs);
  const status = ticket.status;
  const quick = el("div", { className: "actions" },
    el("button", { type: "button", className: "secondary", textContent: ticket.assignee ? "Take over" : "Claim",
      disabled: ["resolved", "closed"].includes(status), onclick: () => act(ticket, { id: "claim", label: "Claim" }) }),
    el("button", { type: "button", className: "secondary", textContent: "Reopen", hidden: !["resolved", "closed"].includes(status),
      onclick: () => act(ticket, { id: "reopen", label: "Reopen" }) }),
    el("button", { type: "button", className: "secondary", textContent: "Close for good", hidden: status !== "resolved",
      onclick: () => act(ticket, { id: "close", label: "Close" }) }));
  return el("div", { className: "panel", id: "actions" }, el("h2", { textContent: "Act" }), quick, tablist, ...panels);
}

function selectTab(tabs, panels, index) {
  tabs.forEach((tab, i) => { tab.setAttribute("aria-selected", String(i === index)); tab.tabIndex = i === index ? 0 : -1; });
  panels.forEach((panel, i) => { panel.hidden = i !== index; });
}

async function act(ticket, action, textarea) {
  const body = {};
  if (textarea) {
    const value = textarea.value.trim();
    if (!value) { announce(`${action.label}: write something first.`, true); textarea.focus(); return; }
    body[action.field] = value;
  }
  if (action.id === "escalate") {
    const queue = $("escalate-queue").value;
    if (queue) body.queue = queue;
    else body.tier = Math.min((ticket.tier || 1) + 1, 3);
  }
  if (action.id === "resolve" && $("resolve-article").value.trim()) body.article_id = $("resolve-article").value.trim();
  if (action.id === "reply" && $("reply-wait").checked) body.wait_for_customer = true;
  try {
    await state.session.api("POST", `/api/v1/tickets/${ticket.id}/${action.id}`, body);
  } catch (error) {
    const missing = error.status === 404 && /not found/i.test(error.message) || error.status === 405;
    announce(missing ? `${action.label} is not available on this server yet.` : `${action.label} failed: ${error.message}`, true);
    return;
  }
  if (textarea) textarea.value = "";
  announce(`${action.label}: done for ${ticket.reference}.`);
  await Promise.all([loadTicket(ticket.id), refreshLists()]);
}

async function loadTicket(id) {
  const ticket = await state.session.api("GET", `/api/v1/tickets/${id}`);
  const changedTicket = !state.selected || state.selected.id !== ticket.id;
  state.selected = ticket;
  const view = $("ticket");
  if (changedTicket || !$("actions")) {
    view.replaceChildren(el("div", { id: "handoff" }), renderActions(ticket), el("div", { id: "conversation" }), el("div", { id: "history" }));
  } else if (String(["resolved", "closed"].includes(ticket.status)) !== $("actions").dataset.closed) {
    $("actions").replaceWith(renderActions(ticket)); // other buttons apply now
  }
  $("actions").dataset.closed = String(["resolved", "closed"].includes(ticket.status));
  $("handoff").replaceChildren(renderHandoff(ticket));
  const scroller = document.querySelector(".transcript");
  const atBottom = !scroller || scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
  $("conversation").replaceChildren(renderTranscript(ticket));
  const open = document.querySelector("#history details");
  $("history").replaceChildren(renderHistory(ticket));
  if (open && open.open) document.querySelector("#history details").open = true;
  if (atBottom) { const box = document.querySelector(".transcript"); box.scrollTop = box.scrollHeight; }
  tick();
}

async function selectTicket(id) {
  state.fresh.delete(id);
  location.hash = `ticket-${id}`;
  try {
    await loadTicket(id);
  } catch (error) {
    announce(`Could not open the ticket: ${error.message}`, true);
    return;
  }
  renderTickets();
  $("ticket").focus();
}

async function poll() {
  clearTimeout(state.timer);
  try {
    await refreshLists();
    if (state.selected) await loadTicket(state.selected.id);
  } catch (error) {
    if (error.status !== 401) $("refreshed").textContent = "Not updated: " + error.message;
  }
  if (!$("app").hidden) state.timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("status-filter").addEventListener("change", renderTickets);
  setInterval(tick, 15000);
  state.session = new StaffSession("agent", async (session) => {
    await session.api("GET", "/api/v1/tickets?limit=1");
    state.known = null;
    state.selected = null;
    await refreshLists();
    const wanted = /^#ticket-(\d+)$/.exec(location.hash);
    if (wanted) await loadTicket(Number(wanted[1])).catch(() => {});
    state.timer = setTimeout(poll, POLL_MS);
  });
  state.session.start();
});
