// Live calls: refresh the table body every 2 seconds (a server-rendered fragment).
(function () {
  "use strict";
  const body = document.getElementById("live-rows");
  if (!body) return;
  async function refresh() {
    try {
      const response = await fetch(body.dataset.url, {credentials: "same-origin"});
      if (response.ok) {
        body.innerHTML = await response.text();
        document.getElementById("live-count").textContent = body.querySelectorAll("tr td a").length;
      }
    } catch (err) { /* the next tick tries again */ }
    setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 2000);
})();
