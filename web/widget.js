/*! Tier Zero chat widget. Put one tag on any page:
 *   <script src="https://support.example.com/widget.js" data-lang="ja" data-color="#0969da"
 *           data-greeting="Hello!" data-title="Kitsune Market" defer></script>
 * data-api (default: where this file came from), data-lang (one of the languages the API lists at /api/v1/languages;
 * default: the browser's language if it is one of them, else the page's),
 * data-color (the accent), data-greeting and data-title are optional.
 * data-customer-token: for a signed-in customer, the token the site signed for them (a JWT, HS256; the API's
 * customer_token): they are not asked for their name and email. A token the API refuses is reported in the console
 * and the customer chats anonymously. A conversation stays with the customer it was opened for: a page with another
 * customer (or none) starts a new one. The attribute is read when a conversation starts: a page may renew it.
 * What the API knows, the widget asks it rather than keeping a copy: the languages (GET /api/v1/languages), the
 * contact form (GET /api/v1/handoff-form) and, in the ticket brief, the queue's name and the expected reply time.
 * Everything the customer, the bot, an agent or an article supplies is put on the page as text (textContent),
 * never parsed as HTML; links are followed only if they are http(s). */
(() => {
  "use strict";
  if (window.TierZero) return;
  const script = document.currentScript || document.querySelector("script[src*='widget.js']");
  const config = (script && script.dataset) || {};
  const API = (config.api || (script && script.src ? new URL(script.src, location.href).origin : location.origin))
    .replace(/\/+$/, "");
  const STORE = "tierzero:" + API;
  const VISIBLE = ["customer", "bot", "agent", "system"];
  const MAX_CHARS = 2000;

  const TEXT = {
    en: {
      title: "Support", open: "Open the support chat", close: "Close the chat", language: "Language",
      greeting: "Hi! Ask me anything about orders, shipping, returns, billing, your account or the app.",
      placeholder: "Type your message…", message: "Your message", send: "Send", human: "Talk to a person",
      typing: "The assistant is typing…", log: "Conversation", suggestions: "Suggested replies",
      customer: "You", bot: "Assistant", agent: "Support agent", system: "Notice", article: "Read the article",
      articles: "Articles", ticket: "Ticket {ref}", team: "{queue} team", unread: "{n} new",
      now_waiting_agent: "Our team will reply here; you can close this page and come back.",
      now_agent: "A member of our team is with you.", now_resolved: "Your request was resolved. Write again any time.",
      due: "Expected reply by {time}", failed: "Your message could not be sent. Check your connection and try again.",
      retry: "Send again", tooLong: "Please keep messages under {n} characters.", required: "Please fill this in.",
      connecting: "We're connecting you with our team: please answer the question above.",
    },
    ja: {
      title: "サポート", open: "サポートチャットを開く", close: "チャットを閉じる", language: "言語",
      greeting: "こんにちは！注文、配送、返品、お支払い、アカウント、アプリについて何でもお聞きください。",
      placeholder: "メッセージを入力…", message: "メッセージ", send: "送信", human: "担当者と話す",
      typing: "アシスタントが入力中…", log: "会話", suggestions: "返信の候補",
      customer: "あなた", bot: "アシスタント", agent: "サポート担当者", system: "お知らせ", article: "記事を読む",
      articles: "記事", ticket: "チケット {ref}", team: "{queue}チーム", unread: "新着 {n}",
      now_waiting_agent: "担当者からここに返信が届きます。このページを閉じても後で戻れます。",
      now_agent: "担当者が対応しています。", now_resolved: "お問い合わせは解決済みです。いつでもまたご連絡ください。",
      due: "{time} までに返信予定", failed: "メッセージを送信できませんでした。接続を確認してもう一度お試しください。",
      retry: "再送信", tooLong: "メッセージは{n}文字以内でお願いします。", required: "入力してください。",
      connecting: "担当者におつなぎしています。上のご質問にお答えください。",
    },
    ko: {
      title: "고객 지원", open: "상담 채팅 열기", close: "채팅 닫기", language: "언어",
      greeting: "안녕하세요! 주문, 배송, 반품, 결제, 계정, 앱에 대해 무엇이든 물어보세요.",
      placeholder: "메시지를 입력하세요…", message: "메시지", send: "보내기", human: "상담원 연결",
      typing: "도우미가 입력 중…", log: "대화", suggestions: "추천 답변",
      customer: "나", bot: "도우미", agent: "상담원", system: "안내", article: "문서 보기",
      articles: "문서", ticket: "티켓 {ref}", team: "{queue} 팀", unread: "새 메시지 {n}",
      now_waiting_agent: "상담원이 여기로 답변드립니다. 이 페이지를 닫았다가 다시 와도 됩니다.",
      now_agent: "상담원이 응대하고 있어요.", now_resolved: "문의가 해결되었어요. 언제든 다시 말씀해 주세요.",
      due: "{time}까지 답변 예정", failed: "메시지를 보내지 못했어요. 연결을 확인하고 다시 시도해 주세요.",
      retry: "다시 보내기", tooLong: "메시지는 {n}자 이내로 입력해 주세요.", required: "입력해 주세요.",
      connecting: "상담원에게 연결하고 있어요. 위의 질문에 답해 주세요.",
    },
  };
  const ASK_HUMAN = "/ask_human"; // Rasa reads a leading "/" as the intent itself, in any language

  // The languages a conversation may be in, as the API lists them ({code, name}: each named in itself).
  let languages = [];
  const primary = (value) => String(value || "").toLowerCase().split(/[-_]/)[0];
  const pick = (value) => {
    const code = primary(value);
    return languages.some((l) => l.code === code) ? code : null;
  };
  const load = () => {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; }
  };
  const saved = load();
  const save = () => {
    try { localStorage.setItem(STORE, JSON.stringify(saved)); } catch (e) { /* private mode: works until reload */ }
  };
  // The customer's own choice, then the site's, then the browser's first language if we speak it, then the page's.
  const chooseLang = () => pick(saved.lang) || pick(config.lang) ||
    pick((navigator.languages || [])[0] || navigator.language) || pick(document.documentElement.lang) ||
    languages[0].code;
  let lang = "en"; // until the languages are known
  // The widget's own words; a language it has none for (the API may list more) gets the English ones.
  const t = (key, values = {}) => String((TEXT[lang] || TEXT.en)[key] ?? TEXT.en[key])
    .replace(/\{(\w+)\}/g, (m, k) => values[k]);

  /** An element with properties (text goes in as textContent), attributes and children. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null) continue;
      if (key in node && !key.includes("-")) node[key] = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c != null));
    return node;
  }
  function icon(d) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }
  const safeUrl = (value) => {
    try {
      const url = new URL(value, API);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  };

  const STYLE = `
:host{all:initial}
*{box-sizing:border-box}
.tz{--a:#0969da;font:15px/1.45 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP","Malgun Gothic",sans-serif;color:#1f2328}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,select,textarea{font:inherit;color:inherit}
:focus-visible{outline:3px solid var(--a);outline-offset:2px}
.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--a);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center;z-index:2147483000}
.launcher svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#cf222e;color:#fff;font-size:12px;font-weight:700;line-height:22px}
.panel{position:fixed;right:20px;bottom:88px;width:370px;max-width:calc(100vw - 24px);height:min(600px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 8px 32px rgba(0,0,0,.22);overflow:hidden;z-index:2147483000}
.panel[hidden]{display:none}
header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--a);color:#fff}
h2{flex:1;margin:0;font-size:16px;font-weight:650}
header select{background:rgba(255,255,255,.15);color:#fff;border:1px solid rgba(255,255,255,.5);border-radius:6px;padding:2px 4px}
header select option{color:#1f2328}
.close{border:0;background:transparent;color:#fff;width:32px;height:32px;border-radius:6px;cursor:pointer;display:grid;place-items:center}
.close svg{width:20px;height:20px;fill:currentColor}
.banner{padding:8px 16px;background:#fff8c5;border-bottom:1px solid #eed888;font-size:13px}
.banner[hidden]{display:none}
.banner strong{font-weight:650}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f8fa}
.msg{max-width:85%;display:flex;flex-direction:column;gap:6px}
.msg p{margin:0;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.bot p{background:#fff;border:1px solid #d0d7de;border-bottom-left-radius:4px}
.customer{align-self:flex-end}
.customer p{background:var(--a);color:#fff;border-bottom-right-radius:4px}
.customer.failed p{opacity:.6}
.agent p{background:#dafbe1;border:1px solid #a6e3b3;border-bottom-left-radius:4px}
.who{font-size:12px;color:#57606a;margin:0 4px}
.system{align-self:center;max-width:92%}
.system p{background:transparent;color:#57606a;font-size:13px;text-align:center;padding:2px 8px}
.cards{display:flex;flex-direction:column;gap:6px;margin:0;padding:0;list-style:none}
.card{display:block;padding:8px 12px;border:1px solid #d0d7de;border-left:4px solid var(--a);border-radius:8px;background:#fff;color:inherit;text-decoration:none}
a.card:hover{background:#f3f8ff}
.card strong{display:block;color:var(--a);font-weight:650}
.card span{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden;font-size:13px;color:#424a53}
.card em{font-style:normal;font-size:12px;color:var(--a)}
.replies{display:flex;flex-wrap:wrap;gap:6px}
.replies button,.human,.retry{border:1px solid var(--a);background:#fff;color:var(--a);border-radius:16px;padding:4px 12px;cursor:pointer}
.replies button:hover:not(:disabled),.human:hover:not(:disabled){background:#f3f8ff}
.replies button:disabled{opacity:.5;cursor:default}
.replies button[aria-pressed=true]{background:var(--a);color:#fff;opacity:1}
.typing p{display:flex;gap:4px;align-items:center;height:36px}
.typing i{width:7px;height:7px;border-radius:50%;background:#8c959f;animation:tz 1.2s infinite ease-in-out}
.typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}
@keyframes tz{0%,60%,100%{transform:none;opacity:.4}30%{transform:translateY(-4px);opacity:1}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
.bar[hidden]{display:none}
.bar{display:flex;justify-content:flex-end;padding:6px 12px 0;background:#fff;border-top:1px solid #d0d7de}
.human{font-size:13px;display:flex;gap:4px;align-items:center}
.human svg{width:16px;height:16px;fill:currentColor}
form{display:flex;gap:8px;padding:8px 12px 12px;background:#fff}
textarea{flex:1;resize:none;border:1px solid #d0d7de;border-radius:10px;padding:8px 10px;max-height:120px;min-height:40px}
.send{width:40px;height:40px;border:0;border-radius:50%;background:var(--a);color:#fff;cursor:pointer;display:grid;place-items:center;flex:none}
.send svg{width:20px;height:20px;fill:currentColor}
.hf{flex-direction:column;gap:2px;padding:10px 12px;border:1px solid #d0d7de;border-radius:12px}
.hf label{font-size:13px;font-weight:600;margin-top:6px}
.hf input,.hf textarea{flex:none;font:inherit;border:1px solid #d0d7de;border-radius:8px;padding:6px 8px}
.hf [aria-invalid=true]{border-color:#cf222e}
.err{color:#cf222e;font-size:12px}
.hf .retry{align-self:flex-end;margin-top:8px}
@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;border-radius:0}}
`;

  // ---- the DOM: a launcher and a non-modal dialog in a shadow root, so the host page's CSS cannot reach in ----
  const host = el("div", { id: "tierzero-widget" });
  const root = host.attachShadow({ mode: "open" });
  const frame = el("div", { className: "tz" });
  if (config.color && window.CSS && CSS.supports("color", config.color)) frame.style.setProperty("--a", config.color);
  const badge = el("span", { className: "badge", hidden: true, "aria-hidden": "true" });
  const launcher = el("button", { type: "button", className: "launcher", "aria-expanded": "false",
    "aria-controls": "tz-panel" }, icon("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"), badge);
  const title = el("h2", { id: "tz-title" });
  const langLabel = el("label", { className: "sr", htmlFor: "tz-lang" });
  const langSelect = el("select", { id: "tz-lang" }); // its options: the API's languages (showLanguages)
  const closeButton = el("button", { type: "button", className: "close" },
    icon("M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z"));
  const banner = el("div", { className: "banner", role: "status", hidden: true });
  const log = el("div", { className: "log", role: "log", "aria-live": "polite", tabIndex: 0 });
  const typingNote = el("div", { className: "sr", role: "status" });
  const typing = el("div", { className: "msg bot typing", "aria-hidden": "true" },
    el("p", {}, el("i"), el("i"), el("i")));
  const humanLabel = el("span");
  const humanButton = el("button", { type: "button", className: "human" },
    icon("M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm0 2c-4 0-9 2-9 5v3h18v-3c0-3-5-5-9-5z"), humanLabel);
  const bar = el("div", { className: "bar" }, humanButton);
  const input = el("textarea", { id: "tz-input", rows: 1, maxLength: MAX_CHARS, autocomplete: "off" });
  const inputLabel = el("label", { className: "sr", htmlFor: "tz-input" });
  const sendButton = el("button", { type: "submit", className: "send" },
    icon("M3.4 20.4 21 12 3.4 3.6 3.4 10.2 15 12 3.4 13.8z"));
  const form = el("form", {}, inputLabel, input, sendButton);
  const panel = el("section", { id: "tz-panel", className: "panel", role: "dialog", hidden: true,
    "aria-labelledby": "tz-title" },
  el("header", {}, title, langLabel, langSelect, closeButton), banner, log, typingNote,
  bar, form);
  const style = el("style", { textContent: STYLE });
  frame.append(launcher, panel);
  root.append(style, frame);

  // ---- who the customer is: the host site's signed word for it, if any ----
  const customerToken = () => String((script && script.dataset.customerToken) || "").trim();
  /** Whom a token names (its `sub`, read, not checked: the API checks it), "" for no token. */
  function customerOf(token) {
    if (!token) return "";
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      return "sub:" + String(JSON.parse(new TextDecoder().decode(bytes)).sub);
    } catch (e) { return "unreadable"; }
  }
  const customer = customerOf(customerToken());

  // ---- state ----
  // A stored conversation is taken up again only by the customer it was opened for (a shared computer, a sign-out).
  const ours = saved.id && saved.token && (saved.customer || "") === customer;
  let conversation = ours ? { id: saved.id, token: saved.token } : null;
  if (!ours && saved.id) { delete saved.id; delete saved.token; delete saved.customer; save(); }
  let lastSeq = 0;
  let ticketState = { state: "bot", ticket: null };
  let unread = 0;
  let sending = 0;
  let live = false;
  let queue = Promise.resolve();
  // After "talk to a person" the bot asks the contact form's questions in chat, each again after a wrong answer
  // until the form's max_failures: a second press during those answers would be taken as one, so it only points
  // back at the question. How many answers that can be, the widget learns from the form (chatAnswers).
  let formAnswersLeft = 0;
  let sent = 0; // messages the customer has sent from this page
  let handoffs = 0; // presses of "talk to a person" that started the form
  const pending = []; // messages this page showed itself, to recognise when the live stream echoes them
  const held = []; // stream messages that arrived while a send was in flight
  const payloadTitles = new Map([[ASK_HUMAN, () => t("human")]]);
  let greeting = null;

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function applyTexts() {
    frame.lang = lang;
    title.textContent = config.title || t("title");
    langLabel.textContent = t("language");
    langSelect.value = lang;
    langSelect.hidden = langLabel.hidden = languages.length < 2; // nothing to choose from
    closeButton.setAttribute("aria-label", t("close"));
    log.setAttribute("aria-label", t("log"));
    humanLabel.textContent = t("human");
    inputLabel.textContent = t("message");
    input.placeholder = t("placeholder");
    sendButton.setAttribute("aria-label", t("send"));
    if (greeting && !config.greeting) greeting.querySelector("p").textContent = t("greeting");
    updateLauncher();
    renderBanner();
  }

  function updateLauncher() {
    const isOpen = !panel.hidden;
    launcher.setAttribute("aria-expanded", String(isOpen));
    launcher.setAttribute("aria-label", isOpen ? t("close") : unread ? `${t("open")} (${t("unread", { n: unread })})` : t("open"));
    badge.hidden = !unread || isOpen;
    badge.textContent = String(unread);
  }

  function setOpen(isOpen, focus = true) {
    panel.hidden = !isOpen;
    saved.open = isOpen;
    save();
    if (isOpen) {
      unread = 0;
      contactForm(lang); // learnt before "talk to a person" is pressed
      scrollDown();
      if (focus) input.focus();
    } else if (focus) launcher.focus();
    updateLauncher();
  }

  /** Show one message: its text, article cards and quick-reply buttons. Returns the element. */
  function addMessage(message, options = {}) {
    const sender = VISIBLE.includes(message.sender) ? message.sender : "bot";
    let text = String(message.text || "");
    if (sender === "customer" && text.startsWith("/")) {
      const shown = payloadTitles.get(text.split("{")[0] === ASK_HUMAN ? ASK_HUMAN : text);
      if (shown) text = typeof shown === "function" ? shown() : shown;
    }
    const item = el("div", { className: "msg " + sender });
    if (sender === "agent") {
      const name = message.agent ? " · " + String(message.agent) : "";
      item.append(el("span", { className: "who", "aria-hidden": "true", textContent: t("agent") + name }));
    }
    item.append(el("span", { className: "sr", textContent: t(sender) + ": " }));
    if (text) item.append(el("p", { textContent: text }));
    const articles = Array.isArray(message.articles) ? message.articles : [];
    if (articles.length) {
      const cards = el("ul", { className: "cards", "aria-label": t("articles") });
      for (const article of articles) {
        const href = safeUrl(article.url);
        const card = el(href ? "a" : "div", { className: "card", href,
          target: href ? "_blank" : null, rel: href ? "noopener noreferrer" : null },
        el("strong", { textContent: String(article.title || "") }),
        article.snippet && article.snippet !== text ? el("span", { textContent: String(article.snippet) }) : null,
        href ? el("em", { textContent: t("article") + " ↗" }) : null);
        cards.append(el("li", {}, card));
      }
      item.append(cards);
    }
    const buttons = Array.isArray(message.buttons) ? message.buttons : [];
    if (buttons.length) {
      const group = el("div", { className: "replies", role: "group", "aria-label": t("suggestions") });
      for (const button of buttons) {
        const label = String(button.title || button.payload || "");
        const payload = String(button.payload || label);
        payloadTitles.set(payload, label);
        const node = el("button", { type: "button", textContent: label, disabled: !!options.stale });
        node.addEventListener("click", () => {
          node.setAttribute("aria-pressed", "true");
          send(payload, label);
        });
        group.append(node);
      }
      item.append(group);
    }
    if (message.form && !options.stale) addDetailsForm(item, message.form);
    log.insertBefore(item, typing.isConnected ? typing : null);
    scrollDown();
    return item;
  }

  function retireQuickReplies() {
    for (const button of log.querySelectorAll(".replies button")) button.disabled = true;
  }

  function setTyping(on) {
    if (on && !typing.isConnected) log.append(typing);
    if (!on) typing.remove();
    typingNote.textContent = on ? t("typing") : "";
    scrollDown();
  }

  function renderBanner() {
    const { state, ticket } = ticketState;
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
    bar.hidden = state === "waiting_agent" || state === "agent"; // a person is already on it
    banner.replaceChildren();
    if (!ticket) { banner.hidden = true; return; }
    banner.append(el("strong", { textContent: t("ticket", { ref: ticket.reference }) }));
    // the queue's name comes with the ticket, in the conversation's language (config/policies.yml)
    if (ticket.queue_name) banner.append(document.createTextNode(" · " + t("team", { queue: ticket.queue_name })));
    const note = t(state === "agent" || state === "resolved" ? "now_" + state : "now_waiting_agent");
    banner.append(el("div", { textContent: note }));
    const due = ticket.first_response_due ? new Date(ticket.first_response_due) : null; // only while none came
    if (due && state === "waiting_agent" && !Number.isNaN(due.getTime())) {
      banner.append(el("div", { className: "due", textContent: t("due", { time: moment(due) }) }));
    }
    banner.hidden = false;
    if (atBottom) scrollDown(); // the banner took room from the log: keep the newest message in view
  }

  /** A moment as the customer reads it: in their language and their own time zone, the zone named. */
  function moment(date) {
    const options = { weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
      timeZoneName: "short" };
    try { return new Intl.DateTimeFormat(lang, options).format(date); } catch (e) { return date.toISOString(); }
  }

  function applyState(state, ticket) {
    const before = ticketState.ticket;
    ticketState = { state: state || ticketState.state, ticket: ticket || ticketState.ticket };
    if (ticket && (!before || before.id !== ticket.id)) formAnswersLeft = 0; // the form made its ticket
    if (state === "waiting_agent" || state === "agent") log.querySelectorAll(".hf").forEach((f) => f.remove());
    renderBanner();
    if (ticketState.ticket || (state && state !== "bot")) startLive();
  }

  // ---- the details form the API offers when the bot cannot answer: name, email, question → a ticket ----
  let forms = 0;
  function addDetailsForm(item, spec) {
    const box = el("form", { className: "hf", noValidate: true });
    const fields = {};
    forms += 1;
    for (const field of Array.isArray(spec.fields) ? spec.fields : []) {
      const name = String(field.name);
      const id = `tz-f${forms}-${name}`;
      const area = field.type === "textarea";
      const control = el(area ? "textarea" : "input", { id, name, value: String(field.value || ""),
        required: !!field.required, rows: area ? 3 : null, "aria-describedby": id + "e",
        type: area ? null : ["email", "tel"].includes(field.type) ? field.type : "text",
        maxLength: field.max_chars > 0 ? field.max_chars : null, autocomplete: String(field.autocomplete || "off") });
      fields[name] = { control, error: el("span", { className: "err", id: id + "e" }) };
      box.append(el("label", { htmlFor: id, textContent: String(field.label || name) + (field.required ? " *" : "") }),
        control, fields[name].error);
    }
    const problem = el("span", { className: "err", role: "alert" });
    const submit = el("button", { type: "submit", className: "retry", textContent: String(spec.submit || t("send")) });
    box.append(problem, submit);
    box.addEventListener("submit", (event) => { event.preventDefault(); submitDetails(box, spec, fields, submit, problem); });
    item.append(box);
    formAnswersLeft = 0;
    const empty = Object.values(fields).find((f) => !f.control.value);
    if (empty && root.activeElement) setTimeout(() => empty.control.focus()); // was typing here: go on in the form
  }

  function markField(field, message) {
    field.error.textContent = message;
    field.control.setAttribute("aria-invalid", String(!!message));
  }

  async function submitDetails(box, spec, fields, submit, problem) {
    const body = { reason: spec.reason };
    for (const [name, field] of Object.entries(fields)) {
      const value = field.control.value.trim();
      if (value) body[name] = value;
      markField(field, field.control.required && !value ? t("required") : "");
    }
    problem.textContent = "";
    const invalid = () => Object.values(fields).find((f) => f.error.textContent);
    if (invalid()) { invalid().control.focus(); return; }
    submit.disabled = true;
    let reply;
    const ownPath = /^\/[^/]/.test(String(spec.action)); // where the form says it goes, on this API
    const action = ownPath ? spec.action : `/api/v1/conversations/${conversation.id}/handoff`;
    try { reply = await call("POST", action, body); }
    catch (error) { reply = { data: null }; }
    submit.disabled = false;
    if (!reply.ok) {
      const errors = (reply.data && reply.data.errors) || [];
      for (const error of errors) {
        const field = fields[(error.loc || []).slice(-1)[0]];
        if (field) markField(field, String(error.msg).replace(/^Value error, /, ""));
      }
      if (invalid()) invalid().control.focus();
      else problem.textContent = (reply.data && typeof reply.data.detail === "string" && reply.data.detail) || t("failed");
      return;
    }
    box.remove();
    for (const message of reply.data.messages || []) {
      if (live) pending.push({ sender: "system", text: message.text });
      addMessage({ ...message, sender: "system" });
    }
    applyState(reply.data.state, reply.data.ticket);
    input.focus();
  }

  // ---- talking to the API ----
  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    if (conversation) headers.Authorization = "Bearer " + conversation.token;
    const response = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined,
      cache: "no-store" });
    let data = null;
    try { data = await response.json(); } catch (e) { /* an empty or non-JSON body */ }
    return { ok: response.ok, status: response.status, data };
  }

  /** A public GET (no token): the JSON, or null if it could not be had. */
  async function learn(path) {
    try {
      const response = await fetch(API + path, { headers: { Accept: "application/json" },
        signal: window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined });
      return response.ok ? await response.json() : null;
    } catch (e) { return null; }
  }

  // The languages to offer; if the API cannot say, the page's language only (data-lang, else <html lang>).
  async function loadLanguages() {
    const listed = await learn("/api/v1/languages");
    const valid = Array.isArray(listed) ? listed.filter((l) => l && typeof l.code === "string" && l.code) : [];
    if (valid.length) return valid.map((l) => ({ code: l.code, name: String(l.name || l.code) }));
    const code = [config.lang, document.documentElement.lang].map(primary).find((c) => c in TEXT) || "en";
    let name = code;
    try { name = new Intl.DisplayNames([code], { type: "language" }).of(code) || code; } catch (e) { /* old browser */ }
    return [{ code, name }];
  }

  function showLanguages() {
    langSelect.replaceChildren(...languages.map((l) =>
      el("option", { value: l.code, textContent: l.name, lang: l.code })));
  }

  // The contact form (GET /api/v1/handoff-form), once per language; a failed fetch is tried again next time.
  const contactForms = new Map();
  function contactForm(code) {
    if (!contactForms.has(code)) {
      const loading = learn("/api/v1/handoff-form?lang=" + encodeURIComponent(code))
        .then((spec) => (spec && Array.isArray(spec.fields) ? spec : null));
      contactForms.set(code, loading);
      loading.then((spec) => { if (!spec) contactForms.delete(code); });
    }
    return contactForms.get(code);
  }
  /** The most answers the bot's chat form can take: each field it asks in chat, until max_failures wrong answers.
   * Without the form, none: a press during it is then a wrong answer the bot asks again (the form takes no
   * "/payload" for a detail), never a detail. */
  const chatAnswers = (spec) => (spec ? Math.max(0, Number(spec.max_failures) || 0) *
    spec.fields.filter((f) => f && f.question).length : 0);

  function forget() {
    conversation = null;
    live = false;
    lastSeq = 0;
    ticketState = { state: "bot", ticket: null };
    delete saved.id;
    delete saved.token;
    delete saved.customer;
    save();
    renderBanner();
  }

  async function ensureConversation() {
    if (conversation) return conversation;
    const token = customerToken();
    let created = await call("POST", "/api/v1/conversations", token ? { lang, customer_token: token } : { lang });
    if (token && (created.status === 401 || created.status === 422)) {
      // the site's mistake, not the customer's: tell its developer, and let the customer chat anyway
      const detail = created.data && typeof created.data.detail === "string" ? created.data.detail : created.status;
      console.warn(`Tier Zero: the customer token of data-customer-token was refused (${detail}); ` +
        "this customer chats anonymously.");
      created = await call("POST", "/api/v1/conversations", { lang });
    }
    if (!created.ok) throw new Error(created.data && created.data.detail);
    conversation = { id: created.data.id, token: created.data.token };
    Object.assign(saved, conversation, { customer });
    save();
    return conversation;
  }

  // A key per message, sent again with it when the customer retries: the API stores and answers it only once.
  const newKey = () => Array.from(crypto.getRandomValues(new Uint32Array(3)), (n) => n.toString(36)).join("-");

  function send(text, shown, key = newKey()) {
    text = String(text || "").trim();
    if (!text) return;
    if (text.length > MAX_CHARS) { addMessage({ sender: "system", text: t("tooLong", { n: MAX_CHARS }) }); return; }
    retireQuickReplies();
    sent += 1;
    formAnswersLeft = Math.max(0, formAnswersLeft - 1);
    const bubble = addMessage({ sender: "customer", text: shown || text });
    sending += 1;
    setTyping(true);
    queue = queue.then(() => deliver(text, shown, bubble, key)).finally(() => {
      sending -= 1;
      if (!sending) { setTyping(false); held.splice(0).forEach(show); }
    });
  }

  async function deliver(text, shown, bubble, key) {
    const body = { text, client_message_id: key };
    try {
      await ensureConversation();
      if (live) pending.push({ sender: "customer", bubble, shown: !!shown });
      let reply = await call("POST", `/api/v1/conversations/${conversation.id}/messages`, body);
      if (reply.status === 401 || reply.status === 404) { // the stored conversation is gone: start a new one
        forget();
        await ensureConversation();
        reply = await call("POST", `/api/v1/conversations/${conversation.id}/messages`, body);
      }
      if (!reply.ok) {
        const detail = reply.data && typeof reply.data.detail === "string" ? reply.data.detail : t("failed");
        failed(bubble, text, shown, detail, key);
        return;
      }
      for (const message of reply.data.messages || []) {
        if (live) pending.push({ sender: "bot", text: message.text });
        addMessage({ ...message, sender: "bot" });
      }
      applyState(reply.data.state, reply.data.ticket);
    } catch (error) {
      failed(bubble, text, shown, t("failed"), key);
    }
  }

  function failed(bubble, text, shown, detail, key) {
    bubble.classList.add("failed");
    const index = pending.findIndex((p) => p.bubble === bubble);
    if (index >= 0) pending.splice(index, 1);
    const retry = el("button", { type: "button", className: "retry", textContent: t("retry") });
    const notice = addMessage({ sender: "system", text: detail });
    notice.append(retry);
    retry.addEventListener("click", () => { notice.remove(); bubble.remove(); send(text, shown, key); });
  }

  // ---- live updates: server-sent events read with fetch (so the token stays in a header), polling as fallback ----
  function accept(entry) {
    if (!entry || typeof entry.seq !== "number" || entry.seq <= lastSeq) return;
    lastSeq = entry.seq;
    if (sending && entry.sender !== "agent") held.push(entry);
    else show(entry);
  }

  function show(entry) {
    if (!VISIBLE.includes(entry.sender)) return;
    const index = pending.findIndex((p) => (entry.sender === "customer"
      ? p.sender === "customer" : p.sender !== "customer" && p.text === entry.text));
    if (index >= 0) { // this page already shows it; a customer's text may come back with secrets removed
      const echo = pending.splice(index, 1)[0];
      if (echo.bubble && !echo.shown) echo.bubble.querySelector("p").textContent = entry.text;
      return;
    }
    addMessage(entry);
    if (entry.sender === "agent" && panel.hidden) { unread += 1; updateLauncher(); }
  }

  async function startLive() {
    if (live || !conversation) return;
    live = true;
    const view = await call("GET", `/api/v1/conversations/${conversation.id}`);
    if (view.ok) lastSeq = Math.max(lastSeq, ...view.data.transcript.map((m) => m.seq));
    listen(0);
  }

  async function listen(failures) {
    if (!live) return;
    if (failures >= 3 || !window.ReadableStream || !window.TextDecoder) { poll(); return; }
    const id = conversation.id;
    try {
      const response = await fetch(`${API}/api/v1/conversations/${id}/events?after=${lastSeq}`, {
        headers: { Accept: "text/event-stream", Authorization: "Bearer " + conversation.token }, cache: "no-store" });
      if (!response.ok || !response.body) throw new Error("no event stream: " + response.status);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !live || !conversation || conversation.id !== id) break;
        buffer += decoder.decode(value, { stream: true });
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop();
        for (const block of blocks) {
          let event = "message";
          let data = "";
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
          }
          if (!data) continue;
          const payload = JSON.parse(data);
          if (event === "message") accept(payload);
          else if (event === "state") applyState(payload.state, payload.ticket);
        }
        failures = 0;
      }
      setTimeout(() => listen(failures), 250); // the server ends each stream after a while: carry on
    } catch (error) {
      setTimeout(() => listen(failures + 1), 1000 * 2 ** failures);
    }
  }

  async function poll() {
    if (!live || !conversation) return;
    try {
      const view = await call("GET", `/api/v1/conversations/${conversation.id}`);
      if (view.ok) {
        view.data.transcript.forEach(accept);
        applyState(view.data.state, view.data.ticket);
      }
    } catch (error) { /* offline for a moment: try again later */ }
    setTimeout(poll, document.hidden ? 15000 : 3000);
  }

  // ---- after a reload: the same conversation, as it was ----
  async function restore() {
    if (!conversation) return;
    let view;
    try { view = await call("GET", `/api/v1/conversations/${conversation.id}`); } catch (e) { return; }
    if (view.status === 401 || view.status === 404) { forget(); return; }
    if (!view.ok) return;
    const entries = view.data.transcript.filter((m) => VISIBLE.includes(m.sender));
    entries.forEach((entry, i) => addMessage(entry, { stale: i < entries.length - 1 }));
    lastSeq = Math.max(0, ...view.data.transcript.map((m) => m.seq));
    applyState(view.data.state, view.data.ticket);
  }

  // ---- wiring ----
  launcher.addEventListener("click", () => setOpen(panel.hidden));
  closeButton.addEventListener("click", () => setOpen(false));
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.stopPropagation(); setOpen(false); } });
  langSelect.addEventListener("change", () => {
    lang = pick(langSelect.value) || lang;
    saved.lang = lang;
    save();
    applyTexts();
    contactForm(lang);
  });
  humanButton.addEventListener("click", () => {
    if (formAnswersLeft > 0) {
      addMessage({ sender: "system", text: t("connecting") });
      input.focus();
      return;
    }
    send(ASK_HUMAN, t("human"));
    const press = ++handoffs;
    const sentThen = sent;
    const ticketThen = ticketState.ticket && ticketState.ticket.id;
    contactForm(lang).then((spec) => {
      const ticketNow = ticketState.ticket && ticketState.ticket.id;
      if (press !== handoffs || ticketNow !== ticketThen) return; // pressed again since, or the form is done
      formAnswersLeft = Math.max(0, chatAnswers(spec) - (sent - sentThen)); // answers sent while it was fetched
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    autosize();
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
  });
  function autosize() { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight + 2, 120) + "px"; }
  input.addEventListener("input", autosize);

  async function mount() {
    languages = await languagesLoaded;
    lang = chooseLang();
    showLanguages();
    greeting = addMessage({ sender: "bot", text: config.greeting || t("greeting") });
    applyTexts();
    document.body.append(host);
    restore().finally(() => { if (saved.open) setOpen(true, false); });
  }
  window.TierZero = { open: () => setOpen(true), close: () => setOpen(false) };
  const languagesLoaded = loadLanguages(); // while the page loads
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
