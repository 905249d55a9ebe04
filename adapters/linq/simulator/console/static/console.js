// The simulator's console. Every piece of text from the state goes in through
// textContent or setAttribute, never as HTML: messages come from anyone.
"use strict";

const SERVICE_LABELS = { imessage: "iMessage", rcs: "RCS", sms: "SMS" };
const KIND_LABELS = { imessage: "iMessage", rcs: "RCS only", sms_only: "SMS only", unreachable: "unreachable" };
const TICKS = { pending: "pending", queued: "queued", sent: "✓ sent", delivered: "✓✓ delivered", read: "✓✓ read", failed: "! failed" };
const TAPBACKS = [["love", "♥"], ["like", "👍"], ["dislike", "👎"], ["laugh", "😂"], ["emphasize", "‼"], ["question", "?"]];
const CARE_LINE = "__line__";

let state = null;
const phones = new Map();

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function say(text) { document.getElementById("message").textContent = text || ""; }

async function act(action, body) {
  say("");
  const response = await fetch(`/console/api/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Console": "1" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = answer.error || {};
    say(`${error.field ? error.field + ": " : ""}${error.rule || response.statusText}`);
    return null;
  }
  return answer;
}

function chatsOf(owner) {
  if (owner === CARE_LINE) return state.chats;
  return state.chats.filter((chat) => chat.participants.includes(owner));
}

function chatTitle(chat, owner) {
  if (chat.is_group) {
    const name = chat.name || "Group";
    return `${name} · members: ${chat.participants.join(", ")}`;
  }
  return owner === CARE_LINE ? `with ${chat.participants.join(", ")}` : `with the care line ${chat.line}`;
}

function snippet(chat, id) {
  const found = chat.messages.find((m) => m.id === id);
  if (!found) return "an earlier message";
  const text = found.texts.join(" ") || "media";
  return text.length > 40 ? text.slice(0, 40) + "…" : text;
}

function bubble(chat, message, owner) {
  const mine = owner === CARE_LINE ? message.direction === "outbound" : message.sender === owner;
  const service = message.service || "none";
  const node = el("div", {
    class: `bubble ${mine ? "mine" : "theirs"} svc-${service}`,
    "data-message-id": message.id,
    "data-service": service,
    "data-status": message.status,
    "data-direction": message.direction,
  });
  const who = message.direction === "outbound" ? "care line" : message.sender;
  node.append(el("span", { class: "meta", text: `${who} · ${SERVICE_LABELS[service] || "no service"}` }));
  if (message.reply_to) node.append(el("span", { class: "reply", text: `↩ reply to: ${snippet(chat, message.reply_to)}` }));
  for (const text of message.texts) node.append(el("span", { class: "text", text }));
  for (const media of message.media) {
    const url = media.url || "";
    const safe = /^https?:\/\//i.test(url);
    const name = media.filename || url.split("/").pop() || "attachment";
    if (safe && (media.content_type || "").startsWith("image/")) {
      node.append(el("span", { class: "media" }, el("img", { src: url, alt: `image ${name}`, loading: "lazy", referrerpolicy: "no-referrer" })));
    } else {
      node.append(el("span", { class: "media chip", text: `📎 ${name}` }));
    }
  }
  if (message.effect) node.append(el("span", { class: "effect", text: `✨ ${message.effect}` }));
  if (message.reactions.length) {
    const list = message.reactions.map((r) => `${r.emoji || r.kind} by ${r.actor}`).join(", ");
    node.append(el("span", { class: "reactions", text: `tapbacks: ${list}` }));
  }
  if (mine) node.append(el("span", { class: "ticks", "aria-label": `status ${message.status}`, text: TICKS[message.status] || message.status }));
  if (owner === CARE_LINE && message.degradations.length) {
    const list = el("ul", { class: "degradations", "aria-label": "degradations" });
    for (const d of message.degradations) list.append(el("li", { text: d }));
    node.append(list);
  }
  if (owner !== CARE_LINE && !mine) {
    const group = el("span", { class: "tapbacks", role: "group", "aria-label": "tapback" });
    for (const [kind, symbol] of TAPBACKS) {
      const button = el("button", { type: "button", "data-tapback": kind, "aria-label": `${kind} tapback as ${owner}`, text: symbol });
      button.addEventListener("click", () => act("tapback", { from: owner, message_id: message.id, type: kind }));
      group.append(button);
    }
    node.append(group);
  }
  return node;
}

function makePhone(owner, kind) {
  const id = `phone-${phones.size}`;
  const phone = el("article", { class: "phone", "data-person": owner, "aria-labelledby": `${id}-title` });
  const title = el("h3", { id: `${id}-title`, text: owner === CARE_LINE ? "Care line" : owner });
  title.append(el("span", { class: "kind", text: owner === CARE_LINE ? "what CareSupport sent, with degradations" : KIND_LABELS[kind] || kind }));
  const thread = el("div", { class: "thread", tabindex: "0", "aria-label": `messages on ${owner === CARE_LINE ? "the care line" : owner}'s phone` });
  phone.append(title, thread);
  if (owner !== CARE_LINE) {
    const form = el("form", { class: "compose" });
    const chatSelect = el("select", { id: `${id}-chat`, name: "chat_id" });
    const text = el("input", { id: `${id}-text`, name: "text", autocomplete: "off" });
    const media = el("input", { id: `${id}-media`, name: "media_url", type: "url", placeholder: "https://…" });
    form.append(
      el("label", { for: `${id}-chat`, text: "Chat" }), chatSelect,
      el("label", { for: `${id}-text`, text: `Message as ${owner}` }), text,
      el("label", { for: `${id}-media`, text: "Media URL (optional)" }), media,
    );
    const send = el("button", { type: "submit", text: "Send" });
    const stop = el("button", { type: "button", "data-stop": "1", text: "Send STOP" });
    const typing = el("button", { type: "button", "data-typing": "1", "aria-pressed": "false", text: "Typing…" });
    form.append(el("div", { class: "buttons" }, send, stop, typing));
    typing.addEventListener("click", async () => {
      const direct = chatsOf(owner).find((chat) => !chat.is_group);
      const chatId = chatSelect.value || (direct && direct.id);
      if (!chatId) { say(`${owner} has no chat to type in yet`); return; }
      const on = typing.getAttribute("aria-pressed") !== "true";
      if (await act("typing", { from: owner, chat_id: chatId, typing: on })) typing.setAttribute("aria-pressed", String(on));
    });
    const submit = async (body) => {
      if (chatSelect.value) body.chat_id = chatSelect.value;
      if (await act("send", body)) { text.value = ""; media.value = ""; }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { from: owner };
      if (text.value) body.text = text.value;
      if (media.value) body.media_url = media.value;
      submit(body);
    });
    stop.addEventListener("click", () => submit({ from: owner, text: "STOP" }));
    phone.append(form);
  }
  document.getElementById("phones").append(phone);
  const entry = { phone, thread, chatSelect: phone.querySelector("select") };
  phones.set(owner, entry);
  return entry;
}

