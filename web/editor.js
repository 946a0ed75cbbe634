// The knowledge-base editor: find articles, edit them with a Markdown preview and their alternative questions, publish,
// test how the bot would answer a question, and import articles with a dry run first.
// Article text is only ever put on the page with textContent (the preview builds its nodes the same way).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { session: null, articles: [], current: null, searchTimer: null, previewTimer: null };

// ---- the list ----
function filters() {
  const params = new URLSearchParams({ limit: "200" });
  for (const [name, id] of [["q", "filter-q"], ["lang", "filter-lang"], ["status", "filter-status"], ["topic", "filter-topic"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function loadList() {
  const articles = await state.session.api("GET", "/api/v1/articles?" + filters());
  state.articles = articles;
  $("list-count").textContent = `${articles.length} article${articles.length === 1 ? "" : "s"}`;
  $("articles").replaceChildren(...articles.map((article) => el("li", {},
    el("button", { type: "button", "aria-current": String(state.current && state.current.id === article.id),
      onclick: () => openArticle(article.id) },
    el("span", { className: "pill " + article.status, textContent: article.status }), " ",
    el("strong", { textContent: article.title }),
    el("span", { className: "meta", textContent: [article.id, article.lang, article.topic, `v${article.version}`]
      .filter(Boolean).join(" · ") })))));
  const topics = new Set([...state.articles.map((a) => a.topic)].filter(Boolean));
  $("topics").replaceChildren(...[...topics].sort().map((t) => el("option", { value: t })));
}

function scheduleList() {
  clearTimeout(state.searchTimer);
  state.searchTimer = setTimeout(() => loadList().catch((e) => announce(e.message, true)), 250);
}

// ---- one article ----
const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);
const commaList = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);

function fill(article) {
  state.current = article;
  $("edit-title").textContent = article ? `Edit: ${article.title}` : "New article";
  $("f-title").value = article ? article.title : "";
  $("f-lang").value = article ? article.lang : "en";
  $("f-topic").value = (article && article.topic) || "";
  $("f-id").value = article ? article.id : "";
  $("f-id").readOnly = Boolean(article);
  $("f-tags").value = article ? (article.tags || []).join(", ") : "";
  $("f-product").value = (article && article.product) || "";
  $("f-questions").value = article ? (article.questions || []).join("\n") : "";
  $("f-body").value = article ? article.body : "";
  $("f-status").textContent = article ? `${article.status} · version ${article.version}` : "new";
  $("archive").disabled = !article || article.status === "archived";
  $("unpublish").hidden = !article || article.status !== "published";
  $("revisions-box").hidden = !article;
  if (article) loadRevisions(article.id);
  const link = $("view-public");
  link.hidden = !article || article.status !== "published";
  if (article && article.url) link.href = article.url;
  $("edit-info").textContent = "";
  preview();
  document.querySelectorAll("#articles button").forEach((b) => b.setAttribute("aria-current", "false"));
}

function preview() {
  const box = $("preview");
  const title = $("f-title").value.trim();
  box.replaceChildren(title ? el("h1", { textContent: title }) : "", renderMarkdown($("f-body").value));
}

function fields() {
  const data = {
    title: $("f-title").value.trim(),
    lang: $("f-lang").value,
    body: $("f-body").value,
    questions: lines($("f-questions").value),
    tags: commaList($("f-tags").value),
    topic: $("f-topic").value.trim() || null,
    product: $("f-product").value.trim() || null,
  };
  if (!state.current && $("f-id").value.trim()) data.id = $("f-id").value.trim();
  return data;
}

async function openArticle(id) {
  try {
    fill(await state.session.api("GET", `/api/v1/articles/${encodeURIComponent(id)}`));
    location.hash = "article-" + id;
  } catch (error) {
    announce(`Could not open the article: ${error.message}`, true);
  }
  await loadList().catch(() => {});
  $("f-title").focus();
}

/** Save the form; `publish` also makes it answerable by the bot. Uses whichever editor endpoints the server has. */
async function save(publish) {
  const form = $("article-form");
  if (!form.reportValidity()) return;
  const data = fields();
  const api = state.session.api.bind(state.session);
  try {
    let article;
    if (!state.current) {
      article = await api("POST", "/api/v1/articles", { ...data, status: publish ? "published" : "draft" });
    } else {
      const { id: _id, ...changes } = data;
      article = await api("PATCH", `/api/v1/articles/${encodeURIComponent(state.current.id)}`, changes);
      if (publish && article.status !== "published") {
        article = await api("POST", `/api/v1/articles/${encodeURIComponent(state.current.id)}/publish`, {});
      }
    }
    fill(article);
    announce(publish ? `Published “${article.title}”: the bot can answer with it now.` : `Saved “${article.title}” as ${article.status}.`);
    location.hash = "article-" + article.id;
    await loadList();
  } catch (error) {
    const missing = error.status === 405 || (error.status === 404 && state.current);
    announce(missing ? "Editing existing articles needs the update endpoints, which this server does not have yet."
      : `Not saved: ${error.message}`, true);
  }
}

/** Archive it, or send it back to draft: either way the bot stops answering with it. */
async function setStatus(action, done) {
  if (!state.current) return;
  try {
    const article = await state.session.api("POST", `/api/v1/articles/${encodeURIComponent(state.current.id)}/${action}`, {});
    fill(article);
    announce(`“${article.title}” ${done}: the bot no longer answers with it.`);
    await loadList();
  } catch (error) {
    announce(error.status === 404 || error.status === 405 ? "This is not available on this server yet." : error.message, true);
  }
}

async function loadRevisions(id) {
  try {
    const revisions = await state.session.api("GET", `/api/v1/articles/${encodeURIComponent(id)}/revisions`);
    $("revisions").replaceChildren(...[...revisions].reverse().map((r) => el("li", { value: r.version },
      `v${r.version} · ${when(r.at)} · ${r.author}: ${r.change}`)));
  } catch (error) {
    $("revisions-box").hidden = true;
  }
}

// ---- suggestions from solved tickets ----
async function loadSuggestions() {
  const box = $("suggestions");
  let suggestions;
  try {
    suggestions = await state.session.api("GET", "/api/v1/suggestions?limit=50");
  } catch (error) {
    box.replaceChildren(el("p", { className: "muted", textContent: error.status === 404 || error.status === 405
      ? "Suggestions are not available on this server yet." : `Could not load suggestions: ${error.message}` }));
    return;
  }
  if (!suggestions.length) {
    box.replaceChildren(el("p", { className: "muted", textContent: "Nothing to review." }));
    return;
  }
  box.replaceChildren(...suggestions.map(renderSuggestion));
}

function renderSuggestion(s) {
  const isNew = s.kind === "new_article";
  const reason = el("input", { type: "text", maxLength: 500, placeholder: "why not", "aria-label": `Why reject suggestion ${s.id}` });
  const target = el("input", { type: "text", maxLength: 120, placeholder: "article id", value: s.article_id || "",
    "aria-label": `Article to merge suggestion ${s.id} into` });
  const review = async (action, body, done) => {
    try {
      await state.session.api("POST", `/api/v1/suggestions/${s.id}/${action}`, body);
      announce(done);
      await Promise.all([loadSuggestions(), loadList()]);
    } catch (error) {
      announce(`Not done: ${error.message}`, true);
    }
  };
  return el("article", { className: "suggestion" },
    el("h3", { textContent: isNew ? `New article: ${s.title || s.question}` : `New way to ask ${s.article_id}` }),
    el("p", { className: "muted", textContent: [`${s.lang}`, `${s.count} customer${s.count === 1 ? "" : "s"}`,
      s.similarity != null ? `similarity ${Number(s.similarity).toFixed(2)}` : null, `from ${s.tickets.join(", ")}`]
      .filter(Boolean).join(" · ") }),
    el("p", {}, el("strong", { textContent: "Asked: " }), s.questions.join(" / ")),
    isNew && s.body ? el("div", { className: "preview" }, renderMarkdown(s.body)) : null,
    el("div", { className: "actions" },
      el("button", { type: "button", className: "primary", textContent: isNew ? "Publish it" : "Add the question",
        onclick: () => review("accept", {}, "Accepted: the bot answers with it from the next question on.") }),
      target,
      el("button", { type: "button", className: "secondary", textContent: "Merge into article",
        onclick: () => (target.value.trim() ? review("merge", { article_id: target.value.trim() }, "Merged.")
          : announce("Type the id of the article to merge into.", true)) }),
      reason,
      el("button", { type: "button", className: "danger", textContent: "Reject",
        onclick: () => (reason.value.trim() ? review("reject", { reason: reason.value.trim() }, "Rejected.")
          : announce("Say why, so the next editor knows.", true)) })));
}

// ---- test a question ----
function bar(value, scale = 1) {
  const width = Math.max(0, Math.min(1, (Number(value) || 0) / (scale || 1)));
  return el("span", {}, el("span", { className: "bar", "aria-hidden": "true", "data-w": width }), " ",
    (Number(value) || 0).toFixed(3));
}

async function testQuestion(event) {
  event.preventDefault();
  const params = new URLSearchParams({ q: $("test-q").value.trim(), k: "5" });
  if ($("test-lang").value) params.set("lang", $("test-lang").value);
  const box = $("test-result");
  try {
    const result = await state.session.api("GET", "/api/v1/search?" + params);
    const decision = String(result.decision || "");
    const explain = { answer: "the bot answers with the first article", clarify: "the bot offers these articles as buttons",
      escalate: "the bot finds nothing good enough and offers a person" }[decision] || "";
    const candidates = result.candidates || [];
    const lexicalScale = Math.max(1, ...candidates.map((c) => Number(c.lexical) || 0)); // BM25 is not in 0..1
    const rows = candidates.map((c, index) => el("tr", {},
      el("td", { textContent: String(index + 1) }),
      el("td", {}, el("button", { type: "button", className: "secondary", textContent: c.title, onclick: () => openArticle(c.article_id) }),
        el("div", { className: "muted", textContent: `${c.article_id} · ${c.lang} · matched ${c.passage_kind || "text"}` }),
        c.passage ? el("div", { className: "muted", textContent: String(c.passage).slice(0, 160) }) : null),
      el("td", {}, bar(c.dense)), el("td", {}, bar(c.lexical, lexicalScale)), el("td", {}, bar(c.fused)), el("td", {}, bar(c.confidence))));
    box.replaceChildren(
      el("p", {}, "Decision: ", el("span", { className: "decision " + decision, textContent: decision }),
        ` — ${explain} (question read as ${result.lang}).`),
      rows.length ? el("table", {}, el("thead", {}, el("tr", {}, ["#", "Article", "Dense", "Lexical", "Fused", "Confidence"]
        .map((h) => el("th", { scope: "col", textContent: h })))), el("tbody", {}, rows)) : el("p", { className: "muted", textContent: "No candidates." }));
    box.querySelectorAll(".bar").forEach((b) => { b.style.width = `${Math.round(Number(b.dataset.w) * 60)}px`; });
  } catch (error) {
    box.replaceChildren(el("p", { className: "error", textContent: error.message }));
  }
}

// ---- import and export ----
async function readFiles() {
  const files = [...$("import-files").files];
  return Promise.all(files.map(async (file) => ({ name: file.name, content: await file.text() })));
}

async function runImport(dryRun) {
  const files = await readFiles();
  const box = $("import-result");
  if (!files.length) { announce("Choose one or more files first.", true); return; }
  try {
    const report = await state.session.api("POST", "/api/v1/articles/import", { files, dry_run: dryRun });
    box.replaceChildren(renderImportReport(report, dryRun));
    if (!dryRun) await loadList();
  } catch (error) {
    box.replaceChildren(el("p", { className: "error", textContent: error.status === 404 || error.status === 405
      ? "Import is not available on this server yet." : `Import refused: ${error.message}` }));
  }
}

function renderImportReport(report, dryRun) {
  const part = (label, items) => {
    const list = Array.isArray(items) ? items : [];
    return el("div", {}, el("h3", { textContent: `${label} (${list.length})` }),
      list.length ? el("ul", {}, list.map((item) => el("li", { textContent: typeof item === "string" ? item
        : [item.id || item.article_id, item.title, item.error || item.reason || item.message, item.source || item.file,
          item.line ? `line ${item.line}` : null].filter(Boolean).join(" · ") }))) : null);
  };
  return el("div", {}, el("p", { textContent: dryRun ? "Dry run: nothing was changed." : "Imported." }),
    part(dryRun ? "Would create" : "Created", report.created),
    part(dryRun ? "Would update" : "Updated", report.updated),
    part("Unchanged", report.unchanged),
    part("Problems (nothing imported from these files)", report.problems));
}

async function exportAll(event) {
  event.preventDefault();
  try {
    const response = await fetch("/api/v1/articles/export", { headers: { Authorization: "Bearer " + state.session.token } });
    if (!response.ok) throw new Error(response.status === 404 || response.status === 405 ? "Export is not available on this server yet." : `${response.status}`);
    const blob = await response.blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: "articles-export.json" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    announce(error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("filters").addEventListener("input", scheduleList);
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); scheduleList(); });
  $("new-article").addEventListener("click", () => { fill(null); location.hash = ""; $("f-title").focus(); });
  $("article-form").addEventListener("submit", (e) => { e.preventDefault(); save(false); });
  $("publish").addEventListener("click", () => save(true));
  $("archive").addEventListener("click", () => setStatus("archive", "is archived"));
  $("unpublish").addEventListener("click", () => setStatus("unpublish", "is back to draft"));
  for (const id of ["f-body", "f-title"]) {
    $(id).addEventListener("input", () => { clearTimeout(state.previewTimer); state.previewTimer = setTimeout(preview, 150); });
  }
  $("test-form").addEventListener("submit", testQuestion);
  $("import-form").addEventListener("submit", (e) => { e.preventDefault(); runImport(true); });
  $("import-run").addEventListener("click", () => runImport(false));
  $("export").addEventListener("click", exportAll);
  state.session = new StaffSession("editor", async (session) => {
    await session.api("GET", "/api/v1/articles?limit=1");
    fill(null);
    await Promise.all([loadList(), loadSuggestions()]);
    const wanted = /^#article-(.+)$/.exec(location.hash);
    if (wanted) await openArticle(decodeURIComponent(wanted[1]));
  });
  state.session.start();
});
