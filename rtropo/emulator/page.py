"""The emulator's single web page: conversations, an inbound SMS form, debugger logs.

"inbound" bubbles are what the phone sent to the app, "outbound" bubbles what the
app sent to the phone (the app's point of view, as RapidSMS names directions).
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tropo emulator</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111; }
  header { background: #1f2937; color: #fff; padding: .6rem 1rem; }
  header span { margin-right: 1.2rem; font-size: .9rem; }
  main { display: flex; gap: 1rem; padding: 1rem; flex-wrap: wrap; }
  section { background: #fff; border-radius: 8px; padding: .8rem; flex: 1 1 22rem; }
  form { display: flex; gap: .4rem; flex-wrap: wrap; margin-bottom: .8rem; }
  input { padding: .35rem; }
  #sms-text { flex: 1; }
  .conversation { border: 1px solid #ddd; border-radius: 12px; padding: .5rem;
                  margin-bottom: .8rem; }
  .conversation h3 { margin: 0 0 .4rem; font-size: .95rem; }
  .bubble { max-width: 80%; padding: .35rem .6rem; border-radius: 14px; margin: .2rem 0;
            white-space: pre-wrap; word-wrap: break-word; }
  .bubble.inbound { background: #2563eb; color: #fff; margin-left: auto; }
  .bubble.outbound { background: #e5e7eb; margin-right: auto; }
  .row { display: flex; }
  .session { font-family: monospace; font-size: .8rem; }
  .session pre { white-space: pre-wrap; margin: .2rem 0 .6rem; }
  #sms-status { font-size: .85rem; color: #555; }
</style>
</head>
<body>
<header>
  <strong>Tropo emulator</strong>
  <span id="app-number"></span>
  <span id="counters"></span>
</header>
<main>
  <section>
    <h2>Phones</h2>
    <form id="sms-form">
      <input id="sms-from" name="from" placeholder="+15555550001" value="+15555550001" required>
      <input id="sms-text" name="text" placeholder="Text to the app" required>
      <button id="sms-send" type="submit">Send</button>
    </form>
    <div id="sms-status"></div>
    <div id="conversations"></div>
  </section>
  <section>
    <h2>Application Debugger</h2>
    <div id="sessions"></div>
  </section>
</main>
<script>
"use strict";
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function renderConversations(conversations) {
  const box = document.getElementById("conversations");
  box.replaceChildren();
  for (const number of Object.keys(conversations).sort()) {
    const conv = el("div", "conversation");
    conv.dataset.number = number;
    conv.appendChild(el("h3", null, number));
    for (const entry of conversations[number]) {
      const row = el("div", "row");
      const bubble = el("div", "bubble " + entry.direction, entry.text);
      bubble.title = new Date(entry.at * 1000).toISOString() + " session " + entry.session_id;
      row.appendChild(bubble);
      conv.appendChild(row);
    }
    box.appendChild(conv);
  }
}
function renderSessions(sessions) {
  const box = document.getElementById("sessions");
  const open = new Set(Array.from(box.querySelectorAll("details[open]"), d => d.dataset.id));
  box.replaceChildren();
  for (const session of sessions.slice().reverse()) {
    const details = el("details", "session");
    details.dataset.id = session.id;
    details.open = open.has(session.id);
    details.appendChild(el("summary", null,
      session.id + " (" + session.kind + (session.ended ? ", ended" : "") + ")"));
    details.appendChild(el("pre", null, session.log.join("\\n")));
    box.appendChild(details);
  }
}
async function refresh() {
  try {
    const response = await fetch("/emulator/api/state", {cache: "no-store"});
    const state = await response.json();
    document.getElementById("app-number").textContent = "App number " + state.number;
    const c = state.counters;
    document.getElementById("counters").textContent =
      "launches " + c.launches + " | callbacks " + c.callbacks +
      " | inbound " + c.inbound + " | deliveries " + c.deliveries;
    renderConversations(state.conversations);
    renderSessions(state.sessions);
  } catch (error) {
    document.getElementById("counters").textContent = "emulator unreachable";
  }
}
document.getElementById("sms-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const from = document.getElementById("sms-from").value;
  const textInput = document.getElementById("sms-text");
  const status = document.getElementById("sms-status");
  status.textContent = "sending...";
  try {
    const response = await fetch("/emulator/api/inbound", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({from: from, text: textInput.value}),
    });
    const result = await response.json();
    status.textContent = response.ok
      ? "session " + result.session_id + ": app answered " + result.status
      : "error: " + result.error;
    if (response.ok) textInput.value = "";
  } catch (error) {
    status.textContent = "error: " + error;
  }
  refresh();
});
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""
