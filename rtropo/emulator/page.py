"""The emulator's single web page: conversations, an inbound SMS form, debugger logs.

"inbound" bubbles are what the phone sent to the app, "outbound" bubbles what the
app sent to the phone (the app's point of view, as RapidSMS names directions); a
voice call the app placed is a "call" bubble, labelled "📞 call" with each text
spoken on it as a "spoken:" line, never shown as an SMS. Every SMS bubble names the
application's number it went to or came from ("to +1..." / "from +1..."), the header
lists the application's numbers and the send form picks which one to text. The
page shows the ``PAGE_SIZE`` most recent conversations and sessions and pages the
rest, so that a refresh costs the same after a day of use as after a minute. A session
that failed to reach the app says so above its debugger lines, and so does the send
form's status line.
"""

import html

PAGE_SIZE = 20

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tropo emulator</title>
<link rel="icon" href="/favicon.ico" type="image/x-icon">
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111; }
  header { background: #1f2937; color: #fff; padding: .6rem 1rem; }
  header span { margin-right: 1.2rem; font-size: .9rem; }
  main { display: flex; gap: 1rem; padding: 1rem; flex-wrap: wrap; }
  section { background: #fff; border-radius: 8px; padding: .8rem; flex: 1 1 22rem;
            min-width: 0; }
  form { display: flex; gap: .4rem; flex-wrap: wrap; margin-bottom: .8rem; }
  input { padding: .35rem; min-width: 0; }
  #sms-text { flex: 1 1 10rem; }
  #sms-hint { font-size: .9rem; background: #eef2ff; border-radius: 6px; padding: .4rem .6rem;
              overflow-wrap: anywhere; }
  .conversation { border: 1px solid #ddd; border-radius: 12px; padding: .5rem;
                  margin-bottom: .8rem; }
  .conversation h3 { margin: 0 0 .4rem; font-size: .95rem; }
  .bubble { max-width: 80%; padding: .35rem .6rem; border-radius: 14px; margin: .2rem 0;
            white-space: pre-wrap; overflow-wrap: anywhere; }
  .bubble.inbound { background: #2563eb; color: #fff; margin-left: auto; }
  .bubble.outbound { background: #e5e7eb; margin-right: auto; }
  .bubble.empty { font-style: italic; opacity: .75; }
  .bubble.call { background: #dcfce7; border: 1px solid #16a34a; }
  .app-number { font-size: .75rem; opacity: .8; margin-top: .3rem; }
  .app-number.inbound { text-align: right; }
  .call-label { font-weight: bold; font-size: .85rem; }
  .spoken.empty { font-style: italic; opacity: .75; }
  .row { display: flex; }
  .pager { display: flex; gap: .6rem; align-items: center; font-size: .85rem; margin: .4rem 0; }
  .session { font-family: monospace; font-size: .8rem; }
  .session pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .2rem 0 .6rem; }
  .session.failed summary, .session-error { color: #b91c1c; }
  .session-error { font-weight: bold; margin: .2rem 0; overflow-wrap: anywhere; }
  #sms-status { font-size: .85rem; color: #555; overflow-wrap: anywhere; }
</style>
</head>
<body>
<header>
  <strong>Tropo emulator</strong>
  <span id="app-numbers"></span>
  <span id="counters"></span>
</header>
<main>
  <section>
    <h2>Phones</h2>
    __HINT__
    <form id="sms-form">
      <input id="sms-from" name="from" placeholder="+15555550001" value="+15555550001" required>
      <select id="sms-to" name="to" title="the app's number to text"></select>
      <input id="sms-text" name="text" placeholder="Text to the app">
      <button id="sms-send" type="submit">Send</button>
    </form>
    <div id="sms-status"></div>
    <div class="pager" id="conversation-pager">
      <button id="conversations-newer" type="button">Newer</button>
      <span id="conversations-shown"></span>
      <button id="conversations-older" type="button">Older</button>
    </div>
    <div id="conversations"></div>
  </section>
  <section>
    <h2>Application Debugger</h2>
    <div class="pager" id="session-pager">
      <button id="sessions-newer" type="button">Newer</button>
      <span id="sessions-shown"></span>
      <button id="sessions-older" type="button">Older</button>
    </div>
    <div id="sessions"></div>
  </section>
</main>
<script>
"use strict";
const PAGE_SIZE = __PAGE_SIZE__;
const view = {sessions: 0, conversations: 0, version: null};
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function shown(offset, count, total) {
  return count ? (offset + 1) + "-" + (offset + count) + " of " + total : "none of " + total;
}
function smsBubble(entry) {
  const empty = entry.text === "";
  return el("div", "bubble " + entry.direction + (empty ? " empty" : ""),
    empty ? "(empty SMS)" : entry.text);
}
function appNumberLabel(entry) {
  return el("div", "app-number " + entry.direction,
    (entry.direction === "inbound" ? "to " : "from ") + entry.app_number);
}
function renderNumbers(numbers) {
  document.getElementById("app-numbers").textContent =
    (numbers.length > 1 ? "App numbers " : "App number ") + numbers.join(", ");
  const select = document.getElementById("sms-to");
  const current = Array.from(select.options, o => o.value);
  if (current.join(" ") === numbers.join(" ")) return;
  select.replaceChildren(...numbers.map(n => el("option", null, n)));
}
function callBubble(entry) {
  const bubble = el("div", "bubble " + entry.direction + " call" + (entry.ended ? " ended" : ""));
  bubble.appendChild(el("div", "call-label", "📞 call from " + entry.from + " (" +
    entry.network + (entry.ended ? ", ended" : ", in progress") + ")"));
  const spoken = entry.spoken || [];
  if (!spoken.length) bubble.appendChild(el("div", "spoken empty", "(nothing spoken)"));
  for (const text of spoken) bubble.appendChild(el("div", "spoken", "spoken: " + text));
  return bubble;
}
function renderConversations(conversations, total) {
  const box = document.getElementById("conversations");
  box.replaceChildren();
  const numbers = Object.keys(conversations);
  for (const number of numbers) {
    const conv = el("div", "conversation");
    conv.dataset.number = number;
    conv.appendChild(el("h3", null, number));
    for (const entry of conversations[number]) {
      if (entry.kind === "sms") conv.appendChild(appNumberLabel(entry));
      const row = el("div", "row");
      const bubble = entry.kind === "call" ? callBubble(entry) : smsBubble(entry);
      bubble.title = new Date(entry.at * 1000).toISOString() + " session " + entry.session_id;
      row.appendChild(bubble);
      conv.appendChild(row);
    }
    box.appendChild(conv);
  }
  document.getElementById("conversations-shown").textContent =
    "conversations " + shown(view.conversations, numbers.length, total);
}
function renderSessions(sessions, total) {
  const box = document.getElementById("sessions");
  const open = new Set(Array.from(box.querySelectorAll("details[open]"), d => d.dataset.id));
  box.replaceChildren();
  for (const session of sessions.slice().reverse()) {
    const details = el("details", "session" + (session.error ? " failed" : ""));
    details.dataset.id = session.id;
    details.open = open.has(session.id);
    details.appendChild(el("summary", null, session.id + " (" + session.kind +
      (session.ended ? ", ended" : "") + (session.error ? ", failed" : "") + ")"));
    if (session.error) details.appendChild(el("p", "session-error", session.error));
    details.appendChild(el("pre", null, session.log.join("\\n")));
    box.appendChild(details);
  }
  document.getElementById("sessions-shown").textContent =
    "sessions " + shown(view.sessions, sessions.length, total);
}
async function refresh() {
  try {
    const query = "limit=" + PAGE_SIZE + "&offset=" + view.sessions +
      "&conversation_offset=" + view.conversations;
    const response = await fetch("/emulator/api/state?" + query, {cache: "no-store"});
    const state = await response.json();
    const key = state.version + " " + query;
    if (key === view.version) return;
    view.version = key;
    renderNumbers(state.numbers);
    const c = state.counters;
    document.getElementById("counters").textContent =
      "launches " + c.launches + " | callbacks " + c.callbacks + " | results " + c.results +
      " | inbound " + c.inbound + " | deliveries " + c.deliveries + " | calls " + c.calls;
    renderConversations(state.conversations, state.kept.conversations);
    renderSessions(state.sessions, state.kept.sessions);
  } catch (error) {
    document.getElementById("counters").textContent = "emulator unreachable";
  }
}
function pager(name, step) {
  document.getElementById(name + "-" + (step > 0 ? "older" : "newer"))
    .addEventListener("click", () => {
      view[name] = Math.max(0, view[name] + step * PAGE_SIZE);
      refresh();
    });
}
pager("sessions", 1);
pager("sessions", -1);
pager("conversations", 1);
pager("conversations", -1);
document.getElementById("sms-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const from = document.getElementById("sms-from").value;
  const to = document.getElementById("sms-to").value || null;
  const textInput = document.getElementById("sms-text");
  const status = document.getElementById("sms-status");
  status.textContent = "sending...";
  try {
    const response = await fetch("/emulator/api/inbound", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({from: from, to: to, text: textInput.value}),
    });
    const result = await response.json();
    status.textContent = !response.ok ? "error: " + result.error
      : "session " + result.session_id + ": " +
        (result.error || "app answered " + result.status);
    if (response.ok) textInput.value = "";
  } catch (error) {
    status.textContent = "error: " + error;
  }
  view.sessions = view.conversations = 0;
  refresh();
});
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""


def render_page(hint: str = "") -> str:
    """The page, with ``hint`` (what to text the app) above the send form if given."""
    shown = f'<p id="sms-hint">{html.escape(hint)}</p>' if hint else ""
    return _PAGE.replace("__HINT__", shown).replace("__PAGE_SIZE__", str(PAGE_SIZE))
