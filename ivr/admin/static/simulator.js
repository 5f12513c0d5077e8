// The browser simulator: start a call, send caller turns (digits, speech, silence, ...) and show what the engine
// says and which jobs it emits. The server runs the engine; this page only holds the signed call blob.
(function () {
  "use strict";
  const root = document.getElementById("simulator");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const revisions = JSON.parse(root.dataset.revisions);
  const transcript = $("sim-transcript"), jobs = $("sim-jobs"), display = $("sim-display");
  let sim = null;

  function fillRevisions() {
    const select = $("sim-rev"), flow = $("sim-flow").value;
    select.innerHTML = "";
    const options = [["", "published (or file)"], ["file", "file in flows/"]].concat(
      (revisions[flow] || []).map((r) => [String(r), "revision " + r]));
    for (const [value, label] of options) {
      const o = document.createElement("option");
      o.value = value; o.textContent = label;
      select.appendChild(o);
    }
    if (select.dataset.initial) { select.value = select.dataset.initial; select.dataset.initial = ""; }
    loadGraph();
  }

  async function loadGraph(path) {
    const url = root.dataset.graph + "?flow=" + encodeURIComponent($("sim-flow").value) +
      "&rev=" + encodeURIComponent($("sim-rev").value);
    const response = await fetch(url, {credentials: "same-origin"});
    $("sim-graph").innerHTML = response.ok ? await response.text() : "<p class='muted'>cannot draw this flow</p>";
    const host = $("sim-graph").querySelector(".flow-graph-host");
    if (host) window.ivrFlowGraph.draw(host);
    markPath(path || []);
  }

  function markPath(path) {
    const seen = new Set(path);
    const taken = new Set(path.slice(1).map((step, i) => path[i] + "\u0000" + step));
    for (const node of $("sim-graph").querySelectorAll("g.node")) {
      node.classList.toggle("visited", seen.has(node.dataset.step));
    }
    for (const edge of $("sim-graph").querySelectorAll(".edge, .edge-label")) {
      edge.classList.toggle("hot", taken.has(edge.dataset.from + "\u0000" + edge.dataset.to));
    }
  }

  function line(cls, text) {
    const li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    transcript.appendChild(li);
    transcript.scrollTop = transcript.scrollHeight;
  }

  function enable(on) {
    for (const el of root.querySelectorAll("#sim-keypad button, [data-turn], #sim-send, #sim-clear, #sim-speech, #sim-say")) {
      el.disabled = !on;
    }
  }

  function show(body) {
    sim = body.sim;
    for (const a of body.actions) {
      if (a.type === "say") line("ivr", a.text || "[audio " + a.audio + "]");
      else if (a.type === "job") {
        if (jobs.querySelector(".meta")) jobs.innerHTML = "";
        const li = document.createElement("li");
        li.className = "jobline";
        const target = a.payload.to || a.payload.number || a.payload.url || "";
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = a.kind + (target ? " → " + target : "");
        const body = document.createElement("pre");
        body.textContent = JSON.stringify(a.payload, null, 2);
        details.append(summary, body);
        li.appendChild(details);
        jobs.appendChild(li);
        line("meta", a.line);
      } else if (a.line) line("meta", a.line);
    }
    const status = $("sim-status");
    status.textContent = body.done ? "ended" : "waiting for " + (body.waiting || "input");
    status.className = "badge " + (body.done ? "" : "info");
    if (body.recorded) {
      const link = $("sim-link");
      link.href = root.dataset.callUrl + body.call_id;
      link.hidden = false;
    }
    markPath(body.path);
    enable(!body.done);
  }

  async function post(url, payload) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(payload),
    });
    const body = await response.json();
    if (!response.ok) { line("meta", "⚠ " + ((body.error && body.error.message) || response.statusText)); return null; }
    return body;
  }

  async function start() {
    transcript.innerHTML = "";
    jobs.innerHTML = '<li class="meta">none yet</li>';
    display.textContent = "";
    $("sim-link").hidden = true;
    await loadGraph();
    const body = await post(root.dataset.start, {
      flow: $("sim-flow").value, revision: $("sim-rev").value, caller: $("sim-caller").value,
      at: $("sim-at").value, record: $("sim-record").checked,
    });
    if (body) { line("meta", "call " + body.call_id + " on revision " + body.revision); show(body); }
  }

  async function send(input, label) {
    if (!sim) return;
    line("caller", label || input);
    enable(false);
    const body = await post(root.dataset.turn, {sim: sim, input: input});
    if (body) show(body); else enable(true);
  }

  $("sim-flow").addEventListener("change", fillRevisions);
  $("sim-rev").addEventListener("change", () => loadGraph());
  $("sim-start").addEventListener("click", start);
  $("sim-keypad").addEventListener("click", (e) => {
    const key = e.target.dataset.key;
    if (key) display.textContent += key;
  });
  $("sim-clear").addEventListener("click", () => { display.textContent = ""; });
  $("sim-send").addEventListener("click", () => {
    const digits = display.textContent;
    display.textContent = "";
    if (digits) send(digits, "pressed " + digits);
  });
  $("sim-say").addEventListener("click", () => {
    const text = $("sim-speech").value.trim();
    $("sim-speech").value = "";
    if (text) send("say:" + text, "“" + text + "”");
  });
  $("sim-speech").addEventListener("keydown", (e) => { if (e.key === "Enter") $("sim-say").click(); });
  for (const button of root.querySelectorAll("[data-turn]")) {
    button.addEventListener("click", () => send(button.dataset.turn, button.textContent));
  }
  // The computer keyboard works as the keypad too (outside text fields): digits, * and #, Enter sends.
  document.addEventListener("keydown", (e) => {
    if (!sim || e.target.matches("input, select, textarea") || $("sim-send").disabled) return;
    if (/^[0-9*#]$/.test(e.key)) display.textContent += e.key;
    else if (e.key === "Enter") $("sim-send").click();
    else if (e.key === "Backspace") display.textContent = display.textContent.slice(0, -1);
  });
  fillRevisions();
})();
