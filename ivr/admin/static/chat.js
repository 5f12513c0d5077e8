// A chat room (operator or caller side): poll for messages after the last one seen, post new ones.
(function () {
  "use strict";
  const log = document.getElementById("chat-log");
  if (!log) return;
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-text");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = log.dataset.me;
  let after = "";

  function add(message) {
    const div = document.createElement("div");
    const mine = message.author === me || message.author.startsWith(me + ":");
    div.className = "msg" + (mine ? " mine" : "");
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = message.author + " · " + new Date(message.at * 1000).toLocaleTimeString();
    const text = document.createElement("div");
    text.textContent = message.text;
    div.append(who, text);
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }

  async function poll() {
    try {
      const response = await fetch(log.dataset.poll + "?after=" + encodeURIComponent(after), {credentials: "same-origin"});
      if (response.ok) {
        const body = await response.json();
        for (const m of body.messages) { add(m); after = m.id; }
      }
    } catch (err) { /* try again on the next tick */ }
    setTimeout(poll, 2000);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const response = await fetch(log.dataset.post, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({text: text}),
    });
    if (response.ok) { input.value = ""; } else {
      const body = await response.json().catch(() => ({}));
      alert((body.error && body.error.message) || "Could not send the message.");
    }
  });
  poll();
})();
