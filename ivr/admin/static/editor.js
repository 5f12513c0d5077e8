// The flow editor: a textarea over a highlighted copy, line numbers, and live validation (same checks as
// `ivr validate`, run by the server) with each problem marked on its line. No dependencies.
(function () {
  "use strict";
  const editor = document.getElementById("editor");
  if (!editor) return;
  const area = document.getElementById("yaml");
  const pre = document.getElementById("highlight");
  const gutter = document.getElementById("gutter");
  const list = document.getElementById("problems");
  const status = document.getElementById("validation");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let errorLines = new Set(Array.from(list.querySelectorAll("li")).map((li) => Number(li.dataset.line)));
  let timer = null;
  let sequence = 0;

  const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  function value(text) {
    const t = text.trim();
    if (!t) return escapeHtml(text);
    if (/^(true|false|yes|no|null|~)$/i.test(t)) return '<span class="tok-bool">' + escapeHtml(text) + "</span>";
    if (/^-?\d+(\.\d+)?$/.test(t)) return '<span class="tok-num">' + escapeHtml(text) + "</span>";
    if (/^[>|][-+]?$/.test(t)) return '<span class="tok-punct">' + escapeHtml(text) + "</span>";
    return '<span class="tok-str">' + escapeHtml(text) + "</span>";
  }

  function highlightLine(line) {
    let comment = "";
    const hash = line.search(/(^|\s)#/);
    if (hash >= 0 && !/^[^"']*["'][^"']*#/.test(line)) {
      comment = '<span class="tok-com">' + escapeHtml(line.slice(hash)) + "</span>";
      line = line.slice(0, hash);
    }
    const m = line.match(/^(\s*(?:-\s+)?)([^:#"'\s][^:#]*?|"[^"]*"|'[^']*')(:)(\s.*|$)/);
    let html;
    if (m) {
      html = escapeHtml(m[1]).replace("-", '<span class="tok-punct">-</span>') + '<span class="tok-key">' +
        escapeHtml(m[2]) + '</span><span class="tok-punct">:</span>' + value(m[4]);
    } else {
      const item = line.match(/^(\s*-\s+)(.*)$/);
      html = item ? escapeHtml(item[1]).replace("-", '<span class="tok-punct">-</span>') + value(item[2]) : value(line);
    }
    return html + comment;
  }

  function render() {
    const lines = area.value.split("\n");
    let blockIndent = -1; // inside a `key: >-` or `key: |` block scalar: its lines are text, not keys
    pre.innerHTML = lines.map((line, i) => {
      const indent = line.search(/\S/);
      let html;
      if (blockIndent >= 0 && (indent < 0 || indent > blockIndent)) {
        html = '<span class="tok-str">' + escapeHtml(line) + "</span>";
      } else {
        blockIndent = /:\s*[>|][-+]?\s*$/.test(line) ? indent : -1;
        html = highlightLine(line);
      }
      html = html || " ";
      return errorLines.has(i + 1) ? '<span class="line-error">' + html + "</span>" : html;
    }).join("\n") + "\n";
    let numbers = "";
    for (let i = 1; i <= lines.length; i++) {
      numbers += '<div class="' + (errorLines.has(i) ? "error" : "") + '">' + i + "</div>";
    }
    gutter.innerHTML = numbers;
    syncScroll();
  }

  function syncScroll() {
    pre.scrollTop = area.scrollTop;
    pre.scrollLeft = area.scrollLeft;
    gutter.scrollTop = area.scrollTop;
  }

  function showProblems(problems) {
    errorLines = new Set(problems.map((p) => p.line));
    list.innerHTML = "";
    for (const p of problems) {  // a consequence comes right after its cause, indented under it
      const li = document.createElement("li");
      li.dataset.line = p.line;
      li.textContent = (p.follows === null || p.follows === undefined ? "" : "↳ follows from it: ") + p.text;
      if (p.follows !== null && p.follows !== undefined) li.className = "follows";
      list.appendChild(li);
    }
    const causes = problems.filter((p) => p.follows === null || p.follows === undefined).length;
    const more = problems.length - causes;
    status.textContent = problems.length ? causes + " problem(s)" + (more ? ` (+${more} that follow)` : "") : "✓ valid";
    status.className = "status " + (problems.length ? "bad" : "ok");
    render();
  }

  async function validate() {
    const mine = ++sequence;
    status.textContent = "checking…";
    status.className = "status";
    try {
      const response = await fetch(editor.dataset.validateUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({yaml: area.value}),
      });
      const body = await response.json();
      if (mine !== sequence) return; // an older answer arriving late
      if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
      showProblems(body.problems);
    } catch (err) {
      status.textContent = "could not validate: " + err.message;
      status.className = "status bad";
    }
  }

  function goToLine(line) {
    const lines = area.value.split("\n");
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    area.focus();
    area.setSelectionRange(offset, offset + (lines[line - 1] || "").length);
    area.scrollTop = Math.max(0, (line - 5) * 20);
    syncScroll();
  }

  let frame = 0;
  area.addEventListener("input", () => {
    // Re-highlight at most once per frame: a paste or fast typing may fire many input events.
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
    clearTimeout(timer);
    timer = setTimeout(validate, 350);
  });
  area.addEventListener("scroll", syncScroll);
  area.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !area.readOnly) {
      e.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
    }
  });
  // Ctrl/Cmd+S saves; leaving with unsaved edits asks first.
  const form = document.getElementById("flow-form");
  const original = area.value;
  let submitting = false;
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s" && document.getElementById("save")) {
      e.preventDefault();
      form.requestSubmit(document.getElementById("save"));
    }
  });
  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (e) => {
    if (!submitting && !area.readOnly && area.value !== original) e.preventDefault();
  });
  list.addEventListener("click", (e) => {
    const li = e.target.closest("li");
    if (li) goToLine(Number(li.dataset.line));
  });
  render();
  // Opened from the graph (?line=N), or a save that failed: the cursor goes to that line, not to line 1.
  const wanted = Number(new URLSearchParams(location.search).get("line")) || Math.min(...errorLines);
  if (Number.isFinite(wanted) && wanted > 0) goToLine(wanted);
})();
