// A small Markdown renderer for the editor's preview that builds DOM nodes: every piece of the article is put on the
// page as text, so HTML inside an article shows as written and never runs (as on the public article pages).
"use strict";

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*|__[^_\n]+__)|(\*[^*\n]+\*|_[^_\n]+_)|(\[[^\]\n]+\]\([^)\s]+\))/g;

function safeHref(value) {
  try {
    const url = new URL(value, location.href);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch (error) {
    return null;
  }
}

function inline(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    const [token, code, strong, em, link] = match;
    if (code) nodes.push(el("code", { textContent: code.slice(1, -1) }));
    else if (strong) nodes.push(el("strong", {}, inline(strong.slice(2, -2))));
    else if (em) nodes.push(el("em", {}, inline(em.slice(1, -1))));
    else if (link) {
      const [, label, target] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
      const href = safeHref(target);
      nodes.push(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, inline(label)) : document.createTextNode(token));
    }
    last = match.index + token.length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function tableRow(line, cell) {
  const cells = line.trim().replace(/^\||\|$/g, "").split("|");
  return el("tr", {}, cells.map((c) => el(cell, {}, inline(c.trim()))));
}

/** Markdown text as a DocumentFragment: headings, paragraphs, lists, quotes, code, tables, rules, inline marks. */
function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  const collect = (test) => {
    const taken = [];
    while (i < lines.length && test(lines[i])) taken.push(lines[i++]);
    return taken;
  };
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i += 1; continue; }
    let match;
    if (line.startsWith("```")) {
      i += 1;
      const code = collect((l) => !l.startsWith("```"));
      i += 1;
      out.append(el("pre", {}, el("code", { textContent: code.join("\n") })));
    } else if ((match = /^(#{1,6})\s+(.*)$/.exec(line))) {
      out.append(el("h" + match[1].length, {}, inline(match[2])));
      i += 1;
    } else if (/^(\*{3,}|-{3,}|_{3,})\s*$/.test(line)) {
      out.append(el("hr"));
      i += 1;
    } else if (/^\s*>/.test(line)) {
      const quoted = collect((l) => /^\s*>/.test(l)).map((l) => l.replace(/^\s*>\s?/, ""));
      out.append(el("blockquote", {}, renderMarkdown(quoted.join("\n"))));
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items = collect((l) => /^\s*([-*+]|\d+[.)])\s+/.test(l) || /^\s{2,}\S/.test(l));
      const list = el(ordered ? "ol" : "ul");
      for (const item of items) {
        if (/^\s*([-*+]|\d+[.)])\s+/.test(item)) list.append(el("li", {}, inline(item.replace(/^\s*([-*+]|\d+[.)])\s+/, ""))));
        else if (list.lastChild) list.lastChild.append(" ", ...inline(item.trim()));
      }
      out.append(list);
    } else if (/^\s*\|.*\|\s*$/.test(line) && /^\s*\|?[\s:|-]+\|?\s*$/.test(lines[i + 1] || "") && (lines[i + 1] || "").includes("-")) {
      const head = tableRow(line, "th");
      i += 2;
      const rows = collect((l) => /^\s*\|.*\|\s*$/.test(l)).map((l) => tableRow(l, "td"));
      out.append(el("table", {}, el("thead", {}, head), el("tbody", {}, rows)));
    } else {
      const paragraph = collect((l) => l.trim() && !/^(#{1,6}\s|```|\s*>|\s*([-*+]|\d+[.)])\s+)/.test(l));
      if (!paragraph.length) paragraph.push(lines[i++]);
      const p = el("p");
      paragraph.forEach((l, n) => { if (n) p.append(el("br")); p.append(...inline(l)); });
      out.append(p);
    }
  }
  return out;
}