function renderPhone(owner, kind) {
  const entry = phones.get(owner) || makePhone(owner, kind);
  const chats = chatsOf(owner);
  const thread = document.createDocumentFragment();
  for (const chat of chats) {
    const section = el("section", { class: "chat", "data-chat-id": chat.id, "data-group": chat.is_group ? "1" : null });
    section.append(el("p", { class: "chat-title", text: chatTitle(chat, owner) }));
    for (const message of chat.messages) section.append(bubble(chat, message, owner));
    const typists = owner === CARE_LINE ? chat.typing : chat.line_typing ? ["the care line"] : [];
    for (const who of typists) section.append(el("p", { class: "typing", "aria-live": "polite", text: `${who} is typing…` }));
    thread.append(section);
  }
  entry.thread.replaceChildren(thread);
  if (entry.chatSelect) {
    const chosen = entry.chatSelect.value;
    const options = [el("option", { value: "", text: "their 1:1 chat with the care line" })];
    for (const chat of chats) if (chat.is_group) options.push(el("option", { value: chat.id, text: chatTitle(chat, owner) }));
    entry.chatSelect.replaceChildren(...options);
    entry.chatSelect.value = [...entry.chatSelect.options].some((o) => o.value === chosen) ? chosen : "";
  }
}

function renderLog() {
  const body = document.querySelector("#webhook-log tbody");
  const rows = state.deliveries.map((d) => {
    const redeliver = el("button", { type: "button", "aria-label": `redeliver webhook ${d.index} (${d.event_type})`, text: "Redeliver" });
    redeliver.addEventListener("click", () => act("redeliver", { index: d.index }));
    const status = d.status === null ? (d.error || "no answer") : String(d.status);
    return el("tr", { class: d.delivered ? "ok" : "failed", "data-index": d.index, "data-event-type": d.event_type, "data-attempts": d.attempts },
      el("td", { text: d.index }), el("td", { text: d.event_type }), el("td", { text: d.target || "(deleted)" }),
      el("td", { class: "status", text: status }), el("td", { class: "attempts", text: d.attempts }),
      el("td", { text: d.signing.join(" + ") }), el("td", {}, redeliver));
  });
  body.replaceChildren(...rows.reverse());
  document.getElementById("pending").textContent = `${state.pending_deliveries} delivery(ies) queued.`;
}

