// The KB editor's "Knowledge gaps" panel: questions the bot could not answer, clustered, with the articles that look
// duplicated or that customers and agents kept overriding. Loaded on demand (the report embeds every question).
// Everything from the server goes on the page with textContent only (via `el`, staff.js).
"use strict";

function gapsCluster(cluster) {
  const languages = Object.entries(cluster.languages).map(([lang, count]) => `${lang} ${count}`).join(", ");
  const near = cluster.nearest;
  const nearest = near
    ? `nearest article: ${near.title} (${near.id}, ${near.similarity.toFixed(2)}, the bot would ${near.decision})`
    : "no article near";
  const seen = `${cluster.first_seen.slice(0, 10)} – ${cluster.last_seen.slice(0, 10)}`;
  return el("article", { className: "suggestion" },
    el("h3", { textContent: `${cluster.count} × ${cluster.title}` }),
    el("p", { className: "muted", textContent: [languages, seen, nearest].join(" · ") }),
    el("ul", {}, cluster.samples.map((sample) => el("li", { textContent: sample }))),
    cluster.tickets.length ? el("p", { className: "muted", textContent: `Tickets: ${cluster.tickets.join(", ")}` }) : null,
    cluster.suggestions.length
      ? el("p", { className: "muted", textContent: `Pending suggestions: ${cluster.suggestions.map((id) => `#${id}`).join(", ")}` })
      : null);
}

async function loadGaps(event) {
  event.preventDefault();
  const box = document.getElementById("gaps");
  const params = new URLSearchParams({ days: document.getElementById("gaps-days").value || "30",
    min_count: document.getElementById("gaps-min").value || "2" });
  box.replaceChildren(el("p", { className: "muted", textContent: "Clustering the questions…" }));
  let report;
  try {
    report = await state.session.api("GET", "/api/v1/knowledge-gaps?" + params);
  } catch (error) {
    box.replaceChildren(el("p", { className: "muted", textContent: `Could not load the report: ${error.message}` }));
    return;
  }
  const summary = `${report.questions} unanswered question${report.questions === 1 ? "" : "s"} since `
    + `${report.since.slice(0, 10)}${report.truncated ? " (only the most recent)" : ""}; `
    + `${report.clusters.length} cluster${report.clusters.length === 1 ? "" : "s"} asked ${report.min_count}+ times.`;
  box.replaceChildren(
    el("p", { className: "muted", textContent: summary }),
    ...report.clusters.map(gapsCluster),
    report.near_duplicates.length ? el("h3", { textContent: "Near-duplicate articles" }) : null,
    el("ul", {}, report.near_duplicates.map((pair) => el("li", { textContent:
      `${pair.first.id} and ${pair.second.id}: ${pair.similarity.toFixed(2)}${pair.same_language ? "" : " (different languages: translations?)"}` }))),
    report.overridden.length ? el("h3", { textContent: "Articles overridden" }) : null,
    el("ul", {}, report.overridden.map((a) => el("li", { textContent:
      `${a.title || a.article_id} (${a.article_id}): ${a.overridden} of ${a.shown} showings — a person asked for `
      + `${a.escalated}, another article linked ${a.replaced}`
      + (Object.keys(a.replaced_by).length ? ` (${Object.keys(a.replaced_by).join(", ")})` : "") }))));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("gaps-form").addEventListener("submit", loadGaps);
});
