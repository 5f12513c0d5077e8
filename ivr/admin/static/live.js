// Live calls and the live queue: each table body with a data-url refreshes every 2 seconds (a server-rendered
// fragment).
(function () {
  "use strict";
  const bodies = document.querySelectorAll("tbody[data-url]");
  if (!bodies.length) return;
  async function refreshBody(body) {
    const response = await fetch(body.dataset.url, {credentials: "same-origin"});
    if (!response.ok) return;
    body.innerHTML = await response.text();
    if (body.id === "live-rows") {
      document.getElementById("live-count").textContent = body.querySelectorAll("tr td a").length;
    }
  }
  async function refresh() {
    try {
      await Promise.all(Array.from(bodies, refreshBody));
    } catch (err) { /* the next tick tries again */ }
    setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 2000);
})();