function cells(values) { return values.map((v) => el("td", { text: v === null || v === undefined ? "-" : v })); }

function renderStores() {
  const stores = state.stores;
  document.getElementById("stores").hidden = !stores;
  if (!stores) return;
  const inbox = stores.inbox;
  document.getElementById("inbox-view").hidden = !inbox;
  if (inbox) {
    document.getElementById("inbox-counts").textContent = `(${inbox.pending} pending, ${inbox.dead} dead)`;
    document.querySelector("#inbox-table tbody").replaceChildren(...inbox.entries.map((e) => {
      const row = el("tr", { "data-entry": e.id, class: e.state }, ...cells([e.id, e.state, e.attempts, e.due_at, e.last_error]));
      const cell = el("td");
      if (e.state === "dead") {
        const replay = el("button", { type: "button", "aria-label": `replay ${e.id}`, text: "Replay" });
        replay.addEventListener("click", () => act("inbox_replay", { id: e.id }));
        cell.append(replay);
      }
      row.append(cell);
      return row;
    }));
  }
  const outbox = stores.outbox;
  document.getElementById("outbox-view").hidden = !outbox;
  if (outbox) {
    document.querySelector("#outbox-table tbody").replaceChildren(...outbox.intents.map((i) => {
      const row = el("tr", { "data-intent": i.id }, ...cells([i.id, i.state, i.service, i.attempts, i.error]));
      const cell = el("td");
      if (i.state === "failed" || i.state === "queued") {
        const retry = el("button", { type: "button", "aria-label": `retry ${i.id}`, text: "Retry" });
        retry.addEventListener("click", () => act("outbox_retry", { id: i.id }));
        cell.append(retry);
      }
      row.append(cell);
      return row;
    }));
    document.querySelector("#deadline-table tbody").replaceChildren(...outbox.deadlines.map((d) => el("tr", {}, ...cells([d.id, d.due_at]))));
  }
}

function render(next) {
  state = next;
  document.getElementById("now").textContent = state.now;
  renderPhone(CARE_LINE, null);
  for (const person of state.people) renderPhone(person.handle, person.kind);
  for (const box of document.querySelectorAll("[data-fault]")) box.checked = state.faults.includes(box.dataset.fault);
  renderLog();
  renderStores();
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource("/console/api/events");
  events.addEventListener("state", (event) => { live.textContent = "live"; render(JSON.parse(event.data)); });
  events.addEventListener("error", () => { live.textContent = "reconnecting"; });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act("advance", { seconds: Number(document.getElementById("advance-seconds").value) });
  });
  document.getElementById("person-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const handle = document.getElementById("person-handle");
    if (await act("person", { handle: handle.value, kind: document.getElementById("person-kind").value })) handle.value = "";
  });
  for (const box of document.querySelectorAll("[data-fault]")) {
    box.addEventListener("change", () => act("fault", { name: box.dataset.fault, on: box.checked }));
  }
  connect();
});
